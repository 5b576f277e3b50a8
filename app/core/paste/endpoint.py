"""A tunnel endpoint ``HOST:PORT``, on a line of its own or as an assigned value."""

from __future__ import annotations

import re

from app.core.paste.result import Found, bad
from app.core.paste.values import is_placeholder
from app.core.profile import parse_hostport
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
    return found
