"""Tells the hub when the network changes or the machine wakes (the wall clock jumps)."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer
from PySide6.QtNetwork import QNetworkInformation

from app.core.wake import WakeDetector
from app.ui.hub import TunnelHub

log = logging.getLogger(__name__)

WAKE_CHECK_MS = 5000


class SystemWatch(QObject):
    """Polls for a clock jump and follows Qt's network information, on the GUI thread."""

    def __init__(self, hub: TunnelHub, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.hub = hub
        self._wake = WakeDetector()
        self._wake_timer = QTimer(self)
        self._wake_timer.timeout.connect(self._check_wake)
        self._wake_timer.start(WAKE_CHECK_MS)
        self.network = self._watch_network()

    def _watch_network(self) -> QNetworkInformation | None:
        if not QNetworkInformation.loadDefaultBackend():
            log.info("no network-change information on this system; relying on keepalives")
            return None
        info = QNetworkInformation.instance()
        if info is None:
            return None
        info.reachabilityChanged.connect(lambda _r: self.hub.network_changed())
        info.transportMediumChanged.connect(lambda _m: self.hub.network_changed())
        return info

    def _check_wake(self) -> None:
        # the clock alone: a busy GUI thread makes the timer late without any sleep
        if self._wake.check():
            log.info("the clock jumped (the machine slept?); checking the tunnels now")
            self.hub.woke()
