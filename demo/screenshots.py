"""`make screenshots`: the real app on Xvfb with a tray host, driven through the demo flow."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QPoint, QRect, Qt  # noqa: E402
from PySide6.QtGui import QColor, QGuiApplication, QPalette  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget, QWizard  # noqa: E402

from app.core.events import State  # noqa: E402
from app.core.history import Sample, Transition  # noqa: E402
from app.platform.autostart import XdgAutostart  # noqa: E402
from app.storage.history import Batch, write_now  # noqa: E402
from app.storage.logs import setup_logging  # noqa: E402
from app.storage.paths import HOME_ENV, app_paths  # noqa: E402
from app.ui.application import Shell  # noqa: E402
from app.ui.wizard import WizardPrefill  # noqa: E402
from app.ui.wizard.wizard import Page  # noqa: E402
from demo.run import DemoVendor  # noqa: E402
from tests.support.net import echo_handler, tcp_server, wait_until  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
SCREEN = (1280, 800)
TIMEOUT = 60.0


# --- parent: a virtual screen, a window manager and a tray host --------------------------


@contextlib.contextmanager
def started(argv: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """A helper program, stopped by the PID we started when the block ends."""
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


X11_DIR = Path("/tmp/.X11-unix")  # noqa: S108 - where every X server puts its socket


def free_display() -> int:
    for number in range(90, 200):
        lock = X11_DIR.parent / f".X{number}-lock"
        if not (X11_DIR / f"X{number}").exists() and not lock.exists():
            return number
    raise RuntimeError("no free X display number between :90 and :199")


def shoot(scale: int, out: Path, theme: str = "light") -> int:
    missing = [p for p in ("Xvfb", "trayer") if shutil.which(p) is None]
    if missing:
        print(f"screenshots need {' and '.join(missing)} (apt-get install xvfb trayer)")
        return 1
    display = f":{free_display()}"
    width, height = SCREEN[0] * scale, SCREEN[1] * scale
    env = {**os.environ, "DISPLAY": display}
    env.pop("WAYLAND_DISPLAY", None)
    xvfb = ["Xvfb", display, "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"]
    with started(xvfb, env):
        if not wait_until((X11_DIR / f"X{display[1:]}").exists, 10):
            print("Xvfb did not start")
            return 1
        wm = shutil.which("openbox")
        with contextlib.ExitStack() as stack:
            if wm:
                stack.enter_context(started([wm], env))
            tray = [
                "trayer", "--edge", "top", "--align", "right", "--widthtype", "request",
                "--height", str(28 * scale), "--iconspacing", str(4 * scale),
                "--transparent", "false", "--tint", "0x2d2d2d", "--SetDockType", "true",
            ]  # fmt: skip
            stack.enter_context(started(tray, env))
            time.sleep(1.0)  # the tray host claims the selection before the app looks
            child = {
                **env,
                "QT_QPA_PLATFORM": "xcb",
                "QT_SCALE_FACTOR": str(scale),
                "QT_SCALE_FACTOR_ROUNDING_POLICY": "PassThrough",
            }
            cmd = [sys.executable, __file__, "--child", "--scale", str(scale), "--out", str(out)]
            cmd += ["--theme", theme]
            return subprocess.run(cmd, env=child, timeout=300, check=False).returncode


# --- child: the app itself, driven as a person would -------------------------------------


def dark_palette() -> QPalette:
    """A dark palette as desktops with a dark theme hand Qt apps (Fusion's roles)."""
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#2b2b2b",
        QPalette.ColorRole.WindowText: "#e8e8e8",
        QPalette.ColorRole.Base: "#1e1e1e",
        QPalette.ColorRole.AlternateBase: "#262626",
        QPalette.ColorRole.ToolTipBase: "#3a3a3a",
        QPalette.ColorRole.ToolTipText: "#f0f0f0",
        QPalette.ColorRole.Text: "#e8e8e8",
        QPalette.ColorRole.Button: "#353535",
        QPalette.ColorRole.ButtonText: "#e8e8e8",
        QPalette.ColorRole.Highlight: "#2f6db5",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.PlaceholderText: "#9a9a9a",
        QPalette.ColorRole.Link: "#8ab4f8",
    }
    for role, colour in roles.items():
        palette.setColor(role, QColor(colour))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#7a7a7a"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#7a7a7a"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor("#7a7a7a"))
    return palette


