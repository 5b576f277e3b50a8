"""Tunnel states and the events that report them (pure data)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any


class State(str, Enum):
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

    def to_json(self) -> str:
        body: dict[str, Any] = {
            "ts": self.ts.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "tunnel": self.tunnel,
            "state": self.state.value,
            "detail": self.detail,
        }
        body.update(self.extra)
        return json.dumps(body, ensure_ascii=False)

    def human(self) -> str:
        return f"{self.tunnel}: {self.state.value} — {self.detail}"
