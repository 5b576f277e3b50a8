"""Posting alerts to a real HTTP(S) receiver on loopback: answers, failures and secrets."""

from __future__ import annotations

import time

import pytest

from app.delivery.webhook import EXCERPT, post_json
from app.errors import DeliveryFailed
from tests.support.net import free_port
from tests.support.receivers import (
    SECRET_PATH,
    LoopbackCa,
    WebhookReceiver,
    loopback_ca_fixture,  # noqa: F401  (registers the `loopback_ca` fixture)
    silent_listener,
    trusted_ca_fixture,  # noqa: F401  (registers the `trusted_ca` fixture)
)

BODY = {"tunnel": "db", "state": "retrying", "text": "Tunnel db is down"}


def test_the_body_arrives_as_json_and_the_answer_is_reported() -> None:
    with WebhookReceiver(200, b"ok") as receiver:
        answer = post_json(receiver.url, BODY)
        (post,) = receiver.wait_for(1, 5)
    assert answer == "HTTP 200 OK: ok"
    assert post.body == BODY
    assert post.path == SECRET_PATH + "?token=qs-secret"
    assert post.headers["Content-Type"].startswith("application/json")
    assert post.headers["User-Agent"].startswith("Tunnelkeeper/")


def test_https_with_a_trusted_certificate(trusted_ca: LoopbackCa) -> None:
    with WebhookReceiver(204, b"", ca=trusted_ca) as receiver:
        assert post_json(receiver.url, BODY) == "HTTP 204 No Content"
        assert receiver.wait_for(1, 5)[0].body == BODY


def test_https_with_an_untrusted_certificate_is_refused(loopback_ca: LoopbackCa) -> None:
    with WebhookReceiver(200, ca=loopback_ca) as receiver, pytest.raises(DeliveryFailed) as caught:
        post_json(receiver.url, BODY)
        assert not receiver.posts
    assert "certificate is not trusted" in str(caught.value)
    assert not caught.value.permanent


def test_a_500_is_retryable_and_quotes_the_answer_cut_and_escaped() -> None:
    reply = b"\x1b[31mboom\x1b[0m " + b"x" * 1000
    with WebhookReceiver(500, reply) as receiver, pytest.raises(DeliveryFailed) as caught:
        post_json(receiver.url, BODY)
    said = str(caught.value)
    assert "it answered HTTP 500 Internal Server Error: \\x1b[31mboom" in said
    assert "\x1b" not in said and len(caught.value.answer) <= 200
    assert len(said) < 2 * EXCERPT + 200
    assert not caught.value.permanent


@pytest.mark.parametrize(("status", "permanent"), [(404, True), (429, False), (302, True)])
def test_which_answers_are_worth_another_try(status: int, permanent: bool) -> None:
    with WebhookReceiver(status, b"no") as receiver, pytest.raises(DeliveryFailed) as caught:
        post_json(receiver.url, BODY)
    assert f"HTTP {status}" in str(caught.value)
    assert caught.value.permanent is permanent


def test_nobody_listening_is_said_and_the_secret_is_not() -> None:
    url = f"http://127.0.0.1:{free_port()}{SECRET_PATH}?token=qs-secret"
    with pytest.raises(DeliveryFailed) as caught:
        post_json(url, BODY)
    said = str(caught.value)
    assert said.startswith(
        f"the alert did not reach the webhook {url.split('/s', maxsplit=1)[0]}/…"
    )
    assert "Connection refused" in said
    assert "sEcReT" not in said and "qs-secret" not in said


def test_a_receiver_that_never_answers_times_out() -> None:
    with silent_listener() as port, pytest.raises(DeliveryFailed) as caught:
        started = time.monotonic()
        post_json(f"http://127.0.0.1:{port}/hook", BODY, timeout=0.5)
    assert time.monotonic() - started < 5
    assert "timed out" in str(caught.value) or "no answer within 0.5 s" in str(caught.value)
