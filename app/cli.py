"""The ``tunnelkeeper`` command line (imports no Qt)."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import logging
import logging.handlers
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from app import __version__
from app.errors import (
    ConfigError,
    HostKeyNotPinned,
    InvalidField,
    KeyPassphraseNeeded,
    TunnelkeeperError,
)
from app.paths import AppPaths, app_paths, ensure_private_dir
from app.profile import (
    Profile,
    parse_hostport,
    profile_from_dict,
    validate_name,
)
from app.store import ProfileStore

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2

log = logging.getLogger("tunnelkeeper")


class UserFacingError(Exception):
    """A message for the user, with the exit code to leave with."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse's exit code for usage errors is 2
        self.print_usage(sys.stderr)
        self.exit(EXIT_CONFIG, f"tunnelkeeper: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tunnelkeeper",
        description="Keep a reverse SSH tunnel to a data vendor's jumphost open.",
    )
    parser.add_argument("--version", action="version", version=f"tunnelkeeper {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    add = sub.add_parser("add", help="add a tunnel profile")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--jumphost", required=True, metavar="HOST")
    add.add_argument("--ssh-port", default="22", metavar="N")
    add.add_argument("--user", required=True, metavar="USER")
    add.add_argument("--remote-port", required=True, metavar="N", help="the allocated port")
    add.add_argument(
        "--remote-bind",
        metavar="ADDR",
        help="address the jumphost listens on (default: as ssh -R, 'localhost')",
    )
    add.add_argument("--target", required=True, metavar="HOST:PORT")
    add.add_argument("--key", required=True, metavar="PATH", help="private key file")
    add.add_argument("--replace", action="store_true", help="overwrite a profile of that name")

    lst = sub.add_parser("list", help="list tunnel profiles")
    lst.add_argument("--json", action="store_true")

    show = sub.add_parser("show", help="show one tunnel profile")
    show.add_argument("name", metavar="NAME")
    show.add_argument("--json", action="store_true")

    rm = sub.add_parser("remove", help="remove a tunnel profile")
    rm.add_argument("name", metavar="NAME")

    trust = sub.add_parser("trust", help="fetch, confirm and pin the jumphost's host key")
    trust.add_argument("name", metavar="NAME")
    how = trust.add_mutually_exclusive_group()
    how.add_argument("--yes", action="store_true", help="pin without asking")
    how.add_argument("--fingerprint", metavar="SHA256:...", help="pin only if it matches")

    run = sub.add_parser("run", help="run tunnels until interrupted")
    run.add_argument("names", nargs="+", metavar="NAME")
    run.add_argument("--events", choices=["json"], help="write one JSON object per event")
    run.add_argument("-v", "--verbose", action="store_true", help="log debug detail")

    test = sub.add_parser("test", help="check every step from this machine to the vendor")
    test.add_argument("name", metavar="NAME")
    test.add_argument("--json", action="store_true")

    status = sub.add_parser("status", help="show the state of running tunnels")
    status.add_argument("names", nargs="*", metavar="NAME")
    status.add_argument("--json", action="store_true")
    return parser


# --- commands ------------------------------------------------------------------------


