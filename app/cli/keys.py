"""Keys: ``keygen``, ``import-key`` and ``pubkey``."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import TextIO

from app.cli.output import EXIT_CONFIG, EXIT_OK, UserFacingError
from app.cli.passphrases import (
    ask_new_passphrase,
    load_key_for,
    read_stdin_secret,
    remember_passphrase,
)
from app.core.textsafe import safe_text
from app.errors import KeyPassphraseNeeded
from app.storage.paths import AppPaths
from app.storage.store import ProfileStore

PUBLIC_LINE_LIMIT = 20_000  # a .pub file is printed to be pasted: whole, but never raw


def cmd_keygen(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    from app import ssh
    from app.ssh import keys

    files = keys.key_files(paths.keys_dir, args.name)
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
    line = keys.generate(files, args.name, passphrase, force=args.force)
    key = ssh.load_private_key(files.private, passphrase, name=args.name)
    print(f"Created {files.private} ({ssh.describe_key(key, 'ED25519').split(' (')[0]}).", file=out)
    if passphrase:
        remember_passphrase(str(files.private), passphrase, out)
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
            passphrase = read_stdin_secret()
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
        remember_passphrase(str(files.private), passphrase, out)
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
    key = load_key_for(profile)
    print(keys.public_line(key, keys.key_comment(profile.name)), file=out)
    return EXIT_OK
