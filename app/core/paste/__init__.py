"""Read tunnel details pasted from a vendor's instructions into profile fields (pure logic)."""

from __future__ import annotations

from app.core.paste.parse import MAX_PASTE_CHARS, MAX_PASTE_LINES, parse_paste
from app.core.paste.result import REQUIRED, PasteResult
from app.core.paste.text import MAX_LINE_CHARS
from app.core.paste.values import is_placeholder

__all__ = [
    "MAX_LINE_CHARS",
    "MAX_PASTE_CHARS",
    "MAX_PASTE_LINES",
    "REQUIRED",
    "PasteResult",
    "is_placeholder",
    "parse_paste",
]
