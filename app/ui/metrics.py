"""The desktop app's ``/metrics`` endpoint: started as app.json asks, changed while it runs."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from app.errors import TunnelkeeperError
from app.errors.metrics import MetricsUnavailable
from app.services.metrics import MetricsEndpoint, metrics_address, remote_warning

if TYPE_CHECKING:
    from app.ui.hub import TunnelHub
    from app.ui.settings import AppSettings

log = logging.getLogger(__name__)

ALLOW_SETTING = '"metrics_allow_remote": true in app.json'


class ServedMetrics:
    """The endpoint the app serves now (``endpoint``, None when none) and why the one asked
    for is not served (``problem``, "" when nothing is wrong). Used on the GUI thread; it
    closes when the hub has stopped every tunnel (Quit), while someone holds it."""

    def __init__(self, hub: TunnelHub) -> None:
        self._hub = hub
        self.endpoint: MetricsEndpoint | None = None
        self.problem = ""
        hub.stopped_all.connect(self.stop)

    def start(self, settings: AppSettings) -> None:
        """At launch: serve at ``settings.metrics`` (nothing when it is empty). An address
        that cannot be used is a warning in the log and kept in ``problem``."""
        if not settings.metrics.strip():
            return
        try:
            self.serve(settings.metrics, settings.metrics_allow_remote, ALLOW_SETTING)
        except TunnelkeeperError as exc:
            self.problem = str(exc)
            log.warning("no metrics endpoint: %s", exc)

    def serve(self, text: str, allow_remote: bool, allow: str) -> MetricsEndpoint:
        """Serve at ``text`` instead of where it serves now (``allow``: how the user allows
        a non-loopback address, for the error's remedy). Raises BadListenAddress or
        MetricsNotLoopback with nothing changed, or MetricsUnavailable (the port is taken)
        with the endpoint before serving again."""
        address = metrics_address(text, allow_remote, allow)
        before = self.endpoint
        if before is not None:
            before.close()  # its port may be the one asked for now
        endpoint = MetricsEndpoint(self._hub.host.statuses, address)
        try:
            endpoint.start()
        except MetricsUnavailable:
            self._restore(before)
            raise
        if not address.loopback:
            log.warning("%s", remote_warning(address))
        self.endpoint, self.problem = endpoint, ""
        return endpoint

    def _restore(self, before: MetricsEndpoint | None) -> None:
        """Serve where it served before a change that failed (``problem`` unchanged)."""
        if before is None:
            return
        try:
            before.start()
        except MetricsUnavailable as exc:  # taken in the meantime
            self.endpoint, self.problem = None, str(exc)

    def stop(self) -> None:
        """Serve nothing (as asked, or at Quit)."""
        endpoint, self.endpoint, self.problem = self.endpoint, None, ""
        if endpoint is not None:
            endpoint.close()


def serve_metrics(settings: AppSettings, hub: TunnelHub) -> MetricsEndpoint | None:
    """Serve the metrics of the tunnels the app hosts at ``settings.metrics`` (nothing when
    it is empty) until the hub has stopped them all (Quit). An address that cannot be used
    is a warning in the log; the app goes on without the endpoint."""
    served = ServedMetrics(hub)
    served.start(settings)
    if served.endpoint is not None:  # the caller keeps the endpoint, not ``served``
        hub.stopped_all.connect(served.endpoint.close)
    return served.endpoint
