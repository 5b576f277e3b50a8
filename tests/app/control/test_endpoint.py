"""A headless host's control endpoint over a real Unix socket, tunnels on a real sshd."""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.control.addresses import own_address, user_addresses
from app.control.background import BackgroundEndpoint
from app.control.client import Connection, HostRefused, open_connection
from app.control.hosting import HeadlessController
from app.core.control import HostKind, Op
from app.errors import KeyringUnavailable
from app.platform.keychain import NullKeychain
from app.services.api import Services
from app.services.host import TunnelHost
from app.storage.claims import Claims
from app.storage.paths import AppPaths
from tests.conftest import Jumphost
from tests.support.net import TcpServer, port_is_listening, wait_until
from tests.support.users import LocalUser, local_user

pytestmark = pytest.mark.integration


@dataclass
class Hosting:
    services: Services
    host: TunnelHost
    endpoint: BackgroundEndpoint

    def connect(self) -> Connection:
        return open_connection(self.endpoint.server.address)


@pytest.fixture
def hosting(jumphost: Jumphost, tk_home: AppPaths, echo: TcpServer) -> Iterator[Hosting]:
    services = Services(tk_home, lambda: NullKeychain(KeyringUnavailable("none here")))
    services.profiles.save(jumphost.profile(echo.port))
    jumphost.pin(tk_home)
    host = TunnelHost(tk_home.known_hosts_file, claims=Claims(tk_home.runtime_dir / "c", "run"))
    controller = HeadlessController(services, host, HostKind.RUN)
    endpoint = BackgroundEndpoint(own_address(tk_home, HostKind.RUN), controller)
    endpoint.start()
    try:
        yield Hosting(services, host, endpoint)
    finally:
        endpoint.close()
        assert host.stop_all()


def state_of(hosting: Hosting) -> str:
    with hosting.connect() as conn:
        listed = conn.request(Op.LIST)
    return str(listed[0]["state"]) if listed else "none"


def test_hello_list_disconnect_and_connect(hosting: Hosting, jumphost: Jumphost) -> None:
    with hosting.connect() as conn:
        hello = conn.request(Op.HELLO)
        assert hello["kind"] == "run" and hello["pid"] == os.getpid()
        assert conn.request(Op.LIST) == []
        assert "connecting" in conn.request(Op.CONNECT, name="t1")
        assert wait_until(lambda: state_of(hosting) == "connected", 30)
        listed = conn.request(Op.LIST)
        assert listed[0]["tunnel"] == "t1"
        assert (listed[0]["host"], listed[0]["pid"]) == ("run", os.getpid())
        assert port_is_listening(jumphost.remote_port)
        assert conn.request(Op.DISCONNECT, name="t1") == "t1 is disconnected."
        assert not port_is_listening(jumphost.remote_port)  # closed before the reply
        (off,) = conn.request(Op.LIST)  # listed as switched off here, with its settings
        assert (off["tunnel"], off["state"], off["running"]) == ("t1", "stopped", False)
        assert off["profile"]["remote_port"] == jumphost.remote_port
        assert "key_path" not in off["profile"]
        with pytest.raises(HostRefused) as caught:
            conn.request(Op.DISCONNECT, name="t1")
        assert caught.value.kind == "NotHosted"
        with pytest.raises(HostRefused) as unknown:
            conn.request(Op.CONNECT, name="nope")
        assert unknown.value.kind == "UnknownProfile" and "nope" in str(unknown.value)


def test_events_stream_until_the_controller_hangs_up(hosting: Hosting) -> None:
    with hosting.connect() as watcher:
        assert watcher.request(Op.EVENTS) == "streaming"
        with hosting.connect() as conn:
            conn.request(Op.CONNECT, name="t1")
        states = []
        for item in watcher.stream():
            states.append(item["event"]["state"])
            if states[-1] == "connected":
                break
        assert states[0] == "connecting" and item["event"]["tunnel"] == "t1"


def test_a_bad_or_oversized_request_ends_only_that_connection(hosting: Hosting) -> None:
    path = str(hosting.endpoint.server.address.path)
    for wire in (b"{not json}\n", b"[" + b"1," * 600_000 + b"1]\n"):
        with socket.socket(socket.AF_UNIX) as raw:
            raw.settimeout(30)
            raw.connect(path)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                raw.sendall(wire)  # the host may hang up before it has all of a long one
            reply = json.loads(raw.makefile("rb").readline())
            assert reply["ok"] is False and reply["error"]["kind"] == "BadRequest"
    with hosting.connect() as conn:
        assert conn.request(Op.HELLO)["kind"] == "run"


def test_the_socket_is_private_and_found_by_its_name(hosting: Hosting, tk_home: AppPaths) -> None:
    address = hosting.endpoint.server.address
    assert address.path.stat().st_mode & 0o777 == 0o600
    assert address.path.parent.stat().st_mode & 0o777 == 0o700
    assert [(a.kind, a.pid) for a in user_addresses(tk_home)] == [(HostKind.RUN, os.getpid())]


REFUSED_PROBE = """
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
except OSError as exc:
    print("cannot-connect", exc.errno); sys.exit()
try:
    s.sendall(b'{"id": 1, "op": "disconnect", "args": {"name": "t1"}}\\n')
except OSError:
    pass  # refused before it finished sending: the refusal is still there to read
print(s.makefile("rb").readline().decode().strip())
"""


@pytest.fixture
def stranger() -> Iterator[LocalUser]:
    with local_user() as user:
        yield user


def test_another_user_is_refused_even_where_the_socket_is_reachable(
    hosting: Hosting, stranger: LocalUser, tmp_path: Path, jumphost: Jumphost
) -> None:
    with hosting.connect() as conn:
        conn.request(Op.CONNECT, name="t1")
    assert wait_until(lambda: state_of(hosting) == "connected", 30)
    # where it lives, the folder (0700) keeps the stranger away from the socket
    probe = stranger.python(REFUSED_PROBE, str(hosting.endpoint.server.address.path))
    out, _ = probe.communicate(timeout=30)
    assert out.startswith("cannot-connect 13")  # EACCES
    # and when the file modes are undone (a hard link in a shared folder, mode 0666),
    # the peer check still refuses it
    shared = Path("/tmp") / f"tk-shared-{os.getpid()}"
    shared.mkdir(mode=0o777, exist_ok=True)
    try:
        shared.chmod(0o777)
        exposed = shared / "c.sock"
        os.link(hosting.endpoint.server.address.path, exposed)
        exposed.chmod(0o666)
        probe = stranger.python(REFUSED_PROBE, str(exposed))
        out, _ = probe.communicate(timeout=30)
        reply = json.loads(out)
        assert reply["ok"] is False and reply["error"]["kind"] == "Refused"
    finally:
        for entry in shared.iterdir():
            entry.unlink()
        shared.rmdir()
        hosting.endpoint.server.address.path.chmod(0o600)
    assert state_of(hosting) == "connected" and port_is_listening(jumphost.remote_port)
