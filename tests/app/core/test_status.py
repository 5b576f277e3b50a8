"""The typed tunnel status: numbers inside, the JSON view ``status`` and run-state show."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import pytest

from app.core.events import State, TunnelEvent, TunnelStatus, iso_time

KEYS = [
    "tunnel",
    "state",
    "detail",
    "since",
    "reconnects",
    "bytes_to_target",
    "bytes_to_vendor",
    "active_connections",
    "total_connections",
    "vendor_last_connected",
    "next_retry_at",
    "warning",
    "target_refusals",
    "keepalive_rtt",
    "standby",
]
WALL = datetime(2024, 5, 6, 7, 8, 9, 750000, tzinfo=UTC).timestamp()


def test_to_dict_has_the_keys_in_order_and_times_as_utc_seconds() -> None:
    status = TunnelStatus(
        "db",
        State.CONNECTED,
        "up",
        since=WALL,
        reconnects=2,
        bytes_to_target=10,
        bytes_to_vendor=20,
        active_connections=1,
        total_connections=3,
        vendor_last_connected=WALL + 60,
        next_retry_at=None,
        warning="target refused 1 connection in the last minute",
    )
    body = status.to_dict()
    assert list(body) == KEYS
    assert body["state"] == "connected"
    assert body["since"] == "2024-05-06T07:08:09Z"
    assert body["vendor_last_connected"] == "2024-05-06T07:09:09Z"
    assert body["next_retry_at"] is None
    assert json.loads(json.dumps(body)) == body


def test_a_stopped_status_has_zeros_and_no_times() -> None:
    body = TunnelStatus("db", State.STOPPED, "not connected.").to_dict()
    assert body == {
        "tunnel": "db",
        "state": "stopped",
        "detail": "not connected.",
        "since": None,
        "reconnects": 0,
        "bytes_to_target": 0,
        "bytes_to_vendor": 0,
        "active_connections": 0,
        "total_connections": 0,
        "vendor_last_connected": None,
        "next_retry_at": None,
        "warning": None,
        "target_refusals": 0,
        "keepalive_rtt": None,
        "standby": None,
    }


@pytest.mark.parametrize(
    ("wall", "text"), [(None, None), (0.0, None), (WALL, "2024-05-06T07:08:09Z")]
)
def test_iso_time(wall: float | None, text: str | None) -> None:
    assert iso_time(wall) == text


def test_it_is_frozen() -> None:
    status = TunnelStatus("db", State.STOPPED, "x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        status.state = State.CONNECTED  # type: ignore[misc]


def test_an_event_carries_it_but_its_json_line_does_not() -> None:
    status = TunnelStatus("db", State.CONNECTED, "up", since=WALL, bytes_to_target=5)
    ts = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    with_status = TunnelEvent("db", State.CONNECTED, "up", ts=ts, status=status)
    without = TunnelEvent("db", State.CONNECTED, "up", ts=ts)
    assert with_status.status is status and without.status is None
    assert with_status.to_json() == without.to_json()
    assert with_status == without  # the snapshot is not part of the event's identity


def test_the_action_on_offer_is_typed_data_but_not_in_the_file_format() -> None:
    status = TunnelStatus("db", State.ERROR, "not trusted; trust it.", action="trust")
    assert status.action == "trust"
    assert list(status.to_dict()) == KEYS
    event = TunnelEvent("db", State.ERROR, status.detail, extra={"action": "trust"}, status=status)
    assert event.action == "trust"
    assert json.loads(event.to_json())["action"] == "trust"  # programs reading `run` see it
    assert TunnelEvent("db", State.CONNECTED, "up").action is None
