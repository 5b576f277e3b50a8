"""Running tunnels: ``run`` (until interrupted) and ``status``."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from app.cli.metrics import WithMetrics, metrics_address
from app.cli.output import EXIT_OK, UserFacingError, event_text
from app.cli.passphrases import tell_remembered, terminal_ask
from app.cli.show import listed_briefly
from app.control.errors import where
from app.core.textsafe import safe_text
from app.core.units import byte_size
from app.platform.sdnotify import notify
from app.storage.paths import AppPaths

if TYPE_CHECKING:
    from app.control.hosting import HeadlessController
    from app.control.server import Controller
    from app.core.control import HostKind
    from app.core.events import TunnelEvent
    from app.platform.keychain import Keychain
    from app.platform.sdnotify import Watchdog
    from app.services.api import PreparedTunnel, Services
    from app.services.host import TunnelHost
    from app.storage.claims import Claims
    from app.storage.runstate import StateWriter

log = logging.getLogger("tunnelkeeper")

SERVICE_ENV = "TUNNELKEEPER_SERVICE"  # "system" or "user": set by the service's unit
STALL_LIMIT = 120.0  # an engine without progress this long is hung: the watchdog goes quiet


def cmd_run(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    from app.control.follow import ProfileFollower
    from app.control.hosting import HeadlessController
    from app.core.control import HostKind
    from app.services.api import Services
    from app.storage.claims import Claims

    if bool(args.names) == bool(args.all):
        raise UserFacingError("name the tunnels to run, or use --all (not both).")
    metrics = metrics_address(args)  # refused before any passphrase is asked for
    service = os.environ.get(SERVICE_ENV, "")
    services = Services(paths, _service_keychain() if service else None)
    kind = HostKind.SERVICE if service else HostKind.RUN
    claims = Claims(paths.runtime_dir / "claims", kind.value)
    prepared = _prepare(services, claims, list(args.names)) if args.names else []

    from app.storage.logs import setup_logging

    setup_logging(paths, args.verbose)
    sink = _event_sink(out if args.events == "json" else None)

    from app.platform.limits import raise_open_file_limit
    from app.storage.runstate import StateWriter

    raise_open_file_limit()
    done = threading.Event()
    host = _host(services, claims, sink)
    controller = HeadlessController(services, host, kind)
    endpoint = WithMetrics(
        lambda: _endpoint(paths, kind, controller, service), host.statuses, metrics
    )
    follower = (
        ProfileFollower(services, host, controller.start_profile, off=controller.off)
        if args.all
        else None
    )

    watchdog: Watchdog | None = None
    previous = _install_signals(host, done)
    writer = StateWriter(paths.runtime_dir)
    try:
        for tunnel in prepared:
            controller.keys[tunnel.profile.key_path] = tunnel.key.key
            host.start(tunnel.profile, tunnel.key.key, tunnel.proxy_password)
        endpoint.start()
        if follower is not None:
            controller.failed = follower.failed
            follower.start()
        watchdog = _ready(host)  # systemd (Type=notify) hears we are up, and the pings
        _keep_state(writer, controller, host, done)
    finally:
        notify("STOPPING=1")
        if watchdog is not None:
            watchdog.stop()
        if follower is not None:
            follower.stop()
        endpoint.close()
        host.stop_all()
        writer.remove()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return EXIT_OK


def _keep_state(
    writer: StateWriter, controller: HeadlessController, host: TunnelHost, done: threading.Event
) -> None:
    """Until ``done``: the run-state file rewritten within a second of a change, and every
    ``HEARTBEAT`` s. A change is seen by identity (a tunnel reports a new status object or
    is given a new profile, or what failed or was switched off changed), so a second
    without one costs next to nothing: building and serialising every status each second
    was most of an idle `run`'s CPU time."""
    from app.storage.runstate import HEARTBEAT

    def looked() -> tuple[object, ...]:
        statuses = tuple(host.statuses())
        profiles = tuple(host.profile(status.tunnel) for status in statuses)
        failed, off = controller.failed, controller.off
        return (statuses, profiles, tuple(failed.items()), tuple(sorted(off)))

    seen = looked()
    writer.update(controller.hosted(), force=True)
    heartbeat_at = time.monotonic() + HEARTBEAT
    while not done.wait(1.0):
        now, current = time.monotonic(), looked()
        beat = now >= heartbeat_at
        if current == seen and not beat:  # the same objects: no __eq__ runs
            continue
        seen = current
        if beat:
            heartbeat_at = now + HEARTBEAT
        writer.update(controller.hosted(), force=beat)


