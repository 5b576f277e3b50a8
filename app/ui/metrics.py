"""The desktop app's ``/metrics`` endpoint, when its settings (app.json) ask for one."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from app.errors import TunnelkeeperError
from app.services.metrics import MetricsEndpoint, metrics_address, remote_warning

if TYPE_CHECKING:
    from app.ui.hub import TunnelHub
    from app.ui.settings import AppSettings

log = logging.getLogger(__name__)

ALLOW_SETTING = '"metrics_allow_remote": true in app.json'


def serve_metrics(settings: AppSettings, hub: TunnelHub) -> MetricsEndpoint | None:
    """Serve the metrics of the tunnels the app hosts at ``settings.metrics`` (nothing when
    it is empty) until the hub has stopped them all (Quit). An address that cannot be used
    is a warning in the log; the app goes on without the endpoint."""
    if not settings.metrics.strip():
        return None
    try:
        address = metrics_address(settings.metrics, settings.metrics_allow_remote, ALLOW_SETTING)
        if not address.loopback:
            log.warning("%s", remote_warning(address))
        endpoint = MetricsEndpoint(hub.host.statuses, address)
        endpoint.start()
    except TunnelkeeperError as exc:
        log.warning("no metrics endpoint: %s", exc)
        return None
    hub.stopped_all.connect(endpoint.close)
    return endpoint
