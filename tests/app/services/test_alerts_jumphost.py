"""Alerts of real tunnels through a real OpenSSH jumphost that goes down, comes back and flaps;
sent to a real webhook and a real SMTP server on loopback."""

from __future__ import annotations

import functools
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from app import ssh
from app.core.backoff import Backoff
from app.core.events import State, TunnelEvent
from app.engine.tunnel import Tunnel
from app.services.api import Services
from app.services.host import TunnelHost
from app.storage.paths import AppPaths
from tests.conftest import EventLog, Jumphost
from tests.support.net import TcpServer, recv_exact, wait_until
from tests.support.receivers import (
    LoopbackCa,
    SmtpReceiver,
    WebhookReceiver,
    loopback_ca_fixture,  # noqa: F401  (registers the `loopback_ca` fixture)
    silent_listener,
    trusted_ca_fixture,  # noqa: F401  (registers the `trusted_ca` fixture)
)

pytestmark = pytest.mark.integration

AFTER = 3.0  # s: the threshold these tests set (`--after 3s`)
PASSWORD = "smtp-Pw-93kq"
PROBLEMS = ("down", "needs_user", "flapping")


class HandOffs:
    """Listens after the watcher: how long each event took from its making to here (the
    watcher's listener runs on the engine's thread first, so this bounds what it costs)."""

    def __init__(self) -> None:
        self.slowest = 0.0
        self._lock = threading.Lock()

    def __call__(self, event: TunnelEvent) -> None:
        late = time.time() - event.ts.timestamp()
        with self._lock:
            self.slowest = max(self.slowest, late)


@pytest.fixture
def host(jumphost: Jumphost, tk_home: AppPaths) -> Iterator[TunnelHost]:
    jumphost.pin(tk_home)
    quick = functools.partial(Tunnel, backoff=Backoff(base=0.2, cap=1.0))
    made = TunnelHost(tk_home.known_hosts_file, quick)  # type: ignore[arg-type]
    try:
        yield made
    finally:
        made.stop_all()


def start(host: TunnelHost, jumphost: Jumphost, echo: TcpServer, events: EventLog) -> None:
    host.listen(events)
    profile = jumphost.profile(echo.port, name="db")
    assert host.start(profile, ssh.load_private_key(profile.key_path))
    events.wait_for(State.CONNECTED)


def carries_data(jumphost: Jumphost) -> bool:
    with socket.create_connection(("127.0.0.1", jumphost.remote_port), timeout=10) as conn:
        conn.sendall(b"still through")
        return recv_exact(conn, 13) == b"still through"


def kinds(bodies: list[Any]) -> list[str]:
    return [b["kind"] for b in bodies]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_stopped_jumphost_alerts_once_after_the_threshold_then_restored_once(
    services: Services,
    host: TunnelHost,
    jumphost: Jumphost,
    echo: TcpServer,
    events: EventLog,
    trusted_ca: LoopbackCa,
) -> None:
    with (
        WebhookReceiver() as hook,
        SmtpReceiver("tls", trusted_ca, "alice", PASSWORD) as smtp,
    ):
        services.alerts.add_webhook(hook.url, "db", "3s")
        services.alerts.add_email(
            "ops@example.com", smtp.address, user="alice", password=PASSWORD, tls="tls", after="3s"
        )
        watcher = services.alerts.watch(host)
        start(host, jumphost, echo, events)
        jumphost.sshd.stop()
        down = events.wait_for(State.RETRYING)
        assert down.status is not None and down.status.since is not None
        expiry = down.status.since + AFTER
        (post,) = hook.wait_for(1, 30)
        ((mailed_at, _, to, message),) = smtp.wait_for(1, 30)
        body = post.body
        assert (body["kind"], body["tunnel"], body["host"]) == (
            "down",
            "db",
            services.alerts.host_name,
        )
        assert body["state"] in ("retrying", "connecting")
        assert "cannot reach the jumphost 127.0.0.1" in body["cause"] and body["duration"] >= 3
        assert body["text"].startswith("Tunnel db on ") and "is down" in body["text"]
        assert message["Subject"].endswith("db on " + services.alerts.host_name + ": down")
        assert to == ["ops@example.com"] and smtp.logins == ["alice"]
        assert post.at >= expiry and mailed_at >= expiry
        print(
            f"FIGURE alert latency after the threshold: webhook {post.at - expiry:.3f} s, "
            f"email (TLS, login) {mailed_at - expiry:.3f} s"
        )
        jumphost.sshd.start()
        events.wait_for(State.CONNECTED, timeout=60)
        restored = hook.wait_for(2, 30)[1].body
        assert restored["kind"] == "restored" and restored["state"] == "connected"
        assert restored["since"] == body["since"]
        assert "restored after" in restored["text"]
        smtp.wait_for(2, 30)
        assert carries_data(jumphost)
        watcher.close()
        assert kinds(hook.bodies()) == ["down", "restored"]
        assert [m[3]["Subject"].rsplit(": ", 1)[1] for m in smtp.messages] == ["down", "restored"]


