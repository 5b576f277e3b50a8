"""What the tray shows and when it notifies: aggregate state, tooltip, rate limits (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from app.core.events import State, TunnelEvent

NOTIFY_EVERY = 60.0  # at most one notification per tunnel per minute while it flaps


class Light(StrEnum):
    """The tray icon's colour."""

    GREY = "grey"  # nothing running
    AMBER = "amber"  # connecting or retrying
    GREEN = "green"  # every running tunnel connected
    RED = "red"  # something needs the user


def aggregate(states: dict[str, State]) -> Light:
    """One colour for all tunnels: red beats amber beats green; nothing running is grey."""
    running = [s for s in states.values() if s is not State.STOPPED]
    if not running:
        return Light.GREY
    if any(s is State.ERROR for s in running):
        return Light.RED
    if any(s in (State.CONNECTING, State.RETRYING) for s in running):
        return Light.AMBER
    return Light.GREEN


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    hours, rest = divmod(seconds, 3600)
    if hours < 48:
        return f"{hours} h {rest // 60} min"
    return f"{hours // 24} days"


@dataclass(frozen=True)
class TunnelLine:
    name: str
    state: State
    since: float  # wall-clock time the state began
    next_retry_at: float | None = None


def tooltip(lines: list[TunnelLine], now: float) -> str:
    """``name: state, up 3 h 2 min`` or ``retrying in 12 s`` per tunnel."""
    if not lines:
        return "Tunnelkeeper: no tunnels yet"
    out = ["Tunnelkeeper"]
    for line in lines:
        if line.state is State.CONNECTED:
            extra = f", up {_duration(now - line.since)}"
        elif line.next_retry_at is not None and line.state in (State.RETRYING, State.ERROR):
            extra = f", next try in {_duration(line.next_retry_at - now)}"
        else:
            extra = ""
        out.append(f"{line.name}: {line.state.value}{extra}")
    return "\n".join(out)


class Notice(StrEnum):
    CONNECTED = "connected"
    LOST = "lost"
    RESTORED = "restored"
    NEEDS_YOU = "needs_you"


@dataclass
class Notifier:
    """Turns a tunnel's events into at most one notice per minute per tunnel."""

    enabled: bool = True
    every: float = NOTIFY_EVERY
    _was_connected: set[str] = field(default_factory=set)
    _lost: set[str] = field(default_factory=set)
    _last: dict[str, float] = field(default_factory=dict)
    _previous: dict[str, State] = field(default_factory=dict)

    def consider(self, event: TunnelEvent, now: float) -> tuple[Notice, str] | None:
        """The notice this event deserves, if any (and if not rate-limited)."""
        name, state = event.tunnel, event.state
        previous = self._previous.get(name)
        self._previous[name] = state
        if state is previous:
            return None  # warnings and repeats inside a state are for the status window
        notice: tuple[Notice, str] | None = None
        if state is State.CONNECTED:
            if name in self._lost:
                self._lost.discard(name)
                notice = (Notice.RESTORED, f"{name} is connected again.")
            elif name not in self._was_connected:
                notice = (Notice.CONNECTED, f"{name} is connected.")
            self._was_connected.add(name)
        elif state is State.RETRYING and previous is State.CONNECTED:
            self._lost.add(name)
            notice = (Notice.LOST, f"{name} lost its connection: {event.detail}")
        elif state is State.ERROR:
            notice = (Notice.NEEDS_YOU, f"{name} needs your attention: {event.detail}")
        if notice is None or not self.enabled:
            return None
        last = self._last.get(name)
        if last is not None and now - last < self.every:
            return None
        self._last[name] = now
        return notice
