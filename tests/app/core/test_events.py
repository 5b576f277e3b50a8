"""Tunnel events as one JSON object per line, with a UTC ISO 8601 timestamp."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.events import Phase, State, TunnelEvent, phase

TS_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def test_to_json_has_the_fixed_keys_in_order() -> None:
    ts = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    event = TunnelEvent("vendor-db", State.CONNECTED, "listening on :40001", ts=ts)
    body = json.loads(event.to_json())
    assert list(body) == ["ts", "tunnel", "state", "detail"]
    assert body == {
        "ts": "2024-05-06T07:08:09.123Z",
        "tunnel": "vendor-db",
        "state": "connected",
        "detail": "listening on :40001",
    }
    assert "\n" not in event.to_json()


def test_ts_is_iso_8601_utc_and_parses_back() -> None:
    before = datetime.now(UTC)
    event = TunnelEvent("t1", State.CONNECTING, "dialling")
    after = datetime.now(UTC)
    stamp = json.loads(event.to_json())["ts"]
    assert TS_RE.fullmatch(stamp)
    parsed = datetime.fromisoformat(stamp)
    assert parsed.utcoffset() == timedelta(0)
    assert before - timedelta(milliseconds=1) <= parsed <= after


def test_non_utc_times_are_converted_to_utc() -> None:
    ts = datetime(2024, 1, 1, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    stamp = json.loads(TunnelEvent("t1", State.ERROR, "x", ts=ts).to_json())["ts"]
    assert stamp == "2023-12-31T23:30:00.000Z"
    assert datetime.fromisoformat(stamp) == ts


def test_naive_times_are_taken_as_utc() -> None:
    ts = datetime(2024, 2, 3, 4, 5, 6)
    stamp = json.loads(TunnelEvent("t1", State.ERROR, "x", ts=ts).to_json())["ts"]
    assert stamp == "2024-02-03T04:05:06.000Z"


@given(st.datetimes(timezones=st.timezones()))
def test_any_aware_time_gives_a_z_stamp_of_the_same_instant(ts: datetime) -> None:
    stamp = json.loads(TunnelEvent("t", State.STOPPED, "", ts=ts).to_json())["ts"]
    assert TS_RE.fullmatch(stamp)
    delta = datetime.fromisoformat(stamp) - ts.astimezone(UTC)
    assert timedelta(0) <= -delta < timedelta(milliseconds=1)  # truncated to ms


def test_extras_follow_the_fixed_keys() -> None:
    event = TunnelEvent(
        "t1", State.RETRYING, "lost", extra={"retry_in": 2.5, "attempt": 3, "ok": None}
    )
    body = json.loads(event.to_json())
    assert list(body) == ["ts", "tunnel", "state", "detail", "retry_in", "attempt", "ok"]
    assert body["retry_in"] == 2.5
    assert body["attempt"] == 3
    assert body["ok"] is None


def test_extras_cannot_overwrite_the_fixed_keys() -> None:
    ts = datetime(2024, 1, 1, tzinfo=UTC)
    extra = {"ts": "yesterday", "tunnel": "other", "state": "connected", "detail": "fake", "n": 1}
    body = json.loads(TunnelEvent("t1", State.ERROR, "real", ts=ts, extra=extra).to_json())
    assert body == {
        "ts": "2024-01-01T00:00:00.000Z",
        "tunnel": "t1",
        "state": "error",
        "detail": "real",
        "n": 1,
    }


def test_extras_that_json_cannot_encode_are_written_as_text() -> None:
    event = TunnelEvent(
        "t1", State.ERROR, "x", extra={"path": Path("/k"), "error": OSError("boom")}
    )
    body = json.loads(event.to_json())
    assert body["path"] == str(Path("/k"))
    assert body["error"] == "boom"


def test_non_ascii_text_is_kept_readable() -> None:
    text = TunnelEvent("t1", State.ERROR, "rejected — has its key been added? ü").to_json()
    assert "— has its key" in text
    assert json.loads(text)["detail"].endswith("ü")


@pytest.mark.parametrize("state", list(State))
def test_states_serialise_as_their_value(state: State) -> None:
    body = json.loads(TunnelEvent("t1", state, "d").to_json())
    assert body["state"] == state.value
    assert State(body["state"]) is state


def test_state_values() -> None:
    assert [s.value for s in State] == [
        "connecting",
        "connected",
        "retrying",
        "error",
        "stopped",
        "standby",
    ]
    assert isinstance(State.CONNECTED, str)
    assert str(State.CONNECTED) == f"{State.CONNECTED}" == "connected"


def test_human() -> None:
    event = TunnelEvent("vendor-db", State.RETRYING, "retrying in 4 s")
    assert event.human() == "vendor-db: retrying — retrying in 4 s"


def test_events_are_frozen_and_default_to_now_and_no_extras() -> None:
    event = TunnelEvent("t1", State.STOPPED, "bye")
    assert event.extra == {}
    assert event.ts.tzinfo is not None
    with pytest.raises(AttributeError):
        event.detail = "changed"  # type: ignore[misc]


def test_the_retries_of_one_outage_are_one_phase() -> None:
    assert {phase(s) for s in (State.CONNECTING, State.RETRYING, State.ERROR)} == {Phase.DOWN}
    assert phase(State.CONNECTED) is Phase.UP and phase(State.STOPPED) is Phase.OFF
