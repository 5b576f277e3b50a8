"""The control API's wire format: requests are checked before anything acts on them."""

from __future__ import annotations

import json

import pytest

from app.core import control
from app.core.control import BadRequest, Op


def line(**fields: object) -> bytes:
    return json.dumps(fields).encode()


def test_a_request_round_trips() -> None:
    wire = control.encode(control.request(Op.DISCONNECT, 7, name="warehouse"))
    assert wire.endswith(b"\n") and wire.count(b"\n") == 1
    parsed = control.parse_request(wire)
    assert (parsed.id, parsed.op, parsed.name) == (7, Op.DISCONNECT, "warehouse")


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (line(id="1", op="list"), "id must be a whole number"),
        (line(id=True, op="list"), "id must be a whole number"),
        (line(id=1, op="format-disk"), "unknown op format-disk"),
        (line(id=1, op="disconnect"), "disconnect needs a tunnel name"),
        (line(id=1, op="connect", args={"name": 5}), "name must be a short string"),
        (line(id=1, op="connect", args={"name": "x" * 201}), "name must be a short string"),
        (line(id=1, op="logs", args={"lines": 10**9}), "lines must be a whole number"),
        (line(id=1, op="logs", args={"follow": "yes"}), "follow must be true or false"),
        (line(id=1, op="list", args=[]), "args must be a JSON object"),
        (b"{" + b" " * control.MAX_LINE + b"}", "request too long"),
    ],
)
def test_bad_requests_are_refused_with_a_reason(wire: bytes, reason: str) -> None:
    with pytest.raises(BadRequest, match=reason):
        control.parse_request(wire)


def test_an_unknown_op_is_quoted_escaped_and_short() -> None:
    with pytest.raises(BadRequest) as caught:
        control.parse_request(line(id=1, op="\x1b[31m" + "x" * 500))
    assert "\x1b" not in str(caught.value) and len(str(caught.value)) < 80


def test_failures_carry_a_safe_message() -> None:
    reply = control.failure(3, "HostedElsewhere", "bad\x07bell", then="wait")
    assert reply == {
        "id": 3,
        "ok": False,
        "error": {"kind": "HostedElsewhere", "message": "bad\\x07bell", "then": "wait"},
    }
