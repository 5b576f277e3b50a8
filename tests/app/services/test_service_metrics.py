"""`service install --metrics`: the service, started as its unit says, serves /metrics."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.services.api import Services
from app.storage.paths import AppPaths
from tests.app.services.test_service import (  # the fixtures, used by name below
    Manager,
    notify,
    services,
    started_as_the_unit_says,
    stopped,
    system_root,
)
from tests.conftest import Jumphost
from tests.support.metrics import scrape, value
from tests.support.net import TcpServer, free_port, wait_until

pytestmark = pytest.mark.integration

__all__ = ["notify", "services", "system_root"]


@pytest.mark.skipif(os.geteuid() != 0, reason="as root, the move installs without sudo")
def test_the_moved_tunnels_service_serves_their_metrics(
    services: Services,
    jumphost: Jumphost,
    tk_home: AppPaths,
    echo: TcpServer,
    system_root: Path,
    notify: Manager,
) -> None:
    services.profiles.save(jumphost.profile(echo.port, name="db"))
    jumphost.pin(tk_home)
    address = f"127.0.0.1:{free_port()}"
    problems = services.service.move_to_system(
        ["db"], None, run_as="root", start=False, run_flags=("--metrics", address)
    )
    assert problems == []
    unit = system_root / "etc/systemd/system/tunnelkeeper.service"
    assert f" run --all --metrics {address}\n" in unit.read_text()

    proc = started_as_the_unit_says(unit, {"NOTIFY_SOCKET": str(notify.path)})
    try:
        assert notify.wait_for("READY=1", 30)
        url = f"http://{address}/metrics"
        assert wait_until(
            lambda: value(scrape(url), "tunnelkeeper_tunnel_up", tunnel="db") == 1, 30, 0.2
        )
        assert value(scrape(url), "process_start_time_seconds")
    finally:
        err = stopped(proc)
    assert "Traceback" not in err
    assert f"serving metrics at {url}" in err
