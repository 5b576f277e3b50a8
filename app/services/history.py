"""Tunnel history: a recorder for each process that hosts tunnels, and what front ends show."""

from __future__ import annotations

import atexit
import contextlib
import logging
import queue
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core.events import State, TunnelEvent, iso_time
from app.core.history import (
    GRACE,
    HOUR,
    SAMPLE_GAP,
    WEEK,
    Kind,
    Sample,
    Segment,
    Transition,
    availability,
    outages,
    seconds_of,
    segments,
    throughput,
)
from app.errors import TunnelkeeperError
from app.services.batching import gone_quiet, take
from app.storage.history import Batch, HistoryStore, HistoryUnreadable, read
from app.storage.paths import CONFIG_ENV, HOME_ENV, AppPaths, app_paths

if TYPE_CHECKING:
    from app.services.host import TunnelHost

log = logging.getLogger(__name__)

TICK = 10.0  # s between looks at the hosted tunnels: byte counters, and "still in that state"
QUEUE_SIZE = 1024  # events waiting for the writer; beyond, they are counted and dropped
PENDING_LIMIT = 5_000  # writes kept for another try while the file cannot be written
LINGER = 8.0  # s the writer waits for the last events once its host closes
COMPLAIN_EVERY = 60.0  # s between two warnings that the file cannot be written
WINDOWS = {"24h": 24 * HOUR, "7d": WEEK}


@dataclass
class _Flush:
    """Asks the writer to look at the host and write now; ``done`` is set after."""

    done: threading.Event = field(default_factory=threading.Event)


