"""Tunnels (profile, key, pins, passphrase, proxy password) and alerts handed to the system
service, as JSON.

The unprivileged ``service install --move`` / ``--alerts`` writes it to the privileged half's
standard input (never to a file or a command line); the privileged half checks every field
before it writes anything.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from app.core.alert_rules import AlertRule, rule_from_dict
from app.core.profile import Profile, profile_from_dict
from app.core.proxy import parse_proxy
from app.errors import ConfigError, InvalidField, TunnelkeeperError

MAX_BUNDLE = 1024 * 1024
MAX_KEY = 64 * 1024
MAX_PASSPHRASE = 4096
MAX_TUNNELS = 100
MAX_ALERTS = 100


class BadBundle(ConfigError):
    """What reached the privileged half is not a bundle this version writes."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"the tunnels or alerts for the service could not be read ({detail}); nothing "
            "was changed."
        )


@dataclass(frozen=True)
class MovedTunnel:
    """One tunnel as the service will keep it; ``key_file`` is the key's file name there."""

    profile: Profile
    key_file: str
    key: bytes = field(repr=False)
    pins: tuple[tuple[str, bytes], ...]  # (key type, blob) trusted for its jumphost
    passphrase: str | None = field(default=None, repr=False)
    proxy_password: str | None = field(default=None, repr=False)  # of the proxy's user


class NoAlertsToCopy(ConfigError):
    """``--alerts`` asked to copy the user's alerts, and they have none."""

    def __init__(self) -> None:
        super().__init__(
            "you have no alerts to copy into the service: add them first with "
            "`tunnelkeeper alerts add` (and send a test with `tunnelkeeper alerts test`)."
        )


@dataclass(frozen=True)
class MovedAlerts:
    """A user's alert rules as the service will keep them, and the password of each SMTP
    user they sign in as, by its keychain name (``smtp:USER@HOST:PORT``)."""

    rules: tuple[AlertRule, ...]
    passwords: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    def without_password(self) -> list[AlertRule]:
        """The rules that sign in, but whose password did not come along."""
        have = {name for name, _ in self.passwords}
        return [r for r in self.rules if r.secret_name is not None and r.secret_name not in have]


def encode(tunnels: list[MovedTunnel], alerts: MovedAlerts | None = None) -> bytes:
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
    document: dict[str, Any] = {"version": 1, "tunnels": items}
    if alerts is not None:
        document["alerts"] = {
            "rules": {rule.id: rule.to_dict() for rule in alerts.rules},
            "passwords": [[name, password] for name, password in alerts.passwords],
        }
    return json.dumps(document).encode()


def decode(data: bytes) -> list[MovedTunnel]:
    """The tunnels in ``data``; raises BadBundle naming what is wrong."""
    tunnels, _alerts = decode_bundle(data)
    return tunnels


def decode_bundle(data: bytes) -> tuple[list[MovedTunnel], MovedAlerts | None]:
    """The tunnels in ``data`` (none when it brings alerts) and the alerts (None: it brings
    none); raises BadBundle naming what is wrong."""
    if len(data) > MAX_BUNDLE:
        raise BadBundle("too large")
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise BadBundle("not JSON") from None
    if not isinstance(document, dict) or document.get("version") != 1:
        raise BadBundle("not a version 1 bundle")
    alerts = _alerts(document["alerts"]) if "alerts" in document else None
    items = document.get("tunnels")
    least = 0 if alerts is not None else 1
    if not isinstance(items, list) or not least <= len(items) <= MAX_TUNNELS:
        raise BadBundle("no tunnels, or too many")
    return [_tunnel(item) for item in items], alerts


def _alerts(value: Any) -> MovedAlerts:
    if not isinstance(value, dict):
        raise BadBundle("the alerts are not an object")
    found = value.get("rules")
    if not isinstance(found, dict) or not 0 < len(found) <= MAX_ALERTS:
        raise BadBundle("no alerts, or too many")
    rules = []
    for rule_id, fields in found.items():
        if not (rule_id.isdigit() and len(rule_id) <= 9) or not isinstance(fields, dict):
            raise BadBundle("an alert's ID or fields are malformed")
        try:
            rules.append(rule_from_dict(rule_id, fields))
        except InvalidField as exc:
            raise BadBundle(f"alert {rule_id}: {exc}") from None
    names = {rule.secret_name for rule in rules} - {None}
    passwords = []
    pairs = value.get("passwords", [])
    if not isinstance(pairs, list):
        raise BadBundle("the SMTP passwords are malformed")
    for pair in pairs:
        if not (isinstance(pair, list) and len(pair) == 2 and pair[0] in names):
            raise BadBundle("an SMTP password came for no alert's user")
        password = _secret(pair[1], "an SMTP password")
        if not password or any(c in password for c in "\n\r\x00"):
            raise BadBundle("an SMTP password is malformed")
        passwords.append((str(pair[0]), password))
    return MovedAlerts(tuple(rules), tuple(passwords))


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
