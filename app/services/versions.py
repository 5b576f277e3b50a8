"""The versions support asks about: Tunnelkeeper, the OS, Python, paramiko, OpenSSL, Qt."""

from __future__ import annotations

import platform
import ssl
import sys
from collections.abc import Mapping
from importlib import metadata

from cryptography.hazmat.backends.openssl.backend import backend as openssl

from app import __version__
from app.ssh.about import library_version


def versions(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The versions support asks about: OS, Python, paramiko, OpenSSL (cryptography's,
    which SSH uses, and Python's, which TLS proxies use), Qt (``extra`` may say it, from
    a process that has Qt loaded; else its package's version, without loading it)."""
    found = {
        "tunnelkeeper": __version__,
        "os": platform.platform(),
        "machine": platform.machine(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "paramiko": library_version().partition(" ")[2],
        "openssl (ssh)": _cryptography_openssl(),
        "openssl (python ssl)": ssl.OPENSSL_VERSION,
        "cryptography": _package("cryptography"),
        "keyring": _package("keyring"),
        "qt": _package("PySide6-Essentials", "PySide6"),
        "frozen": "yes" if getattr(sys, "frozen", False) else "no",
    }
    found.update(extra or {})
    return found


def _package(*names: str) -> str:
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "not installed"


def _cryptography_openssl() -> str:
    try:
        return str(openssl.openssl_version_text())
    except Exception as exc:  # an odd build says so in the bundle, it never stops it
        return f"unknown ({type(exc).__name__})"
