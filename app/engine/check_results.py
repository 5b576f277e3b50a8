"""What the connection test reports: one result per check, and the checks' names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    PASS = "pass"  # noqa: S105 - a check outcome, not a password
    FAIL = "fail"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class CheckResult:
    number: int
    name: str
    status: Outcome
    detail: str
    remedy: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        data["seconds"] = round(self.seconds, 3)
        return data


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
