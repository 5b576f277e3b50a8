"""Private keys and their fingerprints, read with paramiko."""

from __future__ import annotations

import base64
import hashlib
import warnings
from pathlib import Path
from typing import Any

import paramiko
from cryptography.exceptions import UnsupportedAlgorithm
from paramiko.pkey import UnknownKeyType
from paramiko.ssh_exception import SSHException

from app.core import knownhosts
from app.core.keyformat import unreadable_cipher
from app.errors import (
    KeyPassphraseNeeded,
    KeyPassphraseWrong,
    KeyUnreadable,
    KeyUnsupportedEncryption,
)

_DISPLAY_TYPE = {"ssh-ed25519": "ED25519", "ssh-rsa": "RSA"}


def load_private_key(path: str | Path, passphrase: str | None = None, name: str = "") -> Any:
    """Load a private key, turning every failure into a sentence a person can act on."""
    key_path = Path(path).expanduser()
    try:
        data = key_path.read_bytes()
    except FileNotFoundError:
        raise KeyUnreadable(str(key_path), "the file does not exist.") from None
    except IsADirectoryError:
        raise KeyUnreadable(str(key_path), "that is a folder, not a key file.") from None
    except PermissionError:
        raise KeyUnreadable(str(key_path), "permission denied reading it.") from None
    except OSError as exc:
        raise KeyUnreadable(str(key_path), exc.strerror or "it cannot be read.") from None
    cipher = unreadable_cipher(data)
    if cipher is not None:
        raise KeyUnsupportedEncryption(str(key_path), cipher)
    unreadable = KeyUnreadable(
        str(key_path), "it is not a private key in OpenSSH or PEM format that we can read."
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # cryptography's DSA deprecation notice
            return paramiko.PKey.from_path(key_path, password=None)
    except TypeError:
        if passphrase is None:
            raise KeyPassphraseNeeded(str(key_path)) from None
    except UnknownKeyType:
        raise KeyUnreadable(
            str(key_path), "its key type is not supported (use ed25519, ECDSA or RSA)."
        ) from None
    except (ValueError, SSHException, IndexError, KeyError, UnsupportedAlgorithm):
        raise unreadable from None
    # Encrypted, and we have a passphrase: any failure now means it is the wrong one.
    try:
        return paramiko.PKey.from_path(key_path, password=passphrase.encode("utf-8"))
    except (ValueError, TypeError, SSHException, IndexError, KeyError):
        raise KeyPassphraseWrong(name or key_path.name) from None
    except UnsupportedAlgorithm:
        raise unreadable from None


def fingerprint_of_blob(blob: bytes) -> str:
    """``SHA256:…`` exactly as ``ssh-keygen -l`` prints it."""
    digest = hashlib.sha256(blob).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def fingerprint(key: Any) -> str:
    return fingerprint_of_blob(key.asbytes())


def key_bits(key: Any) -> int:
    bits = int(key.get_bits())
    if key.get_name() == "ssh-ed25519":
        return 256
    return bits


def display_type(key_type: str) -> str:
    if key_type.startswith("ecdsa-"):
        return "ECDSA"
    return _DISPLAY_TYPE.get(key_type, key_type.upper())


def describe_key(key: Any, comment: str) -> str:
    """One line as ``ssh-keygen -lf`` prints it: ``256 SHA256:… comment (ED25519)``."""
    return f"{key_bits(key)} {fingerprint(key)} {comment} ({display_type(key.get_name())})"


def public_key_from_entry(entry: knownhosts.Entry) -> Any:
    return paramiko.PKey.from_type_string(entry.key_type, entry.key_blob)
