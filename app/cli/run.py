"""Running tunnels: ``run`` (until interrupted) and ``status``."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any, TextIO

from app.cli.output import EXIT_OK
from app.cli.passphrases import tell_remembered, terminal_ask
from app.core.units import byte_size
from app.storage.paths import AppPaths

if TYPE_CHECKING:
    from app.services.host import TunnelHost

log = logging.getLogger("tunnelkeeper")


def cmd_run(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    from app.core.events import TunnelEvent
    from app.services.api import Services
    from app.services.host import TunnelHost

    prepared = Services(paths).prepare_run(
        list(args.names), terminal_ask(), lambda key: tell_remembered(key.remembered, sys.stderr)
    )

    from app.storage.logs import setup_logging

    setup_logging(paths, args.verbose)
    write_lock = threading.Lock()
    json_broken = threading.Event()

    def sink(event: TunnelEvent) -> None:
        level = logging.WARNING if event.state.value in ("error", "retrying") else logging.INFO
        log.log(level, "%s", event.human())
        if args.events == "json" and not json_broken.is_set():
            with write_lock:
                try:
                    out.write(event.to_json() + "\n")
                    out.flush()
                except (BrokenPipeError, ValueError, OSError):
                    json_broken.set()  # the reader went away; keep the tunnels running
                    log.warning("standard output is closed; JSON events are no longer written")

    from app.platform.limits import raise_open_file_limit
    from app.storage.runstate import StateWriter

    raise_open_file_limit()
    done = threading.Event()
    host = TunnelHost(paths.known_hosts_file)
    host.listen(sink)

    previous = _install_signals(host, done)
    writer = StateWriter(paths.runtime_dir)
    try:
        for tunnel in prepared:
            host.start(tunnel.profile, tunnel.key.key)
        writer.update([s.to_dict() for s in host.statuses()], force=True)
        while not done.wait(1.0):
            writer.update([s.to_dict() for s in host.statuses()])
    finally:
        host.stop_all()
        writer.remove()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return EXIT_OK


def _install_signals(host: TunnelHost, done: threading.Event) -> dict[int, Any]:
    """SIGINT/SIGTERM stop; SIGCONT checks the links at once; SIGUSR1 reconnects now."""

    def on_signal(signum: int, _frame: Any) -> None:
        if signum == getattr(signal, "SIGCONT", None):
            host.woke()  # we were stopped (or the machine slept): check the links
        elif signum == getattr(signal, "SIGUSR1", None):
            for name in host.names():
                host.reconnect(name)
        else:
            done.set()

    handled = [signal.SIGINT, signal.SIGTERM]
    handled += [getattr(signal, n) for n in ("SIGCONT", "SIGUSR1") if hasattr(signal, n)]
    return {s: signal.signal(s, on_signal) for s in handled}


def cmd_status(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    from app.services.api import Services

    found = Services(paths).status.running(args.names)
    for problem in found.problems:  # skipped, like any broken file, and said so
        print(f"tunnelkeeper: {problem}", file=sys.stderr)
    running = found.tunnels
    if args.json:
        print(json.dumps(running, indent=2), file=out)
        return EXIT_OK
    if not running:
        print("No tunnel is running (start one with `tunnelkeeper run NAME`).", file=out)
        return EXIT_OK
    for tunnel in running:
        print(f"{tunnel['tunnel']}: {tunnel['state']} since {tunnel['since']}", file=out)
        print(f"    {tunnel['detail']}", file=out)
        if tunnel.get("warning"):
            print(f"    warning: {tunnel['warning']}", file=out)
        print(
            f"    reconnects {tunnel['reconnects']}, "
            f"to target {byte_size(tunnel['bytes_to_target'])}, "
            f"to vendor {byte_size(tunnel['bytes_to_vendor'])}, "
            f"connections {tunnel['active_connections']} open / "
            f"{tunnel['total_connections']} total",
            file=out,
        )
        print(f"    vendor last connected: {tunnel['vendor_last_connected'] or 'never'}", file=out)
        if tunnel.get("next_retry_at"):
            print(f"    next retry: {tunnel['next_retry_at']}", file=out)
        print(f"    process: {tunnel['pid']}", file=out)
    return EXIT_OK
