"""What another host lists, read back into statuses, and the changes the GUI hears of (pure)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from app.core.events import State, TunnelStatus
from app.ui.remote import Hosted, changes, hosted_elsewhere, status_from_dict, wall_time
from app.ui.rows import NOWHERE, runs_in

WALL = st.one_of(st.none(), st.integers(min_value=1, max_value=4_000_000_000).map(float))
COUNT = st.integers(min_value=0, max_value=2**53)


@given(
    state=st.sampled_from(State),
    detail=st.text(max_size=40),
    since=WALL,
    last=WALL,
    retry=WALL,
    counts=st.tuples(COUNT, COUNT, COUNT, COUNT, COUNT),
    warning=st.one_of(st.none(), st.text(max_size=20)),
)
def test_a_listed_status_reads_back_as_it_was_sent(
    state: State,
    detail: str,
    since: float | None,
    last: float | None,
    retry: float | None,
    counts: tuple[int, int, int, int, int],
    warning: str | None,
) -> None:
    sent = TunnelStatus("db", state, detail, since, *counts, last, retry, warning)
    assert status_from_dict(sent.to_dict()) == sent  # whole seconds survive the ISO text


def test_odd_entries_are_skipped_or_read_as_empty() -> None:
    assert status_from_dict({"tunnel": "db", "state": "dancing"}) is None
    assert status_from_dict({"state": "connected"}) is None
    assert status_from_dict({"tunnel": 7, "state": "connected"}) is None
    odd: dict[str, Any] = {
        "tunnel": "db",
        "state": "retrying",
        "detail": None,
        "since": "yesterday",
        "reconnects": True,
        "bytes_to_target": -5,
        "bytes_to_vendor": "12",
        "next_retry_at": "2026-11-27T10:00:00",  # no zone: taken as UTC
    }
    assert status_from_dict(odd) == TunnelStatus(
        "db", State.RETRYING, "", next_retry_at=wall_time("2026-11-27T10:00:00Z")
    )
    assert wall_time("2026-11-27T10:00:00Z") == 1795773600.0
    assert wall_time(1795773600) is None and wall_time("") is None


def listed(name: str, state: str, host: str, pid: object) -> dict[str, Any]:
    return {**TunnelStatus(name, State(state), "").to_dict(), "host": host, "pid": pid}


def test_this_process_and_entries_without_a_process_are_left_out() -> None:
    found = hosted_elsewhere(
        [
            listed("db", "connected", "run", 4711),
            listed("db", "stopped", "service", 99),  # listed twice: the first one counts
            listed("crm", "connected", "app", 1234),  # this process
            listed("files", "connected", "run", None),
            listed("bi", "retrying", "service", 88),
        ],
        own_pid=1234,
    )
    assert {name: (h.host, h.pid, h.status.state) for name, h in found.items()} == {
        "db": ("run", 4711, State.CONNECTED),
        "bi": ("service", 88, State.RETRYING),
    }


def hosted(name: str, state: State, host: str = "run", pid: int = 4711) -> Hosted:
    return Hosted(TunnelStatus(name, state, f"{state.value} there"), host, pid)


def test_changes_are_new_states_new_hosts_and_tunnels_that_stopped() -> None:
    old = {
        "db": hosted("db", State.CONNECTED),
        "crm": hosted("crm", State.CONNECTED),
        "bi": hosted("bi", State.RETRYING),
        "files": hosted("files", State.CONNECTED, "service", 90),
    }
    new = {
        "db": hosted("db", State.CONNECTED),  # unchanged (its figures may differ): no event
        "crm": hosted("crm", State.RETRYING),
        "files": hosted("files", State.CONNECTED, "run", 5000),  # moved
        "web": hosted("web", State.CONNECTING),
    }
    events = changes(old, new, now=100.0)
    assert [(e.tunnel, e.state, e.detail) for e in events] == [
        ("crm", State.RETRYING, "retrying there"),
        ("files", State.CONNECTED, "connected there"),
        ("web", State.CONNECTING, "connecting there"),
        ("bi", State.STOPPED, "stopped in `tunnelkeeper run` (process 4711)."),
    ]
    assert events[1].status is new["files"].status
    assert events[3].status == TunnelStatus("bi", State.STOPPED, events[3].detail, since=100.0)


def test_where_a_tunnel_runs_in_words() -> None:
    assert runs_in("app", 1234, own=True) == "this app"
    assert runs_in("run", 4711) == "tunnelkeeper run (process 4711)"
    assert runs_in("service", 0) == "service: keeps running when you log out"
    assert runs_in("app", 99) == "the Tunnelkeeper app (process 99)"
    assert runs_in("", 0) == NOWHERE
