"""An HTTP proxy's reply head: status, headers, body length, keep-alive and auth challenges."""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.core.textsafe import safe_text

_STATUS_RE = re.compile(r"HTTP/1\.([01]) ([0-9]{3})(?: ([^\r\n]*))?")
_TOKEN_RE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
HEADER_LIMIT = 100  # header lines a head may have


class BadHead(ValueError):
    """The bytes are not an HTTP reply head; the message says why, safe to show."""


@dataclass(frozen=True)
class ReplyHead:
    """One reply head; header names are lower-case, values stripped, in order."""

    minor: int  # HTTP/1.<minor>
    code: int
    reason: str
    headers: tuple[tuple[str, str], ...] = ()

    def values(self, name: str) -> list[str]:
        """Every value of header ``name`` (any case), comma-joined ones not split."""
        wanted = name.lower()
        return [value for key, value in self.headers if key == wanted]

    @property
    def content_length(self) -> int | None:
        """The body's length, None when not given or not a single number."""
        found = {v.strip() for v in self.values("content-length")}
        if len(found) != 1:
            return None
        (text,) = found
        return int(text) if text.isdigit() and len(text) <= 12 else None

    @property
    def keeps_alive(self) -> bool:
        """Whether the proxy keeps the connection open after this reply."""
        options = {
            option.strip().lower()
            for name in ("connection", "proxy-connection")
            for value in self.values(name)
            for option in value.split(",")
        }
        if "close" in options:
            return False
        return self.minor == 1 or "keep-alive" in options

    def challenges(self) -> dict[str, str]:
        """The auth schemes offered by Proxy-Authenticate, lower-case, each with what
        follows its name (a token or parameters; the first offer of a scheme wins)."""
        offered: dict[str, str] = {}
        for value in self.values("proxy-authenticate"):
            scheme, _, rest = value.strip().partition(" ")
            if _TOKEN_RE.fullmatch(scheme):
                offered.setdefault(scheme.lower(), rest.strip())
        return offered


def parse_head(head: bytes) -> ReplyHead:
    """The reply head in ``head`` (status line and headers, ending in a blank line or
    not). Raises BadHead."""
    text = head.decode("latin-1")
    lines = text.split("\r\n")
    match = _STATUS_RE.fullmatch(lines[0])
    if match is None:
        raise BadHead(f"{safe_text(lines[0], 80)!r} is not an HTTP status line")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        if len(headers) >= HEADER_LIMIT:
            raise BadHead(f"it has more than {HEADER_LIMIT} header lines")
        name, colon, value = line.partition(":")
        if not colon or not _TOKEN_RE.fullmatch(name):
            raise BadHead(f"{safe_text(line, 80)!r} is not an HTTP header line")
        headers.append((name.lower(), value.strip()))
    return ReplyHead(
        minor=int(match.group(1)),
        code=int(match.group(2)),
        reason=safe_text(match.group(3) or "", 80),
        headers=tuple(headers),
    )
