"""Jump hosts in a paste: ``-J``, ``ProxyJump`` and ``ProxyCommand ssh -W %h:%p …``."""

from __future__ import annotations

from app.core.jump import validate_jump
from app.core.paste.result import Found, short
from app.core.paste.values import is_placeholder
from app.errors import InvalidField

# ssh's options that take a value (besides -W, -p, -l and -J read here).
_SSH_WITH_VALUE = frozenset("BbcDEeFIiLmOoQRSw")
_FORWARD = frozenset({"%h:%p", "[%h]:%p"})


class Unusable(Exception):
    """Why a jump host form gives no jump host (said as a note; the rest of the paste stands)."""


def read_jump(found: Found, value: str, context: str) -> None:
    """Fill ``jump`` from a ``-J`` / ``ProxyJump`` value (``none``: no jump host, as ssh
    reads it); a placeholder is remembered as one, anything unusable becomes a note."""
    text = value.strip()
    if text.lower() == "none":
        return
    if is_placeholder(text):
        found.hole("jump", text)
        return
    try:
        spec = validate_jump(text)
    except InvalidField as exc:
        found.note(f"{short(context)} is ignored: {exc.message}")
        return
    if spec is not None:
        found.put("jump", spec)


def jump_from_ssh(found: Found, args: list[str]) -> None:
    """``ProxyCommand ssh [-J chain] [-p port] [-l user] -W %h:%p [user@]host``: ``jump``
    becomes the chain and that host last. Raises Unusable saying why it cannot."""
    values, rest = _ssh_options(args)
    forward = values.get("W")
    if forward is None:
        raise Unusable("ssh without -W %h:%p is not a plain jump through that host.")
    if forward not in _FORWARD:
        raise Unusable(f"-W {short(forward, 40)} does not forward to %h:%p.")
    if len(rest) != 1:
        raise Unusable("it names no single jump host (or runs a command on it).")
    destination = rest[0]
    if is_placeholder(destination):
        found.hole("jump", destination)
        return
    if destination.lower().startswith("ssh://"):
        hop = destination
    else:
        user, at, host = destination.rpartition("@")
        user = user if at else values.get("l", "")
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"  # a bare IPv6 address
        port = values.get("p")
        hop = (f"{user}@" if user else "") + (f"{host}:{port}" if port else host)
    chain = f"{values['J']},{hop}" if "J" in values else hop
    try:
        spec = validate_jump(chain)
    except InvalidField as exc:
        raise Unusable(exc.message) from None
    if spec is not None:
        found.put("jump", spec)


def _ssh_options(args: list[str]) -> tuple[dict[str, str], list[str]]:
    """(the values of -W, -p, -l and -J, the words that are no option or value)."""
    values: dict[str, str] = {}
    rest: list[str] = []
    index = 0
    while index < len(args):
        word = args[index]
        index += 1
        if len(word) < 2 or not word.startswith("-"):
            rest.append(word)
            continue
        if word == "--":
            rest.extend(args[index:])
            break
        for position in range(1, len(word)):
            letter = word[position]
            if letter not in "WplJ" and letter not in _SSH_WITH_VALUE:
                continue  # a flag: -q, -N, -T...
            value = word[position + 1 :]
            if not value:
                if index >= len(args):
                    raise Unusable(f"-{letter} has no value.")
                value = args[index]
                index += 1
            if letter in "WplJ":
                values.setdefault(letter, value)
            break
    return values, rest
