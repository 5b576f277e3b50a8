"""The ``tunnelkeeper`` command line (imports no Qt)."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from app import __version__
from app.core.profile import (
    Profile,
    parse_hostport,
    profile_from_dict,
    validate_name,
)
from app.core.textsafe import DETAIL_LIMIT, safe_text, safe_value
from app.errors import (
    ConfigError,
    HostKeyNotPinned,
    InvalidField,
    KeyPassphraseNeeded,
    KeyPassphraseWrong,
    TunnelkeeperError,
)
from app.storage.paths import AppPaths, app_paths
from app.storage.store import ProfileStore

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
PUBLIC_LINE_LIMIT = 20_000  # a .pub file is printed to be pasted: whole, but never raw

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
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check that this installation has every part it needs (Qt, keychain, crypto, "
        "icons), then exit",
    )
    # what the start-at-login entry passes; the desktop app (issue 5) will start quietly
    parser.add_argument("--autostart", action="store_true", help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    add = sub.add_parser(
        "add",
        help="add a tunnel profile",
        description="Add a tunnel. --from reads the vendor's text (an ssh/autossh command, "
        "an endpoint, an ssh config block, KEY=value lines); flags fill or override fields.",
    )
    add.add_argument("name", metavar="NAME")
    add.add_argument("--from", dest="paste", metavar="TEXT", help="pasted text, or - for stdin")
    add.add_argument("--jumphost", metavar="HOST")
    add.add_argument("--ssh-port", metavar="N", help="default 22")
    add.add_argument("--user", metavar="USER")
    add.add_argument("--remote-port", metavar="N", help="the allocated port")
    add.add_argument(
        "--remote-bind",
        metavar="ADDR",
        help="address the jumphost listens on (default: as ssh -R, 'localhost')",
    )
    add.add_argument("--target", metavar="HOST:PORT")
    add.add_argument("--key", metavar="PATH", help="private key file, or a key NAME from keygen")
    add.add_argument("--replace", action="store_true", help="overwrite a profile of that name")

    _add_key_commands(sub)

    repair = sub.add_parser(
        "repair",
        help="check every file Tunnelkeeper keeps (profiles, known_hosts, settings, run "
        "state); move broken ones aside",
    )
    repair.add_argument(
        "--move-aside",
        action="store_true",
        help="rename each broken file out of the way (kept, never deleted) without asking",
    )

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
    trust.add_argument(
        "--import-known-hosts",
        nargs="?",
        const=str(Path("~/.ssh/known_hosts")),
        metavar="FILE",
        help="take the key from an OpenSSH known_hosts file (default ~/.ssh/known_hosts)",
    )

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


def _add_key_commands(sub: Any) -> None:
    keygen = sub.add_parser("keygen", help="create an ed25519 key for a tunnel")
    keygen.add_argument("name", metavar="NAME")
    secret = keygen.add_mutually_exclusive_group()
    secret.add_argument(
        "--passphrase-stdin",
        action="store_true",
        help="read the passphrase from the first line of standard input",
    )
    secret.add_argument("--no-passphrase", action="store_true", help="leave the key unencrypted")
    keygen.add_argument("--force", action="store_true", help="replace an existing key")

    imp = sub.add_parser("import-key", help="copy an existing private key into Tunnelkeeper")
    imp.add_argument("name", metavar="NAME")
    imp.add_argument("path", metavar="PATH")
    imp.add_argument(
        "--passphrase-stdin",
        action="store_true",
        help="read the key's passphrase from the first line of standard input",
    )
    imp.add_argument("--force", action="store_true", help="replace an existing key")

    pub = sub.add_parser("pubkey", help="print a key's public line (to paste at the vendor)")
    pub.add_argument("name", metavar="NAME", help="a key made by keygen/import-key, or a tunnel")


# --- commands ------------------------------------------------------------------------


_FLAG_OF = {
    "jumphost": "--jumphost HOST",
    "ssh_port": "--ssh-port N",
    "user": "--user USER",
    "remote_port": "--remote-port N",
    "target_host": "--target HOST:PORT",
    "target_port": "--target HOST:PORT",
    "key_path": "--key PATH",
}


def _pasted_fields(args: argparse.Namespace, out: TextIO) -> dict[str, Any]:
    """Fields from ``--from`` (reported as found / placeholders / ignored)."""
    from app.core.paste import parse_paste

    text = sys.stdin.read() if args.paste == "-" else args.paste
    result = parse_paste(text)
    found = ", ".join(f"{k} {v!s}" for k, v in result.fields.items()) or "nothing usable"
    print(safe_text(f"Found ({result.source}): {found}.", DETAIL_LIMIT), file=out)
    for field_name, token in result.placeholders.items():
        print(f"Still a placeholder: {field_name} ({safe_text(token)}).", file=out)
    for note in result.ignored:
        print(f"Ignored: {safe_text(note, DETAIL_LIMIT)}", file=out)
    return dict(result.fields)


def cmd_add(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    from app.ssh import keys

    name = validate_name(args.name)
    fields: dict[str, Any] = _pasted_fields(args, out) if args.paste is not None else {}
    # explicit flags fill in or override what the paste said
    for flag, key in (
        ("jumphost", "jumphost"),
        ("ssh_port", "ssh_port"),
        ("user", "user"),
        ("remote_port", "remote_port"),
        ("remote_bind", "remote_bind"),
    ):
        if getattr(args, flag) is not None:
            fields[key] = getattr(args, flag)
    if args.target is not None:
        fields["target_host"], fields["target_port"] = parse_hostport(args.target, "target")
    if args.key is not None:
        fields["key_path"] = args.key
    fields.setdefault("ssh_port", 22)
    missing = [k for k in _FLAG_OF if k not in fields]
    if missing:
        flags = sorted({_FLAG_OF[k] for k in missing})
        raise UserFacingError(
            f"still missing: {', '.join(missing)}; give {' '.join(flags)}.", EXIT_CONFIG
        )
    key_path = _resolve_key_argument(str(fields["key_path"]), paths)
    # Readable is enough here; a passphrase is asked for when the tunnel runs.
    with contextlib.suppress(KeyPassphraseNeeded):
        keys.load_private_key(key_path)  # refuses a key others can read, as OpenSSH does
    fields["key_path"] = str(key_path)
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


def cmd_repair(
    args: argparse.Namespace, paths: AppPaths, out: TextIO, ask: Callable[[str], str] = input
) -> int:
    """Check every file we keep (profiles, known_hosts, app settings, run state); report
    each broken one and, with consent, move it aside (kept, renamed, never deleted)."""
    from app.storage.repair import survey

    code = EXIT_OK
    for finding in survey(paths):
        if finding.problem is None:
            if finding.fine:
                print(f"{finding.path} {finding.fine}.", file=out)
            continue
        print(f"Problem: {finding.problem}", file=out)
        consent = args.move_aside
        if not consent and sys.stdin.isatty():
            try:
                answer = ask(finding.question)
            except EOFError:
                answer = ""
            consent = answer.strip().lower() in ("y", "yes")
        if not consent:
            print("Nothing was changed (use --move-aside to rename it).", file=out)
            code = EXIT_FAILED
            continue
        try:
            moved = finding.move()
        except (OSError, TunnelkeeperError) as exc:
            detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            print(f"Could not move it aside: {detail}", file=out)
            code = EXIT_FAILED
            continue
        print(f"Moved to {moved}; {finding.after}.", file=out)
    return code


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
        print(f"{key:>20}: {safe_text(str(shown), DETAIL_LIMIT)}", file=out)
    return EXIT_OK


def cmd_remove(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    store = ProfileStore(paths.profiles_file)
    removed = store.remove(args.name)
    print(f"Removed tunnel {args.name!r}.", file=out)
    if removed is not None:
        still_used = any(p.key_path == removed.key_path for p in store.load().values())
        if not still_used:
            _forget_passphrase(removed.key_path)
    return EXIT_OK


def cmd_trust(
    args: argparse.Namespace,
    paths: AppPaths,
    out: TextIO,
    ask: Callable[[str], str] = input,
) -> int:
    from app import ssh
    from app.core import knownhosts
    from app.storage import hostkeys

    profile = ProfileStore(paths.profiles_file).get(args.name)
    endpoint = ssh.Endpoint(profile.jumphost, profile.ssh_port)
    if args.import_known_hosts:
        return _import_known_hosts(Path(args.import_known_hosts).expanduser(), endpoint, paths, out)
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


# --- keys and passphrases --------------------------------------------------------------


def _resolve_key_argument(value: str, paths: AppPaths) -> Path:
    """``--key`` takes a file, or the NAME of a key made with keygen/import-key."""
    from app.ssh.keys import key_files

    if "/" not in value and "\\" not in value:
        with contextlib.suppress(InvalidField):
            managed = key_files(paths.keys_dir, value).private
            if managed.exists():
                return managed
    return Path(value).expanduser().resolve()


def _passphrase_store() -> Any:
    from app.platform.passphrases import PassphraseStore

    return PassphraseStore()


def _remember_passphrase(key_path: str, passphrase: str, out: TextIO) -> None:
    """Keep it in the OS keyring so the tunnel starts unattended; never anywhere else."""
    store = _passphrase_store()
    try:
        if not store.usable():
            raise ConfigError("no usable system keychain")
        store.set(key_path, passphrase)
    except TunnelkeeperError as exc:
        print(
            f"Note: the passphrase was not stored ({exc}); it will be asked for each time "
            "the tunnel starts.",
            file=out,
        )
        return
    print("The passphrase is stored in the system keychain.", file=out)


def _forget_passphrase(key_path: str) -> None:
    with contextlib.suppress(TunnelkeeperError):
        store = _passphrase_store()
        if store.usable():
            store.delete(key_path)


def _read_stdin_secret() -> str:
    line = sys.stdin.readline()
    return line[:-1] if line.endswith("\n") else line


def _ask_new_passphrase() -> str | None:
    try:
        first = getpass.getpass("Passphrase for the new key (empty for none): ")
        if not first:
            return None
        second = getpass.getpass("The same passphrase again: ")
    except EOFError:
        raise UserFacingError("no passphrase was entered.", EXIT_CONFIG) from None
    if first != second:
        raise UserFacingError("the two passphrases differ; nothing was created.", EXIT_CONFIG)
    return first


def cmd_keygen(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    from app import ssh
    from app.ssh import keys

    files = keys.key_files(paths.keys_dir, args.name)
    if args.no_passphrase:
        passphrase = None
    elif args.passphrase_stdin:
        passphrase = _read_stdin_secret() or None
    elif sys.stdin.isatty():
        passphrase = _ask_new_passphrase()
    else:
        raise UserFacingError(
            "choose --passphrase-stdin or --no-passphrase (no terminal to ask on).", EXIT_CONFIG
        )
    line = keys.generate(files, args.name, passphrase, force=args.force)
    key = ssh.load_private_key(files.private, passphrase, name=args.name)
    print(f"Created {files.private} ({ssh.describe_key(key, 'ED25519').split(' (')[0]}).", file=out)
    if passphrase:
        _remember_passphrase(str(files.private), passphrase, out)
    print("Paste this public key into your vendor's SSH public key field:", file=out)
    print(line, file=out)
    return EXIT_OK


def cmd_import_key(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    from app import ssh
    from app.ssh import keys

    files = keys.key_files(paths.keys_dir, args.name)
    source = Path(args.path).expanduser()
    passphrase: str | None = None
    try:
        key = keys.inspect(source, None, args.name)
    except KeyPassphraseNeeded:
        if args.passphrase_stdin:
            passphrase = _read_stdin_secret()
        elif sys.stdin.isatty():
            try:
                passphrase = getpass.getpass(f"Passphrase of {source}: ")
            except EOFError:
                raise KeyPassphraseNeeded(str(source)) from None
        else:
            raise
        key = keys.inspect(source, passphrase, args.name)
    line = keys.import_key(files, source, key, args.name, force=args.force)
    print(f"Imported {source} as {files.private} ({ssh.fingerprint(key)}).", file=out)
    if passphrase:
        _remember_passphrase(str(files.private), passphrase, out)
    print(line, file=out)
    return EXIT_OK


def cmd_pubkey(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    from app.ssh import keys

    files = keys.key_files(paths.keys_dir, args.name)
    if files.public.exists():
        print(safe_text(keys.read_public(files), PUBLIC_LINE_LIMIT), file=out)
        return EXIT_OK
    profiles = ProfileStore(paths.profiles_file).load()
    if args.name not in profiles:
        raise UserFacingError(
            f"there is no key or tunnel named {args.name!r} (see `tunnelkeeper list`).",
            EXIT_CONFIG,
        )
    profile = profiles[args.name]
    twin = keys.KeyFiles(Path(profile.key_path))
    if twin.public.exists():
        print(safe_text(keys.read_public(twin), PUBLIC_LINE_LIMIT), file=out)
        return EXIT_OK
    key = _load_key_for(profile)
    print(keys.public_line(key, keys.key_comment(profile.name)), file=out)
    return EXIT_OK


def _import_known_hosts(source: Path, endpoint: Any, paths: AppPaths, out: TextIO) -> int:
    """Pin what an OpenSSH known_hosts file (hashed or not) says about the jumphost."""
    from app import ssh
    from app.core import knownhosts
    from app.storage import hostkeys

    theirs = hostkeys.read(source, hostkeys.FOREIGN_REMEDY)  # not ours: `repair` can't help
    if not source.exists():
        raise UserFacingError(f"{source} does not exist.", EXIT_CONFIG)
    entries = knownhosts.pinned_for(theirs, endpoint.pattern)
    revoked = {e.key_blob for e in theirs.entries if e.marker is knownhosts.Marker.REVOKED}
    usable = [e for e in entries if e.key_blob not in revoked]
    if not usable:
        raise UserFacingError(
            f"{source} has no key for {endpoint.pattern}; run the vendor's ssh-keyscan "
            "command first, or use `tunnelkeeper trust NAME` to fetch it.",
        )
    for entry in usable:
        key = ssh.public_key_from_entry(entry)
        print(ssh.describe_key(key, endpoint.pattern), file=out)
    hostkeys.pin_all(
        paths.known_hosts_file, endpoint.pattern, [(e.key_type, e.key_blob) for e in usable]
    )
    plural = "key" if len(usable) == 1 else "keys"
    print(f"Pinned {len(usable)} {plural} for {endpoint.pattern} from {source}.", file=out)
    return EXIT_OK


def _load_key_for(profile: Profile) -> Any:
    from app.ssh.keys import load_private_key  # refuses a key others can read, as OpenSSH does

    try:
        return load_private_key(profile.key_path, name=profile.name)
    except KeyPassphraseNeeded:
        stored = _stored_passphrase(profile.key_path)
        if stored is not None:
            try:
                return load_private_key(profile.key_path, stored, name=profile.name)
            except KeyPassphraseWrong:
                if not sys.stdin.isatty():
                    raise UserFacingError(
                        f"the passphrase for key {profile.name} stored in the system keychain "
                        "is wrong; run the tunnel once on a terminal to enter it again.",
                        EXIT_CONFIG,
                    ) from None
        if not sys.stdin.isatty():
            raise
        try:
            passphrase = getpass.getpass(f"Passphrase for the key of tunnel {profile.name}: ")
        except EOFError:
            raise KeyPassphraseNeeded(profile.key_path) from None
        key = load_private_key(profile.key_path, passphrase, name=profile.name)
        if stored is not None or _keyring_usable():
            _remember_passphrase(profile.key_path, passphrase, sys.stderr)
        return key


def _stored_passphrase(key_path: str) -> str | None:
    try:
        store = _passphrase_store()
        return store.get(key_path) if store.usable() else None
    except TunnelkeeperError:
        return None


def _keyring_usable() -> bool:
    try:
        return bool(_passphrase_store().usable())
    except TunnelkeeperError:
        return False


def cmd_run(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    from app.core import knownhosts
    from app.core.events import TunnelEvent
    from app.engine.tunnel import Tunnel
    from app.storage import hostkeys

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
    from app.errors import CorruptConfigFile
    from app.storage.runstate import read_running

    unreadable: list[tuple[Path, str]] = []
    found = read_running(paths.runtime_dir, unreadable)
    for path, why in unreadable:  # skipped, like any broken file, and said so
        print(f"tunnelkeeper: {CorruptConfigFile(str(path), why)}", file=sys.stderr)
    running: list[dict[str, Any]] = safe_value(found, DETAIL_LIMIT)
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
    from app.engine.checks import CheckResult, ConnectionTest
    from app.storage.runstate import read_running

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
            f"[{_MARKS[result.status.value]}] {result.number}. {result.name}: "
            f"{safe_text(result.detail, DETAIL_LIMIT)}",
            file=out,
        )
        if result.remedy and result.status.value != "pass":
            print(f"       -> {safe_text(result.remedy, DETAIL_LIMIT)}", file=out)
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
    "repair": cmd_repair,
    "show": cmd_show,
    "remove": cmd_remove,
    "trust": cmd_trust,
    "run": cmd_run,
    "keygen": cmd_keygen,
    "import-key": cmd_import_key,
    "pubkey": cmd_pubkey,
    "status": cmd_status,
    "test": cmd_test,
}


def cmd_self_test(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    from app.selftest import run

    return run(out)


def _desktop_app(parser: argparse.ArgumentParser, quiet: bool) -> int:
    """No command: the tray app, or the help (and why) where no window can open."""
    from app.ui.display import display_problem

    problem = display_problem()
    if problem is not None:
        print(f"tunnelkeeper: {problem}", file=sys.stderr)
        parser.print_help()
        return EXIT_CONFIG
    try:
        from app.ui.application import run
    except ImportError as exc:  # Qt's system libraries missing (libEGL, libxkbcommon, …)
        print(f"tunnelkeeper: the desktop app cannot start: {exc}.", file=sys.stderr)
        parser.print_help()
        return EXIT_FAILED
    return run(quiet=quiet)


def _give_windowless_streams_a_file() -> None:
    """A windowed Windows build has no stdout/stderr: send what would be printed (--version,
    --self-test, errors) to ``console.log`` in the logs folder instead of losing it."""
    if sys.stdout is not None and sys.stderr is not None:
        return
    try:
        log_dir = app_paths().log_dir
        log_dir.mkdir(parents=True, exist_ok=True)
        stream = open(log_dir / "console.log", "a", encoding="utf-8", buffering=1)  # noqa: SIM115
    except (OSError, TunnelkeeperError):
        stream = open(os.devnull, "w")  # noqa: SIM115
    sys.stdout = sys.stdout or stream
    sys.stderr = sys.stderr or stream


def main(argv: Sequence[str] | None = None) -> int:
    _give_windowless_streams_a_file()
    parser = build_parser()
    args = parser.parse_args(argv)
    command: Callable[[argparse.Namespace, AppPaths, TextIO], int]
    if args.self_test:
        command = cmd_self_test
    elif args.command is None:
        return _desktop_app(parser, quiet=args.autostart)
    else:
        command = COMMANDS[args.command]
    # paramiko logs protocol trouble with tracebacks; we report it in our own words.
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    try:
        # inside: no private runtime folder (FolderNotPrivate) is a sentence, not a traceback
        return command(args, app_paths(), sys.stdout)
    except UserFacingError as exc:
        print(f"tunnelkeeper: {safe_text(str(exc), DETAIL_LIMIT)}", file=sys.stderr)
        return exc.code
    except (ConfigError, InvalidField) as exc:
        print(f"tunnelkeeper: {safe_text(str(exc), DETAIL_LIMIT)}", file=sys.stderr)
        return EXIT_CONFIG
    except TunnelkeeperError as exc:
        print(f"tunnelkeeper: {safe_text(str(exc), DETAIL_LIMIT)}", file=sys.stderr)
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
        said = safe_text(f"cannot use{where}: {exc.strerror or exc}", DETAIL_LIMIT)
        print(f"tunnelkeeper: {said}", file=sys.stderr)
        return EXIT_FAILED
