"""Tunnels other processes of ours host (a `run`, the service): what they say every 2 s, and
the requests that act on them, over their control endpoints and never on the GUI thread."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping, Set
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.control.errors import HostRefused, HostUnavailable, NotHosted, where
from app.core.control import Op
from app.core.events import State, TunnelEvent, TunnelStatus
from app.core.profile import Profile, profile_from_dict
from app.errors import TunnelkeeperError
from app.services.status import RunningTunnels, StatusService
from app.ui import jobs

log = logging.getLogger(__name__)

POLL_MS = 2000

_VERBS = {Op.DISCONNECT: "disconnect", Op.RECONNECT: "reconnect", Op.CONNECT: "connect"}
KEPT_BY_HOST = "(kept by its host)"  # the key path of settings a host listed (never sent)


@dataclass(frozen=True)
class Hosted:
    """A tunnel another process of ours hosts: its last status, the kind of host ("run",
    "service", "app"), its process, and its settings as the host listed them (None when
    it did not)."""

    status: TunnelStatus
    host: str
    pid: int
    profile: Profile | None = None

    @property
    def where(self) -> str:
        """The host in words: "`tunnelkeeper run` (process 4711)"."""
        return where(self.host, self.pid)


def wall_time(text: object) -> float | None:
    """A time as ``TunnelStatus.to_dict`` writes it ("2026-11-27T10:00:00Z") back to
    wall-clock seconds; None for None or anything that is not such a time."""
    if not isinstance(text, str) or not text:
        return None
    try:
        stamp = datetime.fromisoformat(text)  # Python 3.11 reads the "Z"
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.timestamp()


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


STANDBY_WHY = ("held", "fenced")


def status_from_dict(data: Mapping[str, Any]) -> TunnelStatus | None:
    """The status a host listed (``TunnelStatus.to_dict``'s keys, times as ISO text), or
    None when ``data`` names no tunnel or no known state. Odd fields read as empty."""
    name = data.get("tunnel")
    try:
        state = State(str(data.get("state")))
    except ValueError:
        return None
    if not isinstance(name, str) or not name:
        return None
    return TunnelStatus(
        tunnel=name,
        state=state,
        detail=_text(data.get("detail")) or "",
        since=wall_time(data.get("since")),
        reconnects=_count(data.get("reconnects")),
        bytes_to_target=_count(data.get("bytes_to_target")),
        bytes_to_vendor=_count(data.get("bytes_to_vendor")),
        active_connections=_count(data.get("active_connections")),
        total_connections=_count(data.get("total_connections")),
        vendor_last_connected=wall_time(data.get("vendor_last_connected")),
        next_retry_at=wall_time(data.get("next_retry_at")),
        warning=_text(data.get("warning")),
        standby=data.get("standby") if data.get("standby") in STANDBY_WHY else None,
    )


def listed_profile(name: str, data: object) -> Profile | None:
    """The settings a host listed for tunnel ``name`` (``profile_view``'s dict: no key
    path, so ``KEPT_BY_HOST`` stands in), or None when there are none or they are not
    valid settings."""
    if not isinstance(data, Mapping):
        return None
    try:
        fields = {k: v for k, v in data.items() if k != "name"}  # the name is the tunnel's
        return profile_from_dict(name, {**fields, "key_path": KEPT_BY_HOST})
    except (TunnelkeeperError, TypeError, ValueError):
        return None


def hosted_elsewhere(
    listed: Iterable[Mapping[str, Any]], own_pid: int, running: bool = True
) -> dict[str, Hosted]:
    """The tunnels in ``listed`` (``StatusService.running``'s dicts) by name, without those
    of process ``own_pid``; a tunnel listed twice keeps its first entry. With ``running``
    false: only those a host lists as switched off there (``"running": false``)."""
    found: dict[str, Hosted] = {}
    for entry in listed:
        pid = entry.get("pid")
        if not isinstance(pid, int) or isinstance(pid, bool) or pid == own_pid:
            continue
        if (entry.get("running", True) is not False) != running:
            continue
        status = status_from_dict(entry)
        if status is not None and status.tunnel not in found:
            profile = listed_profile(status.tunnel, entry.get("profile"))
            found[status.tunnel] = Hosted(status, str(entry.get("host", "")), pid, profile)
    return found


def remembered(
    old: Mapping[str, Hosted], found: Mapping[str, Hosted], answered: Set[int]
) -> dict[str, Hosted]:
    """The tunnels whose settings another host listed: as listed now, else as listed
    before while their host still answers (stopped there, it can be started there
    again). A tunnel listed without settings keeps those listed before."""
    known = {
        name: hosted
        for name, hosted in old.items()
        if hosted.pid in answered and (name not in found or found[name].profile is None)
    }
    known.update({name: h for name, h in found.items() if h.profile is not None})
    return known


def _where_and_state(hosted: Hosted) -> tuple[str, int, State]:
    return hosted.host, hosted.pid, hosted.status.state


def changes(old: Mapping[str, Hosted], new: Mapping[str, Hosted], now: float) -> list[TunnelEvent]:
    """Events for what changed between two looks: a tunnel whose state or host changed,
    and one that no longer runs anywhere (stopped, ``now`` being when that was seen)."""
    events = []
    for name, hosted in new.items():
        before = old.get(name)
        if before is None or _where_and_state(before) != _where_and_state(hosted):
            s = hosted.status
            events.append(TunnelEvent(name, s.state, s.detail, status=s))
    for name, before in old.items():
        if name not in new:
            detail = f"stopped in {before.where}."
            status = TunnelStatus(name, State.STOPPED, detail, since=now)
            events.append(TunnelEvent(name, State.STOPPED, detail, status=status))
    return events


class RemoteTunnels(QObject):
    """What the other hosts of this user (and the system service) host, asked every
    ``poll_ms`` on a worker thread; ``tunnels`` is replaced whole on the GUI thread, so a
    worker thread may read it too. Requests to those hosts run on worker threads.

    ``known`` keeps each tunnel whose settings a host listed (see ``remembered``), also
    once it stopped there: the app shows the service's tunnels the user has no profile
    for, and starts a stopped one where it ran."""

    changed = Signal(object)  # TunnelEvent: a remote tunnel changed state (on the GUI thread)
    failed = Signal(str, str)  # tunnel, the sentence saying what could not be done
    known_changed = Signal()  # a tunnel joined or left ``known``

    def __init__(
        self, status: StatusService, own_pid: int | None = None, poll_ms: int = POLL_MS
    ) -> None:
        super().__init__()
        self._status = status
        self._own = own_pid if own_pid is not None else os.getpid()
        self.tunnels: Mapping[str, Hosted] = MappingProxyType({})
        self.known: Mapping[str, Hosted] = MappingProxyType({})
        self._pending: dict[str, TunnelStatus] = {}  # shown while a request is on its way
        self._polling = False
        self._again = False
        self._generation = 0  # a look begun before a request's answer is out of date
        self.stopped = False
        self._timer = QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self.poll)

    def start(self) -> None:
        self._timer.start()
        self.poll()

    def stop(self) -> None:
        """Ask no more (a look on its way is let finish and ignored)."""
        self.stopped = True
        self._timer.stop()

    def get(self, name: str) -> Hosted | None:
        return self.tunnels.get(name)

    def shown(self, name: str) -> TunnelStatus | None:
        """What to show of ``name`` hosted elsewhere: "disconnecting…" (or "connecting…")
        while asked to, else its host's last status; None when no other process hosts it
        and nothing was asked."""
        hosted = self.tunnels.get(name)
        if hosted is None:
            return self._pending.get(name)
        return self._pending.get(name, hosted.status)

    # --- looking --------------------------------------------------------------------------

    def poll(self) -> None:
        """Ask every other host for its tunnels, off the GUI thread (one look at a time)."""
        if self.stopped:
            return
        if self._polling:
            self._again = True
            return
        self._polling = True
        generation = self._generation
        own = self._own
        status = self._status
        jobs.start(
            "remote-tunnels",
            lambda _: status.running(skip_pid=own),
            on_done=lambda listed: self._listed(generation, listed),
            on_failed=self._list_failed,
        )

    def _listed(self, generation: int, listed: RunningTunnels) -> None:
        self._polling = False
        if self.stopped:
            return
        if generation != self._generation:
            self.poll()  # a request was answered meanwhile: look again
            return
        found = hosted_elsewhere(listed.tunnels, self._own)
        switched_off = hosted_elsewhere(listed.tunnels, self._own, running=False)
        self._replace(found, listed.answered, switched_off)
        if self._again:
            self._again = False
            self.poll()

    def _list_failed(self, exc: Exception) -> None:
        self._polling = False
        log.debug("could not ask the other hosts: %s", exc)

    def _replace(
        self,
        found: dict[str, Hosted],
        answered: Set[int],
        switched_off: Mapping[str, Hosted] = MappingProxyType({}),
    ) -> None:
        """``switched_off``: tunnels a host keeps stopped (known, but not running)."""
        old, known_before = self.tunnels, self.known
        self.tunnels = MappingProxyType(found)
        listed = {**switched_off, **found}
        self.known = MappingProxyType(remembered(known_before, listed, answered))
        for event in changes(old, found, time.time()):
            self.changed.emit(event)
        if self.known.keys() != known_before.keys():
            self.known_changed.emit()

    # --- acting ---------------------------------------------------------------------------

    def request(
        self,
        name: str,
        ops: tuple[Op, ...],
        showing: TunnelStatus | None = None,
        on_done: Callable[[], None] | None = None,
        at: Hosted | None = None,
    ) -> None:
        """Send ``ops`` for tunnel ``name`` in turn to the process that hosts it (or to the
        host of ``at``, where it ran), off the GUI thread; ``showing`` is shown meanwhile,
        ``on_done`` runs on the GUI thread after (also when it failed: ``failed`` says why)."""
        hosted = at or self.tunnels.get(name)
        if showing is not None:
            self._pending[name] = showing
        self._generation += 1
        status = self._status
        pid = at.pid if at is not None else None

        def work(_: object) -> list[Any]:
            if pid is not None:
                connection = status.host_in(pid)
                if connection is None:
                    raise HostUnavailable("it no longer answers")
            else:
                connection = status.host_of(name)
                if connection is None:
                    raise NotHosted(name)
            with connection:
                return [connection.request(op, name=name) for op in ops]

        def finished(exc: Exception | None) -> None:
            self._pending.pop(name, None)
            self._generation += 1
            gone = isinstance(exc, NotHosted) or (
                isinstance(exc, HostRefused) and exc.kind == NotHosted.__name__
            )
            if ops == (Op.DISCONNECT,) and (exc is None or gone):
                self._disconnected(name)
            elif exc is not None:
                verb = _VERBS.get(ops[0], ops[0].value)
                place = f" in {hosted.where}" if hosted is not None else ""
                self.failed.emit(name, f"Could not {verb} {name}{place}: {exc}")
            self.poll()
            if on_done is not None:
                on_done()

        jobs.start(
            f"remote-{ops[0].value}-{name}",
            work,
            on_done=lambda _: finished(None),
            on_failed=finished,
        )

    def _disconnected(self, name: str) -> None:
        if name not in self.tunnels:
            return
        found = {n: hosted for n, hosted in self.tunnels.items() if n != name}
        self.tunnels = MappingProxyType(found)
        status = TunnelStatus(name, State.STOPPED, "disconnected.", since=time.time())
        self.changed.emit(TunnelEvent(name, State.STOPPED, "disconnected.", status=status))
