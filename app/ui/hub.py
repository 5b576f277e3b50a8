"""The app's tunnels: starts and stops engine workers and hands their events to the GUI thread;
tunnels another process of ours hosts are shown and controlled through the same calls."""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from app.control.errors import HostedElsewhere
from app.core.control import Op
from app.core.events import State, TunnelEvent, TunnelStatus
from app.core.profile import Profile
from app.errors import KeyPassphraseWrong, TunnelkeeperError, UnknownProfile
from app.platform.keychain import open_keychain
from app.services.api import Services
from app.services.host import TunnelFactory, TunnelHost
from app.storage.claims import Claims
from app.storage.paths import AppPaths
from app.ui import jobs, system_proxy
from app.ui.foreign import foreign_rows, own_rows
from app.ui.key_loader import PassphraseWanted, Ready, ask_later, prepared, unlock
from app.ui.remote import RemoteTunnels
from app.ui.rows import Row, stopped_status

__all__ = ["PassphraseWanted", "Row", "TunnelFactory", "TunnelHub"]

log = logging.getLogger(__name__)

RECENT_EVENTS = 200
STOP_ALL_TIMEOUT = 5.0


def desktop_services(paths: AppPaths) -> Services:
    """The services as the desktop app uses them: the system keychain may prompt to unlock."""
    return Services(paths, lambda: open_keychain(allow_prompt=True))


