"""What another host lists, read back into statuses, and the changes the GUI hears of (pure)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from app.control.hosting import profile_view
from app.core.events import State, TunnelStatus
from app.core.profile import Profile
from app.ui.foreign import keeper_words, why_off
from app.ui.remote import (
    KEPT_BY_HOST,
    Hosted,
    changes,
    hosted_elsewhere,
    listed_profile,
    remembered,
    status_from_dict,
    wall_time,
)
from app.ui.rows import NOWHERE, Row, runs_in, stopped_status

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
    fenced = TunnelStatus("db", State.STANDBY, "its target does not answer", standby="fenced")
    assert status_from_dict(fenced.to_dict()) == fenced
    hostile = status_from_dict({**fenced.to_dict(), "standby": "\x1b[2J"})
    assert hostile is not None and hostile.standby is None
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


DB = Profile("db", "vendor.example", "tunnel", 58115, "127.0.0.1", 3306, "/etc/tk/keys/db", 2222)


def test_the_settings_a_host_lists_read_back_without_the_key_path() -> None:
    shown = listed_profile("db", profile_view(DB))
    assert shown is not None
    assert shown.key_path == KEPT_BY_HOST
    assert shown.to_dict() == {**DB.to_dict(), "key_path": KEPT_BY_HOST}
    assert shown.extra == {}  # the listed "name" is the tunnel's, not an unknown field
    assert listed_profile("db", None) is None
    assert listed_profile("db", "jumphost=x") is None
    assert listed_profile("db", {**profile_view(DB), "remote_port": 70000}) is None
    assert listed_profile("db", {"jumphost": "vendor.example"}) is None  # fields missing
    assert listed_profile("../db", profile_view(DB)) is None  # not a tunnel's name


def test_a_listed_tunnel_keeps_its_settings() -> None:
    entry = {**listed("db", "connected", "service", 88), "profile": profile_view(DB)}
    found = hosted_elsewhere([entry, listed("crm", "connected", "run", 4711)], own_pid=1)
    assert found["db"].profile == replace(DB, key_path=KEPT_BY_HOST)
    assert found["crm"].profile is None


def with_settings(name: str, state: State, host: str = "service", pid: int = 88) -> Hosted:
    status = TunnelStatus(name, state, "")
    return Hosted(status, host, pid, listed_profile(name, profile_view(DB)))


def test_tunnels_with_settings_are_remembered_while_their_host_answers() -> None:
    old = {
        "db": with_settings("db", State.CONNECTED),
        "crm": with_settings("crm", State.CONNECTED, "run", 4711),
        "bi": with_settings("bi", State.RETRYING),
    }
    failed = Hosted(TunnelStatus("bi", State.ERROR, "not started: no key"), "service", 88)
    new = {
        "web": with_settings("web", State.CONNECTING),
        "bi": failed,
        "x": hosted("x", State.CONNECTED),
    }
    known = remembered(old, new, answered={88})
    assert sorted(known) == ["bi", "db", "web"]  # crm's run is gone; x listed no settings
    assert known["db"] is old["db"]  # stopped in the service, which can start it again
    assert known["bi"] is old["bi"]  # listed without settings now: the earlier ones stay
    assert known["web"] is new["web"]
    assert remembered(known, {}, answered=set()) == {}


def test_a_row_of_the_services_tunnel_says_who_keeps_it() -> None:
    stopped = Row(
        DB, stopped_status(DB, "disconnected."), False, keeper=keeper_words("service", 88)
    )
    assert not stopped.own_profile and not stopped.elsewhere
    assert stopped.runs_in == f"{NOWHERE} (kept by the service)"
    running = Row(DB, stopped.snapshot, True, "service", 88, keeper="the service")
    assert running.runs_in == "service: keeps running when you log out" and running.elsewhere
    assert why_off(running, "edit") == (
        "This tunnel's settings and key are kept by the service, not in your profiles: "
        "its settings cannot be edited here."
    )
    assert keeper_words("run", 4711) == "tunnelkeeper run (process 4711)"
    assert Row(DB, stopped.snapshot, False).own_profile


def test_a_tunnel_its_host_keeps_switched_off_is_known_but_not_running() -> None:
    off = {**listed("db", "stopped", "service", 88), "profile": profile_view(DB)}
    off["running"] = False
    entries = [off, listed("crm", "connected", "run", 4711)]
    assert sorted(hosted_elsewhere(entries, own_pid=1)) == ["crm"]
    switched_off = hosted_elsewhere(entries, own_pid=1, running=False)
    assert sorted(switched_off) == ["db"] and switched_off["db"].profile is not None
    assert sorted(remembered({}, switched_off, answered={88})) == ["db"]
