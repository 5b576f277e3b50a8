"""Tunnel keys: generating, importing and guarding the private key files."""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from app.core.profile import validate_name
from app.errors import KeyExists, KeyUnreadable, KeyUnsuitable
from app.ssh import keyload
from app.storage.fileio import atomic_write
from app.storage.keyperms import check_keys_folder, check_private_key

MIN_RSA_BITS = 2048


@dataclass(frozen=True)
class KeyFiles:
    """A managed key: the private file and its ``.pub`` twin."""

    private: Path

    @property
    def public(self) -> Path:
        return self.private.with_name(self.private.name + ".pub")


def key_files(keys_dir: Path, name: str) -> KeyFiles:
    return KeyFiles(keys_dir / validate_name(name))


def key_comment(name: str) -> str:
    return f"tunnelkeeper-{name}@{socket.gethostname().split('.')[0] or 'localhost'}"


# --- pure -----------------------------------------------------------------------------


def public_line(key: Any, comment: str) -> str:
    return f"{key.get_name()} {key.get_base64()} {comment}".strip()


# --- files ----------------------------------------------------------------------------


def load_private_key(path: str | Path, passphrase: str | None = None, name: str = "") -> Any:
    """``ssh.load_private_key``, after refusing, as OpenSSH does, a key file other users can
    read or change (KeyUnprotected) or one in a folder they can swap it in."""
    check_private_key(path)
    return keyload.load_private_key(path, passphrase, name=name)


def guard_private(path: Path) -> None:
    """Owner-only access: mode 0600 on POSIX, an owner-only ACL on Windows."""
    if os.name == "nt":  # pragma: no cover - exercised on Windows builds
        user = os.environ.get("USERNAME") or getpass.getuser()
        subprocess.run(
            ["icacls", str(path), "/inheritance:r", "/grant:r", f"{user}:F"],
            check=True,
            capture_output=True,
        )
    else:
        os.chmod(path, 0o600)


def generate(files: KeyFiles, name: str, passphrase: str | None, force: bool = False) -> str:
    """Write a new ed25519 key in OpenSSH format; return its public line."""
    check_keys_folder(files.private.parent)
    if not force and (files.private.exists() or files.public.exists()):
        raise KeyExists(str(files.private))
    key = ed25519.Ed25519PrivateKey.generate()
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode("utf-8"))
        if passphrase
        else serialization.NoEncryption()
    )
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, encryption
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    line = f"{public.decode('ascii')} {key_comment(name)}"
    files.private.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write(files.private, private, mode=0o600)
    guard_private(files.private)
    atomic_write(files.public, (line + "\n").encode("ascii"), mode=0o644)
    return line


def inspect(path: Path, passphrase: str | None, name: str) -> Any:
    """Load a key for import: permission, type and size checks on top of
    ``ssh.load_private_key``."""
    key = load_private_key(path, passphrase, name=name)
    if key.get_name() == "ssh-rsa" and int(key.get_bits()) < MIN_RSA_BITS:
        raise KeyUnsuitable(
            str(path), f"it is a {key.get_bits()}-bit RSA key; vendors need at least 2048 bits."
        )
    return key


def import_key(files: KeyFiles, source: Path, key: Any, name: str, force: bool = False) -> str:
    """Copy ``source`` (verbatim, encryption kept) into the keys folder; return the public
    line."""
    check_keys_folder(files.private.parent)
    if not force and (files.private.exists() or files.public.exists()):
        raise KeyExists(str(files.private))
    try:
        data = source.expanduser().read_bytes()
    except OSError as exc:
        raise KeyUnreadable(str(source), exc.strerror or str(exc)) from None
    comment = key_comment(name)
    pub_source = source.expanduser().with_name(source.name + ".pub")
    if pub_source.is_file():
        parts = pub_source.read_text(encoding="utf-8", errors="replace").split()
        if len(parts) >= 3:
            comment = " ".join(parts[2:])
    line = public_line(key, comment)
    files.private.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write(files.private, data, mode=0o600)
    guard_private(files.private)
    atomic_write(files.public, (line + "\n").encode("ascii"), mode=0o644)
    return line


def read_public(files: KeyFiles) -> str:
    try:
        return files.public.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise KeyUnreadable(
            str(files.public), "there is no such key; create it with `tunnelkeeper keygen NAME`."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyUnreadable(str(files.public), str(exc)) from None
