"""What the tray shows at a glance: state in words, colour, tooltip and summary line (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from app.core.events import State, TunnelStatus
from app.core.notices import NOTIFY_EVERY, Message, Notice, Notifier, standby_fact
from app.core.textsafe import PIECE_LIMIT, safe_text
from app.core.units import duration

__all__ = [
    "ACTIVE_ELSEWHERE",
    "NOTIFY_EVERY",
    "Glance",
    "Light",
    "Message",
    "Notice",
    "Notifier",
    "TunnelLine",
    "aggregate",
    "glance",
    "glance_of",
    "light_of",
    "state_words",
    "summary_line",
    "tooltip",
]

LONG_ENOUGH = 60.0  # seconds of connecting before the summary says for how long
# Why a tunnel stands by, in the fewest words (role ``redundant``: the machine holding the
# jumphost's port is active, the others stand by); the engine's detail says more.
ACTIVE_ELSEWHERE = "another machine is active"
TARGET_SILENT = "its target does not answer here"


class Light(StrEnum):
    """The tray icon's colour."""

    GREY = "grey"  # nothing running
    AMBER = "amber"  # connecting, retrying, or up while the target refuses
    GREEN = "green"  # every running tunnel connected (or standing by), its target answering
    BLUE = "blue"  # every running tunnel stands by: another machine carries them; calm
    RED = "red"  # something needs the user


class Glance(StrEnum):
    """A tunnel's state as a person reads it at a glance (the words are the values). Not a
    ``State``: those names are a contract; this tells "up, but the target refuses" (the
    vendor reaches us, our database does not answer) apart from plain "up", and a tunnel
    being retried (the jumphost cannot be reached or kept) from one that waits for the user.
    A tunnel standing by (another machine holds the port) is well, not troubled."""

    UP = "up"
    TARGET_REFUSES = "up, but the target refuses connections"
    CONNECTING = "connecting"
    UNREACHABLE = "jumphost unreachable"
    NEEDS_YOU = "needs your attention"
    STOPPED = "stopped"
    STANDBY = "standing by"
    # standing by because this machine's target does not answer (it gave the port up)
    FENCED = "standing by, the target does not answer here"


_LIGHTS = {
    Glance.UP: Light.GREEN,
    Glance.STANDBY: Light.BLUE,
    Glance.TARGET_REFUSES: Light.AMBER,
    Glance.FENCED: Light.AMBER,
    Glance.CONNECTING: Light.AMBER,
    Glance.UNREACHABLE: Light.AMBER,
    Glance.NEEDS_YOU: Light.RED,
    Glance.STOPPED: Light.GREY,
}
# The summary names the worst tunnel: the one that needs the user, then one that is down,
# then one whose target refuses, then one still connecting.
_TROUBLE = (
    Glance.NEEDS_YOU,
    Glance.UNREACHABLE,
    Glance.TARGET_REFUSES,
    Glance.FENCED,
    Glance.CONNECTING,
)


def glance(state: State, warning: str | None = None, standby: str | None = None) -> Glance:
    """The glance for ``state``; ``warning`` (the target refused connections) counts only
    while connected (the engine clears it once the link is down); ``standby`` ("fenced":
    this machine's target does not answer) only while standing by."""
    if state is State.CONNECTED:
        return Glance.TARGET_REFUSES if warning else Glance.UP
    if state is State.RETRYING:
        return Glance.UNREACHABLE
    if state is State.ERROR:
        return Glance.NEEDS_YOU
    if state is State.STOPPED:
        return Glance.STOPPED
    if state is State.STANDBY:
        return Glance.FENCED if standby == "fenced" else Glance.STANDBY
    return Glance.CONNECTING


def glance_of(status: TunnelStatus) -> Glance:
    return glance(status.state, status.warning, status.standby)


def light_of(seen: Glance) -> Light:
    """One tunnel's colour (the badge beside it in the menu)."""
    return _LIGHTS[seen]


def state_words(status: TunnelStatus) -> str:
    """A tunnel's state in a few words, for a badge and a screen reader: "connected",
    "up, but the target refuses", "standby (another machine is active)"."""
    seen = glance_of(status)
    if seen is Glance.TARGET_REFUSES:
        return "up, but the target refuses"
    if seen is Glance.STANDBY:
        return f"{status.state.value} ({ACTIVE_ELSEWHERE})"
    if seen is Glance.FENCED:
        return f"{status.state.value} ({TARGET_SILENT})"
    return status.state.value


def aggregate(states: Mapping[str, State | Glance]) -> Light:
    """One colour for all tunnels: red beats amber beats green (a tunnel standing by counts
    as well); all of them standing by is blue; nothing running is grey. A plain ``State``
    is read without a warning (a ``Glance`` tells the refusing target)."""
    seen = [s if isinstance(s, Glance) else glance(s) for s in states.values()]
    running = [s for s in seen if s is not Glance.STOPPED]
    if not running:
        return Light.GREY
    if Glance.NEEDS_YOU in running:
        return Light.RED
    if any(_LIGHTS[s] is Light.AMBER for s in running):
        return Light.AMBER
    return Light.GREEN if Glance.UP in running else Light.BLUE


