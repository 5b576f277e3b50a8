"""JSON and TOML parsing for files that may be hostile: nesting bounded, never a crash."""

from __future__ import annotations

import json
import tomllib
from typing import Any

# Our files nest three or four levels; anything near this is not one of ours. It also keeps
# later recursive walks over the data (copies, repr, escaping) far from the recursion limit.
MAX_DEPTH = 32


class Unparsable(ValueError):
    """The text is not a usable document; ``str()`` is a short reason for a sentence."""


def _too_deep() -> Unparsable:
    return Unparsable(f"it is nested more than {MAX_DEPTH} levels deep")


def depth_exceeds(value: object, limit: int = MAX_DEPTH) -> bool:
    """Whether lists/dicts nest deeper than ``limit`` (walked without recursion)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def loads_json(text: str) -> Any:
    """``json.loads`` that raises only :class:`Unparsable` (bad syntax, too deep, too big)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Unparsable(f"line {exc.lineno}: {exc.msg}") from None
    except RecursionError:
        raise _too_deep() from None
    except MemoryError:
        raise Unparsable("it is too large to read") from None
    except ValueError as exc:  # e.g. an integer with too many digits
        raise Unparsable(str(exc)) from None
    if depth_exceeds(data):
        raise _too_deep()
    return data


def loads_toml(text: str) -> dict[str, Any]:
    """``tomllib.loads`` that raises only :class:`Unparsable` (bad syntax, too deep, too big)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise Unparsable(str(exc)) from None
    except RecursionError:
        raise _too_deep() from None
    except MemoryError:
        raise Unparsable("it is too large to read") from None
    except ValueError as exc:  # e.g. an integer with too many digits
        raise Unparsable(str(exc)) from None
    if depth_exceeds(data):
        raise _too_deep()
    return data
