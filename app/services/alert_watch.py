"""Alerts of the tunnels one process hosts: a watcher thread decides, a sender thread delivers."""

from __future__ import annotations

import atexit
import contextlib
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.core.alert_rules import AlertRule
from app.core.alerts import Alert, AlertBook
from app.core.events import State, TunnelEvent
from app.errors import DeliveryFailed, TunnelkeeperError
from app.services.batching import gone_quiet, take
from app.storage.alerts import AlertStore, Stamp

if TYPE_CHECKING:
    from app.services.host import TunnelHost

log = logging.getLogger(__name__)

TICK = 1.0  # s at most between looks at the time (thresholds are whole seconds or more)
QUEUE_SIZE = 1024  # events waiting for the watcher; beyond, counted and dropped
RULES_EVERY = 2.0  # s between looks at whether the rules file changed
OUTBOX_LIMIT = 100  # alerts waiting to be delivered; beyond, the oldest is dropped
RETRY_AFTER = (30.0, 90.0, 180.0, 300.0)  # s between tries: 5 tries over 10 minutes
LINGER = 8.0  # s the watcher waits for the last events once its host closes
SEND_LINGER = 5.0  # s given at the end to deliver what is waiting

Deliver = Callable[[AlertRule, Alert], str]  # the receiver's answer; raises DeliveryFailed


@dataclass
class Outgoing:
    """One alert on its way to one rule's receiver; ``due`` on the monotonic clock."""

    rule: AlertRule
    alert: Alert
    tries: int = 0
    due: float = 0.0


class Outbox:
    """The sender thread: delivers each alert, in order for each rule, and retries a failed
    one after each of ``retry_after`` s (then gives it up, logged). At most ``limit`` wait;
    ``put`` never waits for a receiver. ``sent``, ``failed`` (tries) and ``dropped`` count."""

    def __init__(
        self,
        deliver: Deliver,
        retry_after: Sequence[float] = RETRY_AFTER,
        limit: int = OUTBOX_LIMIT,
    ) -> None:
        self._deliver = deliver
        self._retry_after = tuple(retry_after)
        self._limit = limit
        self._queues: dict[str, deque[Outgoing]] = {}
        self._wake = threading.Condition()
        self._deadline: float | None = None  # set by close: deliver what is due until then
        self.sent = self.failed = self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="alerts-sender", daemon=True)
        self._thread.start()

    def put(self, rule: AlertRule, alert: Alert) -> None:
        with self._wake:
            waiting = self._queues.setdefault(rule.id, deque())
            waiting.append(Outgoing(rule, alert, due=time.monotonic()))
            if sum(len(q) for q in self._queues.values()) > self._limit:
                oldest = min((q for q in self._queues.values() if q), key=lambda q: q[0].alert.at)
                gone = oldest.popleft()
                self.dropped += 1
                log.warning("alert dropped (too many waiting): %s", _about(gone))
            self._wake.notify()

    def waiting(self) -> int:
        with self._wake:
            return sum(len(q) for q in self._queues.values())

    def close(self, linger: float = SEND_LINGER) -> None:
        """Deliver what is due within ``linger`` s (no retries later than that), then stop."""
        with self._wake:
            self._deadline = time.monotonic() + linger
            self._wake.notify()
        self._thread.join(linger + 1.0)

    def _run(self) -> None:
        try:
            while True:
                item = self._next()
                if item is None:
                    return
                self._send(item)
        except Exception:  # alerts must never take a tunnel host down
            log.exception("the alert sender stopped")

    def _next(self) -> Outgoing | None:
        """The next alert due (waiting for one); None once closed and nothing is due in time."""
        with self._wake:
            while True:
                now = time.monotonic()
                heads = [q[0] for q in self._queues.values() if q]
                due = min((h.due for h in heads), default=None)
                if self._deadline is not None and (due is None or due > self._deadline):
                    for item in heads:
                        log.warning("alert not delivered before exit: %s", _about(item))
                    return None
                if due is not None and due <= now:
                    return next(h for h in heads if h.due == due)
                limit = self._deadline if due is None else min(due, self._deadline or due)
                self._wake.wait(None if limit is None else max(0.0, limit - now))

    def _send(self, item: Outgoing) -> None:
        item.tries += 1
        try:
            answer = self._deliver(item.rule, item.alert)
        except (DeliveryFailed, TunnelkeeperError) as exc:
            self._failed(item, exc)
            return
        with self._wake:
            self._queues[item.rule.id].popleft()
            self.sent += 1
        log.info("alert sent: %s; %s", _about(item), answer)

    def _failed(self, item: Outgoing, exc: TunnelkeeperError) -> None:
        permanent = isinstance(exc, DeliveryFailed) and exc.permanent
        with self._wake:
            self.failed += 1
            if permanent or item.tries > len(self._retry_after):
                self._queues[item.rule.id].popleft()
                why = "will not work by trying again" if permanent else "given up"
                log.error("alert not delivered (%s, %d tries): %s; %s",
                          why, item.tries, _about(item), exc)  # fmt: skip
                return
            wait = self._retry_after[item.tries - 1]
            item.due = time.monotonic() + wait
        log.warning("alert not delivered (try %d of %d), trying again in %g s: %s; %s",
                    item.tries, len(self._retry_after) + 1, wait, _about(item), exc)  # fmt: skip


