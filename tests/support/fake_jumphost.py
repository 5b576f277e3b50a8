"""An in-process paramiko server that plays a misbehaving jumphost (for hostile cases only)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paramiko

from app import ssh
from app.core import knownhosts
from app.core.events import TunnelEvent
from app.core.profile import (
    DEFAULT_KEEPALIVE_COUNT_MAX,
    DEFAULT_KEEPALIVE_INTERVAL,
    Profile,
)
from app.engine.tunnel import Tunnel
from app.storage.paths import AppPaths


class _Interface(paramiko.ServerInterface):  # type: ignore[misc]
    def __init__(self, owner: HostileJumphost) -> None:
        self.owner = owner

    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_publickey(self, username: str, key: Any) -> int:
        if self.owner.open_before_auth_reply is not None:
            self.owner.early = send_channel_open(
                self.owner.transport, *self.owner.open_before_auth_reply
            )
        return paramiko.AUTH_SUCCESSFUL

    def check_port_forward_request(self, address: str, port: int) -> int:
        self.owner.forward_requests.append((address, port))
        self.owner.forward_requested.set()
        return port

    def cancel_port_forward_request(self, address: str, port: int) -> None:
        self.owner.cancel_requests.append((address, port))


@dataclass
class PendingOpen:
    """A channel open on the wire; ``channel`` keeps paramiko's weakly held Channel alive."""

    chanid: int
    answered: threading.Event
    channel: Any

    @property
    def accepted(self) -> bool:
        return (
            self.answered.is_set() and self.channel.transport._channels.get(self.chanid) is not None
        )


def send_channel_open(
    transport: Any, address: str, port: int, from_transport_thread: bool = True
) -> PendingOpen:
    """Queue a ``forwarded-tcpip`` open from the transport thread without waiting for it.

    Used to put a channel open on the wire before the auth reply, so the client sees it
    before it could have requested any forward.
    """
    from paramiko.channel import Channel
    from paramiko.common import cMSG_CHANNEL_OPEN
    from paramiko.message import Message

    with transport.lock:
        chanid = transport._next_channel()
        channel = Channel(chanid)
        transport._channels.put(chanid, channel)
        answered = threading.Event()
        transport.channel_events[chanid] = answered
        transport.channels_seen[chanid] = True  # late messages for it are then ignored
        channel._set_transport(transport)
        channel._set_window(2**21, 32768)
    message = Message()
    message.add_byte(cMSG_CHANNEL_OPEN)
    message.add_string("forwarded-tcpip")
    message.add_int(chanid)
    message.add_int(2**21)
    message.add_int(32768)
    message.add_string(address)
    message.add_int(port)
    message.add_string("203.0.113.9")
    message.add_int(5555)
    if from_transport_thread:
        transport._send_message(message)
    else:
        transport._send_user_message(message)
    return PendingOpen(chanid, answered, channel)


class HostileJumphost:
    """Accepts one client; ``script(transport)`` then does whatever a bad server might."""

    def __init__(
        self,
        script: Callable[[Any, HostileJumphost], None],
        transport_class: type[paramiko.Transport] = paramiko.Transport,
    ) -> None:
        self.host_key = paramiko.ECDSAKey.generate()
        self._transport_class = transport_class
        self._script = script
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(4)
        self.port: int = self._listener.getsockname()[1]
        self.forward_requests: list[tuple[str, int]] = []
        self.forward_requested = threading.Event()
        self.cancel_requests: list[tuple[str, int]] = []
        self.script_done = threading.Event()
        self.results: dict[str, Any] = {}
        self.transport: Any = None
        self.open_before_auth_reply: tuple[str, int] | None = None
        self.early: PendingOpen | None = None
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self._listener.accept()
        except OSError:
            return
        transport = self._transport_class(conn)
        self.transport = transport
        transport.add_server_key(self.key)
        try:
            transport.start_server(server=_Interface(self))
            self._script(transport, self)
        except Exception as exc:  # recorded for the test to see
            self.results["error"] = exc
        finally:
            self.script_done.set()

    @property
    def key(self) -> Any:
        return self.host_key

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.close()
        if self.transport is not None:
            self.transport.close()
        self._thread.join(10)


def tunnel_against(
    hostile: HostileJumphost,
    paths: AppPaths,
    sink: Callable[[TunnelEvent], None],
    client_key: Path,
    target_port: int,
    *,
    name: str = "hostile",
    keepalive_interval: int = DEFAULT_KEEPALIVE_INTERVAL,
    keepalive_count_max: int = DEFAULT_KEEPALIVE_COUNT_MAX,
    **tunnel_kw: Any,
) -> Tunnel:
    """Start an in-process tunnel to ``hostile`` (its key pinned) forwarding port 40000 to
    127.0.0.1:``target_port``; ``tunnel_kw`` goes to ``Tunnel``."""
    pattern = knownhosts.host_pattern("127.0.0.1", hostile.port)
    paths.known_hosts_file.write_text(
        knownhosts.format_line(pattern, hostile.key.get_name(), hostile.key.asbytes()) + "\n"
    )
    profile = Profile(
        name=name,
        jumphost="127.0.0.1",
        ssh_port=hostile.port,
        user="u",
        remote_port=40000,
        target_host="127.0.0.1",
        target_port=target_port,
        key_path=str(client_key),
        keepalive_interval=keepalive_interval,
        keepalive_count_max=keepalive_count_max,
    )
    key = ssh.load_private_key(client_key)
    tunnel = Tunnel(profile, key, paths.known_hosts_file, sink, **tunnel_kw)
    tunnel.start()
    return tunnel
