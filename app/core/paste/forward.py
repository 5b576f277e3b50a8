"""The -R / RemoteForward grammar: ``[bind:]port:host:hostport``."""

from __future__ import annotations

from app.core.paste.result import Found, short
from app.core.paste.values import is_placeholder, read_bind, read_host, read_port
from app.errors import PasteError


def _spec_parts(spec: str, context: str) -> list[str]:
    """Split a forward on ':' outside [IPv6] brackets, <placeholders> and ${VARS}."""
    if ":" not in spec and "/" in spec and not spec.startswith(("/", ".", "~")):
        return spec.split("/")
    parts: list[str] = []
    depth = start = 0
    for index, char in enumerate(spec):
        if char in "[<{":
            depth += 1
        elif char in "]>}":
            depth -= 1
        elif char == ":" and depth == 0:
            parts.append(spec[start:index])
            start = index + 1
        if depth < 0:
            break
    if depth != 0:
        raise PasteError(f"`{short(context)}` has an unbalanced bracket.", spec)
    parts.append(spec[start:])
    return parts


def read_forward(found: Found, spec: str, context: str) -> None:
    """Read ``[bind:]port:host:hostport`` (ssh -R / RemoteForward) into the forward fields."""
    if found.forward is not None:
        found.note(
            f"{short(context)} is ignored: a tunnel carries one forward, and the first "
            f"({found.forward}) is used."
        )
        return
    found.forward = short(context)
    parts = _spec_parts(spec, context)
    if any("/" in part and not is_placeholder(part) for part in parts):
        found.note(
            f"{short(context)} is ignored: Tunnelkeeper forwards TCP ports, not Unix sockets."
        )
        return
    if len(parts) > 4:
        raise PasteError(
            f"`{short(context)}` has too many ':'; write an IPv6 address in brackets, "
            "as [BIND:]PORT:[ADDR]:PORT.",
            spec,
        )
    if len(parts) < 3:
        raise PasteError(
            f"`{short(context)}` names no target; Tunnelkeeper needs a forward of the form "
            "[BIND:]PORT:HOST:PORT.",
            spec,
        )
    if len(parts) == 4:
        read_bind(found, parts.pop(0), context)
    read_port(found, "remote_port", parts[0], context)
    read_host(found, "target_host", parts[1], context)
    read_port(found, "target_port", parts[2], context)
