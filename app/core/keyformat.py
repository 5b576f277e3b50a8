"""Recognising private key file formats and their encryption (pure logic)."""

from __future__ import annotations

import base64
import binascii

# Ciphers paramiko (through cryptography) can decrypt in OpenSSH-format keys.
READABLE_CIPHERS = frozenset({"none", "aes256-ctr", "aes256-cbc"})


def openssh_cipher(data: bytes) -> str | None:
    """The cipher an OpenSSH-format private key is encrypted with ('none' if not), or None
    if ``data`` is not an OpenSSH-format key."""
    text = data.decode("ascii", "replace").strip().splitlines()
    if not text or text[0].strip() != "-----BEGIN OPENSSH PRIVATE KEY-----":
        return None
    body = "".join(line.strip() for line in text[1:] if not line.startswith("-----"))
    try:
        raw = base64.b64decode(body, validate=False)
    except (binascii.Error, ValueError):
        return None
    magic = b"openssh-key-v1\x00"
    if not raw.startswith(magic) or len(raw) < len(magic) + 4:
        return None
    size = int.from_bytes(raw[len(magic) : len(magic) + 4], "big")
    start = len(magic) + 4
    if size > 64 or start + size > len(raw):
        return None
    return raw[start : start + size].decode("ascii", "replace")


def unreadable_cipher(data: bytes) -> str | None:
    """The cipher name when ``data`` is an OpenSSH key encrypted in a way we cannot read."""
    cipher = openssh_cipher(data)
    return cipher if cipher is not None and cipher not in READABLE_CIPHERS else None