def _host(services: Services, claims: Claims, sink: Callable[[TunnelEvent], None]) -> TunnelHost:
    """This process's TunnelHost: events go to ``sink``, into the tunnel history (whose
    writer ends once the host has closed, and writes what is left at exit) and to the alert
    watcher (whose sender gets a few seconds at exit for what is waiting)."""
    from app.services.host import TunnelHost

    host = TunnelHost(services.paths.known_hosts_file, claims=claims)
    host.listen(sink)
    services.history.record(host)
    services.alerts.watch(host)
    return host


def _service_keychain() -> Callable[[], Keychain] | None:
    """A service's passphrases: systemd credentials when it has any; else none are kept
    (a service has no unlocked desktop keychain) and keys need no passphrase."""
    from app.errors import KeyringUnavailable
    from app.platform.credentials import service_keychain
    from app.platform.keychain import NullKeychain

    found = service_keychain()
    if found is not None:
        return lambda: found
    none = KeyringUnavailable("a service has no desktop keychain")
    return lambda: NullKeychain(none)


def _ready(host: TunnelHost) -> Watchdog | None:
    """Tell systemd we serve, and start vouching for the engines when it wants pings."""
    from app.platform.sdnotify import Watchdog, watchdog_interval

    notify("READY=1\nSTATUS=hosting tunnels")
    interval = watchdog_interval()
    if interval is None:
        return None
    watchdog = Watchdog(interval, lambda: host.stalled(STALL_LIMIT))
    watchdog.start()
    return watchdog


def _prepare(services: Services, claims: Claims, names: list[str]) -> list[PreparedTunnel]:
    """Refuse tunnels another process of ours hosts (before any passphrase is asked for),
    then load the keys."""
    from app.control.errors import HostedElsewhere

    for profile in services.profiles.select(names):
        holder = claims.holder(profile)
        if holder is not None:
            raise HostedElsewhere(holder.tunnel, holder.kind, holder.pid)
    return services.prepare_run(
        names, terminal_ask(), lambda key: tell_remembered(key.remembered, sys.stderr)
    )


def _event_sink(out: TextIO | None) -> Callable[[TunnelEvent], None]:
    """Log every event; with ``out``, also write it there as a JSON line."""
    write_lock = threading.Lock()
    json_broken = threading.Event()

    def sink(event: TunnelEvent) -> None:
        level = logging.WARNING if event.state.value in ("error", "retrying") else logging.INFO
        log.log(level, "%s", event_text(event))
        if out is not None and not json_broken.is_set():
            with write_lock:
                try:
                    out.write(event.to_json() + "\n")
                    out.flush()
                except (BrokenPipeError, ValueError, OSError):
                    json_broken.set()  # the reader went away; keep the tunnels running
                    log.warning("standard output is closed; JSON events are no longer written")

    return sink


def _endpoint(paths: AppPaths, kind: HostKind, controller: Controller, service: str) -> Any:
    """The control endpoint of this `run` (the system service's in its own place)."""
    from app.platform.openssl import import_asyncio_without_ssl

    import_asyncio_without_ssl()  # before the endpoint's imports: see app/platform/openssl.py
    from app.control.addresses import own_address, system_socket_path
    from app.control.background import BackgroundEndpoint
    from app.platform.peers import SERVICE_GROUP

    if service == "system":
        address = own_address(paths, kind, system_socket_path())
        return BackgroundEndpoint(address, controller, SERVICE_GROUP)
    return BackgroundEndpoint(own_address(paths, kind), controller)


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
    none = "No tunnel is running (start one with `tunnelkeeper run NAME`)."
    if listed_briefly(out, running, args.json, none):
        return EXIT_OK
    for tunnel in running:
        since = f" since {tunnel['since']}" if tunnel.get("since") else ""
        print(f"{tunnel['tunnel']}: {tunnel['state']}{since}", file=out)
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
        shown = tunnel.get("profile")
        if isinstance(shown, dict) and shown.get("proxy"):
            print(f"    proxy setting: {safe_text(str(shown['proxy']))}", file=out)
        if tunnel.get("next_retry_at"):
            print(f"    next retry: {tunnel['next_retry_at']}", file=out)
        print(f"    process: {tunnel['pid']}", file=out)
        print(f"    hosted by: {where(str(tunnel.get('host', 'run')), tunnel['pid'])}", file=out)
    return EXIT_OK
