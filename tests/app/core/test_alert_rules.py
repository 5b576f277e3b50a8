"""Alert rules as people give them: thresholds, webhook addresses, email addresses, SMTP."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.alert_rules import (
    AlertRule,
    after_text,
    check_address,
    check_webhook_url,
    email_rule,
    parse_after,
    redact_url,
    rule_from_dict,
    webhook_rule,
)
from app.errors import BadEmailAddress, BadWebhookUrl, ConfigError, InvalidField

SLACK = "https://hooks.slack.com/services/T0001/B0002/sEcReT"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("2m", 120), ("90s", 90), ("90", 90), ("1m30s", 90), ("1h", 3600), ("3s", 3), ("1.5m", 90),
     (" 2M ", 120), (45, 45), (2.5, 2.5)],
)  # fmt: skip
def test_thresholds(text: str | float, seconds: float) -> None:
    assert parse_after(text) == seconds


@pytest.mark.parametrize(
    "text", ["", "m", "2x", "-1m", "2m-", "0s", "0.5s", "8d", "9999h", "2 min"]
)
def test_thresholds_that_are_not(text: str) -> None:
    with pytest.raises(InvalidField) as caught:
        parse_after(text)
    assert caught.value.field == "after"


@given(st.integers(1, 7 * 24 * 3600))
def test_a_threshold_reads_back_as_written(seconds: int) -> None:
    assert parse_after(after_text(seconds)) == seconds


def test_webhook_addresses() -> None:
    assert check_webhook_url(f" {SLACK} ") == SLACK
    assert check_webhook_url("http://127.0.0.1:8080/hook") == "http://127.0.0.1:8080/hook"
    assert redact_url(SLACK) == "https://hooks.slack.com/…"
    assert redact_url("http://[::1]:9000/?k=v") == "http://[::1]:9000/…"
    assert redact_url("https://user:pw@example.com") == "https://example.com"


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("ftp://example.com/x", "give an https:// (or http://) address"),
        ("file:///etc/passwd", "give an https:// (or http://) address"),
        ("https:///path/only", "names no host"),
        ("https://example.com:99999/x", "Port out of range"),
        ("https://example.com/a b", "spaces or control characters"),
        ("https://example.com/\x1b[2J", "spaces or control characters"),
        ("https://example.com/" + "a" * 3000, "over 2048 characters"),
    ],
)
def test_webhook_addresses_that_are_not(url: str, said: str) -> None:
    with pytest.raises(BadWebhookUrl) as caught:
        check_webhook_url(url)
    assert said in str(caught.value)
    assert isinstance(caught.value, ConfigError) and caught.value.field == "url"
    assert "/a b" not in str(caught.value) and "\x1b" not in str(caught.value)


@pytest.mark.parametrize(
    "address", ["ops@example.com", "a.b+tunnels@mail.example.co.uk", "root@localhost"]
)
def test_email_addresses(address: str) -> None:
    assert check_address(address) == address


@pytest.mark.parametrize(
    "address",
    ["ops", "@example.com", "ops@", "Ops <ops@example.com>", "o ps@example.com", "ops@exa_mple.com",
     "ops@-x.com", ".ops@example.com", "o..ps@example.com", "ops@example.com\nBcc: x@y.z",
     "öps@example.com", "ops@" + "a" * 250 + ".com"],
)  # fmt: skip
def test_email_addresses_that_are_not(address: str) -> None:
    with pytest.raises(BadEmailAddress) as caught:
        check_address(address)
    assert "is not an email address alerts can use" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_an_email_rule_picks_tls_by_port_and_never_sends_a_password_in_the_clear() -> None:
    assert email_rule("1", "ops@example.com", "smtp.example.com:465").tls == "tls"
    assert email_rule("1", "ops@example.com", "smtp.example.com:587").tls == "starttls"
    local = email_rule("1", "ops@example.com", "127.0.0.1:25", user="alice", tls="none")
    assert local.tls == "none" and local.secret_name == "smtp:alice@127.0.0.1:25"
    with pytest.raises(InvalidField) as caught:
        email_rule("1", "ops@example.com", "smtp.example.com:25", user="alice", tls="none")
    assert "never sent unencrypted" in str(caught.value)
    with pytest.raises(InvalidField):
        email_rule("1", "ops@example.com", "smtp.example.com", user="alice")  # no port
    with pytest.raises(InvalidField):
        email_rule("1", "ops@example.com", "smtp.example.com:25", tls="ssl")
    with pytest.raises(BadEmailAddress) as bad_from:
        email_rule("1", "ops@example.com", "smtp.example.com:25", sender="nobody")
    assert bad_from.value.field == "from"


def test_the_sender() -> None:
    rule = email_rule("1", "ops@example.com", "smtp.example.com:587", user="alice")
    assert rule.from_address("host1") == "tunnelkeeper@host1"
    rule = email_rule("1", "ops@example.com", "smtp.example.com:587", user="tk@example.com")
    assert rule.from_address("host1") == "tk@example.com"
    rule = email_rule("1", "ops@example.com", "s.example.com:587", sender="noc@example.com")
    assert rule.from_address("host1") == "noc@example.com"


@pytest.mark.parametrize(
    "rule",
    [
        webhook_rule("4", SLACK, "db", "3s"),
        webhook_rule("5", "http://127.0.0.1:1/x", None, 120),
        email_rule("6", "ops@example.com", "[::1]:587", user="alice", sender="tk@example.com",
                   tunnel="db", after="1m30s"),
    ],
)  # fmt: skip
def test_a_rule_reads_back_as_kept(rule: AlertRule) -> None:
    assert rule_from_dict(rule.id, rule.to_dict()) == rule


def test_a_kept_rule_is_checked_again() -> None:
    with pytest.raises(InvalidField):
        rule_from_dict("1", {"kind": "pager", "url": SLACK})
    with pytest.raises(InvalidField):
        rule_from_dict("1", {"kind": "webhook"})
    with pytest.raises(InvalidField):
        rule_from_dict("1", {"kind": "webhook", "url": SLACK, "after": True})
    with pytest.raises(InvalidField):
        rule_from_dict("1", {"kind": "webhook", "url": SLACK, "tunnel": "no such/name"})
    assert webhook_rule("1", SLACK, None, 5).to_dict(redacted=True)["url"] == redact_url(SLACK)


def test_an_address_without_a_scheme_is_shown_by_its_host_alone() -> None:
    assert redact_url("hooks.slack.com/services/T0/B0/sEcReT") == "hooks.slack.com/…"
    assert redact_url("https:///sEcReT") == "https:…"
    with pytest.raises(BadWebhookUrl) as caught:
        check_webhook_url("hooks.slack.com/services/T0/B0/sEcReT")
    assert str(caught.value).startswith("the webhook address hooks.slack.com/… cannot be used")
    assert "sEcReT" not in str(caught.value)
