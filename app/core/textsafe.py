"""One guard for text from the network or a file: control characters escaped, length cut."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

# Limits for where such text ends up; the two that wrap other text leave room for the sentence.
PIECE_LIMIT = 200  # one quoted piece inside a sentence: a server's words, a path, a field
DETAIL_LIMIT = 600  # an event's detail, a run-state or notification line
LOG_LIMIT = 2_000  # one log record's message

# Cc: C0, DEL, C1; Cf: bidi overrides, zero-width and other format characters; Cs: lone
# surrogates (undecodable bytes of a file name); Zl/Zp: line and paragraph separators.
_UNSAFE = frozenset(("Cc", "Cf", "Cs", "Zl", "Zp"))
_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escaped(char: str) -> str:
    if unicodedata.category(char) not in _UNSAFE:
        return char
    short = _SHORT.get(char)
    if short is not None:
        return short
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _marker(rest: int) -> str:
    return f"… ({rest} more characters)"


def safe_text(text: str, limit: int = PIECE_LIMIT) -> str:
    """``text`` with every control and format character escaped (``\\x1b``, ``\\u202e``) and
    cut to at most ``limit`` characters, a cut ending in "… (N more characters)".

    Plain text within the limit comes back unchanged, and so does anything this returned.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if len(text) <= limit:
        if text.isprintable():
            return text  # the common case, in C: nothing to escape (spaces are printable)
        whole = "".join(map(_escaped, text))
        if len(whole) <= limit:
            return whole
    # Too long: keep what fits before the marker. The marker for the whole length is the
    # longest it can be, so the result never exceeds the limit; only the kept part is scanned.
    marker = _marker(len(text))
    if len(marker) >= limit:
        marker = "…"
    budget = limit - len(marker)
    pieces: list[str] = []
    used = 0
    for char in text:
        piece = _escaped(char)
        if used + len(piece) > budget:
            break
        pieces.append(piece)
        used += len(piece)
    rest = len(text) - len(pieces)
    return "".join(pieces) + (marker if marker == "…" else _marker(rest))


def safe_value(value: Any, limit: int = PIECE_LIMIT) -> Any:
    """A JSON-ready copy of ``value`` whose every string (keys too) went through
    :func:`safe_text`; numbers, booleans and None pass, anything else becomes safe text."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return safe_text(value, limit)
    if isinstance(value, Mapping):
        return {safe_text(str(k), PIECE_LIMIT): safe_value(v, limit) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [safe_value(item, limit) for item in value]
    return safe_text(str(value), limit)
