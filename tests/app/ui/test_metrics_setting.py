"""The app's metrics setting (app.json): kept, read back, and the endpoint it starts."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.core.events import State
from app.platform.autostart import XdgAutostart
from app.storage.paths import AppPaths
from app.ui.application import Shell
from app.ui.hub import TunnelHub
from app.ui.metrics import serve_metrics
from app.ui.preferences import Preferences
from app.ui.settings import AppSettings, SettingsFile, read_settings
from tests.app.ui.conftest import DEADLINE_MS, add
from tests.conftest import Jumphost
from tests.support.metrics import scrape, value
from tests.support.net import TcpServer, free_port, port_is_listening, wait_until


def test_the_setting_is_written_only_once_used_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "app.json"
    file = SettingsFile(path)
    file.save(AppSettings())
    assert "metrics" not in json.loads(path.read_text())  # untouched for everyone else
    file.save(AppSettings(metrics="127.0.0.1:9464", metrics_allow_remote=True))
    assert json.loads(path.read_text())["metrics"] == "127.0.0.1:9464"
    loaded = file.load()
    assert (loaded.metrics, loaded.metrics_allow_remote) == ("127.0.0.1:9464", True)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"metrics": 9464}, '"metrics" must be an address'),
        ({"metrics": "9464", "metrics_allow_remote": "yes"}, '"metrics_allow_remote" must be'),
    ],
)
def test_a_setting_of_the_wrong_kind_is_a_problem(tmp_path: Path, body: object, why: str) -> None:
    path = tmp_path / "app.json"
    path.write_text(json.dumps(body))
    settings, problem = read_settings(path)
    assert problem is not None and why in problem
    assert settings.metrics == ""


def test_saving_other_settings_keeps_it(tk_home: AppPaths) -> None:
    from app.ui import jobs

    path = tk_home.config_dir / "app.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"metrics": "127.0.0.1:9464"}))
    preferences = Preferences(path)
    preferences.set_notifications(False)
    assert jobs.wait_all(10)
    saved = json.loads(path.read_text())
    assert (saved["notifications"], saved["metrics"]) == (False, "127.0.0.1:9464")


def test_no_setting_no_endpoint(hub: TunnelHub) -> None:
    assert serve_metrics(AppSettings(), hub) is None


def test_a_non_loopback_address_is_a_warning_and_no_endpoint(
    hub: TunnelHub, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        assert serve_metrics(AppSettings(metrics="0.0.0.0:9464"), hub) is None
    assert "is not a loopback address" in caplog.text
    assert '"metrics_allow_remote": true in app.json' in caplog.text


def test_the_endpoint_serves_until_the_hub_stops(qtbot: QtBot, hub: TunnelHub) -> None:
    port = free_port()
    endpoint = serve_metrics(AppSettings(metrics=f"127.0.0.1:{port}"), hub)
    assert endpoint is not None
    assert value(scrape(endpoint.url), "process_open_fds")
    with qtbot.waitSignal(hub.stopped_all, timeout=7_000):
        hub.stop_all()
    assert wait_until(lambda: not port_is_listening(port), 5)


@pytest.mark.integration
def test_the_app_serves_its_tunnels_metrics_when_set(
    qtbot: QtBot, tk_home: AppPaths, tmp_path: Path, jumphost: Jumphost, echo: TcpServer
) -> None:
    add(tk_home, jumphost, echo.port)
    port = free_port()
    settings = tk_home.config_dir / "app.json"
    settings.write_text(json.dumps({"metrics": f"127.0.0.1:{port}"}))
    shell = Shell(tk_home, autostart=XdgAutostart(tmp_path), tray_available=lambda: True)
    assert shell.metrics is not None
    shell.start(quiet=True)
    qtbot.waitUntil(lambda: shell.hub.states()["db"] is State.CONNECTED, timeout=DEADLINE_MS)
    url = f"http://127.0.0.1:{port}/metrics"
    assert value(scrape(url), "tunnelkeeper_tunnel_up", tunnel="db") == 1
    with qtbot.waitSignal(shell.hub.stopped_all, timeout=7_000):
        shell.quit()
    assert wait_until(lambda: not port_is_listening(port), 5)
