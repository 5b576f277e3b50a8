"""Tunnels through a real OpenSSH jump host (ProxyJump) that permits only direct-tcpip."""

from __future__ import annotations

import base64
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import ssh
from app.core import knownhosts
from app.core.events import State
from app.core.jump import Hop, parse_jump
from app.engine.checks import ConnectionTest
from app.engine.tunnel import Tunnel
from app.errors import HostKeyChanged
from app.storage.paths import AppPaths
from tests.app.engine.test_proxy_tunnel import carry_both_ways, forwarding_works
from tests.conftest import EventLog, Jumphost
from tests.support.cli import add_profile, tk
from tests.support.jump_sshd import JumpHost, running_jump_host
from tests.support.net import wait_until
from tests.support.sshd import ssh_keygen

pytestmark = pytest.mark.integration

MIB = 1024 * 1024


@pytest.fixture
def jump(jumphost: Jumphost, tmp_path: Path, client_key: Path) -> Iterator[JumpHost]:
    """A jump host that lets the tunnel's key through to the jumphost's SSH port only."""
    with running_jump_host(tmp_path / "jump", client_key, jumphost.port) as host:
        yield host


def start_jumped(
    host: Jumphost, via: JumpHost, paths: AppPaths, events: EventLog, target_port: int
) -> Tunnel:
    host.pin(paths)
    via.pin(paths)
    profile = host.profile(target_port, jump=via.spec, proxy="none")
    tunnel = Tunnel(profile, ssh.load_private_key(profile.key_path), paths.known_hosts_file, events)
    tunnel.start()
    return tunnel


def test_through_a_jump_host_8_mib_each_way(
    jumphost: Jumphost, jump: JumpHost, tk_home: AppPaths, events: EventLog
) -> None:
    carry_both_ways(
        jumphost, lambda port: start_jumped(jumphost, jump, tk_home, events, port), 8 * MIB
    )
    # the jump host carried it: we logged in there (and it permits nothing but the channel)
    assert "Accepted publickey" in jump.sshd.log(), jump.sshd.log()
    connected = next(e for e in events.events if e.state is State.CONNECTING)
    assert f"via jump host 127.0.0.1:{jump.port}" in connected.detail


def test_the_jump_host_refuses_anything_but_the_jumphost(
    jumphost: Jumphost, jump: JumpHost, tk_home: AppPaths, events: EventLog, echo: object
) -> None:
    """The jump host permits only direct-tcpip to the jumphost's port: a profile that
    names another jumphost port fails with a sentence naming the jump host."""
    jumphost.pin(tk_home)
    jump.pin(tk_home)
    profile = jumphost.profile(1, jump=jump.spec, proxy="none", ssh_port=jumphost.port + 1)
    check = ConnectionTest(
        profile,
        tk_home.known_hosts_file,
        lambda p: ssh.load_private_key(p.key_path),
        lambda n: None,
    )
    reachable = check.run()[1]
    assert reachable.status.value == "fail"
    assert f"the jump host 127.0.0.1:{jump.port} would not connect to it" in reachable.detail


def test_check_2_names_the_route(jumphost: Jumphost, jump: JumpHost, tk_home: AppPaths) -> None:
    jumphost.pin(tk_home)
    jump.pin(tk_home)
    profile = jumphost.profile(1, jump=jump.spec, proxy="none")
    check = ConnectionTest(
        profile,
        tk_home.known_hosts_file,
        lambda p: ssh.load_private_key(p.key_path),
        lambda n: None,
    )
    results = check.run()
    assert results[1].detail.startswith(f"via jump host 127.0.0.1:{jump.port}: connected to ")
    assert results[2].status.value == "pass" and results[3].status.value == "pass"


def test_a_changed_jump_host_key_is_refused_naming_the_hop(
    jumphost: Jumphost, jump: JumpHost, tk_home: AppPaths, events: EventLog, tmp_path: Path
) -> None:
    jumphost.pin(tk_home)
    other = ssh_keygen(tmp_path / "other_host_key")
    key_type, blob = Path(f"{other}.pub").read_text().split()[:2]
    pattern = knownhosts.host_pattern("127.0.0.1", jump.port)
    with tk_home.known_hosts_file.open("a") as handle:
        handle.write(f"{pattern} {key_type} {blob}\n")
    profile = jumphost.profile(1, jump=jump.spec, proxy="none")
    session = ssh.Session(ssh.Endpoint("127.0.0.1", jumphost.port), hops=_hops(jump))
    parsed = knownhosts.parse(tk_home.known_hosts_file.read_text())
    key = ssh.load_private_key(profile.key_path)
    with pytest.raises(HostKeyChanged) as raised:
        session.open(parsed, profile.name, profile.user, key)
    session.close()
    assert raised.value.host == f"127.0.0.1:{jump.port}"
    assert "CHANGED" in str(raised.value)

    tunnel = Tunnel(profile, key, tk_home.known_hosts_file, events)
    tunnel.start()
    try:
        events.wait_for(State.ERROR, 30)
        assert f"the host key of the jump host 127.0.0.1:{jump.port} has CHANGED" in (tunnel.detail)
        assert "ask whoever runs the jump host" in tunnel.detail
        assert "vendor" not in tunnel.detail
    finally:
        assert tunnel.stop()


