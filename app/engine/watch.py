"""Watching a live link: keepalive probes, silence, stalled key exchanges, wakes and kicks."""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable

from app import ssh
from app.core.supervise import KeyExchangeDeadline, Liveness, Probe
from app.core.textsafe import safe_text
from app.core.wake import WakeDetector

POLL = 1.0  # longest sleep between checks of the link while connected
WAKE_PROBE_DEADLINE = 5.0  # after a wake, how long a silent link may take to answer
RECONNECT_ASKED = "reconnecting as asked"
PROBE_PATIENCE = 24 * 3600.0  # the probe thread ends with the link, not on a timer

Teardown = Callable[[bool], None]  # cancel the forward first?
Tick = Callable[[], None]


def loss_detail(error: BaseException | None, in_key_exchange: bool) -> str:
    """Why a link ended, in words: the transport often ends with a bare EOFError."""
    text = safe_text(str(error)).strip() if error is not None else ""  # " " says nothing
    if text:
        return text
    if isinstance(error, ConnectionResetError):
        text = "the connection was reset"
    elif error is not None and not isinstance(error, EOFError | OSError):
        text = type(error).__name__
    else:
        text = "the server closed the connection"
    return text + (" during a key exchange" if in_key_exchange else "")


class Kick:
    """Why the worker was woken early: stop, reconnect now, network change or wake."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._lock = threading.Lock()
        self._reasons: set[str] = set()

    def fire(self, reason: str) -> None:
        with self._lock:
            self._reasons.add(reason)
        self.event.set()

    def take(self) -> set[str]:
        with self._lock:
            reasons, self._reasons = self._reasons, set()
            self.event.clear()
        return reasons


class LinkWatch:
    """Watches one live link until it is lost, a reconnect is asked, or ``stop`` is set;
    tears it down through ``teardown`` before saying why it ended. ``tick`` is called at
    each check (at least once a second)."""

    def __init__(
        self,
        session: ssh.Session,
        liveness: Liveness,
        kex_deadline: float,
        stop: threading.Event,
        kick: Kick,
        teardown: Teardown,
        tick: Tick | None = None,
    ) -> None:
        self._session = session
        self._endpoint = session.endpoint
        self._liveness = liveness
        self._kex_deadline = kex_deadline
        self._stop = stop
        self._kick = kick
        self._teardown = teardown
        self._tick = tick
        self._wake = WakeDetector()

    def run(self) -> str:
        """Watch a live link until it is lost or we stop; return why it ended."""
        session, endpoint = self._session, self._endpoint
        liveness = self._liveness
        probe: threading.Thread | None = None
        kex = KeyExchangeDeadline(self._kex_deadline)
        wake_deadline: float | None = None
        woke_at = 0.0

        def send_probe() -> None:
            # No deadline of its own: any packet from the server proves the link alive, and
            # the liveness rule above decides when silence means it is lost.
            with contextlib.suppress(Exception):
                session.keepalive(PROBE_PATIENCE)

        while not self._stop.is_set():
            now = time.monotonic()
            lost, kex_left = self._link_ended(kex, now)
            if lost is not None:
                self._teardown(False)
                return lost
            last_rx = session.last_progress
            probing = probe is not None and probe.is_alive()
            action, wait = liveness.check(now, last_rx, probing)
            wait = min(wait, kex_left)
            if wake_deadline is not None:
                if last_rx > woke_at:
                    wake_deadline = None  # it answered after the wake
                elif now >= wake_deadline:
                    action = Probe.LOST
                else:
                    wait = min(wait, wake_deadline - now)
            if action is Probe.LOST:
                silence = now - last_rx
                self._teardown(False)
                return (
                    f"no reply from the jumphost {endpoint.label} for {silence:.0f} s; "
                    "the connection is considered lost"
                )
            if action is Probe.SEND:
                probe = threading.Thread(target=send_probe, name="keepalive", daemon=True)
                probe.start()
                continue
            step = min(wait, POLL)
            reconnect, woke = self._pause(step)
            if reconnect:
                self._teardown(True)
                return RECONNECT_ASKED
            if woke and wake_deadline is None:
                # the link may have died while we were away: prove it is alive now
                woke_at = time.monotonic()
                wake_deadline = woke_at + min(WAKE_PROBE_DEADLINE, liveness.interval)
                if probe is None or not probe.is_alive():
                    probe = threading.Thread(target=send_probe, name="keepalive", daemon=True)
                    probe.start()
        self._teardown(True)
        if probe is not None:
            probe.join(1.0)
        return "stopped"

    def _link_ended(self, kex: KeyExchangeDeadline, now: float) -> tuple[str | None, float]:
        """Why the link is over, if it is; else the seconds a running key exchange has
        left (infinite when none runs)."""
        session, endpoint = self._session, self._endpoint
        left = kex.check(now, session.exchanging_keys)
        if not session.active:
            detail = loss_detail(session.error, kex.since is not None)
            why = f" ({detail})" if detail else ""  # never "was lost ()"
            return f"the connection to {endpoint.label} was lost{why}", 0.0
        if left is not None and left <= 0:
            return (
                f"the jumphost {endpoint.label} did not finish a key exchange within "
                f"{kex.limit:.0f} s; the connection is considered lost"
            ), 0.0
        return None, math.inf if left is None else left

    def _pause(self, step: float) -> tuple[bool, bool]:
        """Sleep up to ``step`` s; report (reconnect asked, woke from sleep/freeze)."""
        if self._tick is not None:
            self._tick()
        before = self._wake.now()
        kicked = self._kick.event.wait(max(step, 0.01))
        reasons = self._kick.take() if kicked else set()
        woke = self._wake.check(step, before)  # always: it keeps the clock offset current
        return "reconnect" in reasons, woke or bool(reasons & {"network", "wake"})
