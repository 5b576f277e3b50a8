"""Forwarded channels the engine never asked for are closed and never reach the target."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest

from app import knownhosts, ssh
from app.engine import Tunnel
from app.events import State
from app.paths import AppPaths
from app.profile import Profile
from tests.conftest import EventLog
from tests.support.fake_jumphost import HostileJumphost
from tests.support.net import TcpServer, echo_handler, tcp_server


@pytest.fixture
def target() -> Iterator[TcpServer]:
    with tcp_server(echo_handler) as server:
        yield server


def _open(transport: Any, address: str, port: int) -> Any:
    try:
        return transport.open_forwarded_tcpip_channel(("203.0.113.9", 5555), (address, port))
    except paramiko.SSHException:
        return None


def _probe_is_closed(channel: Any) -> bool:
    """A rejected channel is refused or closed by the client without delivering data."""
    if channel is None:
        return True
    channel.settimeout(10)
    with contextlib.suppress(OSError):
        channel.sendall(b"should never arrive")
    try:
        return channel.recv(10) == b""
    except TimeoutError:
        return False


def run_against(
    hostile: HostileJumphost,
    tk_home: AppPaths,
    events: EventLog,
    client_key: Path,
    target_port: int,
) -> Tunnel:
    pattern = knownhosts.host_pattern("127.0.0.1", hostile.port)
    tk_home.known_hosts_file.write_text(
        knownhosts.format_line(pattern, hostile.key.get_name(), hostile.key.asbytes()) + "\n"
    )
    profile = Profile(
        name="hostile",
        jumphost="127.0.0.1",
        ssh_port=hostile.port,
        user="u",
        remote_port=40000,
        target_host="127.0.0.1",
        target_port=target_port,
        key_path=str(client_key),
    )
    tunnel = Tunnel(profile, ssh.load_private_key(client_key), tk_home.known_hosts_file, events)
    tunnel.start()
    return tunnel


def test_unrequested_forwarded_channels_are_closed_and_the_target_never_dialled(
    tk_home: AppPaths, events: EventLog, client_key: Path, target: TcpServer
) -> None:
    def script(transport: Any, server: HostileJumphost) -> None:
        assert server.forward_requested.wait(30)
        server.results["wrong_port"] = _probe_is_closed(_open(transport, "localhost", 40001))
        server.results["wrong_address"] = _probe_is_closed(_open(transport, "0.0.0.0", 40000))
        good = _open(transport, "localhost", 40000)
        good.settimeout(10)
        good.sendall(b"ok?")
        server.results["good"] = good.recv(3)
        good.close()

    hostile = HostileJumphost(script)
    tunnel = run_against(hostile, tk_home, events, client_key, target.port)
    try:
        events.wait_for(State.CONNECTED)
        assert hostile.script_done.wait(60)
    finally:
        assert tunnel.stop()
        hostile.close()
    assert "error" not in hostile.results, hostile.results.get("error")
    assert hostile.forward_requests == [("localhost", 40000)]
    assert hostile.results["wrong_port"] is True
    assert hostile.results["wrong_address"] is True
    assert hostile.results["good"] == b"ok?"
    assert target.accepted == 1  # only the requested channel reached the target


def test_channels_before_any_forward_request_are_refused(
    tk_home: AppPaths, events: EventLog, client_key: Path, target: TcpServer
) -> None:
    def script(transport: Any, server: HostileJumphost) -> None:
        assert server.forward_requested.wait(30)
        assert server.early is not None
        chanid, answered = server.early
        server.results["answered"] = answered.wait(10)
        server.results["refused"] = transport._channels.get(chanid) is None

    hostile = HostileJumphost(script)
    # the open goes on the wire before the auth reply, ahead of any forward request
    hostile.open_before_auth_reply = ("localhost", 40000)
    tunnel = run_against(hostile, tk_home, events, client_key, target.port)
    try:
        assert hostile.script_done.wait(60)
        events.wait_for(State.CONNECTED)
    finally:
        assert tunnel.stop()
        hostile.close()
    assert "error" not in hostile.results, hostile.results.get("error")
    assert hostile.results == {"answered": True, "refused": True}
    assert target.accepted == 0
