"""What the GUI shows of each tunnel: a row per profile and the status of a stopped one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.core.events import State, TunnelStatus
from app.core.profile import Profile


@dataclass(frozen=True)
class Row:
    """What the GUI shows of one tunnel, whether it runs or not."""

    profile: Profile
    snapshot: TunnelStatus  # the last status the hub has (from events; never asked for)
    running: bool

    @property
    def state(self) -> State:
        return self.snapshot.state

    @property
    def status(self) -> dict[str, Any]:
        """The JSON view of ``snapshot`` (as ``tunnelkeeper status`` shows it)."""
        return self.snapshot.to_dict()


def stopped_status(profile: Profile, detail: str) -> TunnelStatus:
    """The status of a tunnel that has no engine worker, with ``detail`` shown."""
    return TunnelStatus(profile.name, State.STOPPED, detail)
