"""Start at login: one interface, a writer per OS (registry Run key, LaunchAgent, XDG)."""

from __future__ import annotations

import os
import plistlib
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from app.storage.fileio import atomic_write

APP_ID = "io.tunnelkeeper.Tunnelkeeper"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE = "Tunnelkeeper"


class Autostart(Protocol):
    def enabled(self) -> bool: ...
    def enable(self, command: list[str]) -> None: ...
    def disable(self) -> None: ...


def launch_command() -> list[str]:
    """How to start this app at login: the frozen executable, or this interpreter."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "--autostart"]
    return [sys.executable, "-m", "app", "--autostart"]


# --- file contents (pure) ----------------------------------------------------------------


def desktop_entry(command: list[str]) -> str:
    """An XDG autostart ``.desktop`` file (Exec quoting per the Desktop Entry spec)."""
    exec_line = " ".join(_desktop_quote(part) for part in command)
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=Tunnelkeeper\n"
        "Comment=Keeps the reverse SSH tunnel to your data vendor open\n"
        f"Exec={exec_line}\n"
        "Icon=tunnelkeeper\n"
        "Terminal=false\n"
        "X-GNOME-Autostart-enabled=true\n"
        "X-GNOME-Autostart-Delay=5\n"
    )


def _desktop_quote(part: str) -> str:
    if part and all(c.isalnum() or c in "-_./=:@+," for c in part):
        return part
    escaped = part.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`")
    escaped = escaped.replace("$", "\\$")
    return f'"{escaped}"'


def launch_agent(command: list[str]) -> bytes:
    """A macOS LaunchAgent plist that runs ``command`` at login."""
    return plistlib.dumps(
        {
            "Label": APP_ID,
            "ProgramArguments": command,
            "RunAtLoad": True,
            "KeepAlive": False,
            "ProcessType": "Interactive",
        }
    )


def windows_run_value(command: list[str]) -> str:
    """The command line stored under HKCU\\...\\Run (Windows quoting)."""
    return subprocess.list2cmdline(command)


# --- writers -----------------------------------------------------------------------------


@dataclass
class XdgAutostart:
    """Linux and other XDG desktops: ``$XDG_CONFIG_HOME/autostart/tunnelkeeper.desktop``."""

    home: Path

    @property
    def path(self) -> Path:
        base = os.environ.get("XDG_CONFIG_HOME") or str(self.home / ".config")
        return Path(base) / "autostart" / "tunnelkeeper.desktop"

    def enabled(self) -> bool:
        return self.path.is_file()

    def enable(self, command: list[str]) -> None:
        atomic_write(self.path, desktop_entry(command).encode("utf-8"), mode=0o644)

    def disable(self) -> None:
        self.path.unlink(missing_ok=True)


@dataclass
class MacLaunchAgent:
    home: Path

    @property
    def path(self) -> Path:
        return self.home / "Library" / "LaunchAgents" / f"{APP_ID}.plist"

    def enabled(self) -> bool:
        return self.path.is_file()

    def enable(self, command: list[str]) -> None:
        atomic_write(self.path, launch_agent(command), mode=0o644)

    def disable(self) -> None:
        self.path.unlink(missing_ok=True)


if sys.platform == "win32":  # pragma: no cover - needs Windows
    import winreg

    class WindowsRunKey:
        """Windows: a value under HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run."""

        def enabled(self) -> bool:
            try:
                with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
                    winreg.QueryValueEx(key, RUN_VALUE)
            except OSError:
                return False
            return True

        def enable(self, command: list[str]) -> None:
            with winreg.CreateKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
                winreg.SetValueEx(key, RUN_VALUE, 0, winreg.REG_SZ, windows_run_value(command))

        def disable(self) -> None:
            try:
                with winreg.OpenKey(
                    winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_SET_VALUE
                ) as key:
                    winreg.DeleteValue(key, RUN_VALUE)
            except FileNotFoundError:
                pass


def for_this_system(home: Path | None = None) -> Autostart:
    home = home or Path.home()
    if sys.platform == "win32":  # pragma: no cover - needs Windows
        return WindowsRunKey()
    if sys.platform == "darwin":
        return MacLaunchAgent(home)
    return XdgAutostart(home)