def seed_history(file: Path, tunnel: str, now: float) -> None:
    """A demo day for ``tunnel``, so the History tab has something to show: up since
    yesterday, a 14-minute jumphost outage, a stretch when the target refused, and
    traffic in the last hour. (The app records the live tunnel on top of it.)"""
    batch = Batch()
    steps = [
        (now - 26 * 3600, State.CONNECTING, False, "connecting to the jumphost."),
        (now - 26 * 3600 + 2, State.CONNECTED, False, "listening"),
        (now - 9 * 3600, State.RETRYING, False, "the connection to the jumphost was lost"),
        (now - 9 * 3600 + 840, State.CONNECTED, False, "listening"),
        (now - 3 * 3600, State.CONNECTED, True, "target 127.0.0.1:5432 refused 3 connections"),
        (now - 3 * 3600 + 1500, State.CONNECTED, False, "listening"),
        (now - 30, State.STOPPED, False, "the tunnel is stopped."),
    ]
    for at, state, warning, detail in steps:
        batch.transitions.append((tunnel, Transition(at, state, warning, detail), True))
    sent = received = 0
    for i in range(360):  # a sample every 10 s for the last hour, a nightly-sync shape
        sent += int(40_000 + 30_000 * ((i // 30) % 3)) * 10
        received += int(900_000 * (1 + (i % 90 < 20))) * 10
        batch.samples.append((tunnel, Sample(now - 3630 + 10 * i, sent, received)))
    write_now(file, [batch], now)


class Tour:
    """The app in this process, walked through the demo flow; a picture at each stop."""

    def __init__(self, scale: int, out: Path, theme: str = "light") -> None:
        self.scale, self.out = scale, out
        self.suffix = ("" if theme == "light" else f"-{theme}") + (
            "" if scale == 1 else f"@{scale}x"
        )
        self.app = QApplication([sys.argv[0]])
        self.app.setQuitOnLastWindowClosed(False)
        self.app.setApplicationName("Tunnelkeeper")
        self.app.setStyle("Fusion")
        if theme == "dark":
            self.app.setPalette(dark_palette())

    # --- waiting and saving ---------------------------------------------------------------

    def wait(self, predicate: Callable[[], object], what: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while not predicate():
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what}")
            self.app.processEvents()
            time.sleep(0.02)

    def settle(self, seconds: float = 0.4) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.app.processEvents()
            time.sleep(0.02)

    def save(self, widget: QWidget, name: str) -> None:
        self.settle()
        path = self.out / f"{name}{self.suffix}.png"
        widget.grab().save(str(path))
        print(f"saved {path.relative_to(ROOT)}")

    def save_screen(self, name: str, rect: QRect) -> None:
        self.settle(0.8)
        shot = QGuiApplication.primaryScreen().grabWindow(
            0, rect.left(), rect.top(), rect.width(), rect.height()
        )
        path = self.out / f"{name}{self.suffix}.png"
        shot.save(str(path))
        print(f"saved {path.relative_to(ROOT)}")

    # --- the flow -------------------------------------------------------------------------

    def run(self, home: Path, target_port: int) -> None:
        paths = app_paths({HOME_ENV: str(home / "tunnelkeeper")})
        os.environ[HOME_ENV] = str(paths.config_dir)
        vendor = DemoVendor(home, paths.keys_dir)
        vendor.start()
        try:
            prefill = WizardPrefill(
                paste=vendor.command(target_port),
                target_host="127.0.0.1",
                target_port=target_port,
                name="warehouse",
            )
            seed_history(paths.history_file, "warehouse", time.time())
            setup_logging(paths, verbose=False, console=False)  # as the app's run() does
            shell = Shell(paths, autostart=XdgAutostart(home), prefill=prefill)
            shell.start()
            self.wizard_pages(shell, vendor)
            self.status_window(shell, vendor)
            self.tray_menu(shell)
            shell.quit()
            self.wait(lambda: not shell.hub.is_running("warehouse"), "the tunnel to stop")
        finally:
            vendor.stop()

    def next_page(self, wizard: QWizard, expect: Page) -> None:
        button = wizard.button(QWizard.WizardButton.NextButton)
        self.wait(button.isEnabled, "Next to be enabled")
        QTest.mouseClick(button, Qt.MouseButton.LeftButton)
        self.wait(lambda: wizard.currentId() == expect, f"page {expect.name}")

    def wizard_pages(self, shell: Shell, vendor: DemoVendor) -> None:
        wizard = shell.wizard
        assert wizard is not None
        self.wait(wizard.isVisible, "the wizard")
        self.save(wizard, "wizard-1-welcome")
        self.next_page(wizard, Page.KEY)
        key_page = wizard.key_page
        key_page.new_option.setChecked(True)
        QTest.mouseClick(key_page.action, Qt.MouseButton.LeftButton)
        self.wait(lambda: key_page.key_box.line().startswith("ssh-ed25519 "), "the new key")
        self.save(wizard, "wizard-2-key")
        self.wait(lambda: any(vendor.keys_dir.glob("*.pub")), "the public key file")
        vendor.authorize_new_keys()  # the user pasted it into the vendor's page
        self.next_page(wizard, Page.ENDPOINT)
        self.wait(lambda: not wizard.endpoint_page.parsing, "the paste to be read")
        self.save(wizard, "wizard-3-endpoint")
        self.next_page(wizard, Page.TARGET)
        self.wait(lambda: wizard.target_page.light.mark.value == "pass", "the target check")
        self.save(wizard, "wizard-4-target")
        self.next_page(wizard, Page.HOST_KEY)
        host_page = wizard.hostkey_page
        self.wait(lambda: not host_page.busy, "the host key")
        if host_page.confirm.isVisible():
            tick = QPoint(8 * self.scale, host_page.confirm.height() // 2)
            QTest.mouseClick(host_page.confirm, Qt.MouseButton.LeftButton, pos=tick)
        self.save(wizard, "wizard-5-hostkey")
        self.next_page(wizard, Page.TEST)
        checks = wizard.checks_page
        self.wait(lambda: not checks.testing and checks.again.isEnabled(), "the checks")
        self.save(wizard, "wizard-6-test")
        self.next_page(wizard, Page.FINISH)
        self.save(wizard, "wizard-7-finish")
        finish = wizard.button(QWizard.WizardButton.FinishButton)
        QTest.mouseClick(finish, Qt.MouseButton.LeftButton)

    def status_window(self, shell: Shell, vendor: DemoVendor) -> None:
        hub = shell.hub
        self.wait(lambda: "warehouse" in hub.states(), "the profile")
        self.wait(lambda: hub.states()["warehouse"].value == "connected", "the tunnel")
        shell.window.bring_forward()
        shell.window.move(40 * self.scale, 60 * self.scale)
        for _ in range(3):  # the vendor's pipeline pulls something through the tunnel
            with socket.create_connection(("127.0.0.1", vendor.remote_port), 10) as conn:
                conn.sendall(b"x" * 65536)
                got = 0
                while got < 65536:
                    got += len(conn.recv(65536))
        self.wait(lambda: hub.rows()[0].status["total_connections"] == 3, "the counters")
        shell.window.refresh()
        self.wait(shell.window.detail.copy_key.isEnabled, "the key's fingerprint")
        self.save(shell.window, "status-window")
        shell.window.tabs.setCurrentWidget(shell.window.history)
        shell.window.history.reload()
        self.wait(lambda: shell.window.history.data is not None, "the history")
        self.save(shell.window, "status-history")
        shell.window.tabs.setCurrentWidget(shell.window.detail)
        shell.window.hide()

    def tray_menu(self, shell: Shell) -> None:
        screen = QGuiApplication.primaryScreen().geometry()
        menu = shell.tray.menu
        menu.popup(QPoint(screen.width() - menu.sizeHint().width() - 8, 30 * self.scale))
        self.wait(menu.isVisible, "the tray menu")
        tunnel = next(a for a in menu.actions() if a.menu() is not None)  # after the summary
        menu.setActiveAction(tunnel)
        sub = tunnel.menu()
        assert sub is not None
        self.wait(sub.isVisible, "the tunnel's submenu")
        left = max(0, min(menu.geometry().left(), sub.geometry().left()) - 12 * self.scale)
        bottom = max(menu.geometry().bottom(), sub.geometry().bottom()) + 12 * self.scale
        self.save_screen("tray-menu", QRect(left, 0, screen.width() - left, bottom))
        menu.hide()


def drive(scale: int, out: Path, theme: str) -> int:
    tour = Tour(scale, out, theme)
    with (
        tempfile.TemporaryDirectory(prefix="tunnelkeeper-shots-") as tmp,
        tcp_server(echo_handler) as target,
    ):
        tour.run(Path(tmp), target.port)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--scale", type=int, default=0, help="1 or 2 (default: both)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--theme", choices=("light", "dark"), help="default: both")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.child:
        return drive(args.scale, args.out, args.theme or "light")
    for theme in [args.theme] if args.theme else ["light", "dark"]:
        for scale in [args.scale] if args.scale else [1, 2]:
            code = shoot(scale, args.out, theme)
            if code != 0:
                return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