def _hops(jump: JumpHost) -> tuple[Hop, ...]:
    return parse_jump(jump.spec)


def test_trust_yes_pins_both_hops_and_refuses_a_changed_jump_host_key(
    jumphost: Jumphost, jump: JumpHost, tk_home: AppPaths, tmp_path: Path
) -> None:
    add_profile(jumphost, 1, name="db")
    edited = tk("edit", "db", "--jump", jump.spec, "--proxy", "none")
    assert edited.returncode == 0, edited.stderr
    trusted = tk("trust", "db", "--yes")
    assert trusted.returncode == 0, trusted.stdout + trusted.stderr
    text = tk_home.known_hosts_file.read_text()
    assert f"[127.0.0.1]:{jump.port} " in text and f"[127.0.0.1]:{jumphost.port} " in text
    assert trusted.stdout.index(f"[127.0.0.1]:{jump.port}") < trusted.stdout.index(
        f"[127.0.0.1]:{jumphost.port}"
    )
    tested = tk("test", "db").stdout
    assert tested.count("[PASS]") >= 5, tested
    assert f"via jump host 127.0.0.1:{jump.port}" in tested

    # the jump host's key changes: --yes refuses, a --fingerprint per hop confirms
    jump.sshd.stop()
    jump.sshd.host_key.unlink()
    Path(f"{jump.sshd.host_key}.pub").unlink()
    ssh_keygen(jump.sshd.host_key, comment="new")
    jump.sshd.start()
    refused = tk("trust", "db", "--yes")
    assert refused.returncode != 0
    assert "CHANGED" in refused.stdout + refused.stderr
    assert tk_home.known_hosts_file.read_text() == text
    new = _fingerprint(Path(f"{jump.sshd.host_key}.pub"))
    old_jumphost = _fingerprint(Path(f"{jumphost.sshd.host_key}.pub"))
    confirmed = tk("trust", "db", "--fingerprint", old_jumphost, "--fingerprint", new)
    assert confirmed.returncode == 0, confirmed.stdout + confirmed.stderr
    assert f"Pinned {new}" in confirmed.stdout


def _fingerprint(pub: Path) -> str:
    blob = pub.read_text().split()[1]
    return knownhosts.blob_fingerprint(base64.b64decode(blob))


def test_the_jump_host_restarted_the_tunnel_comes_back(
    jumphost: Jumphost, jump: JumpHost, tk_home: AppPaths, events: EventLog, echo: object
) -> None:
    tunnel = start_jumped(jumphost, jump, tk_home, events, echo.port)  # type: ignore[attr-defined]
    try:
        assert wait_until(lambda: forwarding_works(jumphost), 30), tunnel.detail
        jump.sshd.restart()  # its connections' processes die with it
        events.wait_for(State.RETRYING, 30)
        assert wait_until(lambda: tunnel.state is State.CONNECTED, 30), tunnel.detail
        assert wait_until(lambda: forwarding_works(jumphost), 15), tunnel.detail
    finally:
        assert tunnel.stop()


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_twenty_connect_stop_cycles_leave_no_threads_or_descriptors(
    jumphost: Jumphost, jump: JumpHost, tk_home: AppPaths, echo: object
) -> None:
    def cycle() -> None:
        events = EventLog()
        tunnel = start_jumped(jumphost, jump, tk_home, events, echo.port)  # type: ignore[attr-defined]
        try:
            events.wait_for(State.CONNECTED, 30)
            assert forwarding_works(jumphost)
        finally:
            assert tunnel.stop()

    cycle()  # the first one loads what stays loaded
    threads, fds = threading.active_count(), _fds()
    for _ in range(20):
        cycle()
    assert wait_until(lambda: threading.active_count() <= threads, 10), [
        t.name for t in threading.enumerate()
    ]
    assert wait_until(lambda: _fds() <= fds + 2, 10), os.listdir("/proc/self/fd")


def test_the_relay_closes_with_the_session(
    jumphost: Jumphost, jump: JumpHost, tk_home: AppPaths
) -> None:
    """Closing a session closes every hop: the jump host's connection and the relay."""
    jumphost.pin(tk_home)
    jump.pin(tk_home)
    profile = jumphost.profile(1, jump=jump.spec)
    parsed = knownhosts.parse(tk_home.known_hosts_file.read_text())
    before = {t.name for t in threading.enumerate()}
    session = ssh.Session(ssh.Endpoint("127.0.0.1", jumphost.port), hops=_hops(jump))
    session.open(parsed, profile.name, profile.user, ssh.load_private_key(profile.key_path))
    assert session.local_port is not None
    relays = {t.name for t in threading.enumerate()} - before
    assert any(name.startswith("jump-relay") for name in relays), relays
    session.close()
    assert wait_until(
        lambda: not any(t.name.startswith("jump-relay") for t in threading.enumerate()), 5
    )
    with socket.socket() as probe:
        probe.settimeout(2)
        probe.connect(("127.0.0.1", jump.port))  # the jump host itself is still fine
