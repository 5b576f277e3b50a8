"""What the GUI shows of each tunnel: a row per profile and the status of a stopped one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.core.events import State
from app.core.profile import Profile


@dataclass(frozen=True)
class Row:
    """What the GUI shows of one tunnel, whether it runs or not."""

    profile: Profile
    status: dict[str, Any]
    running: bool

    @property
    def state(self) -> State:
        return State(self.status["state"])


def stopped_status(profile: Profile, detail: str) -> dict[str, Any]:
    """The status dictionary of a tunnel that has no engine worker, with ``detail`` shown."""
    return {
        "tunnel": profile.name,
        "state": State.STOPPED.value,
        "detail": detail,
        "since": None,
        "reconnects": 0,
        "bytes_to_target": 0,
        "bytes_to_vendor": 0,
        "active_connections": 0,
        "total_connections": 0,
        "vendor_last_connected": None,
        "next_retry_at": None,
        "warning": None,
    }
