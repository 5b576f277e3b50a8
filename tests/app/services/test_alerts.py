"""The alerts every front end sets up: plain data in and out, SMTP passwords in the keychain only,
and `test` against real receivers on loopback."""

from __future__ import annotations

import pytest

from app.errors import BadWebhookUrl, InvalidField, UnknownAlert
from app.services.api import Services
from tests.app.services.conftest import MemoryKeychain
from tests.support.net import free_port
from tests.support.receivers import (
    LoopbackCa,
    SmtpReceiver,
    WebhookReceiver,
    loopback_ca_fixture,  # noqa: F401  (registers the `loopback_ca` fixture)
    trusted_ca_fixture,  # noqa: F401  (registers the `trusted_ca` fixture)
)

PASSWORD = "smtp-Pw-93kq"
URL = "https://hooks.example.com/services/T0/B0/sEcReT"


def test_add_list_remove_as_plain_data(services: Services) -> None:
    added = services.alerts.add_webhook(URL, "db", "3s")
    assert added == {
        "id": "1",
        "kind": "webhook",
        "url": URL,
        "tunnel": "db",
        "after": 3,
        "after_text": "3s",
        "receiver": "the webhook https://hooks.example.com/…",
    }
    mail = services.alerts.add_email("ops@example.com", "smtp.example.com:587", user="alice")
    assert (mail["id"], mail["tls"], mail["user"], mail["tunnel"], mail["after"]) == (
        "2", "starttls", "alice", None, 120,
    )  # fmt: skip
    assert services.alerts.list() == [added, mail]
    assert services.alerts.remove("1") == added
    assert [r["id"] for r in services.alerts.list()] == ["2"]
    with pytest.raises(UnknownAlert):
        services.alerts.remove("1")


def test_mistakes_are_sentences_and_nothing_is_kept(services: Services) -> None:
    with pytest.raises(BadWebhookUrl):
        services.alerts.add_webhook("hooks.example.com/x")
    with pytest.raises(InvalidField) as caught:
        services.alerts.add_email("ops@example.com", "smtp.example.com:587", password=PASSWORD)
    assert "needs the SMTP user" in str(caught.value) and PASSWORD not in str(caught.value)
    with pytest.raises(InvalidField) as newline:
        services.alerts.add_email("o@example.com", "s.example.com:587", user="a", password="a\nb")
    assert "line break" in str(newline.value)
    assert services.alerts.list() == []


def test_the_password_goes_into_the_keychain_and_nowhere_else(
    services: Services, keychain: MemoryKeychain
) -> None:
    added = services.alerts.add_email(
        "ops@example.com", "smtp.example.com:587", user="alice", password=PASSWORD
    )
    assert added["password_stored"] is True and added["password_problem"] is None
    assert keychain.entries == {"smtp:alice@smtp.example.com:587": PASSWORD}
    assert PASSWORD not in services.paths.alerts_file.read_text()
    assert PASSWORD not in repr(services.alerts.list())
    assert services.alerts.has_password(added["id"])
    # a second rule for the same user shares it; removing one keeps it for the other
    other = services.alerts.add_email("noc@example.com", "smtp.example.com:587", user="alice")
    services.alerts.remove(added["id"])
    assert keychain.entries and services.alerts.has_password(other["id"])
    services.alerts.remove(other["id"])
    assert keychain.entries == {}


def test_without_a_keychain_the_rule_is_kept_and_the_password_is_not(keyless: Services) -> None:
    added = keyless.alerts.add_email(
        "ops@example.com", "smtp.example.com:587", user="alice", password=PASSWORD
    )
    assert added["password_stored"] is False and added["password_problem"]
    assert PASSWORD not in keyless.paths.alerts_file.read_text()
    assert not keyless.alerts.has_password(added["id"])


def test_a_test_message_reaches_each_receiver_and_its_answer_is_said(
    services: Services, trusted_ca: LoopbackCa
) -> None:
    with (
        WebhookReceiver(200, b"thanks") as hook,
        WebhookReceiver(500, b"broken today") as broken,
        SmtpReceiver("starttls", trusted_ca, "alice", PASSWORD) as smtp,
    ):
        services.alerts.add_webhook(hook.url, "db")
        services.alerts.add_webhook(broken.url)
        services.alerts.add_email(
            "ops@example.com", smtp.address, user="alice", password=PASSWORD, tls="starttls"
        )
        results = services.alerts.test()
        assert [(r["id"], r["ok"]) for r in results] == [("1", True), ("2", False), ("3", True)]
        assert results[0]["answer"] == "HTTP 200 OK: thanks"
        assert results[1]["answer"] == "it answered HTTP 500 Internal Server Error: broken today"
        assert results[2]["answer"].startswith("250 ")
        (post,) = hook.wait_for(1, 5)
        assert post.body["kind"] == "test" and post.body["tunnel"] == "db"
        assert "alerts about tunnel db reach this receiver" in post.body["text"]
        ((_, sender, to, message),) = smtp.wait_for(1, 5)
        assert to == ["ops@example.com"] and sender == f"tunnelkeeper@{services.alerts.host_name}"
        assert message["Subject"].endswith(": test") and smtp.logins == ["alice"]
        assert [r["ok"] for r in services.alerts.test("1")] == [True]
    with pytest.raises(UnknownAlert):
        services.alerts.test("9")


def test_a_receiver_that_is_down_is_said(services: Services) -> None:
    services.alerts.add_webhook(f"http://127.0.0.1:{free_port()}/hook")
    (result,) = services.alerts.test()
    assert not result["ok"] and "could not be reached: Connection refused" in result["answer"]
