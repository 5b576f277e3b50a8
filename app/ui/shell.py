"""The running app on the GUI thread: the tray, the windows, the dialogs and their wiring."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox, QSystemTrayIcon

from app import __version__
from app.core.events import TunnelEvent
from app.errors import TunnelkeeperError
from app.platform.autostart import Autostart, for_this_system, launch_command
from app.platform.keychain import Keychain
from app.services.api import Services
from app.services.metrics import MetricsEndpoint
from app.storage.paths import AppPaths
from app.ui.alerts import AlertsDialog
from app.ui.apply_edit import apply_saved
from app.ui.check_dialog import ConnectionTestDialog
from app.ui.hub import TunnelHub, desktop_services
from app.ui.icons import app_icon
from app.ui.keep_running import KeepRunningDialog
from app.ui.logfeed import LogFeed
from app.ui.metrics import ServedMetrics
from app.ui.metrics_dialog import MetricsDialog
from app.ui.passphrase_dialog import PassphraseDialog
from app.ui.preferences import Preferences
from app.ui.status_window import StatusWindow
from app.ui.summary import Notifier
from app.ui.system_watch import SystemWatch
from app.ui.tray import Tray
from app.ui.wizard import SetupWizard, WizardPrefill
from app.ui.wizard.route import Part

log = logging.getLogger(__name__)

TRAY_RETRY_MS = 5000
QUIT_DEADLINE_MS = 6000  # the hub stops tunnels within 5 s; never hang on Quit
NO_TRAY = (
    "No system tray was found (on GNOME, install the AppIndicator extension). Tunnelkeeper "
    "keeps running from this window, and moves to the tray as soon as one appears."
)


class Shell(QObject):
    """Everything the running app owns; all of it lives on the GUI thread."""

    def __init__(
        self,
        paths: AppPaths,
        *,
        autostart: Autostart | None = None,
        tray_available: Callable[[], bool] = QSystemTrayIcon.isSystemTrayAvailable,
        prefill: WizardPrefill | None = None,
        keychain: Callable[[], Keychain] | None = None,
    ) -> None:
        super().__init__()
        self.paths = paths
        self.prefill = prefill
        self.preferences = Preferences(paths.config_dir / "app.json")
        self.settings_file = self.preferences.file
        self.settings = self.preferences.settings
        self.autostart = autostart or for_this_system()
        self.services = Services(paths, keychain) if keychain else desktop_services(paths)
        self.hub = TunnelHub(self.services)
        self.notifier = Notifier(enabled=self.settings.notifications)
        self.tray = Tray(self.hub, self.notifier, tray_available)
        self.window = StatusWindow(self.hub)
        self.feed = LogFeed()
        self.feed.line.connect(self.window.add_log_line)
        self.feed.attach()
        self.served_metrics = ServedMetrics(self.hub)
        self.served_metrics.start(self.settings)  # when app.json asks for it
        self.wizard: SetupWizard | None = None
        self.dialogs: list[QObject] = []
        self.quitting = False
        self._wire()
        self._tray_timer = QTimer(self)
        self._tray_timer.timeout.connect(self._retry_tray)
        self.system = SystemWatch(self.hub, self)
        self.network = self.system.network

    def _wire(self) -> None:
        tray, window, hub = self.tray, self.window, self.hub
        for source in (tray, window):
            source.add_requested.connect(lambda: self.open_wizard(None))
            source.edit_requested.connect(self.open_wizard)
            source.test_requested.connect(self.open_test)
            source.remove_requested.connect(self.confirm_remove)
        window.edit_part_requested.connect(self.open_wizard)  # the detail pane's Change…
        tray.trust_requested.connect(lambda name: self.open_wizard(name, "hostkey"))
        tray.copy_key_requested.connect(self.copy_public_key)
        tray.status_requested.connect(window.bring_forward)
        tray.logs_requested.connect(self.open_logs)
        tray.about_requested.connect(self.about)
        tray.quit_requested.connect(self.quit)
        tray.autostart_toggled.connect(self.set_autostart)
        tray.keep_running_requested.connect(self.open_keep_running)
        tray.alerts_requested.connect(self.open_alerts)
        tray.metrics_requested.connect(self.open_metrics)
        tray.notifications_toggled.connect(self._notifications)
        tray.noticed.connect(lambda title, text: self.window.add_log_line(f"{title}: {text}"))
        hub.passphrase_wanted.connect(self.ask_passphrase)
        hub.stopped_all.connect(self._stopped)
        hub.tunnel_event.connect(self._track_left_off)
        hub.remote_event.connect(self._track_left_off)  # one the user stops in a `run`, too
        hub.remote_failed.connect(self._remote_failed)
        hub.profiles_changed.connect(self._prune_left_off)
        tray.autostart_action.blockSignals(True)
        tray.autostart_action.setChecked(self._autostart_enabled())
        tray.autostart_action.blockSignals(False)

    # --- start ----------------------------------------------------------------------------

    def start(self, quiet: bool = False) -> None:
        """Show the tray (or the window), connect tunnels, open the wizard on a first run."""
        self.hub.reload()
        problems = [p for p in (self.hub.problem, self.settings_file.problem) if p is not None]
        if not self.tray.show():
            self.window.bring_forward()
            problems.insert(0, NO_TRAY)  # type: ignore[arg-type]
            self._tray_timer.start(TRAY_RETRY_MS)
        if problems:
            self.window.show_banner("\n".join(str(p) for p in problems))
            self.window.bring_forward()
        for name in self.hub.profiles:
            if name not in self.settings.left_off:
                self.hub.connect_tunnel(name)
        if not self.hub.profiles and self.hub.problem is None and not quiet:
            self.open_wizard(None)

    def _retry_tray(self) -> None:
        if self.tray.show():
            self._tray_timer.stop()
            self.window.show_banner("")
            log.info("the system tray appeared; Tunnelkeeper is in the tray now")

    # --- windows --------------------------------------------------------------------------

    def open_wizard(self, name: str | None, part: str | None = None) -> None:
        """Add a tunnel (``name`` None), edit one page by page, or change one ``part`` of it
        (a ``route.Part`` value: that page, the test if needed, Finish)."""
        if name and name not in self.hub.profiles:
            return  # the service's tunnel: its settings are not the user's to edit
        if part is not None and (not name or part not in set(Part)):
            return
        if self.wizard is not None:
            self.wizard.raise_()
            self.wizard.activateWindow()
            return
        profile = self.hub.profiles.get(name) if name else None
        # editing: the Finish page's ticks start as things are, so Finish changes nothing
        connected = profile is None or (
            self.hub.runs(profile.name) or profile.name not in self.settings.left_off
        )
        wizard = SetupWizard(
            self.paths,
            profile=profile,
            prefill=self.prefill if profile is None else None,
            keychain=self.services.keychain,
            running=self.hub.connected_pid,
            connections=self.hub.live_connections,
            connect_now=connected,
            at_login=True if profile is None else self._autostart_enabled(),
            part=part,
            held_key=self.hub.held_key,
        )
        wizard.completed.connect(lambda *_: self._wizard_done(wizard))
        wizard.finished.connect(lambda _code: self._wizard_closed())
        self.wizard = wizard
        wizard.show()
        wizard.raise_()

    def _wizard_closed(self) -> None:
        if self.wizard is not None:
            self.wizard.deleteLater()
        self.wizard = None

    def _wizard_done(self, wizard: SetupWizard) -> None:
        """Finish saved a tunnel: start it, leave it be, restart or stop it (apply_saved)."""
        done = wizard.outcome
        if done is None:
            return
        self.hub.reload()
        apply_saved(self.hub, done)
        if done.connect_now:
            self.settings.left_off.discard(done.name)
        else:
            self.settings.left_off.add(done.name)
        self.preferences.save()
        if done.at_login != self._autostart_enabled():
            self.tray.autostart_action.setChecked(done.at_login)
        self.window.select(done.name)

    def open_test(self, name: str) -> None:
        profile = self.hub.profiles.get(name)
        if profile is None:
            return
        dialog = ConnectionTestDialog(
            self.services, profile, running=self.hub.connected_pid, held_key=self.hub.held_key
        )
        dialog.tested.connect(self.window.detail.set_test_result)
        self._keep(dialog)
        dialog.show()

    def confirm_remove(self, name: str) -> None:
        if name not in self.hub.profiles:
            return
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Remove tunnel",
            f"Remove the tunnel {name}? It is disconnected and its settings are deleted; "
            "the key file stays, so it can be used again.",
            QMessageBox.StandardButton.Cancel,
        )
        remove = box.addButton("Remove", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)

        def answered() -> None:
            if box.clickedButton() is remove:
                self.hub.remove(name)
                self.settings.left_off.discard(name)
                self.preferences.save()

        box.finished.connect(lambda _code: answered())
        self._keep(box)
        box.open()

    def ask_passphrase(self, name: str, wrong: bool) -> None:
        profile = self.hub.profiles.get(name)
        if profile is None:
            return
        dialog = PassphraseDialog(name, profile.key_path, wrong)
        dialog.entered.connect(self.hub.provide_passphrase)
        dialog.declined.connect(self.hub.passphrase_declined)
        self._keep(dialog)
        dialog.open()

    def copy_public_key(self, name: str) -> None:
        profile = self.hub.profiles.get(name)
        if profile is None:
            return
        public = Path(f"{profile.key_path}.pub")
        try:
            line = public.read_text(encoding="utf-8").strip()
        except OSError as exc:
            self.window.show_banner(f"Could not read {public}: {exc.strerror or exc}.")
            self.window.bring_forward()
            return
        QGuiApplication.clipboard().setText(line)
        if self.tray.visible:
            self.tray.icon.showMessage(
                "Public key copied",
                f"The public key of {name} is on the clipboard.",
                QSystemTrayIcon.MessageIcon.Information,
                3000,
            )

    def open_keep_running(self) -> None:
        """Settings → keep tunnels running when logged out (one such dialog at a time)."""
        found = [d for d in self.dialogs if isinstance(d, KeepRunningDialog)]
        dialog = found[0] if found else KeepRunningDialog(self.hub)
        if not found:
            self._keep(dialog)
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    def open_alerts(self) -> None:
        """Settings → alerts about the app's tunnels (one such dialog at a time)."""
        found = [d for d in self.dialogs if isinstance(d, AlertsDialog)]
        dialog = found[0] if found else AlertsDialog(self.services.alerts, self._own_tunnels)
        if not found:
            self._keep(dialog)
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    def open_metrics(self) -> None:
        """Settings → the Prometheus endpoint (one such dialog at a time)."""
        found = [d for d in self.dialogs if isinstance(d, MetricsDialog)]
        dialog = found[0] if found else MetricsDialog(self.served_metrics, self.preferences)
        if not found:
            self._keep(dialog)
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    @property
    def metrics(self) -> MetricsEndpoint | None:
        """The /metrics endpoint serving now (None when none)."""
        return self.served_metrics.endpoint

    def _own_tunnels(self) -> list[str]:
        return sorted(self.hub.profiles)

    def _remote_failed(self, _name: str, sentence: str) -> None:
        """A request to the process that hosts a tunnel failed (asked from the tray too)."""
        self.window.show_banner(sentence)
        self.window.bring_forward()

    def open_logs(self) -> bool:
        """Open the logs folder in the file manager; without one, say where it is (the path
        copied) in the status window. True when a file manager took it."""
        folder = str(self.paths.log_dir)
        self.paths.log_dir.mkdir(parents=True, exist_ok=True)
        if QDesktopServices.openUrl(QUrl.fromLocalFile(folder)):
            return True
        QGuiApplication.clipboard().setText(folder)
        self.window.show_banner(
            f"No file manager opened the logs folder. It is {folder} (copied); "
            "the Log tab below shows the newest lines."
        )
        self.window.tabs.setCurrentIndex(self.window.tabs.count() - 1)
        self.window.bring_forward()
        return False

    def about(self) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Information,
            "About Tunnelkeeper",
            f"<b>Tunnelkeeper {__version__}</b><br>Keeps the reverse SSH tunnel to your data "
            f"vendor open.<br><br>Settings: {self.paths.config_dir}<br>"
            f"Logs: {self.paths.log_dir}",
            QMessageBox.StandardButton.Close,
        )
        box.setIconPixmap(app_icon().pixmap(64, 64))
        self._keep(box)
        box.open()

    def _keep(self, dialog: QObject) -> None:
        """Hold a reference while the dialog is open (Python would collect it otherwise)."""
        self.dialogs.append(dialog)
        finished = getattr(dialog, "finished", None)
        if finished is not None:
            finished.connect(lambda *_: self._drop(dialog))

    def _drop(self, dialog: QObject) -> None:
        if dialog in self.dialogs:
            self.dialogs.remove(dialog)
            dialog.deleteLater()

    # --- settings and platform ------------------------------------------------------------

    def _autostart_enabled(self) -> bool:
        try:
            return self.autostart.enabled()
        except OSError:
            return False

    def set_autostart(self, on: bool) -> None:
        try:
            if on:
                self.autostart.enable(launch_command())
            else:
                self.autostart.disable()
        except (OSError, TunnelkeeperError) as exc:
            self.window.show_banner(f"Could not change start at login: {exc}")
            self.window.bring_forward()

    def _notifications(self, on: bool) -> None:
        self.preferences.set_notifications(on)

    def _track_left_off(self, event: object) -> None:
        """A tunnel the user disconnects stays off at the next start; one they connect, on."""
        if not isinstance(event, TunnelEvent) or self.quitting:
            return
        if event.tunnel in self.hub.profiles:  # not the service's tunnels the user has none of
            self.preferences.track_left_off(event)

    def _prune_left_off(self) -> None:
        if self.hub.problem is None:
            self.preferences.prune_left_off(set(self.hub.profiles))

    # --- quit -----------------------------------------------------------------------------

    def quit(self) -> None:
        """Stop every tunnel (at most 5 s), then leave."""
        if self.quitting:
            return
        self.quitting = True
        self.tray.icon.hide()
        QTimer.singleShot(QUIT_DEADLINE_MS, self._stopped)
        self.hub.stop_all()

    def _stopped(self) -> None:
        self.feed.detach()
        QApplication.quit()