def test_a_flapping_jumphost_sends_at_most_one_alert_per_window_with_a_count(
    services: Services, host: TunnelHost, jumphost: Jumphost, echo: TcpServer, events: EventLog
) -> None:
    window = 10.0
    with WebhookReceiver() as hook:
        services.alerts.add_webhook(hook.url, None, "10s")
        watcher = services.alerts.watch(host)
        start(host, jumphost, echo, events)
        downs = 0
        until = time.monotonic() + 30
        while time.monotonic() < until:  # down and up every couple of seconds
            jumphost.sshd.stop()
            events.wait_for(State.RETRYING)
            downs += 1
            time.sleep(1.0)
            jumphost.sshd.start()
            up = events.wait_for(State.CONNECTED, timeout=30)
            time.sleep(1.0)
        assert up.status is not None and up.status.since is not None
        stable_from = up.status.since  # the last time it came back
        assert wait_until(lambda: kinds(hook.bodies())[-1:] == ["restored"], 3 * window)
        watcher.close()
        posts = list(hook.posts)
    problems = [p for p in posts if p.body["kind"] in PROBLEMS]
    print(f"FIGURE flapping: {downs} downs in 30 s gave {kinds([p.body for p in posts])}")
    assert downs >= 6
    assert 1 <= len(problems) <= 30 / window + 1
    assert problems[0].body["kind"] == "flapping" and problems[0].body["count"] >= 3
    assert (
        f"went down {problems[0].body['count']} times in the last 10 s" in problems[0].body["text"]
    )
    for earlier, later in itertools.pairwise(problems):
        assert later.at - earlier.at >= window - 0.5
    assert kinds([p.body for p in posts]).count("restored") == len(problems)
    assert posts[-1].at >= stable_from + window - 0.5  # stable a whole window first


def test_a_receiver_that_is_down_is_retried_and_the_tunnel_never_waits(
    services: Services, host: TunnelHost, jumphost: Jumphost, echo: TcpServer, events: EventLog
) -> None:
    services.alerts.timeout = 2.0
    hand_offs = HandOffs()
    with silent_listener() as port:  # first it hangs: every try waits out its timeout
        services.alerts.add_webhook(f"http://127.0.0.1:{port}/hook", "db", "3s")
        watcher = services.alerts.watch(host, retry_after=(1, 1, 2, 2, 4, 4, 8))
        host.listen(hand_offs)  # after the watcher's: what it costs an engine thread
        start(host, jumphost, echo, events)
        jumphost.sshd.stop()
        events.wait_for(State.RETRYING)
        assert wait_until(lambda: watcher.outbox.waiting() == 1, 15)  # the alert is due
        jumphost.sshd.start()
        events.wait_for(State.CONNECTED, timeout=60)
        for _ in range(20):  # data flows while the sender is stuck on a receiver
            assert carries_data(jumphost)
        assert wait_until(lambda: watcher.outbox.failed >= 2, 15)
    with WebhookReceiver(port=port) as late:  # then it is back: both go, in order
        late.wait_for(2, 30)
        watcher.close()
        assert kinds(late.bodies()) == ["down", "restored"]
    print(f"FIGURE slowest event hand-off during the receiver's outage: {hand_offs.slowest:.4f} s")
    assert hand_offs.slowest < 0.5
    assert watcher.outbox.failed >= 2 and watcher.outbox.sent == 2
