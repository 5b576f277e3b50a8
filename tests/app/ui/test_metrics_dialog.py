"""Settings → Metrics: Apply serves /metrics at once (or stops it) and keeps the setting in
app.json; an address it cannot use is a sentence under the field, and nothing changes."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.platform.autostart import XdgAutostart
from app.storage.paths import AppPaths
from app.ui import jobs
from app.ui.application import Shell
from app.ui.hub import TunnelHub
from app.ui.metrics import ServedMetrics
from app.ui.metrics_dialog import NOT_SERVING, REMOTE_WARNING, MetricsDialog
from app.ui.preferences import Preferences
from app.ui.settings import read_settings
from tests.app.ui.test_application import quit_and_wait
from tests.app.ui.test_tray import action
from tests.support.net import free_port


def fetch(port: int) -> str:
    """GET /metrics on loopback, as a scraper would."""
    url = f"http://127.0.0.1:{port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as reply:
        return str(reply.read().decode())


def refused(port: int) -> bool:
    try:
        fetch(port)
    except urllib.error.URLError as exc:
        return isinstance(exc.reason, ConnectionRefusedError)
    return False


def saved(path: Path) -> dict[str, object]:
    assert jobs.wait_all(10)
    body: dict[str, object] = json.loads(path.read_text())
    return body


@pytest.fixture
def served(hub: TunnelHub) -> Iterator[ServedMetrics]:
    made = ServedMetrics(hub)
    yield made
    made.stop()


@pytest.fixture
def app_json(tk_home: AppPaths) -> Path:
    tk_home.config_dir.mkdir(parents=True, exist_ok=True)
    return tk_home.config_dir / "app.json"


def opened(qtbot: QtBot, served: ServedMetrics, app_json: Path) -> MetricsDialog:
    dialog = MetricsDialog(served, Preferences(app_json))
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_tick_and_apply_serves_and_saves_then_untick_stops(
    qtbot: QtBot, served: ServedMetrics, app_json: Path
) -> None:
    dialog = opened(qtbot, served, app_json)
    assert not dialog.serve_box.isChecked() and dialog.address.text() == "127.0.0.1:9464"
    assert not dialog.address.isEnabled() and dialog.now.text() == NOT_SERVING
    port = free_port()
    dialog.serve_box.setChecked(True)
    dialog.address.setText(f"127.0.0.1:{port}")
    dialog.apply_button.click()
    assert "tunnelkeeper_build_info" in fetch(port)
    assert dialog.now.text() == f"Serving now at http://127.0.0.1:{port}/metrics"
    assert saved(app_json)["metrics"] == f"127.0.0.1:{port}"
    assert dialog.address_note.isHidden() and dialog.remote_note.isHidden()

    dialog.serve_box.setChecked(False)
    dialog.apply_button.click()
    assert refused(port)
    assert served.endpoint is None and dialog.now.text() == NOT_SERVING
    assert saved(app_json).get("metrics", "") == ""
    assert read_settings(app_json)[0].metrics == ""


def test_a_non_loopback_address_needs_the_allow_box(
    qtbot: QtBot, served: ServedMetrics, app_json: Path
) -> None:
    port = free_port()
    app_json.write_text(json.dumps({"metrics": f"127.0.0.1:{port}"}))
    served.start(read_settings(app_json)[0])
    dialog = opened(qtbot, served, app_json)
    assert dialog.serve_box.isChecked() and dialog.address.text() == f"127.0.0.1:{port}"
    before = served.endpoint
    other = free_port()
    dialog.address.setText(f"0.0.0.0:{other}")
    dialog.apply_button.click()
    assert dialog.address_note.isVisible()
    assert dialog.address_note.text().startswith(
        f"The metrics address 0.0.0.0:{other} is not a loopback address"
    )
    assert "“Allow other machines” box below" in dialog.address_note.text()
    assert served.endpoint is before and "tunnelkeeper_build_info" in fetch(port)
    assert refused(other)
    assert saved(app_json)["metrics"] == f"127.0.0.1:{port}"

    dialog.remote_box.setChecked(True)
    assert dialog.remote_note.isVisible() and dialog.remote_note.text() == REMOTE_WARNING
    dialog.apply_button.click()
    assert dialog.address_note.isHidden()
    assert "tunnelkeeper_build_info" in fetch(other)  # 0.0.0.0 takes loopback too
    assert refused(port)  # the one before is closed
    assert dialog.now.text() == f"Serving now at http://0.0.0.0:{other}/metrics"
    body = saved(app_json)
    assert (body["metrics"], body["metrics_allow_remote"]) == (f"0.0.0.0:{other}", True)


def test_a_taken_port_is_said_and_the_endpoint_and_setting_before_are_kept(
    qtbot: QtBot, served: ServedMetrics, app_json: Path
) -> None:
    port = free_port()
    app_json.write_text(json.dumps({"metrics": f"127.0.0.1:{port}"}))
    served.start(read_settings(app_json)[0])
    dialog = opened(qtbot, served, app_json)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        dialog.address.setText(f"127.0.0.1:{busy}")
        dialog.apply_button.click()
        assert dialog.address_note.text() == (
            f"Cannot serve metrics on 127.0.0.1:{busy}: Address already in use. "
            "The setting before is kept."
        )
    assert "tunnelkeeper_build_info" in fetch(port)
    assert dialog.now.text() == f"Serving now at http://127.0.0.1:{port}/metrics"
    assert saved(app_json)["metrics"] == f"127.0.0.1:{port}"
    assert dialog.preferences.settings.metrics == f"127.0.0.1:{port}"


def test_a_port_taken_at_launch_is_said_in_the_dialog(
    qtbot: QtBot, served: ServedMetrics, app_json: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        app_json.write_text(json.dumps({"metrics": f"127.0.0.1:{busy}"}))
        served.start(read_settings(app_json)[0])
    dialog = opened(qtbot, served, app_json)
    assert dialog.now.text() == (
        f"Not serving: cannot serve metrics on 127.0.0.1:{busy}: Address already in use."
    )
    dialog.apply_button.click()  # the port is free now: Apply serves there
    assert "tunnelkeeper_build_info" in fetch(busy)


def test_the_tray_entry_opens_one_metrics_dialog(
    qtbot: QtBot, tk_home: AppPaths, tmp_path: Path
) -> None:
    shell = Shell(tk_home, autostart=XdgAutostart(tmp_path), tray_available=lambda: True)
    shell.start(quiet=True)
    try:
        entry = action(shell.tray.menu, "Metrics…")
        entry.trigger()
        entry.trigger()  # the same dialog, brought forward
        (dialog,) = [d for d in shell.dialogs if isinstance(d, MetricsDialog)]
        assert dialog.isVisible() and dialog.served is shell.served_metrics
        port = free_port()
        dialog.serve_box.setChecked(True)
        dialog.address.setText(str(port))  # a bare port: on loopback
        dialog.apply_button.click()
        assert dialog.address.text() == f"127.0.0.1:{port}"
        assert shell.metrics is not None and shell.metrics.url.endswith(f":{port}/metrics")
        dialog.reject()
        assert not any(isinstance(d, MetricsDialog) for d in shell.dialogs)
    finally:
        quit_and_wait(qtbot, shell)
    assert shell.metrics is None and refused(port)
