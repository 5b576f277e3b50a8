"""`run`'s run-state file: rewritten when a tunnel's status changes, else only as a heartbeat."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

from app.cli.run import _keep_state
from app.core.events import State, TunnelStatus
from app.core.profile import Profile
from app.storage import runstate
from app.storage.runstate import StateWriter


class Recording(StateWriter):
    def __init__(self, runtime_dir: Path) -> None:
        super().__init__(runtime_dir)
        self.calls: list[tuple[list[dict[str, Any]], bool]] = []

    def update(self, tunnels: list[dict[str, Any]], force: bool = False) -> None:
        self.calls.append((tunnels, force))
        super().update(tunnels, force)


class Host:
    """What `_keep_state` reads of a TunnelHost: the statuses and profiles it hosts."""

    def __init__(self) -> None:
        self.status = TunnelStatus("db", State.CONNECTING, "connecting", time.time())
        self.hosted = Profile("db", "jump.example.com", "me", 2222, "127.0.0.1", 5432, "/k")

    def statuses(self) -> list[TunnelStatus]:
        return [self.status]

    def profile(self, name: str) -> Profile | None:
        return self.hosted if name == "db" else None


class Controller:
    def __init__(self, host: Host) -> None:
        self.host = host
        self.failed: dict[str, str] = {}
        self.off: set[str] = set()

    def hosted(self) -> list[dict[str, Any]]:
        return [{**self.host.status.to_dict(), "profile": self.host.hosted.to_dict()}]


class Seconds:
    """Stands in for ``done``: each ``wait`` is one second of the loop; ``then`` runs
    after the given one; ``done`` after the last."""

    def __init__(self, count: int, then: dict[int, Callable[[], None]]) -> None:
        self.count, self.then, self.passed = count, then, 0

    def wait(self, _timeout: float) -> bool:
        self.passed += 1
        if self.passed in self.then:
            self.then[self.passed]()
        return self.passed > self.count


def keep(writer: StateWriter, host: Host, seconds: Seconds) -> None:
    _keep_state(writer, cast(Any, Controller(host)), cast(Any, host), cast(Any, seconds))


def test_nothing_is_rebuilt_while_nothing_changes(tmp_path: Path) -> None:
    writer, host = Recording(tmp_path), Host()
    keep(writer, host, Seconds(8, {}))
    assert [force for _, force in writer.calls] == [True]  # the first write only
    assert writer.path.exists()


def test_a_new_status_or_profile_is_written_within_the_second(tmp_path: Path) -> None:
    writer, host = Recording(tmp_path), Host()

    def connected() -> None:
        host.status = TunnelStatus("db", State.CONNECTED, "connected", time.time())

    def edited() -> None:
        host.hosted = Profile("db", "jump.example.com", "me", 2222, "127.0.0.1", 5433, "/k")

    keep(writer, host, Seconds(8, {3: connected, 6: edited}))
    assert len(writer.calls) == 3
    assert writer.calls[1][0][0]["state"] == "connected"
    assert writer.calls[2][0][0]["profile"]["target_port"] == 5433
    assert '"target_port": 5433' in writer.path.read_text()


def test_the_file_is_rewritten_as_a_heartbeat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runstate, "HEARTBEAT", 0.0)
    writer, host = Recording(tmp_path), Host()
    keep(writer, host, Seconds(3, {}))
    assert [force for _, force in writer.calls] == [True, True, True, True]
