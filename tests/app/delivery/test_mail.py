"""Sending alerts through a real SMTP server (aiosmtpd) on loopback: TLS, login, refusals."""

from __future__ import annotations

import pytest

from app.delivery.mail import MailServer, send_mail
from app.errors import DeliveryFailed
from tests.support.net import free_port
from tests.support.receivers import (
    LoopbackCa,
    SmtpReceiver,
    loopback_ca_fixture,  # noqa: F401  (registers the `loopback_ca` fixture)
    trusted_ca_fixture,  # noqa: F401  (registers the `trusted_ca` fixture)
)

PASSWORD = "smtp-Pw-93kq"


def _send(
    receiver: SmtpReceiver, tls: str, user: str | None = None, password: str | None = None
) -> str:
    server = MailServer("127.0.0.1", receiver.port, tls, user, password)
    return send_mail(
        server,
        "tk@example.com",
        "ops@example.com",
        "[Tunnelkeeper] db: down",
        "Tunnel db is down.\n",
    )


def test_plain_smtp_delivers_and_reports_the_servers_answer() -> None:
    with SmtpReceiver() as receiver:
        answer = _send(receiver, "none")
        ((_, sender, to, message),) = receiver.wait_for(1, 5)
    assert answer == "250 2.0.0 Ok: queued as T3ST"
    assert (sender, to) == ("tk@example.com", ["ops@example.com"])
    assert message["Subject"] == "[Tunnelkeeper] db: down"
    assert message["From"] == "tk@example.com" and message["To"] == "ops@example.com"
    assert message.get_content().replace("\r\n", "\n") == "Tunnel db is down.\n"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # see SmtpReceiver
@pytest.mark.parametrize("tls", ["starttls", "tls"])
def test_tls_and_login(trusted_ca: LoopbackCa, tls: str) -> None:
    with SmtpReceiver(tls, trusted_ca, "alice", PASSWORD) as receiver:
        assert _send(receiver, tls, "alice", PASSWORD).startswith("250 ")
        receiver.wait_for(1, 5)
    assert receiver.logins == ["alice"]


def test_a_wrong_password_is_final_and_never_quoted(trusted_ca: LoopbackCa) -> None:
    with SmtpReceiver("starttls", trusted_ca, "alice", PASSWORD) as receiver:
        with pytest.raises(DeliveryFailed) as caught:
            _send(receiver, "starttls", "alice", "wrong-Pw-55")
        assert not receiver.messages
    said = str(caught.value)
    assert caught.value.permanent and "refused the login of alice: 535" in said
    assert "wrong-Pw-55" not in said and PASSWORD not in said


def test_a_user_without_a_stored_password_is_said() -> None:
    with SmtpReceiver() as receiver, pytest.raises(DeliveryFailed) as caught:
        _send(receiver, "none", "alice", None)
    assert caught.value.permanent
    assert "no password for the SMTP user alice is stored here" in str(caught.value)


def test_starttls_asked_of_a_server_without_it() -> None:
    with SmtpReceiver() as receiver, pytest.raises(DeliveryFailed) as caught:
        _send(receiver, "starttls")
    assert caught.value.permanent and "does not offer STARTTLS" in str(caught.value)


def test_an_untrusted_certificate_is_refused(loopback_ca: LoopbackCa) -> None:
    with SmtpReceiver("tls", loopback_ca) as receiver, pytest.raises(DeliveryFailed) as caught:
        _send(receiver, "tls")
    assert "certificate is not trusted" in str(caught.value)
    assert not receiver.messages


@pytest.mark.parametrize(
    ("reply", "permanent"), [("554 5.7.1 no thanks", True), ("451 4.3.0 busy", False)]
)
def test_a_refused_message(reply: str, permanent: bool) -> None:
    with SmtpReceiver(reply=reply) as receiver, pytest.raises(DeliveryFailed) as caught:
        _send(receiver, "none")
    assert f"it answered {reply}" in str(caught.value)
    assert caught.value.permanent is permanent


def test_nobody_listening() -> None:
    server = MailServer("127.0.0.1", free_port(), "none")
    with pytest.raises(DeliveryFailed) as caught:
        send_mail(server, "tk@example.com", "ops@example.com", "s", "b")
    assert "could not be reached: Connection refused" in str(caught.value)
    assert not caught.value.permanent
