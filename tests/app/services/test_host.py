"""The tunnel host every front end shares, against a real OpenSSH jumphost."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from app import ssh
from app.core.events import State, TunnelEvent
from app.services.host import TunnelHost
from app.storage.paths import AppPaths
from tests.conftest import EventLog, Jumphost
from tests.support.net import (
    TcpServer,
    port_is_listening,
    recv_exact,
    wait_until,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def host(jumphost: Jumphost, tk_home: AppPaths) -> Iterator[TunnelHost]:
    jumphost.pin(tk_home)
    made = TunnelHost(tk_home.known_hosts_file)
    try:
        yield made
    finally:
        assert made.stop_all(), "a tunnel did not stop within 5 s"


def test_a_hosted_tunnel_carries_data_and_its_status_is_kept(
    host: TunnelHost, jumphost: Jumphost, echo: TcpServer, events: EventLog
) -> None:
    host.listen(events)
    profile = jumphost.profile(echo.port)
    assert host.start(profile, ssh.load_private_key(profile.key_path))
    assert not host.start(profile, None)  # hosted already: not a second worker
    events.wait_for(State.CONNECTED)
    with socket.create_connection(("127.0.0.1", jumphost.remote_port), timeout=30) as conn:
        conn.sendall(b"through the host")
        assert recv_exact(conn, 16) == b"through the host"
    assert wait_until(lambda: carried(host) >= 16, 10)
    assert host.names() == ["t1"]
    assert [s.tunnel for s in host.statuses()] == ["t1"]
    assert host.status("t1").state is State.CONNECTED  # type: ignore[union-attr]
    assert any(e.state is State.CONNECTED for e in host.recent)


def test_stop_closes_the_jumphosts_port_and_forgets_the_status(
    host: TunnelHost, jumphost: Jumphost, echo: TcpServer, events: EventLog
) -> None:
    host.listen(events)
    profile = jumphost.profile(echo.port)
    host.start(profile, ssh.load_private_key(profile.key_path))
    events.wait_for(State.CONNECTED)
    assert host.stop("t1")
    assert host.status("t1") is None and not host.is_hosted("t1")
    assert wait_until(lambda: not port_is_listening(jumphost.remote_port), 10)
    assert host.stop("t1")  # not hosted: nothing to wait for
    assert not host.reconnect("t1")


def test_reconnect_drops_and_makes_a_new_connection(
    host: TunnelHost, jumphost: Jumphost, echo: TcpServer, events: EventLog
) -> None:
    host.listen(events)
    profile = jumphost.profile(echo.port)
    host.start(profile, ssh.load_private_key(profile.key_path))
    events.wait_for(State.CONNECTED)
    assert host.reconnect("t1")
    events.wait_for(State.CONNECTING)
    events.wait_for(State.CONNECTED)
    assert host.status("t1").state is State.CONNECTED  # type: ignore[union-attr]


def test_after_stop_all_nothing_starts_and_a_broken_listener_harms_no_other(
    host: TunnelHost, jumphost: Jumphost, echo: TcpServer, events: EventLog
) -> None:
    def broken(_event: TunnelEvent) -> None:
        raise RuntimeError("a listener with a bug")

    host.listen(broken)
    host.listen(events)
    profile = jumphost.profile(echo.port)
    host.start(profile, ssh.load_private_key(profile.key_path))
    events.wait_for(State.CONNECTED)  # reached the second listener despite the first
    assert host.stop_all()
    assert host.names() == [] and host.closing
    assert not host.start(profile, ssh.load_private_key(profile.key_path))
    assert not port_is_listening(jumphost.remote_port)


def test_unlisten_stops_the_events(
    host: TunnelHost, jumphost: Jumphost, echo: TcpServer, events: EventLog
) -> None:
    seen: list[TunnelEvent] = []
    unlisten = host.listen(seen.append)
    unlisten()
    host.listen(events)
    profile = jumphost.profile(echo.port)
    host.start(profile, ssh.load_private_key(profile.key_path))
    events.wait_for(State.CONNECTED)
    assert seen == []


def carried(host: TunnelHost) -> int:
    status = host.status("t1")
    return status.bytes_to_target if status is not None else 0