def _about(item: Outgoing) -> str:
    return f"{item.alert.kind.value} of tunnel {item.alert.tunnel} to {item.rule.receiver}"


class AlertWatcher:
    """Decides the alerts of one ``TunnelHost``'s tunnels and hands them to an ``Outbox``.

    Events reach ``_heard`` on engine threads, which only put them in a bounded queue
    (``put_nowait``: a tunnel never waits for a receiver, a file or a lock of ours). The
    watcher thread takes them, feeds them to an ``AlertBook`` with the rules of the alerts
    file (read again whenever it changes), and wakes for the next threshold to pass (at
    least every ``tick`` s). Each tick it also looks at the host: a tunnel it had not heard
    of, every tunnel after events were dropped, and tunnels no longer hosted (stopped). It
    stops when ``close``d, at exit, or once its host has closed and gone quiet.
    """

    def __init__(
        self,
        host: TunnelHost,
        store: AlertStore,
        deliver: Deliver,
        tick: float = TICK,
        retry_after: Sequence[float] = RETRY_AFTER,
    ) -> None:
        self.dropped = 0
        self.outbox = Outbox(deliver, retry_after)
        self._host = host
        self._store = store
        self._tick = tick
        self._book = AlertBook()
        self._stamp: Stamp | None = None
        self._rules_read = float("-inf")
        self._heard_of: set[str] = set()
        self._resync = False
        self._queue: queue.Queue[TunnelEvent | None] = queue.Queue(QUEUE_SIZE)
        self._unlisten = host.listen(self._heard)
        self._thread = threading.Thread(target=self._run, name="alerts-watcher", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    @property
    def rules(self) -> list[AlertRule]:
        return self._book.rules

    def close(self, timeout: float = 5.0, linger: float = SEND_LINGER) -> None:
        """Decide what is queued, stop watching, and give the sender ``linger`` s."""
        self._unlisten()
        if self._thread.is_alive():
            with contextlib.suppress(queue.Full):
                self._queue.put(None, timeout=timeout)
            self._thread.join(timeout)
        self.outbox.close(linger)
        atexit.unregister(self.close)

    # --- engine threads --------------------------------------------------------------------

    def _heard(self, event: TunnelEvent) -> None:
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1  # the watcher then looks at every tunnel's status again

    # --- the watcher thread ---------------------------------------------------------------

    def _run(self) -> None:
        heard = time.monotonic()
        dropped = 0
        try:
            while True:
                due = self._book.due(time.time())
                idle = self._tick if self._book.rules else RULES_EVERY  # no rules: the file
                wait = idle if due is None else min(idle, due - time.time())
                items = self._take(max(0.0, wait))
                if items:
                    heard = time.monotonic()
                self._read_rules()
                for item in items:
                    if item is not None:
                        self._event(item)
                if self.dropped != dropped:
                    log.warning("alerts: %d events not heard (watching fell behind)",
                                self.dropped - dropped)  # fmt: skip
                    dropped, self._resync = self.dropped, True
                if self._book.rules:  # no rules: nothing to look at until the file names one
                    self._look()
                self._send(self._book.tick(time.time()))
                if None in items or self._gone_quiet(heard):
                    return
        except Exception:  # alerts must never take a tunnel host down
            log.exception("the alert watcher stopped")

    def _take(self, wait: float) -> list[TunnelEvent | None]:
        return take(self._queue, wait, QUEUE_SIZE)

    def _gone_quiet(self, heard: float) -> bool:
        return gone_quiet(self._host, heard, LINGER)

    def _read_rules(self) -> None:
        if time.monotonic() - self._rules_read < RULES_EVERY:
            return
        self._rules_read = time.monotonic()
        stamp = self._store.stamp()
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            rules = self._store.load()
        except TunnelkeeperError as exc:  # the rules as they were stay in force
            log.warning("alerts: %s", exc)
            return
        self._send(self._book.set_rules(rules, time.time()))
        self._resync = True  # the new rules learn every tunnel's state at the next look

    def _event(self, event: TunnelEvent) -> None:
        self._heard_of.add(event.tunnel)
        since = event.status.since if event.status is not None else None
        self._send(self._book.observe(event.tunnel, event.state, event.detail, time.time(), since))

    def _look(self) -> None:
        hosted = set()
        for status in self._host.statuses():
            hosted.add(status.tunnel)
            if self._resync or status.tunnel not in self._heard_of:
                self._heard_of.add(status.tunnel)
                found = self._book.observe(
                    status.tunnel, status.state, status.detail, time.time(), status.since
                )
                self._send(found)
        self._resync = False
        for name in self._heard_of - hosted:
            self._heard_of.discard(name)
            said = "no longer hosted here."
            self._send(self._book.observe(name, State.STOPPED, said, time.time()))

    def _send(self, found: list[tuple[AlertRule, Alert]]) -> None:
        for rule, alert in found:
            log.info("alert: %s of tunnel %s for %s", alert.kind.value, alert.tunnel,
                     rule.receiver)  # fmt: skip
            self.outbox.put(rule, alert)
