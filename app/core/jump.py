"""Jump hosts (OpenSSH's ProxyJump): the chain's text form, parsed and validated (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from app.core.profile import (
    DEFAULT_SSH_PORT,
    format_hostport,
    validate_host,
    validate_port,
    validate_user,
)
from app.core.textsafe import safe_text
from app.errors import InvalidField

MAX_HOPS = 8  # more than any real network needs; each hop is one more SSH login
TEXT_LIMIT = 2048  # characters of a chain we read at most
FORM = "user@host[:port], several separated by commas (the first is dialled first)"
_URI = "ssh://"


@dataclass(frozen=True)
class Hop:
    """One jump host: who we log in as (None: the tunnel's user) and where."""

    user: str | None
    host: str
    port: int = DEFAULT_SSH_PORT

    @property
    def label(self) -> str:
        """``host:port`` (``[v6]:port``), as errors and the test name it."""
        return format_hostport(self.host, self.port)

    @property
    def text(self) -> str:
        """The canonical form: ``user@host:port`` (the port always written)."""
        return self.label if self.user is None else f"{self.user}@{self.label}"


def _invalid(text: str, problem: str) -> InvalidField:
    return InvalidField("jump", f"{safe_text(text, 120)!r} {problem}; give {FORM}.")


def _split_hostport(part: str, address: str) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port`` (a bare IPv6 address too)."""
    if address.startswith("["):
        close = address.find("]")
        if close < 0:
            raise _invalid(part, "has an unclosed '['")
        host, rest = address[: close + 1], address[close + 1 :]
        if rest and not rest.startswith(":"):
            raise _invalid(part, "has text after the ']'")
        port_text = rest[1:] if rest else None
    elif address.count(":") > 1:
        host, port_text = address, None  # a bare IPv6 address: no port can follow it
    else:
        host, sep, port_text_or_empty = address.partition(":")
        port_text = port_text_or_empty if sep else None
    try:
        checked_host = validate_host(host, "jump")
        port = DEFAULT_SSH_PORT if port_text is None else validate_port(port_text, "jump")
    except InvalidField as exc:
        raise _invalid(part, f"is not a jump host ({exc.message.rstrip('.')})") from None
    return checked_host, port


def parse_hop(text: str) -> Hop:
    """One ``[ssh://][user@]host[:port]``. Raises InvalidField("jump", …)."""
    part = text.strip()
    if part.lower().startswith(_URI):
        part = part[len(_URI) :].rstrip("/")
    if not part:
        raise _invalid(text, "has an empty jump host")
    user_text, at, address = part.rpartition("@")
    user: str | None = None
    if at:
        try:
            user = validate_user(user_text)
        except InvalidField:
            raise _invalid(text, "has a user name that is not valid") from None
    host, port = _split_hostport(text, address)
    return Hop(user, host, port)


def parse_jump(text: str) -> tuple[Hop, ...]:
    """A chain ``user@host[:port][,user@host[:port]…]``, the first hop first; empty for
    ``none`` or nothing. Raises InvalidField("jump", …)."""
    raw = text.strip()
    if len(raw) > TEXT_LIMIT:
        raise InvalidField("jump", f"the jump hosts are longer than {TEXT_LIMIT} characters.")
    if raw.lower() in ("", "none"):
        return ()
    hops = tuple(parse_hop(part) for part in raw.split(","))
    if len(hops) > MAX_HOPS:
        raise InvalidField("jump", f"{len(hops)} jump hosts are too many; at most {MAX_HOPS}.")
    return hops


def jump_text(hops: tuple[Hop, ...]) -> str | None:
    """The stored form of a chain; None for no jump host."""
    return ",".join(hop.text for hop in hops) or None


def validate_jump(value: object) -> str | None:
    """A profile's ``jump`` in its canonical form (None: no jump host). Raises InvalidField."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidField("jump", f"{value!r} must be text.")
    return jump_text(parse_jump(value))


def route_label(hops: tuple[Hop, ...]) -> str:
    """How check 2 and the status name the way: "via jump host bastion.corp:22"."""
    if len(hops) == 1:
        return f"via jump host {hops[0].label}"
    return "via jump hosts " + " then ".join(hop.label for hop in hops)
