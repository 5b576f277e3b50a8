"""``trust``: fetch, confirm and pin the jumphost's host key."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from app.cli.output import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, UserFacingError
from app.errors import TunnelkeeperError
from app.storage.paths import AppPaths
from app.storage.store import ProfileStore


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