class Recorder:
    """Records one ``TunnelHost``'s tunnels into the history file.

    Events reach ``_heard`` on engine threads, which only put them in a bounded queue
    (``put_nowait``: an engine thread never waits for the disk, nor for another process
    holding the file's lock, up to ``BUSY_TIMEOUT``). One writer thread takes them, keeps
    each state change (a new state, or the target warning coming or going), and every
    ``TICK`` s looks at the host: a byte-counter sample of each connected tunnel, and a
    note that each tunnel still holds its state (so a crash shows as "stopped", not as a
    week of "up"). It stops when ``close``d, at exit, or once its host has closed and gone
    quiet.
    """

    def __init__(self, file: Path, host: TunnelHost, tick: float = TICK) -> None:
        self.file = file
        self.dropped = 0
        self._tick = tick
        self._host = host
        self._store = HistoryStore(file)
        self._queue: queue.Queue[TunnelEvent | _Flush | None] = queue.Queue(QUEUE_SIZE)
        self._last: dict[str, tuple[State, bool]] = {}
        self._sampled: dict[str, float] = {}
        self._pending = Batch()
        self._complained = -COMPLAIN_EVERY
        self._unlisten = host.listen(self._heard)
        self._thread = threading.Thread(target=self._run, name="history-writer", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    @property
    def problems(self) -> list[str]:
        """Sentences about the file (damaged and moved aside) since this started."""
        return list(self._store.problems)

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued and stop the writer (waits up to ``timeout`` s)."""
        self._unlisten()
        if self._thread.is_alive():
            with contextlib.suppress(queue.Full):
                self._queue.put(None, timeout=timeout)
            self._thread.join(timeout)
        atexit.unregister(self.close)

    def flush(self, timeout: float = 10.0) -> bool:
        """Look at the host and write everything now; True once written (for tests and
        for a front end about to read)."""
        if not self._thread.is_alive():
            return False
        token = _Flush()
        try:
            self._queue.put(token, timeout=timeout)
        except queue.Full:
            return False
        return token.done.wait(timeout)

    # --- engine threads --------------------------------------------------------------------

    def _heard(self, event: TunnelEvent) -> None:
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1  # said in the log by the writer

    # --- the writer thread ----------------------------------------------------------------

    def _run(self) -> None:
        next_look = time.monotonic()
        heard = time.monotonic()
        reported_drops = 0
        try:
            while True:
                items = self._take(max(0.0, next_look - time.monotonic()))
                if items:
                    heard = time.monotonic()
                flushes = [i for i in items if isinstance(i, _Flush)]
                for item in items:
                    if isinstance(item, TunnelEvent):
                        self._event(item)
                ending = None in items or self._gone_quiet(heard)
                if ending or flushes or time.monotonic() >= next_look:
                    self._look(time.time())
                    next_look = time.monotonic() + self._tick
                self._save()
                if self.dropped != reported_drops:
                    log.warning("history: %d events not recorded (writing fell behind)",
                                self.dropped - reported_drops)  # fmt: skip
                    reported_drops = self.dropped
                for flush in flushes:
                    flush.done.set()
                if ending:
                    return
        except Exception:  # the history must never take a tunnel host down
            log.exception("the history recorder stopped")
        finally:
            self._store.close()

    def _take(self, wait: float) -> list[TunnelEvent | _Flush | None]:
        return take(self._queue, wait, QUEUE_SIZE)

    def _gone_quiet(self, heard: float) -> bool:
        return gone_quiet(self._host, heard, LINGER)

    def _event(self, event: TunnelEvent) -> None:
        status = event.status
        if status is not None:
            warning = bool(status.warning)
        else:
            warning = event.extra.get("warning") == "target"
        warning = warning and event.state is State.CONNECTED
        ts = event.ts if event.ts.tzinfo is not None else event.ts.replace(tzinfo=UTC)  # as to_json
        self._change(event.tunnel, event.state, warning, event.detail, ts.timestamp())

    def _change(self, name: str, state: State, warning: bool, detail: str, at: float) -> None:
        """Keep a transition when the kind of time changes (not each retry's new words)."""
        last = self._last.get(name)
        if last == (state, warning):
            return
        continued = last is not None and last[0] is not State.STOPPED
        step = Transition(at, state, warning, detail)
        self._pending.transitions.append((name, step, continued))
        self._last[name] = (state, warning)

    def _look(self, now: float) -> None:
        hosted = set()
        for status in self._host.statuses():
            name = status.tunnel
            hosted.add(name)
            warning = bool(status.warning) and status.state is State.CONNECTED
            last = self._last.get(name)
            if last is None or last[0] is not status.state:
                # hosted before this recorder heard of it, or its event was dropped (a
                # late event still on its way is recorded too, at its own time)
                self._change(name, status.state, warning, status.detail, now)
            elif last[1] != warning:  # the target warning came or went without an event
                said = status.warning or "the target accepts connections again."
                self._change(name, State.CONNECTED, warning, said, now)
            if self._last[name][0] is not State.STOPPED:
                self._pending.vouch.append((name, now))
            due = time.monotonic() - self._sampled.get(name, -self._tick) >= self._tick * 0.9
            if status.state is State.CONNECTED and due:
                sample = Sample(now, status.bytes_to_target, status.bytes_to_vendor)
                self._pending.samples.append((name, sample))
                self._sampled[name] = time.monotonic()
        for name, (state, _) in list(self._last.items()):
            if name not in hosted and state is not State.STOPPED:
                self._change(name, State.STOPPED, False, "no longer hosted here.", now)

    def _save(self) -> None:
        if not len(self._pending):
            return
        try:
            self._store.write(self._pending)
        except (sqlite3.Error, OSError, TunnelkeeperError) as exc:
            if len(self._pending) > PENDING_LIMIT:
                self.dropped += len(self._pending)
                self._pending = Batch()
            if time.monotonic() - self._complained >= COMPLAIN_EVERY:
                self._complained = time.monotonic()
                log.warning("cannot write the tunnel history %s: %s", self.file, exc)
            return
        self._pending = Batch()


class HistoryService:
    """Tunnel history: ``record`` a host's tunnels; ``history`` gives one tunnel's as plain
    data (the CLI's JSON, the desktop app's strip and sparkline)."""

    def __init__(self, paths: AppPaths, file: Path | None = None) -> None:
        self.paths = paths
        self.file = file or paths.history_file

    def record(self, host: TunnelHost, tick: float = TICK) -> Recorder:
        """Record ``host``'s tunnels from now on (until the host closes, or ``close``)."""
        return Recorder(self.file, host, tick)

    def history(
        self, name: str, window: str | None = None, now: float | None = None
    ) -> dict[str, Any]:
        """Tunnel ``name``'s history up to ``now``: for each window ("24h", "7d"; only
        ``window`` when given) its availability (percent of the time it ran, None when it
        did not), segments and outages; and the last hour's throughput in one-minute
        buckets. Times as ISO UTC text, lengths in seconds, rates in bytes/s. Raises
        HistoryUnreadable when the file may not be read; ``problems`` says it was damaged."""
        if window is not None and window not in WINDOWS:
            raise ValueError(f"window is one of {', '.join(WINDOWS)}")
        now = time.time() if now is None else now
        found = read(self.file, name, now - WEEK - GRACE, now - HOUR - SAMPLE_GAP)
        windows = {
            label: window_view(segments(found.transitions, now - span, now), now - span, now)
            for label, span in WINDOWS.items()
            if window in (None, label)
        }
        rates = throughput(found.samples, now - HOUR, now)
        return {
            "tunnel": name,
            "recorded": found.first_at is not None,
            "kept_since": iso_time(found.first_at),
            "file": str(self.file),
            "windows": windows,
            "throughput": [
                {
                    "at": iso_time(r.at),
                    "to_target_bps": round(r.to_target_bps, 1),
                    "to_vendor_bps": round(r.to_vendor_bps, 1),
                }
                for r in rates
            ],
            "problems": [found.problem] if found.problem else [],
        }


SERVICE_WORDS = "the system service"


def find_history(own: HistoryService, name: str, in_service: bool) -> tuple[dict[str, Any], str]:
    """Tunnel ``name``'s history and whose file it came from ("" for this user's, "the
    system service"). A tunnel the system service hosts (``in_service``) is read from the
    service's file; another one from this user's, else from the service's when this
    account may read it and only it has the tunnel. Raises HistoryUnreadable when the
    service's file of a tunnel ``in_service`` may not be read."""
    system = system_history_file()
    if in_service and system != own.file:
        return HistoryService(own.paths, system).history(name), SERVICE_WORDS
    data = own.history(name)
    if data["recorded"] or system == own.file:
        return data, ""
    try:  # perhaps the system service ran it (and this account may read its history)
        theirs = HistoryService(own.paths, system).history(name)
    except HistoryUnreadable:
        return data, ""
    return (theirs, SERVICE_WORDS) if theirs["recorded"] else (data, "")


def window_view(parts: list[Segment], start: float, end: float) -> dict[str, Any]:
    """One window of a tunnel's history as plain data."""
    share = availability(parts)
    return {
        "start": iso_time(start),
        "end": iso_time(end),
        "availability": None if share is None else round(share, 2),
        "up_seconds": round(seconds_of(parts, Kind.UP), 1),
        "standby_seconds": round(seconds_of(parts, Kind.STANDBY), 1),
        "hosted_seconds": round(end - start - seconds_of(parts, Kind.STOPPED), 1),
        "segments": [
            {
                "kind": p.kind.value,
                "start": iso_time(p.start),
                "end": iso_time(p.end),
                "seconds": round(p.seconds, 1),
                "cause": p.cause,
            }
            for p in parts
        ],
        "outages": [
            {
                "start": iso_time(o.start),
                "seconds": round(o.seconds, 1),
                "cause": o.cause,
                "ongoing": o.ongoing,
            }
            for o in outages(parts)
        ],
    }


def system_history_file() -> Path:
    """Where the system service keeps its tunnels' history (another account's file)."""
    # here, not at the top: `run` records history and never installs a service
    from app.core.service_units import SYSTEM_CONFIG, SYSTEM_HOME  # noqa: PLC0415
    from app.platform.service_install import rooted  # noqa: PLC0415

    env = {HOME_ENV: str(rooted(SYSTEM_HOME)), CONFIG_ENV: str(rooted(SYSTEM_CONFIG))}
    return app_paths(env).history_file
