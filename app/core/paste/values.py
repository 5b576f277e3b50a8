"""Single values: placeholders, ports, hosts, users, key paths, binds and keepalives."""

from __future__ import annotations

import re
from collections.abc import Callable

from app.core.paste.result import Found, bad, short
from app.core.profile import (
    validate_bind,
    validate_host,
    validate_keepalive_count,
    validate_keepalive_interval,
    validate_port,
    validate_user,
)
from app.errors import InvalidField, PasteError

PLACEHOLDER_RE = re.compile(
    r"<[^<>]{1,100}>"
    r"|\$\{[^{}]{1,100}\}"
    r"|\$(?:env:)?[A-Za-z_][A-Za-z0-9_]{0,100}"
    r"|%[A-Za-z_][A-Za-z0-9_]{0,100}%"
    r"|\{\{[^{}]{1,100}\}\}"
    r"|\{[A-Za-z_][A-Za-z0-9_ -]{0,100}\}"
    r"|\[[A-Za-z_][A-Za-z0-9_ -]{0,100}\]"
    r"|(?:your|Your|YOUR)[-_]?[A-Za-z0-9_-]{1,100}"
    r"|[A-Z][A-Z0-9]{0,100}(?:_[A-Z0-9]{1,100}){1,10}"
    r"|HOST|HOSTNAME|PORT|USER|USERNAME|JUMPHOST|KEY|IP"
    r"|[xX]{2,100}(?:\.[xX]{1,3}){0,3}"
    r"|\.\.\.|\u2026"
)
_EMBEDDED_PLACEHOLDER_RE = re.compile(
    r"<[^<>\s]{1,100}>|\$\{[^{}]{1,100}\}|\$(?:env:)?[A-Za-z_]"
    r"|%[A-Za-z_][A-Za-z0-9_]{0,100}%|\{\{[^{}]{1,100}\}\}"
)
# A word in a port's place that cannot be a number was meant to be filled in ("PORT", "xxxx").
_WORD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,100}")
_HOME_RE = re.compile(
    r"(?:\$HOME|\$\{HOME\}|\$env:USERPROFILE|\$env:HOME|%USERPROFILE%)(?=[\\/])", re.IGNORECASE
)
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_TIME_RE = re.compile(r"(?:[0-9]+[smhdwSMHDW])*[0-9]+[smhdwSMHDW]?")
_TIME_PART_RE = re.compile(r"([0-9]+)([smhdwSMHDW]?)")
_TIME_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SERVICE_PORTS = {"ssh": 22}


def is_placeholder(text: str) -> bool:
    """True for text that stands for a value still to be filled in (<port>, $HOST, ...)."""
    return bool(PLACEHOLDER_RE.fullmatch(text) or _EMBEDDED_PLACEHOLDER_RE.search(text))


def read_port(found: Found, name: str, text: str, context: str) -> None:
    if text in _SERVICE_PORTS:
        found.put(name, _SERVICE_PORTS[text])
        return
    if _WORD_RE.fullmatch(text) and text != "localhost":
        found.hole(name, text)  # a word where a port belongs: a placeholder of some kind
        return
    _checked(found, name, text, context, lambda value: validate_port(value, name))


def _checked(
    found: Found, name: str, text: str, context: str, check: Callable[[str], object]
) -> None:
    """A placeholder leaves a hole; anything else must pass ``check``, whose complaint
    becomes a PasteError naming the token."""
    if is_placeholder(text):
        found.hole(name, text)
        return
    try:
        found.put(name, check(text))
    except InvalidField as exc:
        raise bad(context, exc, text) from exc


def read_host(found: Found, name: str, text: str, context: str) -> None:
    _checked(found, name, text, context, lambda value: validate_host(value, name))


def read_user(found: Found, text: str, context: str) -> None:
    _checked(found, "user", text, context, validate_user)


def read_key(found: Found, text: str, context: str) -> None:
    path = text.strip()
    home = _HOME_RE.match(path)
    if home:
        path = "~" + path[home.end() :]
    if not path:
        raise PasteError(f"`{short(context)}` gives an empty key file path.", text)
    if is_placeholder(path):
        found.hole("key_path", path)
        return
    if _CONTROL_RE.search(path):
        raise PasteError(
            f"`{short(context)}`: the key file path contains a control character.", text
        )
    found.put("key_path", path)


def read_bind(found: Found, text: str, context: str) -> None:
    if text in ("", "*"):
        found.put("remote_bind", "")
        return
    _checked(found, "remote_bind", text, context, validate_bind)


def _seconds(text: str) -> int | None:
    """ssh's time format: 10, 10s, 1m30s."""
    if len(text) > 20 or not _TIME_RE.fullmatch(text):
        return None
    return sum(
        int(number) * _TIME_UNITS[unit.lower()] for number, unit in _TIME_PART_RE.findall(text)
    )


def read_keepalive_interval(found: Found, text: str, context: str) -> None:
    if is_placeholder(text):
        found.hole("keepalive_interval", text)
        return
    seconds = _seconds(text)
    if seconds is None:
        raise PasteError(
            f"`{short(context)}`: ServerAliveInterval {text!r} is not a number of seconds.", text
        )
    if seconds == 0:
        found.note(
            "ServerAliveInterval=0 is ignored: Tunnelkeeper always sends keepalives "
            "(every 10 s unless you choose otherwise)."
        )
        return
    try:
        found.put("keepalive_interval", validate_keepalive_interval(seconds))
    except InvalidField as exc:
        raise bad(context, exc, text) from exc


def read_keepalive_count(found: Found, text: str, context: str) -> None:
    if is_placeholder(text):
        found.hole("keepalive_count_max", text)
        return
    if not re.fullmatch(r"[0-9]{1,9}", text):
        raise PasteError(
            f"`{short(context)}`: ServerAliveCountMax {text!r} is not a whole number.", text
        )
    try:
        count = validate_keepalive_count(int(text))
    except InvalidField as exc:
        raise bad(context, exc, text) from exc
    found.put("keepalive_count_max", count)
