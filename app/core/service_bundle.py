"""Tunnels handed to the system service: profile, key, pins (passphrase, proxy password) as JSON.

The unprivileged ``service install --move`` writes it to the privileged half's standard
input (never to a file or a command line); the privileged half checks every field before
it writes anything.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from app.core.profile import Profile, profile_from_dict
from app.core.proxy import parse_proxy
from app.errors import ConfigError, TunnelkeeperError

MAX_BUNDLE = 1024 * 1024
MAX_KEY = 64 * 1024
MAX_PASSPHRASE = 4096
MAX_TUNNELS = 100


class BadBundle(ConfigError):
    """What reached the privileged half is not a bundle this version writes."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"the tunnels to move could not be read ({detail}); nothing was changed.")


@dataclass(frozen=True)
class MovedTunnel:
    """One tunnel as the service will keep it; ``key_file`` is the key's file name there."""

    profile: Profile
    key_file: str
    key: bytes = field(repr=False)
    pins: tuple[tuple[str, bytes], ...]  # (key type, blob) trusted for its jumphost
    passphrase: str | None = field(default=None, repr=False)
    proxy_password: str | None = field(default=None, repr=False)  # of the proxy's user


def encode(tunnels: list[MovedTunnel]) -> bytes:
    items = [
        {
            "profile": {**t.profile.extra, **t.profile.to_dict()},
            "key_file": t.key_file,
            "key": base64.b64encode(t.key).decode(),
            "pins": [[kind, base64.b64encode(blob).decode()] for kind, blob in t.pins],
            "passphrase": t.passphrase,
            "proxy_password": t.proxy_password,
        }
        for t in tunnels
    ]
    return json.dumps({"version": 1, "tunnels": items}).encode()


def decode(data: bytes) -> list[MovedTunnel]:
    """The tunnels in ``data``; raises BadBundle naming what is wrong."""
    if len(data) > MAX_BUNDLE:
        raise BadBundle("too large")
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise BadBundle("not JSON") from None
    if not isinstance(document, dict) or document.get("version") != 1:
        raise BadBundle("not a version 1 bundle")
    items = document.get("tunnels")
    if not isinstance(items, list) or not 0 < len(items) <= MAX_TUNNELS:
        raise BadBundle("no tunnels, or too many")
    return [_tunnel(item) for item in items]


def _tunnel(item: Any) -> MovedTunnel:
    if not isinstance(item, dict):
        raise BadBundle("a tunnel is not an object")
    fields = item.get("profile")
    if not isinstance(fields, dict) or not isinstance(fields.get("name"), str):
        raise BadBundle("a tunnel has no profile")
    rest = {k: v for k, v in fields.items() if k != "name"}
    try:
        profile = profile_from_dict(fields["name"], rest)
    except (TunnelkeeperError, KeyError, TypeError) as exc:
        raise BadBundle(f"tunnel profile: {exc}") from None
    key_file = item.get("key_file")
    if not isinstance(key_file, str) or not key_file or "/" in key_file or "\\" in key_file:
        raise BadBundle("a key file name is missing or has a folder in it")
    if key_file.startswith(".") or len(key_file) > 200:
        raise BadBundle("a key file name is not usable")
    key = _bytes(item.get("key"), MAX_KEY, "key")
    pins_raw = item.get("pins")
    if not isinstance(pins_raw, list) or not pins_raw or len(pins_raw) > 16:
        raise BadBundle("a tunnel has no pinned host key")
    pins = []
    for pin in pins_raw:
        if not (isinstance(pin, list) and len(pin) == 2 and isinstance(pin[0], str)):
            raise BadBundle("a pinned host key is malformed")
        pins.append((pin[0], _bytes(pin[1], MAX_KEY, "host key")))
    passphrase = _secret(item.get("passphrase"), "a passphrase")
    proxy_password = _secret(item.get("proxy_password"), "a proxy password")
    if proxy_password is not None and not _has_proxy_user(profile):
        raise BadBundle("a proxy password came for a tunnel whose proxy names no user")
    return MovedTunnel(profile, key_file, key, tuple(pins), passphrase, proxy_password)


def _secret(value: Any, what: str) -> str | None:
    """A passphrase or password as sent (None: none), never quoted in an error."""
    if value is not None and (not isinstance(value, str) or len(value) > MAX_PASSPHRASE):
        raise BadBundle(f"{what} is malformed")
    return value


def _has_proxy_user(profile: Profile) -> bool:
    return parse_proxy(profile.proxy).user is not None


def _bytes(value: Any, limit: int, what: str) -> bytes:
    if not isinstance(value, str) or len(value) > limit * 2:
        raise BadBundle(f"a {what} is missing or too large")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BadBundle(f"a {what} is not base64") from None
