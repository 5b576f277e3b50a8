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
    # another machine holds the jumphost's port for this tunnel (role ``redundant``): this
    # one is connected, ready, and asks for the port again every few seconds
    STANDBY = "standby"


class Phase(StrEnum):
    """What a state means for the vendor: the tunnel is up, down (being retried, or
    waiting for the user), switched off, or standing by while another machine carries it.
    ``since`` counts from a change of phase, so the retries of one outage do not hide how
    long it has lasted."""

    UP = "up"
    DOWN = "down"
    OFF = "off"
    STANDBY = "standby"


def phase(state: State) -> Phase:
    if state is State.CONNECTED:
        return Phase.UP
    if state is State.STOPPED:
        return Phase.OFF
    if state is State.STANDBY:
        return Phase.STANDBY
    return Phase.DOWN


def iso_time(wall: float | None) -> str | None:
    """A wall-clock time as UTC ISO 8601 to the second (``…Z``); None (or 0) stays None."""
    if not wall:
        return None
    stamp = datetime.fromtimestamp(wall, UTC).isoformat(timespec="seconds")
    return stamp.replace("+00:00", "Z")


@dataclass(frozen=True)
class TunnelStatus:
    """A snapshot of one tunnel: state and statistics, times as wall-clock seconds.

    The engine makes one with every event; front ends draw from it and never ask the
    engine. ``to_dict`` is the JSON view the CLI's ``status`` and run-state files show;
    ``action`` (the remedy a front end can offer in this state, an ``app.errors.Action``
    value such as ``"trust"``) is not part of it.
    """

    tunnel: str
    state: State
    detail: str
    since: float | None = None  # wall-clock time the phase began (see ``Phase``)
    reconnects: int = 0
    bytes_to_target: int = 0
    bytes_to_vendor: int = 0
    active_connections: int = 0
    total_connections: int = 0
    vendor_last_connected: float | None = None  # wall-clock time of the newest connection
    next_retry_at: float | None = None
    warning: str | None = None
    action: str | None = None
    target_refusals: int = 0  # forwarded connections the target refused (or never answered)
    keepalive_rtt: float | None = None  # seconds the live link's last keepalive took
    # why a tunnel stands by: "held" (another machine holds the port) or "fenced" (its
    # target does not answer from this machine); None unless the state is standby
    standby: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, times as ISO text (the keys and their order are a file format)."""
        return {
            "tunnel": self.tunnel,
            "state": self.state.value,
            "detail": self.detail,
            "since": iso_time(self.since),
            "reconnects": self.reconnects,
            "bytes_to_target": self.bytes_to_target,
            "bytes_to_vendor": self.bytes_to_vendor,
            "active_connections": self.active_connections,
            "total_connections": self.total_connections,
            "vendor_last_connected": iso_time(self.vendor_last_connected),
            "next_retry_at": iso_time(self.next_retry_at),
            "warning": self.warning,
            "target_refusals": self.target_refusals,
            "keepalive_rtt": self.keepalive_rtt,
            "standby": self.standby,
        }


@dataclass(frozen=True)
class TunnelEvent:
    """A state change (or a notable happening while in a state) of one tunnel."""

    tunnel: str
    state: State
    detail: str
    ts: datetime = field(default_factory=lambda: datetime.now(UTC))
    extra: dict[str, Any] = field(default_factory=dict)
    # the tunnel as it stood when this was emitted (engine events always carry one); not
    # part of the JSON line
    status: TunnelStatus | None = field(default=None, compare=False)

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

    @property
    def action(self) -> str | None:
        """The remedy a front end can offer now (``extra["action"]``, e.g. ``"trust"``)."""
        action = self.extra.get("action")
        return action if isinstance(action, str) else None

    def human(self) -> str:
        return f"{self.tunnel}: {self.state.value} — {self.detail}"
