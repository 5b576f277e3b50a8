"""What the SSH layer can say about itself: the library's version, a signing self-check."""

from __future__ import annotations

from typing import Any

import paramiko


def library_version() -> str:
    """``paramiko 5.1.0``: for diagnostics and the self-test."""
    return f"paramiko {paramiko.__version__}"


def signs_and_verifies(key: Any, data: bytes) -> bool:
    """``key`` (a loaded ed25519 private key) signs ``data`` and its public half verifies."""
    signature = key.sign_ssh_data(data)
    public = paramiko.Ed25519Key(data=key.asbytes())
    return bool(public.verify_ssh_sig(data, paramiko.Message(signature.asbytes())))
