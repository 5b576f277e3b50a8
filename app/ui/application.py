"""The desktop app: QApplication on a qasync loop, one instance, signals, until Quit."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence

import qasync  # after PySide6, so qasync picks the binding already loaded
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app import __version__
from app.control.addresses import own_address
from app.control.server import ControlServer
from app.core.control import HostKind
from app.errors import TunnelkeeperError
from app.platform.autostart import Autostart
from app.platform.limits import raise_open_file_limit
from app.platform.single_instance import SingleInstance, instance_address
from app.storage.logs import setup_logging
from app.storage.paths import AppPaths, app_paths
from app.ui import jobs
from app.ui.controller import AppController
from app.ui.icons import app_icon
from app.ui.shell import NO_TRAY, Shell
from app.ui.wizard import WizardPrefill

__all__ = ["NO_TRAY", "Shell", "run"]

log = logging.getLogger(__name__)

SIGNAL_POLL_MS = 250


async def _serve(paths: AppPaths, shell: Shell) -> ControlServer | None:
    """The app's control endpoint, serving its hub; None (said in the log) without one."""
    try:
        endpoint = ControlServer(own_address(paths, HostKind.APP), AppController(shell.hub))
        await endpoint.start()
    except (OSError, TunnelkeeperError) as exc:  # the app works on without it
        log.warning("no control endpoint (tunnelkeeper status will not see the app): %s", exc)
        return None
    return endpoint


def _quit_on_signals(shell: Shell) -> None:
    """SIGTERM / SIGINT (logout, Ctrl-C, `kill`) quit cleanly like the Quit menu entry."""

    def on_signal(_signum: int, _frame: object) -> None:
        QTimer.singleShot(0, shell.quit)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)
    # Python runs signal handlers only between bytecodes; Qt's C++ loop gives it none
    # while idle, so a slow timer hands control back now and then.
    ticker = QTimer(shell)
    ticker.timeout.connect(lambda: None)
    ticker.start(SIGNAL_POLL_MS)


def run(
    argv: Sequence[str] | None = None,
    *,
    quiet: bool = False,
    prefill: WizardPrefill | None = None,
    paths: AppPaths | None = None,
    autostart: Autostart | None = None,
) -> int:
    """Run the desktop app until Quit; 0 also when another instance was asked to show."""
    try:
        paths = paths or app_paths()
        address = instance_address(paths)  # in a folder only we can create things in
    except TunnelkeeperError as exc:
        print(f"tunnelkeeper: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"tunnelkeeper: cannot use {exc.filename}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    app = QApplication.instance() or QApplication(list(argv or sys.argv[:1]))
    assert isinstance(app, QApplication)
    app.setApplicationName("Tunnelkeeper")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("tunnelkeeper")
    app.setWindowIcon(app_icon())
    app.setQuitOnLastWindowClosed(False)
    guard = SingleInstance(address)
    if not guard.claim():
        print("Tunnelkeeper is already running; its status window was brought forward.")
        return 0
    setup_logging(paths, verbose=False, console=False)
    raise_open_file_limit()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    shell = Shell(paths, prefill=prefill, autostart=autostart)
    guard.show_requested.connect(shell.window.bring_forward)
    closing = asyncio.Event()
    app.aboutToQuit.connect(closing.set)
    _quit_on_signals(shell)
    # the control endpoint is the first coroutine on the qasync loop: the CLI's
    # status / connect / disconnect reach the app's tunnels through it
    shell.start(quiet=quiet)
    log.info("desktop app started (Tunnelkeeper %s, pid %d)", __version__, os.getpid())
    with loop:
        serving = loop.create_task(_serve(paths, shell))
        loop.run_until_complete(closing.wait())
        endpoint = serving.result() if serving.done() else None
        if endpoint is not None:
            endpoint.close_now()
    jobs.wait_all(2.0)
    guard.release()
    return 0
