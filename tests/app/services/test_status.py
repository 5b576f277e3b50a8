"""Running tunnels as the run-state files say, unreadable files named and skipped."""

from __future__ import annotations

from app.services.api import Services
from app.storage.paths import AppPaths
from app.storage.runstate import StateWriter


def test_running_tunnels_and_broken_files(services: Services, tk_home: AppPaths) -> None:
    assert services.status.running().tunnels == []
    writer = StateWriter(tk_home.runtime_dir)
    writer.update([{"tunnel": "db", "state": "connected"}, {"tunnel": "crm", "state": "idle"}])
    (tk_home.runtime_dir / "run-1.json").write_text("{not json")
    try:
        found = services.status.running(["db"])
        assert [t["tunnel"] for t in found.tunnels] == ["db"]
        assert len(found.problems) == 1 and "run-1.json" in found.problems[0]
        assert services.status.connected_pid("db") == found.tunnels[0]["pid"]
        assert services.status.connected_pid("crm") is None
    finally:
        writer.remove()


def test_a_tunnel_switched_off_in_one_host_and_running_in_another_is_listed_once(
    services: Services, tk_home: AppPaths
) -> None:
    writer = StateWriter(tk_home.runtime_dir)
    writer.update(
        [
            {"tunnel": "db", "state": "stopped", "running": False},  # off here…
            {"tunnel": "db", "state": "connected"},  # …and running (in another host)
            {"tunnel": "crm", "state": "stopped", "running": False},
        ]
    )
    try:
        found = services.status.running().tunnels
        assert [(t["tunnel"], t["state"]) for t in found] == [
            ("db", "connected"),
            ("crm", "stopped"),
        ]
    finally:
        writer.remove()
