"""Alerts in the bundle for the system service: rules checked, passwords only for their users."""

from __future__ import annotations

import json

import pytest

from app.core.alert_rules import email_rule, webhook_rule
from app.core.service_bundle import BadBundle, MovedAlerts, decode, decode_bundle, encode
from tests.app.core.test_service_bundle import moved

HOOK = webhook_rule("1", "https://hooks.example.com/services/T0/B0/sEcReT", None, "5m")
MAIL = email_rule("3", "ops@example.com", "smtp.example.com:587", user="alice", tunnel="db")
PASSWORDS = (("smtp:alice@smtp.example.com:587", "smtp-Pw-93kq"),)


def test_alerts_travel_with_or_without_tunnels() -> None:
    alerts = MovedAlerts((HOOK, MAIL), PASSWORDS)
    tunnels, back = decode_bundle(encode([], alerts))
    assert tunnels == [] and back == alerts and back.passwords == PASSWORDS
    tunnels, back = decode_bundle(encode([moved()], alerts))
    assert tunnels == [moved()] and back == alerts
    assert decode_bundle(encode([moved()])) == ([moved()], None)
    assert MovedAlerts((HOOK, MAIL)).without_password() == [MAIL]
    assert alerts.without_password() == []


def tampered(**change: object) -> bytes:
    document = json.loads(encode([], MovedAlerts((HOOK, MAIL), PASSWORDS)))
    document["alerts"].update(change)
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (tampered(rules={}), "no alerts, or too many"),
        (tampered(rules={"../1": HOOK.to_dict()}), "ID or fields are malformed"),
        (
            tampered(rules={"1": {"kind": "webhook", "url": "ftp://x/y"}}),
            "alert 1: the webhook address ftp://x/… cannot be used",
        ),
        (tampered(passwords=[["smtp:mallory@evil.example:25", "x"]]), "came for no alert"),
        (tampered(passwords=[["smtp:alice@smtp.example.com:587", "a\nb"]]), "malformed"),
        (tampered(passwords=[["smtp:alice@smtp.example.com:587", 5]]), "malformed"),
        (json.dumps({"version": 1, "tunnels": []}).encode(), "no tunnels"),
    ],
)
def test_bad_alerts_say_what_is_wrong_and_never_quote_a_password(data: bytes, why: str) -> None:
    with pytest.raises(BadBundle, match=why) as caught:
        decode_bundle(data)
    assert "nothing was changed" in str(caught.value) and "Pw-93kq" not in str(caught.value)


def test_decode_alone_still_wants_tunnels() -> None:
    assert decode(encode([], MovedAlerts((HOOK,)))) == []
    with pytest.raises(BadBundle, match="no tunnels"):
        decode(json.dumps({"version": 1, "tunnels": []}).encode())
