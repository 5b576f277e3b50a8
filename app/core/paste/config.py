"""ssh config ``Host`` blocks (and ``Match`` blocks, which are skipped)."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass

from app.core.paste.options import BLOCK_OPENERS, KEYWORD_RE, KNOWN_KEYWORDS, apply_keyword
from app.core.paste.result import Found
from app.core.profile import validate_host
from app.errors import InvalidField


@dataclass
class Block:
    """An ssh config ``Host`` block being read (or a ``Match`` block being skipped)."""

    found: Found
    alias: str | None
    skip: bool = False
    used: bool = False


_HOST_LINE_RE = re.compile(r"(host|match)(?:\s*=\s*|\s+)(.+)", re.IGNORECASE)
_CONFIG_SOURCE = "ssh config Host block"


def block_start(line: str) -> Block | None:
    head = _HOST_LINE_RE.fullmatch(line)
    if head:
        if head.group(1).lower() == "match":
            return Block(Found(_CONFIG_SOURCE), None, skip=True)
        patterns = head.group(2).split()
        single = len(patterns) == 1 and not any(c in patterns[0] for c in "*?!,")
        return Block(Found(_CONFIG_SOURCE), patterns[0] if single else None)
    keyword = KEYWORD_RE.fullmatch(line)
    if keyword and keyword.group(1).lower() in BLOCK_OPENERS:
        block = Block(Found(_CONFIG_SOURCE), None)
        block_line(block, line)
        return block
    return None


def block_line(block: Block, line: str) -> bool:
    """Apply one line of a block; False when the line does not belong to the block."""
    if not line or line.startswith("#"):
        return True
    match = KEYWORD_RE.fullmatch(line)
    if not match:
        return False
    name = match.group(1).lower()
    if name in ("host", "match") or name not in KNOWN_KEYWORDS:
        return False
    block.used = True
    if not block.skip:
        apply_keyword(block.found, match.group(1), match.group(2), line)
    return True


def finish_block(block: Block, aliases: set[str]) -> Found | None:
    if not block.used:
        return None
    found = block.found
    if block.skip:
        found.note("a Match block is ignored: paste the Host block of the jumphost instead.")
        return found
    alias = block.alias
    if alias is not None:
        aliases.add(alias)
        if "jumphost" not in found.fields and "jumphost" not in found.placeholders:
            with contextlib.suppress(InvalidField):
                found.put("jumphost", validate_host(alias, "jumphost"))
    found.gap("user", "the vendor's Host block has no User line")
    if found.forward is None:
        for name in ("remote_port", "target_host", "target_port"):
            found.gap(name, "the vendor's Host block has no RemoteForward line")
    return found
