"""The entry point: check the caps, clean the text, recognise each line, merge the finds."""

from __future__ import annotations

from collections.abc import Iterable

from app.core.paste.assignment import assignment_unit
from app.core.paste.command import command_unit
from app.core.paste.config import Block, block_line, block_start, finish_block
from app.core.paste.endpoint import endpoint_unit
from app.core.paste.result import Found, PasteResult, short
from app.core.paste.text import MAX_LINE_CHARS, logical_lines, normalise, strip_prompt
from app.core.profile import FIELDS
from app.errors import PasteError

# Far more than any set of instructions (a long how-to page is a few hundred lines); beyond
# either the text is refused before any work. Under both, the slowest input (thousands of
# short ssh commands) is read in about half a second: each line costs up to ~50 us.
MAX_PASTE_CHARS = 256 * 1024
MAX_PASTE_LINES = 5_000


def parse_paste(text: str) -> PasteResult:
    """Turn pasted instructions into profile fields; raises only PasteError."""
    if len(text) > MAX_PASTE_CHARS:
        raise PasteError(
            f"the pasted text is {len(text):,} characters long; tunnel details are far "
            f"shorter (at most {MAX_PASTE_CHARS:,} characters are read).",
            text[:40],
        )
    normal = normalise(text)
    lines = normal.count("\n") + 1
    if lines > MAX_PASTE_LINES:
        raise PasteError(
            f"the pasted text has {lines:,} lines; tunnel details are far shorter "
            f"(at most {MAX_PASTE_LINES:,} lines are read).",
            text[:40],
        )
    found = _scan(logical_lines(normal))
    if not found:
        raise PasteError(_nothing_message(normal), _first_line(normal))
    return _merge(found)


def _scan(lines: Iterable[str]) -> list[Found]:
    """Recognise each line as a command, a config block line, an assignment or an endpoint."""
    results: list[Found] = []
    aliases: set[str] = set()
    block: Block | None = None
    for raw in lines:
        line = raw.strip() if len(raw) <= MAX_LINE_CHARS else ""
        if block is not None:
            if block_line(block, line):
                continue
            _keep(results, finish_block(block, aliases))
            block = None
        block = block_start(line)
        if block is None:
            _keep(results, _line_unit(line, aliases))
    if block is not None:
        _keep(results, finish_block(block, aliases))
    return results


def _keep(results: list[Found], found: Found | None) -> None:
    if found is not None:
        results.append(found)


def _line_unit(line: str, aliases: set[str]) -> Found | None:
    text = strip_prompt(line)
    if not text:
        return None
    if "ssh" in text:
        found = command_unit(text, aliases)
        if found is not None:
            return found
    return assignment_unit(text) or endpoint_unit(text)


def _merge(units: list[Found]) -> PasteResult:
    total = Found(source="")
    sources: list[str] = []
    for unit in units:
        if unit.source not in sources:
            sources.append(unit.source)
        for name, value in unit.fields.items():
            total.put(name, value, unit.source)
        for name, token in unit.placeholders.items():
            total.hole(name, token)
        total.ignored.extend(unit.ignored)
        for name, sentence in unit.gaps.items():
            total.gaps.setdefault(name, sentence)
    return PasteResult(
        fields={name: total.fields[name] for name in FIELDS if name in total.fields},
        placeholders={
            name: total.placeholders[name] for name in FIELDS if name in total.placeholders
        },
        ignored=tuple(dict.fromkeys(total.ignored)),
        source=", ".join(sources),
        gaps={
            name: total.gaps[name]
            for name in FIELDS
            if name in total.gaps and name not in total.fields and name not in total.placeholders
        },
    )


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.split("\n") if line.strip()), "")


def _nothing_message(text: str) -> str:
    first = _first_line(text)
    if not first:
        return "nothing in this text looks like tunnel details: the text is empty."
    return (
        f"nothing in this text looks like tunnel details: {short(first, 60)!r} is not an "
        "ssh, autossh or ssh-keyscan command, a HOST:PORT tunnel endpoint, an ssh config "
        "Host block or SSH_HOST=... lines."
    )
