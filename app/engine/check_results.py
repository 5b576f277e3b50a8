"""What the connection test reports: one result per check, and the checks' names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from app.errors import Action, TunnelkeeperError


class Outcome(StrEnum):
    PASS = "pass"  # noqa: S105 - a check outcome, not a password
    FAIL = "fail"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class CheckResult:
    """One finished check. ``remedy`` is in words every front end can show; ``action``
    (an :class:`app.errors.Action` value, e.g. ``"trust"``) names the remedy a front end
    can offer its own way."""

    number: int
    name: str
    status: Outcome
    detail: str
    remedy: str = ""
    seconds: float = 0.0
    action: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        data["seconds"] = round(self.seconds, 3)
        data["action"] = None if self.action is None else str(self.action)
        return data


class NotPassed(Exception):
    """A check did not pass (``status`` FAIL, or SKIPPED when it could not be tried)."""

    def __init__(
        self,
        detail: str,
        remedy: str = "",
        action: Action | None = None,
        status: Outcome = Outcome.FAIL,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.remedy = remedy
        self.action = action
        self.status = status

    @classmethod
    def of(cls, exc: TunnelkeeperError, remedy: str, action: Action | None = None) -> NotPassed:
        """The check failed with ``exc``: its fact, and its own remedy (and action) if it
        has one, else ``remedy`` (and ``action``)."""
        if exc.remedy:
            return cls(exc.fact, exc.remedy, exc.action)
        return cls(exc.fact, remedy, action or exc.action)


NAMES = {
    1: "configuration",
    2: "jumphost reachable",
    3: "host key matches",
    4: "authentication",
    5: "remote forward granted",
    6: "target reachable",
    7: "end to end",
}

Report = Callable[[CheckResult], None]
