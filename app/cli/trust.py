"""``trust``: fetch, confirm and pin the jumphost's host key."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from app.cli.output import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, UserFacingError
from app.storage.paths import AppPaths

if TYPE_CHECKING:
    from app.services.hostkeys import HostKeyService


def cmd_trust(
    args: argparse.Namespace,
    paths: AppPaths,
    out: TextIO,
    ask: Callable[[str], str] = input,
) -> int:
    from app.errors import HostKeyUnavailable
    from app.services.api import Services
    from app.services.hostkeys import CHANGED, REVOKED, TRUSTED

    services = Services(paths)
    hostkeys = services.hostkeys
    if args.import_known_hosts:
        return _import_known_hosts(hostkeys, args.name, args.import_known_hosts, out)
    password = services.proxies.password(services.profiles.get(args.name))
    try:
        key = hostkeys.fetch(args.name, proxy_password=password)
    except HostKeyUnavailable as exc:
        raise UserFacingError(str(exc)) from None
    presented = key.fingerprint
    print(key.description, file=out)

    if key.verdict == REVOKED:
        raise UserFacingError(f"this host key ({presented}) is marked @revoked; not pinning it.")
    if key.verdict == TRUSTED:
        print(f"This host key is already trusted for {key.pattern}.", file=out)
        return EXIT_OK
    changed = key.verdict == CHANGED
    if changed:
        before = ", ".join(key.pinned_before)
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

    where = hostkeys.pin([key])
    print(f"Pinned {presented} for {key.pattern} in {where}.", file=out)
    return EXIT_OK


def _import_known_hosts(hostkeys: HostKeyService, name: str, source: str, out: TextIO) -> int:
    """Pin what an OpenSSH known_hosts file (hashed or not) says about the jumphost."""
    from app.errors import KnownHostsMissing, NoKeyForHost

    try:
        found = hostkeys.from_known_hosts(name, source)
    except KnownHostsMissing as exc:
        raise UserFacingError(f"{exc.path} does not exist.", EXIT_CONFIG) from None
    except NoKeyForHost as exc:
        raise UserFacingError(
            f"{exc.path} has no key for {exc.pattern}; run the vendor's ssh-keyscan "
            "command first, or use `tunnelkeeper trust NAME` to fetch it.",
        ) from None
    for key in found:
        print(key.description, file=out)
    hostkeys.pin(found)
    plural = "key" if len(found) == 1 else "keys"
    print(
        f"Pinned {len(found)} {plural} for {found[0].pattern} from {Path(source).expanduser()}.",
        file=out,
    )
    return EXIT_OK
