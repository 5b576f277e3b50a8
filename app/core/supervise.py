"""Supervision policy: liveness probes, reconnect decisions and warning windows (pure logic)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import Enum, auto

from app.core.backoff import Backoff
from app.core.events import State
from app.errors import (
    AuthRejected,
    ForwardRefused,
    JumphostUnreachable,
    ProxyBadReply,
    ProxyRefused,
    ProxyTrouble,
    Then,
    TunnelkeeperError,
)

STABLE_AFTER = 60.0
CLOCK_JUMP = 5.0
FROZEN_SLACK = 5.0
WARNING_WINDOW = 60.0


class Probe(Enum):
    """What the liveness check wants done now."""

    WAIT = auto()
    SEND = auto()
    LOST = auto()


@dataclass(frozen=True)
class Liveness:
    """OpenSSH's ServerAlive rule: probe after ``interval`` s of silence; give up after
    ``count_max`` unanswered probes, i.e. ``(count_max + 1) * interval`` s after the last
    packet from the server."""

    interval: float
    count_max: int

    @property
    def lost_after(self) -> float:
        return (self.count_max + 1) * self.interval

    def check(self, now: float, last_rx: float, probing: bool) -> tuple[Probe, float]:
        """Return the action and, for WAIT, how long until something is due."""
        silence = now - last_rx
        if silence >= self.lost_after:
            return Probe.LOST, 0.0
        if not probing and silence >= self.interval:
            return Probe.SEND, 0.0
        due = self.lost_after if probing else self.interval
        return Probe.WAIT, max(0.0, due - silence)


@dataclass
class KeyExchangeDeadline:
    """Notices a key exchange that does not finish: no other message can pass meanwhile,
    so one stalled past ``limit`` seconds means the link is lost."""

    limit: float
    since: float | None = None

    def check(self, now: float, exchanging: bool) -> float | None:
        """Seconds the running exchange has left (0 or less: stalled); None if none runs."""
        if not exchanging:
            self.since = None
            return None
        if self.since is None:
            self.since = now
        return self.since + self.limit - now


class Failure(Enum):
    """Why an attempt ended."""

    NETWORK = auto()  # handshake failed, link lost, no reply
    UNREACHABLE = auto()  # no TCP connection to the jumphost's SSH port at all
    AUTH_REJECTED = auto()  # the vendor has not (yet) added our public key
    NEEDS_USER = auto()  # retrying cannot help (a host key to trust, a file to fix)
    FORWARD_REFUSED = auto()  # the jumphost would not listen on the port


def failure_of(exc: BaseException) -> Failure:
    """What an attempt's error means for the next one: the error's ``then`` first (the
    engine never ends a tunnel by itself, so one that cannot go on waits for the user too),
    then, for trouble worth retrying, how soon. A surprise is retried like a lost link."""
    if not isinstance(exc, TunnelkeeperError):
        return Failure.NETWORK
    if exc.then is not Then.RETRY:
        return Failure.NEEDS_USER
    if isinstance(exc, AuthRejected):
        return Failure.AUTH_REJECTED
    if isinstance(exc, ForwardRefused):
        return Failure.FORWARD_REFUSED
    if isinstance(exc, ProxyRefused | ProxyBadReply):
        return Failure.NETWORK  # backoff only: probing would ask the proxy again and again
    if isinstance(exc, JumphostUnreachable | ProxyTrouble):
        return Failure.UNREACHABLE  # a proxy that is down, or cannot reach the jumphost
    return Failure.NETWORK


@dataclass(frozen=True)
class Decision:
    state: State
    detail: str
    delay: float | None  # seconds until the next attempt; None waits for the user
    action: str | None = None  # the remedy a front end can offer (an ``app.errors.Action``)


@dataclass
class Policy:
    """Decides what follows each outcome; holds the backoff and the stability clock."""

    backoff: Backoff = field(default_factory=Backoff)
    stable_after: float = STABLE_AFTER
    connected_at: float | None = None
    ever_granted: bool = False

    def connected(self, now: float) -> None:
        self.connected_at = now
        self.ever_granted = True

    def _note_end(self, now: float) -> None:
        if self.connected_at is not None and now - self.connected_at >= self.stable_after:
            self.backoff.reset()
        self.connected_at = None

    def failed(
        self, failure: Failure, reason: str, now: float, port: int = 0, action: str | None = None
    ) -> Decision:
        """What follows a failed attempt; ``action`` (what the person may do) is passed on
        only when waiting for them."""
        self._note_end(now)
        reason = reason.rstrip(".")
        if failure is Failure.NEEDS_USER:
            return Decision(State.ERROR, f"{reason}.", None, action)
        if failure is Failure.AUTH_REJECTED:
            delay = self.backoff.cap
            return Decision(State.ERROR, f"{reason} Trying again in {delay:.0f} s.", delay)
        delay = self.backoff.next_delay()
        if failure is Failure.FORWARD_REFUSED and self.ever_granted:
            return Decision(
                State.RETRYING,
                f"the jumphost still holds port {port} from the previous connection; "
                f"trying again in {delay:.0f} s until it lets go.",
                delay,
            )
        if failure is Failure.FORWARD_REFUSED:
            return Decision(State.ERROR, f"{reason} Trying again in {delay:.0f} s.", delay)
        return Decision(State.RETRYING, f"{reason}; retrying in {delay:.0f} s.", delay)


def clock_jumped(previous_offset: float, offset: float, threshold: float = CLOCK_JUMP) -> bool:
    """True when wall-clock minus monotonic moved: the machine slept or the clock was set."""
    return abs(offset - previous_offset) > threshold


def was_frozen(expected: float, elapsed: float, slack: float = FROZEN_SLACK) -> bool:
    """True when a wait took far longer than asked: the process was stopped or starved."""
    return elapsed > expected + slack


@dataclass
class RecentCount:
    """How many things happened in the last ``window`` seconds."""

    window: float = WARNING_WINDOW
    times: deque[float] = field(default_factory=deque)

    def add(self, now: float) -> int:
        self.times.append(now)
        return self.count(now)

    def count(self, now: float) -> int:
        while self.times and now - self.times[0] > self.window:
            self.times.popleft()
        return len(self.times)


@dataclass
class TargetWarnings:
    """Refusals by the target in the last minute, and whether to say so now: the first at
    once, then at most one warning per ``every`` seconds."""

    every: float
    recent: RecentCount = field(default_factory=RecentCount)
    last_said: float | None = None

    def refused(self, now: float) -> tuple[int, bool]:
        """Count one refusal; return the count in the window and whether to warn now."""
        count = self.recent.add(now)
        due = count == 1 or self.last_said is None or now - self.last_said >= self.every
        if due:
            self.last_said = now
        return count, due
