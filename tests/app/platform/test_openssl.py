"""A `run` process loads cryptography's OpenSSL only, and hashing, asyncio and TLS still work."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from app.platform.openssl import hash_without_system_openssl, import_asyncio_without_ssl
from tests.support.cli import ROOT

# In a fresh interpreter (this one imported hashlib long ago): what the function changed,
# whether what `run` uses works, and which OpenSSL libraries are mapped.
_PROBE = """
import json, sys
from app.platform.openssl import hash_without_system_openssl, import_asyncio_without_ssl
changed = [hash_without_system_openssl(), import_asyncio_without_ssl()]
import asyncio, hashlib, hmac
from app.ssh.library import import_paramiko
import_paramiko()
import paramiko
digests = {name: getattr(hashlib, name)(b"abc").hexdigest()[:16] for name in ("md5", "sha1",
           "sha256", "sha512")}
mac = hmac.new(b"k", b"m", "sha1").hexdigest()[:16]
ran = asyncio.run(asyncio.sleep(0, result="ran"))
maps_before_tls = open("/proc/self/maps").read()
import ssl
context = ssl.create_default_context()
print(json.dumps({
    "changed": changed, "digests": digests,
    "again": [hash_without_system_openssl(), import_asyncio_without_ssl()],
    "hmac": mac, "asyncio": ran, "tls": context.protocol.name,
    "system_libcrypto": "libcrypto.so" in maps_before_tls,
    "after_tls": "libssl.so" in open("/proc/self/maps").read(),
}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")
def test_run_maps_no_system_openssl_yet_hashes_and_tls_work() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["changed"] == [True, True]
    assert seen["again"] == [False, False]  # a second call changes nothing
    assert seen["digests"] == {
        "md5": "900150983cd24fb0",
        "sha1": "a9993e364706816a",
        "sha256": "ba7816bf8f01cfea",
        "sha512": "ddaf35a193617aba",
    }
    assert seen["hmac"] == "772b71c8a2997e76"
    assert seen["asyncio"] == "ran"
    assert seen["system_libcrypto"] is False
    # ssl stays importable: proxies over TLS, SMTP and webhooks load the system's OpenSSL
    assert seen["tls"] == "PROTOCOL_TLS_CLIENT"
    assert seen["after_tls"] is True


def test_once_hashlib_and_asyncio_are_loaded_nothing_changes() -> None:
    import asyncio  # noqa: F401
    import hashlib  # noqa: F401

    assert hash_without_system_openssl() is False
    assert import_asyncio_without_ssl() is False
    assert sys.modules.get("_hashlib", "absent") is not None
