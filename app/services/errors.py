"""The services' errors, now in the one tree in :mod:`app.errors` (kept for old imports)."""

from __future__ import annotations

from app.errors import (
    HostKeyUnavailable,
    KnownHostsMissing,
    NoKeyForHost,
    NoKeyOrTunnel,
    StoredPassphraseWrong,
)

__all__ = [
    "HostKeyUnavailable",
    "KnownHostsMissing",
    "NoKeyForHost",
    "NoKeyOrTunnel",
    "StoredPassphraseWrong",
]
