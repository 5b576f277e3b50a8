"""One OpenSSL per process: cryptography's own, not also the system's libcrypto (for `run`)."""

from __future__ import annotations

import sys

# cryptography carries its own OpenSSL inside its extension. Python's hashlib (through
# _hashlib) and asyncio (through ssl) load the system's libcrypto and libssl as well: 4.7
# MiB of resident memory in a process that imports paramiko and asyncio (41.0 -> 36.3 MiB
# here) for nothing `run` uses. hashlib and hmac work without _hashlib (Python's built-in
# md5, sha1, sha2, sha3 and blake2: paramiko asks for nothing else, and only for key
# exchanges and fingerprints); asyncio works without ssl (it never sees TLS here: the
# control endpoint is a local socket). The ssl module itself stays importable: proxies over
# TLS, SMTP and webhooks import it, and the system's OpenSSL, when they are used.


def hash_without_system_openssl() -> bool:
    """hashlib and hmac on Python's built-in digests from now on; False (nothing changed)
    if either is imported already: call it before anything imports them."""
    if any(name in sys.modules for name in ("hashlib", "hmac", "_hashlib")):
        return False
    sys.modules["_hashlib"] = None  # type: ignore[assignment]  # an ImportError to hashlib
    return True


def import_asyncio_without_ssl() -> bool:
    """Import asyncio without it importing ssl (asyncio then cannot do TLS; ssl itself
    stays importable); False (nothing changed) if asyncio or ssl is imported already.
    asyncio is imported where it is needed, after the tunnels start: it costs ~15 ms."""
    if "asyncio" in sys.modules or "ssl" in sys.modules:
        return False
    sys.modules["ssl"] = None  # type: ignore[assignment]  # an ImportError to asyncio
    try:
        import asyncio  # noqa: F401, PLC0415
    finally:
        if "ssl" in sys.modules and sys.modules["ssl"] is None:
            del sys.modules["ssl"]
    return True
