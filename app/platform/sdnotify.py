"""systemd's notify protocol: READY=1 once serving, and watchdog pings while the engines live."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

NOTIFY_ENV = "NOTIFY_SOCKET"
WATCHDOG_ENV = "WATCHDOG_USEC"
WATCHDOG_PID_ENV = "WATCHDOG_PID"


def notify(message: str, environ: dict[str, str] | None = None) -> bool:
    """Send ``message`` (``READY=1``, ``STOPPING=1``…) to the service manager; False when
    there is none (not started by systemd) or it could not be told."""
    env = os.environ if environ is None else environ
    address = env.get(NOTIFY_ENV, "")
    if not address or os.name != "posix":
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # an abstract socket
    elif not address.startswith("/"):
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
    except OSError as exc:
        log.warning("could not notify the service manager: %s", exc.strerror or exc)
        return False
    return True


def watchdog_interval(environ: dict[str, str] | None = None) -> float | None:
    """Seconds between pings systemd expects (half its WatchdogSec), or None when it wants
    none (or wants them from another process)."""
    env = os.environ if environ is None else environ
    try:
        usec = int(env.get(WATCHDOG_ENV, ""))
    except ValueError:
        return None
    pid = env.get(WATCHDOG_PID_ENV)
    if usec <= 0 or (pid and pid != str(os.getpid())):
        return None
    return usec / 1_000_000 / 2


class Watchdog:
    """Pings systemd's watchdog every ``interval`` s while ``stalled()`` names no hung
    worker; once one hangs it stops vouching (and says which), so systemd restarts the
    service after WatchdogSec."""

    def __init__(self, interval: float, stalled: Callable[[], list[str]]) -> None:
        self._interval = interval
        self._stalled = stalled
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="watchdog", daemon=True)
        self.pings = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5.0)

    def _run(self) -> None:
        silent = False
        while not self._stop.wait(self._interval):
            hung = self._stalled()
            if hung:
                if not silent:
                    log.error("no progress from %s: no more watchdog pings", ", ".join(hung))
                silent = True
                continue
            if silent:
                log.warning("the engines make progress again: watchdog pings resume")
                silent = False
            with contextlib.suppress(Exception):
                if notify("WATCHDOG=1"):
                    self.pings += 1
