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
from typing import NamedTuple

from app.core.textsafe import safe_text


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


class Problem(NamedTuple):
    """A line that could not be used, and why (a tuple: hostile files make many)."""

    line_number: int
    reason: str


@dataclass(frozen=True)
class ParsedFile:
    entries: tuple[Entry, ...]
    problems: tuple[Problem, ...]


# What one file may hold: far beyond real ones (a 10,000-host file with three keys per host
# is about 30,000 lines), and small enough that a file under these is read, and every
# host matched against it, in well under a second.
MAX_BYTES = 16 * 1024 * 1024
MAX_LINES = 50_000
MAX_HOST_NAMES = 100_000


def oversize(text: str) -> str | None:
    """Why ``text`` is too big to read (a short reason), or None; counts, no parsing."""
    if len(text) > MAX_BYTES:
        return f"it is {len(text):,} characters long; at most {MAX_BYTES:,} are read"
    lines = text.count("\n") + 1
    if lines > MAX_LINES:
        return f"it has {lines:,} lines; at most {MAX_LINES:,} are read"
    names = text.count(",") + lines  # an upper bound: each line's names, split on commas
    if names > MAX_HOST_NAMES:
        return f"it names up to {names:,} hosts; at most {MAX_HOST_NAMES:,} are read"
    return None


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


_STARS = re.compile(r"\*{2,}")


def _collapse_stars(pattern: str) -> str:
    """``a**b`` matches what ``a*b`` matches; runs of stars would only cost time."""
    return _STARS.sub("*", pattern) if "**" in pattern else pattern


def _piece_at(name: str, at: int, piece: str) -> bool:
    """Whether ``piece`` (literals and ``?``) matches ``name`` starting at ``at``."""
    if "?" not in piece:
        return name.startswith(piece, at)
    if at + len(piece) > len(name):
        return False
    return all(p in ("?", c) for p, c in zip(piece, name[at : at + len(piece)], strict=True))


def _find_piece(name: str, start: int, piece: str) -> int:
    """The first index >= ``start`` where ``piece`` matches, or -1."""
    if "?" not in piece:
        return name.find(piece, start)
    # Look for the longest literal run first (str.find is C), then check the ``?`` around it.
    runs = piece.split("?")
    anchor = max(range(len(runs)), key=lambda i: len(runs[i]))
    offset = sum(len(run) + 1 for run in runs[:anchor])
    literal = runs[anchor]
    if not literal:  # only question marks: any position with room matches
        return start if start + len(piece) <= len(name) else -1
    at = name.find(literal, start + offset)
    while at != -1 and at - offset + len(piece) <= len(name):
        if _piece_at(name, at - offset, piece):
            return at - offset
        at = name.find(literal, at + 1)
    return -1


def wildcard_match(name: str, pattern: str) -> bool:
    """OpenSSH's ``match_pattern``: ``*`` is any run of characters, ``?`` any one (brackets
    are literal). Greedy leftmost placement of the pieces between stars, never backtracking:
    linear in the pattern and at worst quadratic in the (short) name."""
    if "*" not in pattern:
        return len(pattern) == len(name) and _piece_at(name, 0, pattern)
    pattern = _collapse_stars(pattern)
    if len(pattern) - pattern.count("*") > len(name):
        return False  # more characters to match than the name has
    pieces = pattern.split("*")
    first, middle, last = pieces[0], pieces[1:-1], pieces[-1]
    if not _piece_at(name, 0, first):
        return False
    at = len(first)
    end = len(name) - len(last)
    for piece in middle:
        if not piece:
            continue
        found = _find_piece(name, at, piece)
        if found == -1 or found + len(piece) > end:
            return False
        at = found + len(piece)
    return at <= end and _piece_at(name, end, last)


def _pattern_matches(name: str, pattern: str) -> bool:
    if pattern.startswith("|"):
        return _match_hashed(pattern, name)
    return wildcard_match(name, pattern.lower())


def match_patterns(patterns: Iterable[str], name: str) -> bool:
    """OpenSSH semantics: any positive match and no negated (``!``) match; host names and
    patterns compare case-insensitively."""
    name = name.lower()
    matched = False
    for raw in patterns:
        if raw.startswith("!"):
            if _pattern_matches(name, raw[1:]):
                return False
        elif not matched:  # once matched, only a negation can change the answer
            matched = _pattern_matches(name, raw)
    return matched


def parse(text: str) -> ParsedFile:
    """Parse known_hosts text; bad lines become problems, never exceptions."""
    entries: list[Entry] = []
    problems: list[Problem] = []
    for number, line in enumerate(_lines(text), start=1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        marker = Marker.NONE
        if fields[0].startswith("@"):
            try:
                marker = Marker(fields[0])
            except ValueError:
                problems.append(Problem(number, f"unknown marker {safe_text(fields[0], 40)}"))
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
            problems.append(Problem(number, f"the key is not a {safe_text(key_type, 40)} key"))
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


def blob_fingerprint(key_blob: bytes) -> str:
    """A public key's SHA-256 fingerprint as OpenSSH prints it: ``SHA256:…`` (unpadded)."""
    digest = hashlib.sha256(key_blob).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


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
