"""What the GUI shows of each tunnel: a row per profile and the status of a stopped one."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

from app.core.control import HostKind
from app.core.events import State, TunnelStatus
from app.core.profile import Profile

NOWHERE = "—"  # the "Runs in" of a tunnel nobody hosts


def runs_in(host: str, pid: int, own: bool = False) -> str:
    """Where a tunnel runs, in the words the status window and the tray show: "this app",
    "tunnelkeeper run (process 4711)", "service: keeps running when you log out"."""
    if not host:
        return NOWHERE
    if own:
        return "this app"
    if host == HostKind.SERVICE:
        return "service: keeps running when you log out"
    return process_words(host, pid)


def process_words(host: str, pid: int) -> str:
    """A host that is a process of ours, in words: "tunnelkeeper run (process 4711)"."""
    if host == HostKind.RUN:
        return f"tunnelkeeper run (process {pid})"
    if host == HostKind.APP:
        return f"the Tunnelkeeper app (process {pid})"
    return f"another Tunnelkeeper (process {pid})"


@dataclass(frozen=True)
class Row:
    """What the GUI shows of one tunnel, whether it runs or not, and where."""

    profile: Profile
    snapshot: TunnelStatus  # the last status the hub has (from events; never asked for)
    running: bool
    host: str = ""  # who runs it: "app", "run" or "service" (a HostKind); "" for nobody
    pid: int = 0  # the process that runs it
    here: bool = False  # this process runs it (its controls act on the engine directly)
    keeper: str = ""  # who keeps its settings and key, when not the user ("the service")

    @property
    def state(self) -> State:
        return self.snapshot.state

    @property
    def status(self) -> dict[str, Any]:
        """The JSON view of ``snapshot`` (as ``tunnelkeeper status`` shows it)."""
        return self.snapshot.to_dict()

    @property
    def own_profile(self) -> bool:
        """The user has its profile: it may be edited, tested or removed here."""
        return not self.keeper

    @property
    def runs_in(self) -> str:
        """Where it runs, in words ("this app", "tunnelkeeper run (process 4711)"…)."""
        if not self.host and self.keeper:
            return f"{NOWHERE} (kept by {self.keeper})"
        return runs_in(self.host, self.pid, self.here)

    @property
    def elsewhere(self) -> bool:
        """Another process of ours runs it: its controls go there over the control API."""
        return bool(self.host) and not self.here


def stopped_status(profile: Profile, detail: str, last: TunnelStatus | None = None) -> TunnelStatus:
    """The status of a tunnel that has no engine worker, with ``detail`` shown; with the
    figures of ``last`` (its status while it ran), stopped now."""
    if last is None:
        return TunnelStatus(profile.name, State.STOPPED, detail)
    return replace(
        last,
        tunnel=profile.name,
        state=State.STOPPED,
        detail=detail,
        since=time.time(),
        active_connections=0,
        next_retry_at=None,
        warning=None,
        action=None,
    )
