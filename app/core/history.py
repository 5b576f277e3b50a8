"""A tunnel's history as people read it: availability strip, outages, throughput (pure)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise

from app.core.events import State

GRACE = 45.0  # s a recorded state is taken to hold past the host's last word about it
SAMPLE_GAP = 30.0  # s: byte counters further apart than this say nothing about between
NOTICE = 60.0  # s of trouble in one strip cell that the cell shows, whatever else it holds
HOUR = 3600.0
DAY = 86_400.0
WEEK = 7 * DAY


class Kind(StrEnum):
    """What a stretch of a tunnel's time was."""

    UP = "up"  # connected, the target answers
    TARGET_REFUSING = "target_refusing"  # connected, but the target refused connections
    RETRYING = "retrying"  # connecting or waiting to retry on its own
    DOWN = "down"  # stopped trying: waits for the user (a changed host key, a refused key)
    STOPPED = "stopped"  # not hosted: nothing was supposed to run
    STANDBY = "standby"  # ready while another machine held the port (role redundant)


# A strip cell holding some of each shows the first of these (worst first).
TROUBLE = (Kind.DOWN, Kind.RETRYING, Kind.TARGET_REFUSING)


def kind_of(state: State, warning: bool) -> Kind:
    """The kind of time a tunnel in ``state`` spends (``warning``: the target refused)."""
    if state is State.CONNECTED:
        return Kind.TARGET_REFUSING if warning else Kind.UP
    if state is State.ERROR:
        return Kind.DOWN
    if state is State.STOPPED:
        return Kind.STOPPED
    if state is State.STANDBY:
        return Kind.STANDBY
    return Kind.RETRYING


@dataclass(frozen=True)
class Transition:
    """A recorded state change: from ``at`` (wall-clock s) the tunnel was in ``state``.
    ``until`` is the last time its host vouched the state still held (None: it held up to
    the next transition); past ``until`` plus ``GRACE`` no one hosted it (a crash)."""

    at: float
    state: State
    warning: bool = False
    detail: str = ""
    until: float | None = None

    @property
    def kind(self) -> Kind:
        return kind_of(self.state, self.warning)


@dataclass(frozen=True)
class Segment:
    """``kind`` from ``start`` to ``end`` (wall-clock s); ``cause`` says why (may be "")."""

    kind: Kind
    start: float
    end: float
    cause: str = ""

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Outage:
    """Time a hosted tunnel was not up: from ``start`` for ``seconds``; ``ongoing`` when it
    lasts to the end of the window."""

    start: float
    seconds: float
    cause: str
    ongoing: bool = False


@dataclass(frozen=True)
class Sample:
    """The byte counters of a connected tunnel at wall-clock time ``at``."""

    at: float
    to_target: int
    to_vendor: int


@dataclass(frozen=True)
class Rate:
    """Bytes per second each way in the bucket that begins at ``at``."""

    at: float
    to_target_bps: float
    to_vendor_bps: float


def segments(
    transitions: Iterable[Transition], start: float, end: float, grace: float = GRACE
) -> list[Segment]:
    """The window ``start``…``end`` cut into segments that cover it exactly, in order, no
    two neighbours of the same kind. Time before the first transition, after a state its
    host stopped vouching for, and the first try of a start, is STOPPED. Empty when the
    window is."""
    if not end > start:
        return []
    ordered = sorted(transitions, key=lambda t: t.at)
    out: list[Segment] = []
    weak: list[bool] = []  # a cause that only says "connecting to …", replaced by a better one
    cursor = start

    def add(kind: Kind, until: float, cause: str = "", is_weak: bool = True) -> None:
        nonlocal cursor
        stop = min(until, end)
        if not stop > cursor:
            return
        if out and out[-1].kind is kind:
            last = out[-1]
            better = weak[-1] and not is_weak and bool(cause)
            out[-1] = Segment(kind, last.start, stop, cause if better else last.cause)
            weak[-1] = weak[-1] and not better
        else:
            out.append(Segment(kind, cursor, stop, cause))
            weak.append(is_weak or not cause)
        cursor = stop

    for i, step in enumerate(ordered):
        following = ordered[i + 1].at if i + 1 < len(ordered) else math.inf
        held = following if step.until is None else min(following, step.until + grace)
        add(Kind.STOPPED, step.at)  # nobody hosted it before this
        # The first try after a start is the tunnel starting, not an outage: the vendor
        # could not expect it up before then (a try that fails begins the outage).
        starting = step.state is State.CONNECTING and (not out or out[-1].kind is Kind.STOPPED)
        kind = Kind.STOPPED if starting else step.kind
        add(kind, held, "" if starting else step.detail, step.state is State.CONNECTING)
        if cursor >= end:
            break
    add(Kind.STOPPED, end)
    return out