@dataclass(frozen=True)
class TunnelLine:
    """What the tooltip and the summary need of one tunnel."""

    name: str
    state: State
    since: float | None  # wall-clock time the state (its phase: up, down, off) began
    next_retry_at: float | None = None
    warning: str | None = None  # the target refuses connections (while connected)
    detail: str = ""  # the engine's last words (why a tunnel stands by)
    standby: str | None = None  # "held" or "fenced" while standing by

    @property
    def glance(self) -> Glance:
        return glance(self.state, self.warning, self.standby)

    def lasted(self, now: float) -> str | None:
        """How long the state has lasted (None when its start is not known)."""
        return None if self.since is None else duration(now - self.since)


def _tooltip_line(line: TunnelLine, now: float) -> str:
    lasted = line.lasted(now)
    seen = line.glance
    if seen is Glance.TARGET_REFUSES:
        extra = f" (connected for {lasted})" if lasted else ""
        return f"{line.name}: {seen.value}{extra}"
    if seen in (Glance.STANDBY, Glance.FENCED):  # the engine's reason: another machine…
        why = safe_text(standby_fact(line.detail), PIECE_LIMIT).rstrip(".")
        return f"{line.name}: {line.state.value}{f' for {lasted}' if lasted else ''} ({why})"
    parts = [line.state.value]
    if seen is Glance.UP and lasted:
        parts.append(f"up {lasted}")
    if seen is Glance.UNREACHABLE and lasted:
        parts.append(f"down for {lasted}")
    if line.next_retry_at is not None and line.state in (State.RETRYING, State.ERROR):
        parts.append(f"next try in {duration(line.next_retry_at - now)}")
    return f"{line.name}: {', '.join(parts)}"


def tooltip(lines: list[TunnelLine], now: float) -> str:
    """The summary, then ``name: connected, up 3 h 2 min``, ``retrying, next try in 12 s``
    or ``standby for 4 min (another machine holds port 58115 on the jumphost)`` per
    tunnel; the tray icon's accessible text too. ``now`` is wall-clock time."""
    if not lines:
        return "Tunnelkeeper: no tunnels yet"
    out = [f"Tunnelkeeper: {summary_line(lines, now)}"]
    out.extend(_tooltip_line(line, now) for line in lines)
    return "\n".join(out)


def _trouble(line: TunnelLine, now: float) -> str:
    seen, lasted = line.glance, line.lasted(now)
    if seen is Glance.NEEDS_YOU:
        return f"{line.name} needs your attention"
    if seen is Glance.UNREACHABLE and lasted:
        return f"{line.name}: jumphost unreachable for {lasted}"
    if seen is Glance.CONNECTING and line.since is not None and now - line.since >= LONG_ENOUGH:
        return f"{line.name}: connecting for {lasted}"
    return f"{line.name}: {seen.value}"


def summary_line(lines: Iterable[TunnelLine], now: float) -> str:
    """One line for all tunnels, the first of the tray menu: "All 3 tunnels up", "warehouse:
    jumphost unreachable for 4 min", "warehouse: up, but the target refuses connections"
    (the worst tunnel first, and how many more are not well), "2 tunnels up, 1 standing
    by". ``now``: wall-clock time."""
    lines = list(lines)
    if not lines:
        return "No tunnels yet"
    troubled = sorted(
        (line for line in lines if line.glance in _TROUBLE),
        key=lambda line: _TROUBLE.index(line.glance),
    )
    if troubled:
        text = _trouble(troubled[0], now)
        more = len(troubled) - 1
        return f"{text} (and {more} more)" if more else text
    up = sum(1 for line in lines if line.glance is Glance.UP)
    standby = sum(1 for line in lines if line.glance is Glance.STANDBY)
    stopped = len(lines) - up - standby
    if standby:
        return _with_standby(lines, up, standby, stopped)
    if up == 0:
        return f"{lines[0].name} is stopped" if len(lines) == 1 else "No tunnel is running"
    if stopped == 0:
        return f"{lines[0].name} is up" if up == 1 else f"All {up} tunnels up"
    return f"{up} of {len(lines)} tunnels up, {stopped} stopped"


def _with_standby(lines: list[TunnelLine], up: int, standby: int, stopped: int) -> str:
    """The summary when some tunnels stand by (and none is troubled): "warehouse is standing
    by (another machine is active)", "2 tunnels up, 1 standing by", "1 of 3 tunnels up, 1
    standing by, 1 stopped"."""
    total = len(lines)
    if total == 1:
        return f"{lines[0].name} is standing by ({ACTIVE_ELSEWHERE})"
    if stopped == 0:
        if up == 0:
            return f"All {standby} tunnels standing by (other machines are active)"
        return f"{up} tunnel{'s' if up > 1 else ''} up, {standby} standing by"
    if up == 0:
        return f"{standby} of {total} tunnels standing by, {stopped} stopped"
    return f"{up} of {total} tunnels up, {standby} standing by, {stopped} stopped"
