"""The alert watcher on a TunnelHost whose engines the test drives, sending to real receivers:
thresholds, restored, flapping, retries, rule changes, and engine threads that never wait."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from app.core.events import State
from app.services.alert_watch import AlertWatcher
from app.services.api import Services
from app.services.host import TunnelHost
from app.storage.paths import AppPaths
from tests.app.services.test_history import Scripted, profile
from tests.support.net import free_port, wait_until
from tests.support.receivers import WebhookReceiver, silent_listener

FAST = (0.3, 0.3, 0.3, 0.3)  # s between tries
REFUSED = "cannot reach the jumphost jump.example port 22: Connection refused; retrying in 2 s."


@pytest.fixture
def scripted() -> Scripted:
    return Scripted()


@pytest.fixture
def host(tk_home: AppPaths, scripted: Scripted) -> Iterator[TunnelHost]:
    made = TunnelHost(tk_home.known_hosts_file, scripted)  # type: ignore[arg-type]
    yield made
    made.stop_all()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as made:
        yield made


def watch(services: Services, host: TunnelHost) -> AlertWatcher:
    return services.alerts.watch(host, tick=0.2, retry_after=FAST)


def test_down_past_the_threshold_then_restored(
    services: Services, host: TunnelHost, scripted: Scripted, receiver: WebhookReceiver
) -> None:
    services.alerts.add_webhook(receiver.url, "db", "1s")
    services.alerts.add_webhook(receiver.url, "other", "1s")  # not about db: says nothing
    watcher = watch(services, host)
    host.start(profile("db"), None)
    tunnel = scripted.tunnels["db"]
    tunnel.say(State.CONNECTED, "up")
    tunnel.say(State.RETRYING, REFUSED)
    down_at = time.time()
    (post,) = receiver.wait_for(1, 10)
    body = post.body
    assert post.at - down_at >= 1.0
    assert (body["kind"], body["tunnel"], body["state"]) == ("down", "db", "retrying")
    assert body["cause"] == REFUSED.removesuffix("; retrying in 2 s.")
    assert body["host"] == services.alerts.host_name and body["duration"] >= 1
    tunnel.say(State.CONNECTED, "up again")
    restored = receiver.wait_for(2, 10)[1].body
    assert restored["kind"] == "restored" and "restored after" in restored["text"]
    watcher.close()
    assert [b["kind"] for b in receiver.bodies()] == ["down", "restored"]


def test_a_tunnel_that_needs_the_user_alerts_at_once_and_stopping_it_closes_the_alert(
    services: Services, host: TunnelHost, scripted: Scripted, receiver: WebhookReceiver
) -> None:
    services.alerts.add_webhook(receiver.url, None, "1h")
    watcher = watch(services, host)
    host.start(profile("db"), None)
    scripted.tunnels["db"].say(State.ERROR, "the jumphost's host key changed.")
    assert receiver.wait_for(1, 10)[0].body["kind"] == "needs_user"
    host.stop("db")
    assert receiver.wait_for(2, 10)[1].body["kind"] == "stopped"
    watcher.close()
    assert len(receiver.posts) == 2


def test_flapping_sends_one_alert_with_the_count(
    services: Services, host: TunnelHost, scripted: Scripted, receiver: WebhookReceiver
) -> None:
    services.alerts.add_webhook(receiver.url, None, "2s")
    watcher = watch(services, host)
    host.start(profile("db"), None)
    tunnel = scripted.tunnels["db"]
    for _ in range(6):  # down six times within a second
        tunnel.say(State.CONNECTED, "up")
        tunnel.say(State.RETRYING, REFUSED)
    tunnel.say(State.CONNECTED, "up")
    first = receiver.wait_for(1, 10)[0].body
    assert first["kind"] == "flapping" and first["count"] >= 3
    assert "went down" in first["text"]
    second = receiver.wait_for(2, 10)[1]
    assert second.body["kind"] == "restored"  # stable for a whole window
    watcher.close()
    assert len(receiver.posts) == 2


def test_a_rule_added_while_running_applies_at_once(
    services: Services, host: TunnelHost, scripted: Scripted, receiver: WebhookReceiver
) -> None:
    watcher = watch(services, host)
    host.start(profile("db"), None)
    scripted.tunnels["db"].say(State.RETRYING, REFUSED)
    services.alerts.add_webhook(receiver.url, "db", "1s")  # read within RULES_EVERY
    body = receiver.wait_for(1, 10)[0].body
    assert body["kind"] == "down"
    assert wait_until(lambda: len(watcher.rules) == 1, 5)
    watcher.close()


def test_a_receiver_that_is_down_is_tried_again_until_it_answers(
    services: Services, host: TunnelHost, scripted: Scripted
) -> None:
    port = free_port()
    services.alerts.add_webhook(f"http://127.0.0.1:{port}/hook", "db", "1s")
    watcher = watch(services, host)
    host.start(profile("db"), None)
    scripted.tunnels["db"].say(State.RETRYING, REFUSED)
    assert wait_until(lambda: watcher.outbox.failed >= 2, 15)
    with WebhookReceiver(port=port) as late:
        assert late.wait_for(1, 10)[0].body["kind"] == "down"
        assert wait_until(lambda: watcher.outbox.sent == 1, 5)
        watcher.close()
    assert watcher.outbox.waiting() == 0 and len(late.posts) == 1


def test_a_refusal_is_not_tried_again_and_later_alerts_still_go(
    services: Services, host: TunnelHost, scripted: Scripted, receiver: WebhookReceiver
) -> None:
    receiver.status = 404
    services.alerts.add_webhook(receiver.url, "db", "1s")
    watcher = watch(services, host)
    host.start(profile("db"), None)
    tunnel = scripted.tunnels["db"]
    tunnel.say(State.RETRYING, REFUSED)
    receiver.wait_for(1, 10)
    assert wait_until(lambda: watcher.outbox.waiting() == 0, 5)
    receiver.status = 200
    tunnel.say(State.CONNECTED, "up")
    assert receiver.wait_for(2, 10)[1].body["kind"] == "restored"
    watcher.close()
    assert watcher.outbox.failed == 1 and watcher.outbox.sent == 1


def test_engine_threads_never_wait_for_a_receiver(
    services: Services, host: TunnelHost, scripted: Scripted
) -> None:
    services.alerts.timeout = 3.0
    with silent_listener() as port:  # accepts, never answers: each try hangs 3 s
        services.alerts.add_webhook(f"http://127.0.0.1:{port}/hook", None, "1s")
        watcher = watch(services, host)
        host.start(profile("db"), None)
        tunnel = scripted.tunnels["db"]
        tunnel.say(State.RETRYING, REFUSED)
        assert wait_until(lambda: watcher.outbox.waiting() == 1, 10)
        time.sleep(1.5)  # the sender is now stuck in its first try
        slowest = 0.0
        for _ in range(200):
            started = time.perf_counter()
            tunnel.say(State.CONNECTED, "up")
            tunnel.say(State.RETRYING, REFUSED)
            slowest = max(slowest, time.perf_counter() - started)
        print(f"FIGURE slowest event hand-off while the receiver hangs: {slowest * 1000:.2f} ms")
        assert slowest < 0.5  # a try hangs 3 s: an engine thread never waits for it
        watcher.close(linger=0.5)