class TunnelHub(QObject):
    """The desktop app's side of a ``TunnelHost``; all methods run on the GUI thread.

    The host keeps each tunnel's last status; its events, made on engine threads, only
    emit ``_arrived``, which Qt queues to this object's (the GUI) thread, where
    ``tunnel_event`` is re-emitted for the tray and windows. Drawing reads the kept
    statuses (``rows``): nothing on the GUI thread asks an engine.

    A profile another process of ours hosts (a `run`, the service) shows that process's
    status (``remote``, asked every 2 s off the GUI thread), and disconnect, reconnect and
    restart go there; its changes come as ``remote_event``, never as ``tunnel_event``
    (which is what this app's own control endpoint streams). A tunnel whose host listed
    its settings shows without a profile of the user's too (``foreign_rows``).
    """

    tunnel_event = Signal(object)  # TunnelEvent, on the GUI thread
    profiles_changed = Signal()
    passphrase_wanted = Signal(str, bool)  # tunnel name, the last one was wrong
    stopped_all = Signal()
    remote_event = Signal(object)  # TunnelEvent of a tunnel another process hosts
    remote_failed = Signal(str, str)  # tunnel, what a request to its host could not do
    foreign_changed = Signal()  # tunnels shown without the user's profile came or went
    _arrived = Signal(object)  # TunnelEvent

    def __init__(self, services: Services, tunnel_factory: TunnelFactory | None = None) -> None:
        super().__init__()
        self.services = services
        self.paths = services.paths
        self.profiles: dict[str, Profile] = {}
        self.problem: TunnelkeeperError | None = None
        self.recent: deque[TunnelEvent] = deque(maxlen=RECENT_EVENTS)
        claims = Claims(services.paths.runtime_dir / "claims", "app")
        factory = tunnel_factory or system_proxy.tunnel  # `system`: the OS settings too
        self.host = TunnelHost(services.paths.known_hosts_file, factory, claims=claims)
        self.host.listen(self._arrived.emit)  # engine threads: only hand it over
        self.history = services.history.record(self.host)  # ends when the host closes
        self.alerts = services.alerts.watch(self.host)  # so does this; sends at exit too
        self._keys: dict[str, Any] = {}  # key path -> loaded key, so a reconnect never re-asks
        self._loading: set[str] = set()
        self._stopping: set[str] = set()
        self._last: dict[str, TunnelStatus] = {}  # detail shown for stopped tunnels
        self.closing = False  # set by stop_all: nothing starts after Quit
        self._arrived.connect(self._deliver)
        self.remote = RemoteTunnels(services.status)
        self.remote.changed.connect(self._remote_event)
        self.remote.failed.connect(self._remote_failed)
        self.remote.known_changed.connect(self.foreign_changed)
        self.remote.start()

    # --- profiles -------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the profiles file; a broken one is reported in ``problem`` and left alone."""
        try:
            self.profiles = self.services.profiles.load()
            self.problem = None
        except TunnelkeeperError as exc:
            self.problem = exc
            self.profiles = {}
            log.warning("%s", exc)
        self.profiles_changed.emit()

    def rows(self) -> list[Row]:
        """Every tunnel the app shows, the user's first (see ``own_rows``)."""
        own = own_rows(
            self.profiles, self.host, self.remote, self._last, self._stopping, self.is_running
        )
        return own + foreign_rows(self.remote, self.profiles, self._last)

    def states(self) -> dict[str, State]:
        return {row.profile.name: row.state for row in self.rows()}

    def is_running(self, name: str) -> bool:
        """This app runs (or is starting, or stopping) ``name``."""
        return self.host.is_hosted(name) or name in self._loading or name in self._stopping

    def runs(self, name: str) -> bool:
        """This app or another process of ours runs ``name``."""
        return self.is_running(name) or self.remote.get(name) is not None

    def held_key(self, key_path: str) -> Any:
        """A key already loaded (and decrypted) in this session, or None."""
        return self._keys.get(key_path)

    def hold_key(self, key_path: str, key: Any) -> None:
        """Keep a key opened elsewhere in this app (the wizard, with the passphrase typed
        there), so a tunnel that uses it starts without asking for the passphrase again."""
        self._keys[key_path] = key

    def _anywhere(self, name: str) -> tuple[TunnelStatus, int] | None:
        """``name``'s status and the process of ours that runs it (this one or another)."""
        live = self.host.status(name)
        if live is not None:
            return live, os.getpid()
        elsewhere = self.remote.get(name)
        if elsewhere is None:
            return None
        return self.remote.shown(name) or elsewhere.status, elsewhere.pid

    def live_connections(self, name: str) -> int | None:
        """How many connections run through ``name`` now; None when it runs nowhere."""
        found = self._anywhere(name)
        if found is None:
            return 0 if self.is_running(name) else None
        return found[0].active_connections

    def connected_pid(self, name: str) -> int | None:
        """For the connection test (on a worker thread): the process of ours that holds the
        forward when the tunnel is up, this one or another."""
        found = self._anywhere(name)
        return found[1] if found is not None and found[0].state is State.CONNECTED else None

    # --- start and stop -------------------------------------------------------------------

    def connect_tunnel(self, name: str) -> None:
        """Start ``name`` unless it runs; the key is loaded off the GUI thread."""
        profile = self.profiles.get(name)
        known = self.remote.known.get(name)
        if profile is None and known is not None:  # started where its settings are
            if not self.runs(name):
                showing = TunnelStatus(name, State.CONNECTING, f"connecting in {known.where}…")
                self.remote.request(name, (Op.CONNECT,), showing, at=known)
            return
        if profile is None:
            raise UnknownProfile(name)
        if self.runs(name):
            return
        try:
            self.host.check_free(profile)
        except HostedElsewhere as exc:
            self._report(profile, State.STOPPED, f"not connected here: {exc}.")
            self.remote.poll()  # and show it as that process has it
            return
        try:
            self._check_pinned(profile)
        except TunnelkeeperError as exc:
            self._report(profile, State.ERROR, str(exc), exc.action)
            return
        cached = self._keys.get(profile.key_path)
        if cached is not None and not self.services.proxies.wants_password(profile):
            self._start(profile, cached)
            return
        self._loading.add(name)
        self._report(profile, State.CONNECTING, "loading the key…")
        jobs.start(
            f"key-{name}",
            lambda _: prepared(
                self.services,
                profile,
                cached if cached is not None else self.services.keys.load_for(profile, ask_later),
            ),
            on_done=lambda key: self._key_ready(name, key),
            on_failed=lambda exc: self._key_failed(name, exc),
        )

    def provide_passphrase(self, name: str, passphrase: str, remember: bool) -> None:
        """The user typed the passphrase for ``name``'s key (held in memory, maybe kept)."""
        profile = self.profiles.get(name)
        if profile is None or self.is_running(name):
            return
        self._loading.add(name)
        self._report(profile, State.CONNECTING, "checking the passphrase…")
        jobs.start(
            f"passphrase-{name}",
            lambda _: prepared(
                self.services, profile, unlock(self.services, profile, passphrase, remember)
            ),
            on_done=lambda key: self._key_ready(name, key),
            on_failed=lambda exc: self._key_failed(name, exc),
        )

    def passphrase_declined(self, name: str) -> None:
        profile = self.profiles.get(name)
        if profile is not None:
            self._report(profile, State.STOPPED, "not connected: the key's passphrase is needed.")

    def disconnect_tunnel(self, name: str, on_done: Callable[[], None] | None = None) -> None:
        """Stop ``name`` off the GUI thread (a clean stop may take up to 5 s), here or in
        the process of ours that hosts it."""
        profile = self.host.profile(name)
        if profile is None and not self.is_running(name) and self.remote.get(name) is not None:
            showing = TunnelStatus(name, State.STOPPED, "disconnecting…")
            self.remote.request(name, (Op.DISCONNECT,), showing, on_done)
            return
        if profile is None or name in self._stopping:
            if on_done is not None:
                on_done()
            return
        self._stopping.add(name)
        before = self.host.status(name)

        def finished(_: object) -> None:
            self._stopping.discard(name)
            # its figures stay on show until the next Connect (a reconnect keeps them too)
            self._report(profile, State.STOPPED, "disconnected.", ran=before)
            if on_done is not None:
                on_done()

        jobs.start(
            f"stop-{name}", lambda _: self.host.stop(name), on_done=finished, on_failed=finished
        )

    def reconnect_now(self, name: str) -> None:
        if self.host.reconnect(name):
            return
        if not self.is_running(name) and self.remote.get(name) is not None:
            self.remote.request(name, (Op.RECONNECT,))
        else:
            self.connect_tunnel(name)

    def network_changed(self) -> None:
        self.host.network_changed()

    def woke(self) -> None:
        self.host.woke()

    def restart(self, name: str) -> None:
        """After an edit: stop the old worker (if any) and start with the new profile; a
        tunnel another process hosts is restarted there (it reads the profile again)."""
        if self.host.is_hosted(name):
            self.disconnect_tunnel(name, on_done=lambda: self.connect_tunnel(name))
        elif not self.is_running(name) and self.remote.get(name) is not None:
            showing = TunnelStatus(name, State.CONNECTING, "restarting with the new settings…")
            self.remote.request(name, (Op.DISCONNECT, Op.CONNECT), showing)
        else:
            self.connect_tunnel(name)

    def rename_in_place(self, old: str, profile: Profile) -> bool:
        """An edit left the connection of ``old`` (hosted here) as it was: it goes on as
        ``profile``, its worker, live connections and counters kept. False when it is not
        hosted here (or the new name is)."""
        if not self.host.rename(old, profile):
            return False
        self._last.pop(old, None)
        self.profiles_changed.emit()
        return True

    def remove(self, name: str) -> None:
        """Stop the tunnel and delete its profile (the key file stays)."""

        def forget() -> None:
            # the store takes a cross-process lock (up to 10 s): not on the GUI thread; the
            # passphrase is forgotten when no other tunnel uses the key
            jobs.start(
                f"remove-{name}",
                lambda _: self.services.profiles.discard(name).unused_key,
                on_done=lambda unused: self._removed(name, unused),
                on_failed=lambda exc: self._remove_failed(name, exc),
            )

        self.disconnect_tunnel(name, on_done=forget)

    def _removed(self, name: str, unused_key: str | None) -> None:
        self._last.pop(name, None)
        if unused_key is not None:
            self._keys.pop(unused_key, None)
        self.reload()

    def _remove_failed(self, name: str, exc: Exception) -> None:
        self.reload()
        profile = self.profiles.get(name)
        if profile is not None:
            self._report(profile, State.ERROR, f"could not remove the tunnel: {exc}")

    def stop_all(self, timeout: float = STOP_ALL_TIMEOUT) -> None:
        """Stop every tunnel at once, off the GUI thread; ``stopped_all`` when done."""
        self.closing = True
        self.host.closing = True
        self.remote.stop()

        def work(_: object) -> bool:
            return self.host.stop_all(timeout)

        def done(clean: object) -> None:
            if clean is not True:
                log.warning("some tunnels did not stop within %.0f s", timeout)
            self.stopped_all.emit()

        jobs.start("stop-all", work, on_done=done, on_failed=done)

    # --- internals ------------------------------------------------------------------------

    def _check_pinned(self, profile: Profile) -> None:
        self.services.hostkeys.check_pinned(profile)

    def _key_ready(self, name: str, ready: Ready) -> None:
        self._loading.discard(name)
        profile = self.profiles.get(name)
        if profile is None:
            return
        self._keys[profile.key_path] = ready.key
        self._start(profile, ready.key, ready.proxy_password)

    def _key_failed(self, name: str, exc: Exception) -> None:
        self._loading.discard(name)
        profile = self.profiles.get(name)
        if profile is None:
            return
        if isinstance(exc, PassphraseWanted | KeyPassphraseWrong):
            wrong = isinstance(exc, KeyPassphraseWrong) or getattr(exc, "wrong", False)
            self._report(profile, State.STOPPED, "waiting for the key's passphrase.")
            self.passphrase_wanted.emit(name, wrong)
            return
        detail = str(exc) if isinstance(exc, TunnelkeeperError) else f"could not start: {exc}"
        self._report(profile, State.ERROR, detail)

    def _start(self, profile: Profile, key: Any, proxy_password: str | None = None) -> None:
        if self.closing:
            return
        self._last.pop(profile.name, None)
        try:
            self.host.start(profile, key, proxy_password)
        except HostedElsewhere as exc:
            self._report(profile, State.STOPPED, f"not connected here: {exc}.")
        except TunnelkeeperError as exc:
            self._report(profile, State.ERROR, str(exc))

    def _report(
        self,
        profile: Profile,
        state: State,
        detail: str,
        action: str | None = None,
        ran: TunnelStatus | None = None,
    ) -> None:
        """An event the hub itself makes (before or after an engine worker exists);
        ``action`` is the remedy the GUI may offer (``app.errors.Action``); a stop keeps the
        figures of ``ran``, the status it had while it ran."""
        status = None
        if not self.host.is_hosted(profile.name):
            status = TunnelStatus(profile.name, state, detail, since=time.time(), action=action)
            if ran is not None:
                status = stopped_status(profile, detail, ran)
            self._last[profile.name] = status
        extra = {"action": action} if action else {}
        self._deliver(TunnelEvent(profile.name, state, detail, extra=extra, status=status))

    @Slot(object)
    def _remote_event(self, event: TunnelEvent) -> None:
        """A tunnel another process hosts changed; shown if it is one of our profiles, or
        its host listed its settings."""
        name = event.tunnel
        shown = name in self.profiles or name in self.remote.known
        if not shown or self.is_running(name):
            return
        if event.state is State.STOPPED and event.status is not None:
            self._last[name] = event.status  # what the row shows once it runs nowhere
        self.recent.append(event)
        hosted = self.remote.get(name)
        place = f" (in {hosted.where})" if hosted is not None else ""
        log.info("%s%s", event.human(), place)
        self.remote_event.emit(event)

    @Slot(str, str)
    def _remote_failed(self, name: str, sentence: str) -> None:
        log.warning("%s", sentence)
        self.remote_failed.emit(name, sentence)

    @Slot(object)
    def _deliver(self, event: TunnelEvent) -> None:
        self.recent.append(event)
        level = logging.WARNING if event.state in (State.ERROR, State.RETRYING) else logging.INFO
        log.log(level, "%s", event.human())
        self.tunnel_event.emit(event)
