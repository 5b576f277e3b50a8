"""OpenSSH known_hosts format: parsing, host matching and editing (pure logic)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum


class Marker(Enum):
    NONE = ""
    REVOKED = "@revoked"
    CERT_AUTHORITY = "@cert-authority"


@dataclass(frozen=True)
class Entry:
    """One usable known_hosts line."""

    line_number: int
    marker: Marker
    patterns: tuple[str, ...]
    key_type: str
    key_blob: bytes

    def matches(self, host_pattern: str) -> bool:
        return match_patterns(self.patterns, host_pattern)


@dataclass(frozen=True)
class Problem:
    """A line that could not be used, and why."""

    line_number: int
    reason: str


@dataclass(frozen=True)
class ParsedFile:
    entries: tuple[Entry, ...]
    problems: tuple[Problem, ...]


def host_pattern(host: str, port: int) -> str:
    """The name OpenSSH files a host under: ``host`` on port 22, else ``[host]:port``."""
    host = host.lower()
    return host if port == 22 else f"[{host}]:{port}"


def _match_hashed(pattern: str, name: str) -> bool:
    parts = pattern.split("|")
    if len(parts) != 4 or parts[1] != "1":
        return False
    try:
        salt = base64.b64decode(parts[2], validate=True)
        digest = base64.b64decode(parts[3], validate=True)
    except (binascii.Error, ValueError):
        return False
    mine = hmac.new(salt, name.encode("utf-8"), hashlib.sha1).digest()
    return hmac.compare_digest(mine, digest)


def _lines(text: str) -> list[str]:
    """Split like OpenSSH (on ``\\n`` only, dropping a ``\\r`` before it).

    ``str.splitlines`` would also break on form feeds, U+2028 and friends, which can
    sit inside a comment: line numbers would drift and rewriting would split the comment.
    """
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def _blob_type(blob: bytes) -> str | None:
    """The key type named at the start of an SSH public key blob, or None if unreadable."""
    if len(blob) < 4:
        return None
    size = int.from_bytes(blob[:4], "big")
    name = blob[4 : 4 + size]
    if size == 0 or len(name) != size:
        return None
    try:
        return name.decode("ascii")
    except UnicodeDecodeError:
        return None


def _wildcard(pattern: str) -> re.Pattern[str]:
    """OpenSSH host patterns know only ``*`` and ``?`` (brackets are literal)."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


def match_patterns(patterns: Iterable[str], name: str) -> bool:
    """OpenSSH semantics: any positive match and no negated (``!``) match."""
    matched = False
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw[1:] if negate else raw
        if pattern.startswith("|"):
            hit = _match_hashed(pattern, name.lower())
        else:
            hit = _wildcard(pattern.lower()).fullmatch(name.lower()) is not None
        if hit and negate:
            return False
        matched = matched or hit
    return matched


def parse(text: str) -> ParsedFile:
    """Parse known_hosts text; bad lines become problems, never exceptions."""
    entries: list[Entry] = []
    problems: list[Problem] = []
    for number, line in enumerate(_lines(text), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        fields = stripped.split()
        marker = Marker.NONE
        if fields[0].startswith("@"):
            try:
                marker = Marker(fields[0])
            except ValueError:
                problems.append(Problem(number, f"unknown marker {fields[0]}"))
                continue
            fields = fields[1:]
        if len(fields) < 3:
            problems.append(Problem(number, "expected host names, key type and key"))
            continue
        patterns, key_type, blob_text = fields[0], fields[1], fields[2]
        try:
            blob = base64.b64decode(blob_text, validate=True)
        except (binascii.Error, ValueError):
            problems.append(Problem(number, "the key is not valid base64"))
            continue
        if _blob_type(blob) != key_type:
            problems.append(Problem(number, f"the key is not a {key_type} key"))
            continue
        if marker is Marker.CERT_AUTHORITY:
            problems.append(
                Problem(number, "@cert-authority lines are not supported and were skipped")
            )
            continue
        entries.append(Entry(number, marker, tuple(patterns.split(",")), key_type, blob))
    return ParsedFile(tuple(entries), tuple(problems))


class Verdict(Enum):
    TRUSTED = "trusted"
    UNKNOWN = "unknown"
    CHANGED = "changed"
    REVOKED = "revoked"


def check(parsed: ParsedFile, pattern: str, key_blob: bytes) -> tuple[Verdict, list[Entry]]:
    """Judge a presented key for ``pattern``; also return the host's pinned entries."""
    revoked = [e for e in parsed.entries if e.marker is Marker.REVOKED and e.key_blob == key_blob]
    if revoked:
        return Verdict.REVOKED, revoked
    pinned = [e for e in parsed.entries if e.marker is Marker.NONE and e.matches(pattern)]
    if any(e.key_blob == key_blob for e in pinned):
        return Verdict.TRUSTED, pinned
    if pinned:
        return Verdict.CHANGED, pinned
    return Verdict.UNKNOWN, pinned


def pinned_for(parsed: ParsedFile, pattern: str) -> list[Entry]:
    return [e for e in parsed.entries if e.marker is Marker.NONE and e.matches(pattern)]


def format_line(pattern: str, key_type: str, key_blob: bytes) -> str:
    return f"{pattern} {key_type} {base64.b64encode(key_blob).decode('ascii')}"


def replace_host(text: str, pattern: str, new_line: str) -> str:
    """Return ``text`` with the plain entries for exactly ``pattern`` replaced by ``new_line``.

    Lines naming other hosts, hashed lines and marker lines are kept as they were.
    """
    pattern = pattern.lower()
    kept: list[str] = []
    for line in _lines(text):
        fields = line.split()
        if fields and not fields[0].startswith(("@", "#", "|")):
            names = fields[0].split(",")
            if pattern in (n.lower() for n in names):
                rest = [n for n in names if n.lower() != pattern]
                if not rest:
                    continue
                kept.append(" ".join([",".join(rest), *fields[1:]]))
                continue
        kept.append(line)
    kept.append(new_line)
    return "\n".join(kept) + "\n"
