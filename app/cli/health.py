"""``health``: the probe of a container or a monitor: does the tunnel host answer, is it ready."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

from app.cli.output import EXIT_FAILED, EXIT_OK, error_text
from app.cli.show import print_json
from app.control.errors import where
from app.core.textsafe import DETAIL_LIMIT, safe_text
from app.errors import TunnelkeeperError
from app.storage.paths import HOME_ENV, AppPaths

# Seconds a host gets to answer each request: a probe's own timeout (10 s in the examples
# of docs/deploy) must leave room for Python to start as well.
ANSWER_TIMEOUT = 5.0
# States in which a tunnel does its job: it carries the vendor's connections, or (role
# ``redundant``) it is logged in and ready while another machine carries them.
READY_STATES = frozenset({"connected", "standby"})


def add_health_command(sub: Any) -> None:
    """The ``health`` subcommand's arguments (``sub``: the parser's subparsers)."""
    health = sub.add_parser(
        "health",
        help="exit 0 when the process that hosts tunnels answers (--ready: and each of its "
        "tunnels is connected or standing by), else 1 with the reason",
        description="A health check for a container, a service monitor or a script: exit 0 "
        "when every process of this user that hosts tunnels (`run`, the service, the app) "
        "answers on its control socket; with --ready, also when each tunnel it runs is "
        "connected or standing by. Otherwise exit 1 and say why in one line per problem.",
    )
    health.add_argument(
        "--ready",
        action="store_true",
        help="also require every hosted tunnel to be connected or on standby (at least one)",
    )
    health.add_argument("--json", action="store_true")


@dataclass
class Health:
    """What the hosts said: who answered, their tunnels, and each problem in a sentence."""

    hosts: list[dict[str, Any]] = field(default_factory=list)
    tunnels: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # a host that did not answer

    @property
    def alive(self) -> bool:
        return bool(self.hosts) and not self.problems


def cmd_health(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    try:
        health = ask_hosts(paths)
    except (TunnelkeeperError, OSError) as exc:  # no private control folder, say
        said = error_text(exc) if isinstance(exc, TunnelkeeperError) else exc.strerror
        health = Health(problems=[f"the control sockets cannot be looked at: {said or exc}"])
    not_ready = unready(health.tunnels, health.hosts) if args.ready else []
    if not health.hosts and not health.problems:
        health.problems.append(_nobody())
    ok = health.alive and not not_ready
    if args.json:
        print_json(
            out,
            {
                "alive": health.alive,
                "ready": (health.alive and not not_ready) if args.ready else None,
                "hosts": health.hosts,
                "tunnels": health.tunnels,
                "problems": health.problems + not_ready,
            },
        )
        return EXIT_OK if ok else EXIT_FAILED
    for problem in health.problems:
        print(f"tunnelkeeper: not alive: {safe_text(problem, DETAIL_LIMIT)}", file=sys.stderr)
    if not health.alive:
        return EXIT_FAILED
    for problem in not_ready:
        print(f"tunnelkeeper: not ready: {safe_text(problem, DETAIL_LIMIT)}", file=sys.stderr)
    if not_ready:
        return EXIT_FAILED
    for host in health.hosts:
        count = sum(1 for t in health.tunnels if t["pid"] == host["pid"])
        tunnels = f"{count} tunnel{'' if count == 1 else 's'}"
        print(f"alive: {where(host['host'], host['pid'])} answers; it hosts {tunnels}.", file=out)
    if args.ready:
        for tunnel in health.tunnels:
            state = "standing by" if tunnel["state"] == "standby" else tunnel["state"]
            print(f"ready: {tunnel['tunnel']} is {state}.", file=out)
    return EXIT_OK


def _nobody() -> str:
    """Why no host answered, in words: none runs, or not with these settings."""
    home = os.environ.get(HOME_ENV)
    settings = f" with {HOME_ENV}={home}" if home else ""
    return (
        f"no Tunnelkeeper process answers here: none hosts tunnels for this user{settings}; "
        "start one with `tunnelkeeper run --all`."
    )


def ask_hosts(paths: AppPaths) -> Health:
    """Ask every host of this user (and the system service, when there is one) who it is and
    what it runs, each given ``ANSWER_TIMEOUT`` seconds a request. Raises FolderNotPrivate
    when this user's control folder cannot be used."""
    from app.control.client import reachable_hosts
    from app.core.control import Op

    health = Health()
    for connection in reachable_hosts(paths):
        with connection:
            connection.sock.settimeout(ANSWER_TIMEOUT)
            address = connection.address
            try:
                hello = connection.request(Op.HELLO)
                listed = connection.request(Op.LIST)
            except TunnelkeeperError as exc:
                who = where(address.kind.value, address.pid or "unknown")
                health.problems.append(f"{who} does not answer: {exc}")
                continue
        hello = hello if isinstance(hello, dict) else {}
        kind = str(hello.get("kind", address.kind.value))
        pid = hello.get("pid", address.pid)
        health.hosts.append({"host": kind, "pid": pid})
        health.tunnels += hosted_tunnels(listed, kind, pid)
    return health


def hosted_tunnels(listed: object, kind: str, pid: object) -> list[dict[str, Any]]:
    """The tunnels a host's LIST names as running there (one a controller switched off,
    ``"running": false``, is left out: it is meant to be off), text made safe to print."""
    found = []
    for entry in listed if isinstance(listed, list) else []:
        if not isinstance(entry, dict) or entry.get("running", True) is False:
            continue
        found.append(
            {
                "tunnel": safe_text(str(entry.get("tunnel", "?"))),
                "state": safe_text(str(entry.get("state", "unknown"))),
                "detail": safe_text(str(entry.get("detail", "")), DETAIL_LIMIT),
                "host": kind,
                "pid": pid,
            }
        )
    return found


def unready(tunnels: Iterable[dict[str, Any]], hosts: Iterable[dict[str, Any]]) -> list[str]:
    """One sentence per tunnel that is neither connected nor standing by; one per host that
    runs no tunnel at all (a host with nothing to carry is not ready either)."""
    tunnels = list(tunnels)
    problems = [
        f"{t['tunnel']} ({t['state']})" + (f": {t['detail']}" if t["detail"] else "")
        for t in tunnels
        if t["state"] not in READY_STATES
    ]
    for host in hosts:
        if not any(t["pid"] == host["pid"] for t in tunnels):
            problems.append(
                f"{where(host['host'], host['pid'])} runs no tunnel (none in the profiles "
                "file is switched on, or a controller disconnected them)"
            )
    return problems
