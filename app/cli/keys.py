"""Keys: ``keygen``, ``import-key`` and ``pubkey``."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING, TextIO

from app.cli.output import EXIT_CONFIG, EXIT_OK, UserFacingError
from app.cli.passphrases import (
    ask_new_passphrase,
    read_stdin_secret,
    tell_remembered,
    terminal_ask,
)
from app.core.profile import validate_name
from app.core.textsafe import safe_text
from app.errors import KeyPassphraseNeeded
from app.storage.paths import AppPaths

if TYPE_CHECKING:
    from app.services.keys import Ask, PassphraseRequest

PUBLIC_LINE_LIMIT = 20_000  # a .pub file is printed to be pasted: whole, but never raw


def cmd_keygen(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    validate_name(args.name)  # before any passphrase is asked for
    if args.no_passphrase:
        passphrase = None
    elif args.passphrase_stdin:
        passphrase = read_stdin_secret() or None
    elif sys.stdin.isatty():
        passphrase = ask_new_passphrase()
    else:
        raise UserFacingError(
            "choose --passphrase-stdin or --no-passphrase (no terminal to ask on).", EXIT_CONFIG
        )
    from app.services.api import Services

    made = Services(paths).keys.create(args.name, passphrase, force=args.force)
    print(f"Created {made.private_path} ({made.description.split(' (')[0]}).", file=out)
    tell_remembered(made.remembered, out)
    print("Paste this public key into your vendor's SSH public key field:", file=out)
    print(made.public_line, file=out)
    return EXIT_OK


def cmd_import_key(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    from app.services.api import Services

    ask: Ask | None = None
    if args.passphrase_stdin:
        ask = _from_stdin
    elif sys.stdin.isatty():
        ask = _ask_for_file
    made = Services(paths).keys.import_key(args.name, args.path, ask, force=args.force)
    print(f"Imported {made.source} as {made.private_path} ({made.fingerprint}).", file=out)
    tell_remembered(made.remembered, out)
    print(made.public_line, file=out)
    return EXIT_OK


def _from_stdin(request: PassphraseRequest) -> str:
    return read_stdin_secret()


def _ask_for_file(request: PassphraseRequest) -> str:
    try:
        return getpass.getpass(f"Passphrase of {request.key_path}: ")
    except EOFError:
        raise KeyPassphraseNeeded(request.key_path) from None


def cmd_pubkey(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    from app.services.api import Services
    from app.services.errors import NoKeyOrTunnel

    try:
        public = Services(paths).keys.public_line(args.name, terminal_ask())
    except NoKeyOrTunnel as exc:
        raise UserFacingError(
            f"there is no key or tunnel named {exc.name!r} (see `tunnelkeeper list`).",
            EXIT_CONFIG,
        ) from None
    tell_remembered(public.remembered, sys.stderr)
    line = safe_text(public.line, PUBLIC_LINE_LIMIT) if public.from_file else public.line
    print(line, file=out)
    return EXIT_OK
