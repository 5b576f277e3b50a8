"""Tunnel states and the events that report them (pure data)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from app.core.textsafe import DETAIL_LIMIT, PIECE_LIMIT, safe_text, safe_value


class State(StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RETRYING = "retrying"
    ERROR = "error"
    STOPPED = "stopped"


@dataclass(frozen=True)
class TunnelEvent:
    """A state change (or a notable happening while in a state) of one tunnel."""

    tunnel: str
    state: State
    detail: str
    ts: datetime = field(default_factory=lambda: datetime.now(UTC))
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Details quote servers, files and exceptions: no control characters, bounded length,
        # whatever the caller passed (the stream, the log and notifications all read these).
        object.__setattr__(self, "tunnel", safe_text(self.tunnel, PIECE_LIMIT))
        object.__setattr__(self, "detail", safe_text(self.detail, DETAIL_LIMIT))
        object.__setattr__(self, "extra", safe_value(self.extra, DETAIL_LIMIT))

    def to_json(self) -> str:
        # A naive time is taken as UTC; an aware one is converted, so "ts" always ends in Z.
        ts = self.ts if self.ts.tzinfo is not None else self.ts.replace(tzinfo=UTC)
        stamp = ts.astimezone(UTC).isoformat(timespec="milliseconds")
        body: dict[str, Any] = {
            "ts": stamp.removesuffix("+00:00") + "Z",
            "tunnel": self.tunnel,
            "state": self.state.value,
            "detail": self.detail,
        }
        for key, value in self.extra.items():
            body.setdefault(key, value)  # extras never overwrite the four fixed keys
        # default=str: an odd extra (a Path, an exception) must not stop the event stream.
        return json.dumps(body, ensure_ascii=False, default=str)

    def human(self) -> str:
        return f"{self.tunnel}: {self.state.value} — {self.detail}"
