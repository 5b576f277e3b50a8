"""`make screenshots`: the real app on Xvfb with a tray host, driven through the demo flow."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from demo.run import DemoVendor  # noqa: E402
from tests.support.net import echo_handler, tcp_server, wait_until  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
SCREEN = (1280, 800)
TIMEOUT = 60.0


# --- parent: a virtual screen, a window manager and a tray host --------------------------


@contextlib.contextmanager
def started(argv: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """A helper program, stopped by the PID we started when the block ends."""
    proc = subprocess.Popen(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def free_display() -> int:
    for number in range(90, 200):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(
            f"/tmp/.X{number}-lock"
        ).exists():
            return number
    raise RuntimeError("no free X display number between :90 and :199")


def shoot(scale: int, out: Path) -> int:
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
        if not wait_until(lambda: Path(f"/tmp/.X11-unix/X{display[1:]}").exists(), 10):
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
            return subprocess.run(cmd, env=child, timeout=300).returncode


# --- child: the app itself, driven as a person would -------------------------------------


def drive(scale: int, out: Path) -> int:
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QWidget, QWizard

    from app.logs import setup_logging
    from app.paths import HOME_ENV, app_paths
    from app.platform.autostart import XdgAutostart
    from app.ui.application import Shell
    from app.ui.wizard import WizardPrefill
    from app.ui.wizard.wizard import Page

    suffix = "" if scale == 1 else f"@{scale}x"
    app = QApplication([sys.argv[0]])
    app.setQuitOnLastWindowClosed(False)
    app.setApplicationName("Tunnelkeeper")

    def wait(predicate: Callable[[], object], what: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while not predicate():
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what}")
            app.processEvents()
            time.sleep(0.02)

    def settle(seconds: float = 0.4) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.02)

    def save(widget: QWidget, name: str) -> None:
        settle()
        path = out / f"{name}{suffix}.png"
        widget.grab().save(str(path))
        print(f"saved {path.relative_to(ROOT)}")

    def save_screen(name: str, left: int, top: int, width: int, height: int) -> None:
        settle(0.8)
        screen = QGuiApplication.primaryScreen()
        shot = screen.grabWindow(0, left, top, width, height)
        path = out / f"{name}{suffix}.png"
        shot.save(str(path))
        print(f"saved {path.relative_to(ROOT)}")

    with tempfile.TemporaryDirectory(prefix="tunnelkeeper-shots-") as tmp, tcp_server(
        echo_handler
    ) as target:
        home = Path(tmp)
        os.environ[HOME_ENV] = str(home / "tunnelkeeper")
        paths = app_paths({HOME_ENV: str(home / "tunnelkeeper")})
        vendor = DemoVendor(home, paths.keys_dir)
        vendor.start()
        try:
            prefill = WizardPrefill(
                paste=vendor.command(target.port),
                target_host="127.0.0.1",
                target_port=target.port,
                name="warehouse",
            )
            setup_logging(paths, verbose=False, console=False)  # as the app's run() does
            shell = Shell(paths, autostart=XdgAutostart(home), prefill=prefill)
            shell.start()
            wizard = shell.wizard
            assert wizard is not None
            wait(lambda: wizard.isVisible(), "the wizard")

            def next_page(expect: Page) -> None:
                button = wizard.button(QWizard.WizardButton.NextButton)
                wait(button.isEnabled, "Next to be enabled")
                QTest.mouseClick(button, Qt.MouseButton.LeftButton)
                wait(lambda: wizard.currentId() == expect, f"page {expect.name}")

            save(wizard, "wizard-1-welcome")
            next_page(Page.KEY)
            key_page = wizard.key_page
            key_page.new_option.setChecked(True)
            QTest.mouseClick(key_page.action, Qt.MouseButton.LeftButton)
            wait(lambda: key_page.key_box.line().startswith("ssh-ed25519 "), "the new key")
            save(wizard, "wizard-2-key")
            wait(lambda: any(vendor.keys_dir.glob("*.pub")), "the public key file")
            vendor.authorize_new_keys()
            next_page(Page.ENDPOINT)
            wait(lambda: not wizard.endpoint_page.parsing, "the paste to be read")
            save(wizard, "wizard-3-endpoint")
            next_page(Page.TARGET)
            wait(lambda: wizard.target_page.light.mark.value == "pass", "the target check")
            save(wizard, "wizard-4-target")
            next_page(Page.HOST_KEY)
            host_page = wizard.hostkey_page
            wait(lambda: not host_page.busy, "the host key")
            if host_page.confirm.isVisible():
                QTest.mouseClick(
                    host_page.confirm,
                    Qt.MouseButton.LeftButton,
                    pos=QPoint(8 * scale, host_page.confirm.height() // 2),
                )
            save(wizard, "wizard-5-hostkey")
            next_page(Page.TEST)
            checks = wizard.checks_page
            wait(lambda: not checks.testing and checks.again.isEnabled(), "the checks")
            save(wizard, "wizard-6-test")
            next_page(Page.FINISH)
            save(wizard, "wizard-7-finish")
            finish = wizard.button(QWizard.WizardButton.FinishButton)
            QTest.mouseClick(finish, Qt.MouseButton.LeftButton)
            wait(lambda: shell.hub.states().get("warehouse") is not None, "the profile")
            wait(
                lambda: shell.hub.states()["warehouse"].value == "connected",
                "the tunnel to connect",
            )
            shell.window.bring_forward()
            shell.window.move(40 * scale, 60 * scale)
            shell.window.add_log_line("(the vendor connects through the tunnel)")
            import socket

            for _ in range(3):
                with socket.create_connection(("127.0.0.1", vendor.remote_port), 10) as conn:
                    conn.sendall(b"x" * 65536)
                    got = 0
                    while got < 65536:
                        got += len(conn.recv(65536))
            wait(
                lambda: shell.hub.rows()[0].status["total_connections"] == 3,
                "the connections to be counted",
            )
            shell.window.refresh()
            save(shell.window, "status-window")

            shell.window.hide()
            screen = QGuiApplication.primaryScreen().geometry()
            menu = shell.tray.menu
            menu.popup(QPoint(screen.width() - menu.sizeHint().width() - 8, 30 * scale))
            wait(menu.isVisible, "the tray menu")
            first = menu.actions()[0].menu()
            if first is not None:
                menu.setActiveAction(menu.actions()[0])
                wait(first.isVisible, "the tunnel's submenu")
            left = min(menu.geometry().left(), first.geometry().left() if first else 10**6)
            left = max(0, left - 12 * scale)
            bottom = max(menu.geometry().bottom(), first.geometry().bottom() if first else 0)
            save_screen("tray-menu", left, 0, screen.width() - left, bottom + 12 * scale)
            menu.hide()
            shell.quit()
            wait(lambda: not shell.hub.is_running("warehouse"), "the tunnel to stop")
        finally:
            vendor.stop()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--scale", type=int, default=0, help="1 or 2 (default: both)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.child:
        return drive(args.scale, args.out)
    for scale in [args.scale] if args.scale else [1, 2]:
        code = shoot(scale, args.out)
        if code != 0:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