def cmd_add(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    from app import ssh

    name = validate_name(args.name)
    target_host, target_port = parse_hostport(args.target, "target")
    key_path = Path(args.key).expanduser()
    # Readable is enough here; a passphrase is asked for when the tunnel runs.
    with contextlib.suppress(KeyPassphraseNeeded):
        ssh.load_private_key(key_path)
    fields: dict[str, Any] = {
        "jumphost": args.jumphost,
        "ssh_port": args.ssh_port,
        "user": args.user,
        "remote_port": args.remote_port,
        "target_host": target_host,
        "target_port": target_port,
        "key_path": str(key_path.resolve()),
    }
    if args.remote_bind is not None:
        fields["remote_bind"] = args.remote_bind
    profile = profile_from_dict(name, fields)
    ProfileStore(paths.profiles_file).add(profile, replace=args.replace)
    print(f"Added tunnel {name!r}.", file=out)
    print(f"Next: `tunnelkeeper trust {name}` to check and pin the jumphost's host key.", file=out)
    return EXIT_OK


def _profile_view(profile: Profile) -> dict[str, Any]:
    data = profile.to_dict()
    data = {"name": profile.name, **{k: v for k, v in data.items() if k != "name"}}
    data.setdefault("remote_bind", None)
    data["forward"] = f"{profile.forward_bind or '*'}:{profile.remote_port}"
    data["target"] = profile.target
    return data


def cmd_list(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    profiles = ProfileStore(paths.profiles_file).load()
    if args.json:
        print(json.dumps([_profile_view(p) for p in profiles.values()], indent=2), file=out)
        return EXIT_OK
    if not profiles:
        print("No tunnels yet. Add one with `tunnelkeeper add`.", file=out)
        return EXIT_OK
    rows = [("NAME", "JUMPHOST", "USER", "REMOTE PORT", "TARGET")]
    rows += [(p.name, p.endpoint, p.user, str(p.remote_port), p.target) for p in profiles.values()]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip(), file=out
        )
    return EXIT_OK


def cmd_show(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    profile = ProfileStore(paths.profiles_file).get(args.name)
    view = _profile_view(profile)
    if args.json:
        print(json.dumps(view, indent=2), file=out)
        return EXIT_OK
    for key, value in view.items():
        shown = "(as ssh -R: localhost)" if key == "remote_bind" and value is None else value
        print(f"{key:>20}: {shown}", file=out)
    return EXIT_OK


def cmd_remove(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    ProfileStore(paths.profiles_file).remove(args.name)
    print(f"Removed tunnel {args.name!r}.", file=out)
    return EXIT_OK


def cmd_trust(
    args: argparse.Namespace,
    paths: AppPaths,
    out: TextIO,
    ask: Callable[[str], str] = input,
) -> int:
    from app import hostkeys, knownhosts, ssh

    profile = ProfileStore(paths.profiles_file).get(args.name)
    endpoint = ssh.Endpoint(profile.jumphost, profile.ssh_port)
    parsed = hostkeys.read(paths.known_hosts_file)
    pinned = knownhosts.pinned_for(parsed, endpoint.pattern)
    try:
        key = ssh.fetch_host_key(endpoint, ssh.algorithms_for(pinned))
    except TunnelkeeperError as exc:
        raise UserFacingError(str(exc)) from None
    presented = ssh.fingerprint(key)
    print(ssh.describe_key(key, endpoint.pattern), file=out)

    verdict, _ = knownhosts.check(parsed, endpoint.pattern, key.asbytes())
    if verdict is knownhosts.Verdict.REVOKED:
        raise UserFacingError(f"this host key ({presented}) is marked @revoked; not pinning it.")
    if verdict is knownhosts.Verdict.TRUSTED:
        print(f"This host key is already trusted for {endpoint.pattern}.", file=out)
        return EXIT_OK
    changed = verdict is knownhosts.Verdict.CHANGED
    if changed:
        before = ", ".join(ssh.fingerprint_of_blob(e.key_blob) for e in pinned)
        print(f"WARNING: this differs from the key trusted before ({before}).", file=out)

    if args.fingerprint:
        wanted = args.fingerprint.strip()
        if wanted != presented:
            raise UserFacingError(
                f"the jumphost presented {presented}, not the expected {wanted}; "
                "nothing was pinned."
            )
    elif args.yes and changed:
        raise UserFacingError(
            "the host key CHANGED, and --yes only accepts a first key; confirm the new one "
            f"with --fingerprint {presented} once the vendor has confirmed it."
        )
    elif not args.yes:
        if not sys.stdin.isatty():
            raise UserFacingError(
                "confirm the fingerprint with --yes or --fingerprint SHA256:... "
                "(no terminal to ask on).",
                EXIT_CONFIG,
            )
        try:
            answer = ask("Compare this with the fingerprint your vendor shows. Trust it? [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            print("Not trusted; nothing was changed.", file=out)
            return EXIT_FAILED

    hostkeys.pin(paths.known_hosts_file, endpoint.pattern, key.get_name(), key.asbytes())
    print(f"Pinned {presented} for {endpoint.pattern} in {paths.known_hosts_file}.", file=out)
    return EXIT_OK


def _load_key_for(profile: Profile) -> Any:
    from app import ssh

    try:
        return ssh.load_private_key(profile.key_path, name=profile.name)
    except KeyPassphraseNeeded:
        if not sys.stdin.isatty():
            raise
        try:
            passphrase = getpass.getpass(f"Passphrase for the key of tunnel {profile.name}: ")
        except EOFError:
            raise KeyPassphraseNeeded(profile.key_path) from None
        return ssh.load_private_key(profile.key_path, passphrase, name=profile.name)


def _setup_logging(paths: AppPaths, verbose: bool) -> None:
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    console.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.addHandler(console)
    try:
        ensure_private_dir(paths.log_dir)
        file_handler = logging.handlers.RotatingFileHandler(
            paths.log_file, maxBytes=1_000_000, backupCount=3, encoding="utf-8"
        )
    except OSError as exc:
        log.warning("cannot write the log file %s: %s", paths.log_file, exc)
    else:
        file_handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        )
        root.addHandler(file_handler)
    # paramiko's own log is chatty and can quote server messages; keep it to warnings.
    logging.getLogger("paramiko").setLevel(logging.DEBUG if verbose else logging.CRITICAL)


def cmd_run(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    from app import hostkeys, knownhosts
    from app.engine import Tunnel
    from app.events import TunnelEvent

    store = ProfileStore(paths.profiles_file)
    profiles = store.load()
    names = list(dict.fromkeys(args.names))
    for name in names:
        if name not in profiles:
            raise UserFacingError(str(_unknown(name)), EXIT_CONFIG)
    parsed = hostkeys.read(paths.known_hosts_file)
    for name in names:
        profile = profiles[name]
        pattern = knownhosts.host_pattern(profile.jumphost, profile.ssh_port)
        if not knownhosts.pinned_for(parsed, pattern):
            raise HostKeyNotPinned(name, pattern)
    keys = {name: _load_key_for(profiles[name]) for name in names}

    _setup_logging(paths, args.verbose)
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

    from app.runstate import StateWriter

    done = threading.Event()
    tunnels = [Tunnel(profiles[n], keys[n], paths.known_hosts_file, sink) for n in names]

    previous = _install_signals(tunnels, done)
    writer = StateWriter(paths.runtime_dir)
    try:
        for tunnel in tunnels:
            tunnel.start()
        writer.update([t.status() for t in tunnels], force=True)
        while not done.wait(1.0):
            writer.update([t.status() for t in tunnels])
    finally:
        _stop_all(tunnels)
        writer.remove()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return EXIT_OK


def _install_signals(tunnels: list[Any], done: threading.Event) -> dict[int, Any]:
    """SIGINT/SIGTERM stop; SIGCONT checks the links at once; SIGUSR1 reconnects now."""

    def on_signal(signum: int, _frame: Any) -> None:
        if signum == getattr(signal, "SIGCONT", None):
            for tunnel in tunnels:
                tunnel.woke()  # we were stopped (or the machine slept): check the links
        elif signum == getattr(signal, "SIGUSR1", None):
            for tunnel in tunnels:
                tunnel.reconnect_now()
        else:
            done.set()

    handled = [signal.SIGINT, signal.SIGTERM]
    handled += [getattr(signal, n) for n in ("SIGCONT", "SIGUSR1") if hasattr(signal, n)]
    return {s: signal.signal(s, on_signal) for s in handled}


def _stop_all(tunnels: list[Any]) -> None:
    """Stop every tunnel at once (each within 5 s), not one after another."""
    stoppers = [threading.Thread(target=t.stop, name=f"stop-{t.profile.name}") for t in tunnels]
    for stopper in stoppers:
        stopper.start()
    for stopper in stoppers:
        stopper.join(5.0)


def cmd_status(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    from app.runstate import read_running

    running = read_running(paths.runtime_dir)
    if args.names:
        running = [t for t in running if t.get("tunnel") in args.names]
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
            f"to target {_size(tunnel['bytes_to_target'])}, "
            f"to vendor {_size(tunnel['bytes_to_vendor'])}, "
            f"connections {tunnel['active_connections']} open / "
            f"{tunnel['total_connections']} total",
            file=out,
        )
        print(f"    vendor last connected: {tunnel['vendor_last_connected'] or 'never'}", file=out)
        if tunnel.get("next_retry_at"):
            print(f"    next retry: {tunnel['next_retry_at']}", file=out)
        print(f"    process: {tunnel['pid']}", file=out)
    return EXIT_OK


_MARKS = {"pass": "PASS", "fail": "FAIL", "skipped": "SKIP"}


def cmd_test(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    from app.checks import CheckResult, ConnectionTest
    from app.runstate import read_running

    profile = ProfileStore(paths.profiles_file).get(args.name)

    def running(name: str) -> int | None:
        for tunnel in read_running(paths.runtime_dir):
            if tunnel.get("tunnel") == name and tunnel.get("state") == "connected":
                return int(tunnel["pid"])
        return None

    def report(result: CheckResult) -> None:
        if args.json:
            return
        print(
            f"[{_MARKS[result.status.value]}] {result.number}. {result.name}: {result.detail}",
            file=out,
        )
        if result.remedy and result.status.value != "pass":
            print(f"       -> {result.remedy}", file=out)
        out.flush()

    test = ConnectionTest(profile, paths.known_hosts_file, _load_key_for, running, report)
    results = test.run()
    if args.json:
        document = {
            "tunnel": profile.name,
            "ok": test.passed,
            "checks": [r.to_dict() for r in results],
        }
        print(json.dumps(document, indent=2), file=out)
    else:
        failed = [r for r in results if r.status.value == "fail"]
        print("All checks passed." if not failed else f"{len(failed)} check(s) failed.", file=out)
    return EXIT_OK if test.passed else EXIT_FAILED


def _size(count: float) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def _unknown(name: str) -> Exception:
    from app.errors import UnknownProfile

    return UnknownProfile(name)


COMMANDS: dict[str, Callable[[argparse.Namespace, AppPaths, TextIO], int]] = {
    "add": cmd_add,
    "list": cmd_list,
    "show": cmd_show,
    "remove": cmd_remove,
    "trust": cmd_trust,
    "run": cmd_run,
    "status": cmd_status,
    "test": cmd_test,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_OK
    paths = app_paths()
    # paramiko logs protocol trouble with tracebacks; we report it in our own words.
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    try:
        return COMMANDS[args.command](args, paths, sys.stdout)
    except UserFacingError as exc:
        print(f"tunnelkeeper: {exc}", file=sys.stderr)
        return exc.code
    except (ConfigError, InvalidField) as exc:
        print(f"tunnelkeeper: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except TunnelkeeperError as exc:
        print(f"tunnelkeeper: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("tunnelkeeper: interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader of our output went away (`tunnelkeeper list | head -1`)
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silences the exit flush
        return EXIT_FAILED
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        print(f"tunnelkeeper: cannot use{where}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
