"""A tunnel endpoint ``HOST:PORT``, on a line of its own or as an assigned value."""

from __future__ import annotations

import re

from app.core.paste.result import Found, bad, short
from app.core.paste.values import is_placeholder
from app.core.profile import parse_hostport, validate_host
from app.errors import InvalidField

_ENDPOINT_RE = re.compile(r"(\[[0-9A-Za-z:.%_-]{1,100}\]|[A-Za-z0-9._-]{1,253}):([0-9]{1,10})")


def read_endpoint(found: Found, value: str, context: str) -> None:
    if is_placeholder(value):
        found.hole("jumphost", value)
        return
    try:
        host, port = parse_hostport(value, "endpoint")
    except InvalidField as exc:
        raise bad(context, exc, value) from exc
    found.put("jumphost", host)
    found.put("remote_port", port)


def endpoint_unit(text: str) -> Found | None:
    match = _ENDPOINT_RE.fullmatch(text)
    if not match or not re.search(r"[A-Za-z.\[]", match.group(1)):
        return None
    found = Found("tunnel endpoint")
    read_endpoint(found, text, text)
    found.gap("user", f"a tunnel endpoint ({short(text, 60)}) does not name the user")
    return found


def typed_jumphost(text: str) -> tuple[str, int | None]:
    """A jumphost as a person types it in its field: ``host``, ``v6addr``, ``[v6addr]``,
    ``host:port`` or ``[v6addr]:port``; the port there is the SSH port (None: none typed).
    Raises InvalidField (field ``jumphost``) for anything else."""
    raw = text.strip()
    try:
        return validate_host(raw, "jumphost"), None
    except InvalidField as exc:
        plain = exc
    if raw.startswith("[") or raw.count(":") == 1:
        try:
            return parse_hostport(raw, "jumphost")
        except InvalidField as exc:
            raise InvalidField(
                "jumphost",
                f"{exc.message} A port typed with the jumphost is its SSH port: "
                "HOST:PORT, or [IPv6]:PORT.",
            ) from None
    raise plain
