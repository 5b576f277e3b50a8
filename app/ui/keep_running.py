"""Settings → "Keep tunnels running when logged out": install the system service and move
the chosen tunnels into it, administrator rights asked for the platform's way."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.service_units import SERVICE_USER
from app.errors import KeyPassphraseNeeded
from app.platform.service_install import Step
from app.ui import jobs
from app.ui.hub import TunnelHub
from app.ui.icons import app_icon
from app.ui.wizard.widgets import AMBER, GREEN, GREY, RED, Note, message_of

ELEVATION = ("pkexec",)  # how a desktop asks for an administrator (polkit's own window)

INTRO = (
    "The system service starts with the computer, before anyone logs in, and keeps the "
    "tunnels you choose running when you log out. They move into it: each one's settings, "
    "key and trusted host key are copied into the service's own configuration and removed "
    "from yours. The tray and the status window still show them and connect or "
    "disconnect them; changing them takes an administrator.\n\n"
    "Installing asks for an administrator's password."
)


def terminal_command(names: Sequence[str]) -> str:
    """The same move from a terminal (it asks for passphrases and for sudo's password)."""
    return "tunnelkeeper service install --system --move " + " ".join(names)


def failure_sentence(exc: Exception, names: Sequence[str]) -> str:
    """What the dialog says when the move failed: the reason, and what to do instead."""
    instead = f"or move them from a terminal: {terminal_command(names)}"
    if isinstance(exc, KeyPassphraseNeeded):
        return (
            f"{message_of(exc)} The service needs that passphrase too, and the system "
            "keychain does not hold it: connect the tunnel once with “Remember in the "
            f"system keychain” ticked and try again, {instead}"
        )
    kept = "Nothing was moved: your tunnels stay as they were."
    return f"{message_of(exc)} {kept} Try again, {instead}"


def success_sentence(names: Sequence[str], problems: Sequence[str]) -> str:
    listed = ", ".join(names)
    runs, keeps = ("runs", "keeps") if len(names) == 1 else ("run", "keep")
    said = (
        f"Done: {listed} now {runs} in the service and {keeps} running when you log out. "
        "The tray and the status window show where (“service”)."
    )
    if problems:
        said += " Could not stop here: " + "; ".join(problems)
    return said


def stop_here_then_reload(hub: TunnelHub, names: Sequence[str]) -> None:
    """After a move: stop the moved tunnels this app still runs, then read the profiles
    again (the moved ones are gone from them). On the GUI thread."""
    left = {name for name in names if hub.is_running(name)}
    if not left:
        hub.reload()
        return

    def one_stopped(name: str) -> None:
        left.discard(name)
        if not left:
            hub.reload()

    for name in sorted(left):
        hub.disconnect_tunnel(name, on_done=partial(one_stopped, name))


class KeepRunningDialog(QDialog):
    """Lists the user's tunnels to tick; "Install the service" moves the ticked ones on a
    worker thread (which reports steps as text and never touches a widget)."""

    def __init__(
        self,
        hub: TunnelHub,
        *,
        run_as: str = SERVICE_USER,
        elevation: tuple[str, ...] = ELEVATION,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.hub = hub
        self._run_as, self._elevation = run_as, elevation
        self.working = False
        self.setWindowTitle("Keep tunnels running when logged out")
        self.setWindowIcon(app_icon())
        self.setMinimumWidth(520)
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.PlainText)
        self.choose = QLabel("&Tunnels to move into the service:")
        self.tunnels = QListWidget()
        self.tunnels.setMaximumHeight(160)
        self.choose.setBuddy(self.tunnels)
        self.tunnels.itemChanged.connect(lambda _item: self._update())
        self.outcome = Note(GREY)
        self.install = QPushButton("&Install the service")
        self.install.clicked.connect(self.start_install)
        self.install.setDefault(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.addButton(self.install, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addSpacing(6)
        layout.addWidget(self.choose)
        layout.addWidget(self.tunnels)
        layout.addWidget(self.outcome)
        layout.addWidget(self.buttons)
        hub.profiles_changed.connect(self.fill)
        self.fill()
        self.tunnels.setFocus()  # Enter should not close it before anything is chosen

    # --- the list -------------------------------------------------------------------------

    def fill(self) -> None:
        """One checkable entry per profile of the user's (ticks kept across a reload)."""
        ticked = set(self.chosen())
        self.tunnels.blockSignals(True)
        self.tunnels.clear()
        for name, profile in sorted(self.hub.profiles.items()):
            item = QListWidgetItem(f"{name}    ({profile.jumphost} → {profile.target})")
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
            checked = name in ticked
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
            self.tunnels.addItem(item)
        self.tunnels.blockSignals(False)
        if not self.hub.profiles and not self.working and not self.outcome.text():
            self.outcome.say("You have no tunnels of your own to move.", GREY)
        self._update()

    def chosen(self) -> list[str]:
        items = (self.tunnels.item(i) for i in range(self.tunnels.count()))
        return [
            str(item.data(Qt.ItemDataRole.UserRole))
            for item in items
            if item.checkState() == Qt.CheckState.Checked
        ]

    def _update(self) -> None:
        self.install.setEnabled(bool(self.chosen()) and not self.working)
        self.tunnels.setEnabled(not self.working)
        close = self.buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setEnabled(not self.working)

    # --- installing -----------------------------------------------------------------------

    def start_install(self) -> None:
        names = self.chosen()
        if not names or self.working:
            return
        self.working = True
        self._update()
        self.outcome.say(
            "Installing the service… the system asks for an administrator's password.", GREY
        )
        service, run_as, elevation = self.hub.services.service, self._run_as, self._elevation

        def work(progress: Callable[[object], None]) -> list[str]:
            def step_done(step: Step) -> None:
                progress(step.describe().splitlines()[0])

            return service.move_to_system(
                names, None, run_as=run_as, elevation=elevation, on_step=step_done
            )

        jobs.start(
            "keep-running",
            work,
            on_done=lambda problems: self._moved(names, problems),
            on_failed=lambda exc: self._failed(names, exc),
            on_progress=self._step,
        )

    def _alive(self) -> bool:
        return shiboken6.isValid(self)

    def _step(self, text: object) -> None:
        if self._alive():
            self.outcome.say(f"Installing the service… done: {text}", GREY)

    def _moved(self, names: list[str], problems: list[str]) -> None:
        stop_here_then_reload(self.hub, names)  # the app's part, with or without the dialog
        if not self._alive():
            return
        self.working = False
        self.outcome.say(success_sentence(names, problems), AMBER if problems else GREEN)
        self.fill()

    def _failed(self, names: list[str], exc: Exception) -> None:
        if not self._alive():
            return
        self.working = False
        self.outcome.say(failure_sentence(exc, names), RED)
        self._update()

    def reject(self) -> None:
        """Not while installing: its outcome is said here."""
        if not self.working:
            super().reject()
