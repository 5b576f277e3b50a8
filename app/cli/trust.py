"""``trust``: fetch, confirm and pin the host keys on the way: jump hosts', then the jumphost's."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from app.cli.output import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, UserFacingError
from app.engine.route import hops_of
from app.storage.paths import AppPaths

if TYPE_CHECKING:
    from app.services.hostkeys import HostKey, HostKeyService


def cmd_trust(
    args: argparse.Namespace,
    paths: AppPaths,
    out: TextIO,
    ask: Callable[[str], str] = input,
) -> int:
    from app.errors import HostKeyUnavailable
    from app.services.api import Services

    services = Services(paths)
    hostkeys = services.hostkeys
    if args.import_known_hosts:
        return _import_known_hosts(hostkeys, args.name, args.import_known_hosts, out)
    profile = services.profiles.get(args.name)
    password = services.proxies.password(profile)
    judge = _Judge(args, out, ask)
    try:
        if getattr(profile, "jump", None):
            from app.cli.passphrases import stored_passphrase_wrong, terminal_ask
            from app.errors import StoredPassphraseWrong

            try:
                key = services.keys.load_for(profile, terminal_ask()).key
            except StoredPassphraseWrong as exc:
                raise stored_passphrase_wrong(exc) from None
            keys = hostkeys.fetch_chain(args.name, key, judge, proxy_password=password)
            hops = len(hops_of(profile))
            if len(keys) <= hops and judge.declined:  # the person said no to a jump host
                print("Not trusted; nothing was changed.", file=out)
                return EXIT_FAILED
            if len(keys) <= hops:  # the walk stopped at a jump host's key
                raise UserFacingError(judge.refusal or "the jump host's key was refused.")
        else:
            keys = [hostkeys.fetch(args.name, proxy_password=password)]
    except HostKeyUnavailable as exc:
        raise UserFacingError(str(exc)) from None
    if not judge(keys[-1]):
        if judge.declined:
            print("Not trusted; nothing was changed.", file=out)
            return EXIT_FAILED
        raise UserFacingError(judge.refusal or "the jumphost's key was refused.")
    if not judge.to_pin:
        return EXIT_OK
    for key in judge.to_pin:
        where = hostkeys.pin([key])
        print(f"Pinned {key.fingerprint} for {key.pattern} in {where}.", file=out)
    return EXIT_OK


class _Judge:
    """Decides on each presented host key in turn, jump hosts first: shows it, then
    accepts it by ``--yes`` (a first key only), ``--fingerprint`` (one given per key;
    matched by value, so their order does not matter) or the person's answer."""

    def __init__(self, args: argparse.Namespace, out: TextIO, ask: Callable[[str], str]) -> None:
        self._yes = bool(args.yes)
        self._wanted = [f.strip() for f in (args.fingerprint or [])]
        self._out = out
        self._ask = ask
        self.to_pin: list[HostKey] = []
        self.refusal: str | None = None  # why a key was refused, for the error
        self.declined = False  # the person said no

    def __call__(self, key: HostKey) -> bool:
        from app.services.hostkeys import CHANGED, REVOKED, TRUSTED

        out, presented = self._out, key.fingerprint
        print(key.description, file=out)
        if key.verdict == REVOKED:
            return self._refuse(f"this host key ({presented}) is marked @revoked; not pinning it.")
        if key.verdict == TRUSTED:
            print(f"This host key is already trusted for {key.pattern}.", file=out)
            return True
        changed = key.verdict == CHANGED
        if changed:
            before = ", ".join(key.pinned_before)
            print(f"WARNING: this differs from the key trusted before ({before}).", file=out)
        if self._wanted:
            if presented not in self._wanted:
                expected = " or ".join(self._wanted)
                return self._refuse(
                    f"{key.label} presented {presented}, not the expected {expected}; "
                    "nothing was pinned."
                )
        elif self._yes and changed:
            return self._refuse(
                f"the host key of {key.label} CHANGED, and --yes only accepts a first key; "
                f"confirm the new one with --fingerprint {presented} once its owner has "
                "confirmed it."
            )
        elif not self._yes and not self._confirmed():
            return False
        self.to_pin.append(key)
        return True

    def _confirmed(self) -> bool:
        if not sys.stdin.isatty():
            raise UserFacingError(
                "confirm the fingerprint with --yes or --fingerprint SHA256:... "
                "(no terminal to ask on).",
                EXIT_CONFIG,
            )
        try:
            answer = self._ask(
                "Compare this with the fingerprint your vendor shows. Trust it? [y/N] "
            )
        except EOFError:
            answer = ""
        if answer.strip().lower() in ("y", "yes"):
            return True
        self.declined = True
        return False

    def _refuse(self, why: str) -> bool:
        self.refusal = why
        return False


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
