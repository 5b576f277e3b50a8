"""A control endpoint on an event loop of its own thread, for hosts without a GUI loop."""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import Future

from app.control.addresses import Address
from app.control.server import Controller, ControlServer

log = logging.getLogger(__name__)

START_TIMEOUT = 10.0


class BackgroundEndpoint:
    """Serves ``controller`` at ``address`` from a daemon thread running an asyncio loop;
    ``start()`` returns once the socket listens (or raises why it could not)."""

    def __init__(self, address: Address, controller: Controller, group: str | None = None):
        self.server = ControlServer(address, controller, group)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="control", daemon=True)

    def start(self) -> None:
        self._thread.start()
        started: Future[None] = asyncio.run_coroutine_threadsafe(self.server.start(), self._loop)
        started.result(START_TIMEOUT)

    def close(self) -> None:
        if not self._thread.is_alive():
            return
        try:
            asyncio.run_coroutine_threadsafe(self.server.close(), self._loop).result(5.0)
        except Exception:
            log.exception("closing the control endpoint failed")
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5.0)
