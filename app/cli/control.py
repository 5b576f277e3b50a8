"""Acting on tunnels wherever they run: ``connect``, ``disconnect``, ``reconnect``, ``logs``."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, TextIO

from app.cli.output import EXIT_FAILED, EXIT_OK, UserFacingError
from app.storage.paths import AppPaths

if TYPE_CHECKING:
    from app.control.client import Connection

FOLLOW_POLL = 0.5


def cmd_connect(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    from app.control.errors import HostRefused, where
    from app.core.control import Op
    from app.services.api import Services

    status = Services(paths).status
    running = status.host_of(args.name)
    if running is not None:
        hello = running.request(Op.HELLO)
        running.close()
        print(f"{args.name} already runs in {where(hello['kind'], hello['pid'])}.", file=out)
        return EXIT_OK
    hosts = status.hosts()
    if not hosts:
        raise UserFacingError(
            f"no Tunnelkeeper is running to host {args.name}: start the app, run "
            f"`tunnelkeeper run {args.name}`, or install the service "
            "(`tunnelkeeper service install`).",
            EXIT_FAILED,
        )
    refusal: HostRefused | None = None
    try:
        for host in hosts:
            try:
                print(host.request(Op.CONNECT, name=args.name), file=out)
                return EXIT_OK
            except HostRefused as exc:
                refusal = refusal or exc
                if exc.kind != "UnknownProfile":
                    break  # that host has the tunnel and said why not
    finally:
        for host in hosts:
            host.close()
    raise UserFacingError(str(refusal), EXIT_FAILED)


def _act(args: argparse.Namespace, paths: AppPaths, out: TextIO, op_name: str) -> int:
    from app.core.control import Op
    from app.services.api import Services

    host = Services(paths).status.host_of(args.name)
    if host is None:
        raise UserFacingError(
            f"{args.name} is not running (see `tunnelkeeper status`).", EXIT_FAILED
        )
    try:
        print(host.request(Op(op_name), name=args.name), file=out)
    finally:
        host.close()
    return EXIT_OK


def cmd_disconnect(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    return _act(args, paths, out, "disconnect")


def cmd_reconnect(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    return _act(args, paths, out, "reconnect")


def cmd_logs(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    """The last lines of this user's log (one tunnel's, with NAME); ``-f`` follows it. A
    tunnel the system service runs is read from the service, over its control socket."""
    from app.control.logtail import LogFollower, last_lines
    from app.services.api import Services

    if not 0 <= args.lines <= 10_000:
        raise UserFacingError("--lines takes a number from 0 to 10000.")
    host = Services(paths).status.host_of(args.name, stopped=True) if args.name else None
    if host is not None and host.address.system:
        with host:
            return _service_logs(host, args, out)
    if host is not None:
        host.close()
    path = paths.log_file
    for line in last_lines(path, args.name, args.lines):
        print(line, file=out)
    out.flush()
    if not args.follow:
        return EXIT_OK
    reader = LogFollower(path, args.name)
    try:
        while True:
            for line in reader.read():
                print(line, file=out)
            out.flush()
            time.sleep(FOLLOW_POLL)
    except KeyboardInterrupt:
        return EXIT_OK


def _service_logs(host: Connection, args: argparse.Namespace, out: TextIO) -> int:
    from app.core.control import Op

    for line in host.request(Op.LOGS, name=args.name, lines=args.lines, follow=args.follow):
        print(line, file=out)
    out.flush()
    if args.follow:
        try:
            for item in host.stream():
                print(item.get("line", ""), file=out)
                out.flush()
        except KeyboardInterrupt:
            pass
    return EXIT_OK