def outages(parts: Sequence[Segment]) -> list[Outage]:
    """Each stretch of consecutive trouble in ``parts``, oldest first: the link's (retrying,
    down) or the target's (refusing while the link is up), one ending where the other
    begins; a stopped or up segment ends either. Its cause is the first given."""
    found: list[Outage] = []
    run: list[Segment] = []
    window_end = parts[-1].end if parts else 0.0

    def close() -> None:
        if run:
            cause = next((p.cause for p in run if p.cause), "")
            last = run[-1].end
            found.append(Outage(run[0].start, last - run[0].start, cause, last >= window_end))
            run.clear()

    for part in parts:
        if run and _target_side(run[-1].kind) != _target_side(part.kind):
            close()
        if part.kind in TROUBLE:
            run.append(part)
        else:
            close()
    close()
    return found


def _target_side(kind: Kind) -> bool:
    return kind is Kind.TARGET_REFUSING


def seconds_of(parts: Iterable[Segment], *kinds: Kind) -> float:
    return sum(p.seconds for p in parts if p.kind in kinds)


def availability(parts: Sequence[Segment]) -> float | None:
    """Percent (0…100) of the hosted time (not STOPPED) the tunnel was up or, on one of
    several machines, ready to take over; None when it was not hosted at all."""
    hosted = sum(p.seconds for p in parts if p.kind is not Kind.STOPPED)
    if hosted <= 0:
        return None
    ready = seconds_of(parts, Kind.UP, Kind.STANDBY)
    return min(100.0, max(0.0, 100.0 * ready / hosted))


def cells(parts: Sequence[Segment], start: float, end: float, count: int) -> list[Kind]:
    """The window cut into ``count`` equal cells, each shown as one kind: the worst trouble
    filling ``NOTICE`` s of it (or half of it), else the kind filling most of it."""
    if count < 1 or not end > start:
        return []
    width = (end - start) / count
    shown: list[Kind] = []
    for i in range(count):
        low, high = start + i * width, start + (i + 1) * width
        held: dict[Kind, float] = dict.fromkeys(Kind, 0.0)
        for part in parts:
            overlap = min(high, part.end) - max(low, part.start)
            if overlap > 0:
                held[part.kind] += overlap
        bar = min(NOTICE, width / 2)
        worst = next((k for k in TROUBLE if held[k] >= bar), None)
        if worst is None:
            worst = max(Kind, key=lambda k: held[k]) if any(held.values()) else Kind.STOPPED
        shown.append(worst)
    return shown


def throughput(
    samples: Iterable[Sample],
    start: float,
    end: float,
    bucket: float = 60.0,
    gap: float = SAMPLE_GAP,
) -> list[Rate]:
    """Bytes per second each way in consecutive buckets of ``bucket`` s from ``start`` to
    ``end``, from cumulative counters. A counter that went down was reset (a reconnect, a
    restart): what it shows is what passed since. Samples more than ``gap`` s apart are
    not joined (the tunnel was down, or not hosted). Never negative; 0 where nothing is
    known."""
    if not end > start or bucket <= 0:
        return []
    count = max(1, math.ceil((end - start) / bucket - 1e-9))  # no sliver of a last bucket
    to_target = [0.0] * count
    to_vendor = [0.0] * count
    ordered = sorted(samples, key=lambda s: s.at)
    for a, b in pairwise(ordered):
        span = b.at - a.at
        if not 0 < span <= gap:
            continue
        sent = _grown(a.to_target, b.to_target), _grown(a.to_vendor, b.to_vendor)
        low, high = max(a.at, start), min(b.at, end)
        if not high > low:
            continue
        first = int((low - start) // bucket)
        for index in range(first, min(count, int((high - start) // bucket) + 1)):
            b_low = start + index * bucket
            overlap = min(high, b_low + bucket) - max(low, b_low)
            if overlap > 0:
                to_target[index] += sent[0] * overlap / span
                to_vendor[index] += sent[1] * overlap / span
    rates = []
    for index in range(count):
        b_low = start + index * bucket
        length = max(min(bucket, end - b_low), 1e-9)
        rates.append(Rate(b_low, to_target[index] / length, to_vendor[index] / length))
    return rates


def _grown(before: int, after: int) -> int:
    """Bytes counted between two readings; a smaller reading means the counter restarted."""
    after = max(0, after)
    return after - max(0, before) if after >= before else after


def duration_text(seconds: float) -> str:
    """``38 s``, ``4 min 10 s``, ``2 h 5 min``, ``3 d 2 h`` (rounded down)."""
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def rate_text(bps: float) -> str:
    """A rate for people: ``0 B/s``, ``12.3 KiB/s``."""
    value = max(0.0, bps)
    for unit in ("B/s", "KiB/s", "MiB/s"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B/s" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB/s"
