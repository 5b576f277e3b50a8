"""How commands print what they hold: JSON for programs, columns or a sentence for people."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TextIO


def print_json(out: TextIO, data: Any) -> None:
    """``data`` (plain dicts, lists, str, int, float, bool, None) as indented JSON."""
    print(json.dumps(data, indent=2), file=out)


def listed_briefly(out: TextIO, items: Sequence[Any], as_json: bool, none: str) -> bool:
    """Print ``items`` as JSON when ``as_json``, else the sentence ``none`` when there are
    none. True when that was all there is to print; False leaves the listing for people to
    the caller."""
    if as_json:
        print_json(out, items)
        return True
    if not items:
        print(none, file=out)
        return True
    return False


def print_table(out: TextIO, rows: Sequence[Sequence[str]]) -> None:
    """``rows`` (a header first) in columns as wide as their widest cell, two spaces apart."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip(), file=out)
