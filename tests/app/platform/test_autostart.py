"""Start-at-login writers: the XDG file for real, and the other systems' file contents."""

from __future__ import annotations

import configparser
import plistlib
import shlex
from pathlib import Path

import pytest

from app.platform import autostart


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    return tmp_path


def test_xdg_toggle_writes_and_removes_the_desktop_file(home: Path) -> None:
    writer = autostart.XdgAutostart(home)
    assert not writer.enabled()
    writer.enable(["/opt/Tunnel Keeper/tunnelkeeper", "--autostart"])
    path = home / ".config" / "autostart" / "tunnelkeeper.desktop"
    assert writer.enabled() and path.is_file()
    entry = configparser.ConfigParser(interpolation=None)
    entry.read_string(path.read_text())
    section = entry["Desktop Entry"]
    assert section["Type"] == "Application"
    assert section["Name"] == "Tunnelkeeper"
    # the quoted Exec line splits back into the same arguments
    assert shlex.split(section["Exec"]) == ["/opt/Tunnel Keeper/tunnelkeeper", "--autostart"]
    writer.disable()
    assert not writer.enabled() and not path.exists()
    writer.disable()  # already off: fine


def test_xdg_honours_xdg_config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    writer = autostart.XdgAutostart(tmp_path)
    writer.enable(["tk"])
    assert (tmp_path / "cfg" / "autostart" / "tunnelkeeper.desktop").is_file()


def test_mac_launch_agent_plist(home: Path) -> None:
    writer = autostart.MacLaunchAgent(home)
    writer.enable(["/Applications/Tunnelkeeper.app/Contents/MacOS/Tunnelkeeper", "--autostart"])
    path = home / "Library" / "LaunchAgents" / "io.tunnelkeeper.Tunnelkeeper.plist"
    data = plistlib.loads(path.read_bytes())
    assert data["Label"] == "io.tunnelkeeper.Tunnelkeeper"
    assert data["ProgramArguments"][1] == "--autostart"
    assert data["RunAtLoad"] is True
    writer.disable()
    assert not path.exists()


def test_windows_run_value_quotes_paths_with_spaces() -> None:
    value = autostart.windows_run_value(
        [r"C:\Program Files\Tunnelkeeper\tunnelkeeper.exe", "--autostart"]
    )
    assert value == r'"C:\Program Files\Tunnelkeeper\tunnelkeeper.exe" --autostart'


def test_launch_command_runs_this_app() -> None:
    command = autostart.launch_command()
    assert command[-1] == "--autostart"
    assert command[1:3] == ["-m", "app"]
