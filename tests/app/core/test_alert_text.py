"""What alerts say: the sentence, the webhook's JSON, the email."""

from __future__ import annotations

from app.core.alert_text import (
    alert_text,
    cause_of,
    headline,
    mail_body,
    mail_subject,
    webhook_body,
)
from app.core.alerts import Alert, Kind
from app.core.events import State

CAUSE = "cannot reach the jumphost 127.0.0.1 port 2222: Connection refused; retrying in 3 s."
START = 1_700_000_000.0


def alert(kind: Kind, **kw: object) -> Alert:
    fields: dict[str, object] = {
        "kind": kind, "tunnel": "db", "state": State.RETRYING, "since": START,
        "duration": 134.0, "cause": CAUSE, "count": 1, "window": 120.0, "at": START + 134,
    }  # fmt: skip
    fields.update(kw)
    return Alert(**fields)  # type: ignore[arg-type]


def test_the_cause_drops_the_next_try() -> None:
    assert (
        cause_of(alert(Kind.DOWN))
        == "cannot reach the jumphost 127.0.0.1 port 2222: Connection refused"
    )
    later = alert(Kind.DOWN, cause="public key refused. Trying again in 60 s.")
    assert cause_of(later) == "public key refused"


def test_each_kind_in_one_sentence() -> None:
    assert headline(alert(Kind.DOWN), "host1") == (
        "Tunnel db on host1 is down: not connected for 2 min. Cause: cannot reach the "
        "jumphost 127.0.0.1 port 2222: Connection refused."
    )
    flapping = headline(alert(Kind.FLAPPING, count=5), "host1")
    assert flapping.startswith(
        "Tunnel db on host1 is unstable: it went down 5 times in the last 2 min."
    )
    restored = alert(Kind.RESTORED, state=State.CONNECTED, duration=14 * 60 + 5)
    assert (
        headline(restored, "host1")
        == "Tunnel db on host1 is connected again: restored after 14 min."
    )
    needs = headline(alert(Kind.NEEDS_USER, cause="the host key changed.", duration=0), "h")
    assert needs == "Tunnel db on h needs attention: the host key changed."
    assert "was stopped after 2 min of trouble" in headline(alert(Kind.STOPPED), "h")
    assert "alerts about every tunnel reach this receiver" in headline(
        alert(Kind.TEST, tunnel=""), "h"
    )
    assert "went down 3 times in the last 2 min" in headline(alert(Kind.DOWN, count=3), "h")


def test_the_webhook_body_has_the_issues_keys_and_slack_safe_text() -> None:
    body = webhook_body(alert(Kind.DOWN, cause="refused <@U123> & <!channel>"), "host1")
    assert list(body)[:7] == ["tunnel", "state", "since", "duration", "cause", "host", "text"]
    assert body["tunnel"] == "db" and body["state"] == "retrying" and body["host"] == "host1"
    assert body["since"] == "2023-11-14T22:13:20Z" and body["duration"] == 134
    assert body["cause"] == "refused <@U123> & <!channel>"
    assert "&lt;@U123&gt; &amp; &lt;!channel&gt;" in body["text"] and "<" not in body["text"]
    assert (body["kind"], body["count"]) == ("down", 1)


def test_hostile_text_is_escaped() -> None:
    hostile = alert(Kind.DOWN, tunnel="db", cause="banner \x1b[2J\u202eevil" + "x" * 5000)
    text = alert_text(hostile, "host\x07")
    assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
    assert len(text) < 1000


def test_the_email() -> None:
    restored = alert(Kind.RESTORED, state=State.CONNECTED)
    assert mail_subject(restored, "host1") == "[Tunnelkeeper] db on host1: restored"
    body = mail_body(alert(Kind.DOWN, count=4), "host1")
    assert body.startswith("Tunnel db on host1 is down")
    for line in ("State: retrying", "Since: 2023-11-14T22:13:20Z", "Duration: 2 min", "Host: host1",
                 "Went down: 4 times in 2 min"):  # fmt: skip
        assert line in body.splitlines()


def test_a_cause_that_asks_a_question_keeps_its_mark() -> None:
    asked = alert(
        Kind.NEEDS_USER, cause="the jumphost refused the key; has it been added?", duration=0
    )
    assert (
        headline(asked, "h")
        == "Tunnel db on h needs attention: the jumphost refused the key; has it been added?"
    )


def test_restored_to_standby_says_another_machine_holds_the_port() -> None:
    alert = Alert(Kind.RESTORED, "db", State.STANDBY, 0.0, 90.0, "", 1, 120.0, 90.0)
    text = headline(alert, "host-b")
    assert "stands by (another machine holds the port)" in text
    assert "restored after" in text
