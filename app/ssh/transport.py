"""GuardedTransport: paramiko's client transport with a channel gate and a fast data path."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import paramiko
from paramiko import common as wire
from paramiko.ssh_exception import SSHException

from app.core.budget import WindowOverrun
from app.core.textsafe import safe_text
from app.ssh.channel import ChannelGate
from app.ssh.packets import (
    BANNER_LINES_MAX,
    ChannelData,
    FastPacketizer,
    GreetingTrouble,
    channel_data_message,
)
from app.ssh.watched import Reactor, WatchedSocket


class GuardedTransport(paramiko.Transport):  # type: ignore[misc]
    """A client transport that decides on ``forwarded-tcpip`` opens before accepting them.

    paramiko accepts every such open once a forward handler is set and only then tells
    us; a jumphost could open channels we never asked for, or thousands at once. Here a
    gate refuses them with OPEN_FAILURE, so no channel, thread or target dial is made.
    """

    # paramiko's transport thread polls its socket this often (seconds) to notice a close
    # or a due rekey; its 0.1 s default woke an idle tunnel ten times a second, most of the
    # idle CPU. Closing never waits on it (paramiko's stop checks the closed flag first),
    # and rekeys start on any incoming packet, which a busy tunnel always has.
    _active_check_timeout = 1.0

    def __init__(self, sock: Any) -> None:
        super().__init__(sock, packetizer_class=FastPacketizer)
        # decides on a forwarded-tcpip open: (answer, window to grant)
        self.channel_gate: Callable[[str, int], tuple[int, int]] | None = None
        self._hosted: list[Reactor] | None = []  # None once the thread has ended
        self._hosted_lock = threading.Lock()
        self.kex_name: str | None = None  # the key exchange agreed (paramiko only logs it)
        if isinstance(self.packetizer, FastPacketizer):
            self.packetizer.data_dispatch = self._dispatch_data

    def _log(self, level: int, msg: Any, *args: Any) -> None:
        if self.kex_name is None and isinstance(msg, str) and msg.startswith("Kex: "):
            self.kex_name = msg[len("Kex: ") :][:80]
        super()._log(level, msg, *args)

    def negotiated(self) -> dict[str, str]:
        """What the handshake agreed with the server: key exchange, host key type, cipher
        and MAC each way, compression, the server's version (empty before the handshake)."""
        if not self.initial_kex_done:
            return {}
        found = {
            "server_version": self.remote_version,
            "key_exchange": self.kex_name,
            "host_key": self.host_key_type,
            "cipher_to_server": self.local_cipher,
            "cipher_from_server": self.remote_cipher,
            "mac_to_server": _mac(self.local_cipher, self.local_mac),
            "mac_from_server": _mac(self.remote_cipher, self.remote_mac),
            "compression": self.local_compression,
        }
        return {name: str(value)[:200] for name, value in found.items() if value}

    def install_gate(self, gate: ChannelGate) -> None:
        """Route ``forwarded-tcpip`` opens through ``gate``: it decides on each before it
        is accepted, then takes the channel (paramiko's private ``_tcp_handler``)."""
        self.channel_gate = gate.admit
        self._tcp_handler = gate.handle_channel

    def host(self, reactor: Reactor) -> bool:
        """Let this transport's thread run ``reactor`` whenever it waits for the jumphost
        (see WatchedSocket.recv); False if its socket is not a WatchedSocket or it has
        stopped. Never while keys are exchanged: the loop's sends would wait for the
        exchange that only this thread can finish."""
        sock = self.sock
        if not isinstance(sock, WatchedSocket):
            return False
        with self._hosted_lock:
            if self._hosted is None or not self.is_active():
                return False
            self._hosted.append(reactor)
            sock.may_serve = self.clear_to_send.is_set
            sock.reactor = reactor
        return True

    @property
    def last_progress(self) -> float:
        """Monotonic time of the server's last packet that proves progress: IGNORE and
        DEBUG do not count, so a server stuck in a key exchange that sends them forever
        still falls silent for the liveness check."""
        packetizer = self.packetizer
        if isinstance(packetizer, FastPacketizer):
            return packetizer.last_progress
        sock = self.sock
        return sock.last_rx if isinstance(sock, WatchedSocket) else time.monotonic()

    @property
    def exchanging_keys(self) -> bool:
        """True while a key exchange holds back every other message."""
        return not self.clear_to_send.is_set()

    def _check_banner(self) -> None:
        """Read the server's greeting within bounds, in linear time: at most
        ``BANNER_LINES_MAX`` lines before the version line, each at most
        ``BANNER_LINE_MAX`` bytes, all within ``banner_timeout`` seconds (paramiko gives
        each line its own timeout, reads without a length limit, and in quadratic time)."""
        packetizer = self.packetizer
        if not (isinstance(packetizer, FastPacketizer) and packetizer.fast):
            super()._check_banner()
            return
        deadline = time.monotonic() + self.banner_timeout
        for _ in range(BANNER_LINES_MAX + 1):
            line = packetizer.read_greeting_line(deadline)
            if line.startswith("SSH-"):
                break
        else:
            raise GreetingTrouble(f"it sent {BANNER_LINES_MAX} lines without an SSH greeting")
        self.remote_version = line
        version, _, software = line.split(" ", 1)[0].partition("-")[2].partition("-")
        if not software:
            raise GreetingTrouble("its SSH greeting is malformed")
        if version not in ("1.99", "2.0"):
            raise GreetingTrouble(f"it speaks SSH version {safe_text(version, 20)}, not 2.0")

    def run(self) -> None:
        try:
            super().run()
        finally:
            with self._hosted_lock:
                hosted, self._hosted = self._hosted or [], None
                if isinstance(self.sock, WatchedSocket):
                    self.sock.reactor = None
            for reactor in hosted:
                reactor.host_ended()

    @staticmethod
    def _window_adjust_and_tell(channel: Any, m: Any) -> None:
        """paramiko only wakes threads blocked in ``send``; a channel's
        ``on_window_adjust`` callable (set by the forwarding loop) hears of it too."""
        paramiko.Channel._window_adjust(channel, m)
        listener = getattr(channel, "on_window_adjust", None)
        if listener is not None:
            listener()

    @staticmethod
    def _data_to_sink(channel: Any, m: Any) -> None:
        """CHANNEL_DATA for a channel with a ``data_sink`` (set by the forwarder when the
        channel opens) goes straight to it, a view and no copy; other data is buffered in
        the channel as paramiko does. A sink that finds the jumphost overran the window it
        was granted ends the connection."""
        sink = getattr(channel, "data_sink", None)
        if sink is None:
            with channel.lock:
                sink = getattr(channel, "data_sink", None)
                if sink is None:
                    paramiko.Channel._feed(channel, m)
                    return
        _to_sink(sink, m.data if isinstance(m, ChannelData) else memoryview(m.get_binary()))

    def _dispatch_data(self, chanid: int, data: memoryview) -> bool:
        """CHANNEL_DATA straight from the packetizer, as ``_data_to_sink`` takes it from
        paramiko's loop (whose per-packet turn cost as much as decrypting a 32 KiB packet);
        False leaves the packet to that loop: while it expects a key exchange message,
        is stopping, or for a channel without a sink (unknown, closed, not forwarded)."""
        if self._expected_packet or not self.active:
            return False
        channel = self._channels.get(chanid)
        sink = getattr(channel, "data_sink", None)
        if sink is None:
            return False
        _to_sink(sink, data)
        return True

    @staticmethod
    def _extended_data_to_sink(channel: Any, m: Any) -> None:
        """CHANNEL_EXTENDED_DATA (stderr) has no place on a forwarded connection: for a
        channel with an ``extended_sink`` it is counted against the window and dropped,
        as OpenSSH does (paramiko would buffer it without any limit)."""
        sink = getattr(channel, "extended_sink", None)
        if sink is None:
            paramiko.Channel._feed_extended(channel, m)
            return
        m.get_int()  # the data type code
        _to_sink(sink, len(m.get_binary()))

    _channel_handler_table = {  # noqa: RUF012 (paramiko's class-level dispatch table)
        **paramiko.Transport._channel_handler_table,
        wire.MSG_CHANNEL_WINDOW_ADJUST: _window_adjust_and_tell,
        wire.MSG_CHANNEL_DATA: _data_to_sink,
        wire.MSG_CHANNEL_EXTENDED_DATA: _extended_data_to_sink,
    }

    # --- the forwarding loop's data path ------------------------------------------------

    def send_channel_data(self, channel: Any, data: memoryview) -> int:
        """Send as much of ``data`` as the channel's window takes now, in packets of the
        peer's size written together; returns how much. Raises TimeoutError when the
        window is shut (a window adjust wakes the loop) and EOFError once the channel or
        the connection is closed. Blocks only while keys are being exchanged."""
        chunks: list[memoryview] = []
        at = 0
        with channel.lock:
            if channel.closed:
                raise EOFError("the channel is closed")
            while at < len(data):
                try:
                    size = channel._wait_for_send_window(len(data) - at)
                except TimeoutError:
                    if chunks:
                        break
                    raise
                if size == 0:  # EOF sent or closed
                    break
                chunks.append(data[at : at + size])
                at += size
        if not chunks:
            raise EOFError("the channel is closed")
        self._acquire_clear_to_send()
        try:
            chanid = channel.remote_chanid
            if not self.packetizer.send_channel_data(chanid, chunks):
                for chunk in chunks:
                    self._send_message(channel_data_message(chanid, chunk))
        finally:
            self.clear_to_send_lock.release()
        return at

    def send_window_adjust(self, channel: Any, amount: int, *, on_transport_thread: bool) -> bool:
        """Grant the jumphost ``amount`` more bytes of window on ``channel``. The transport
        thread cannot wait out a key exchange (it runs it): there this returns False
        instead, for the caller to send later with ``send_window``."""
        if not on_transport_thread:
            self.send_window(channel, amount)
            return True
        with self.clear_to_send_lock:
            if not self.clear_to_send.is_set():
                return False
            if not channel.closed:
                self._send_message(_window_adjust(channel.remote_chanid, amount))
        return True

    def send_window(self, channel: Any, amount: int) -> None:
        """Send a window adjust, waiting out a key exchange (not on the transport thread)."""
        if not channel.closed:
            self._send_user_message(_window_adjust(channel.remote_chanid, amount))

    def _acquire_clear_to_send(self) -> None:
        """paramiko's ``_send_user_message`` wait: take the send lock outside a key
        exchange (the caller releases it); EOFError if the connection ends first."""
        lock, clear = self.clear_to_send_lock, self.clear_to_send
        if clear.is_set():  # nearly always: no waiting, no polling
            lock.acquire()
            if clear.is_set():
                return
            lock.release()
        started = time.monotonic()
        while True:
            clear.wait(0.1)
            if not self.active:
                raise EOFError("the SSH connection is closed")
            lock.acquire()
            if clear.is_set():
                return
            lock.release()
            if time.monotonic() > started + self.clear_to_send_timeout:
                raise EOFError("the key exchange did not finish")

    def _parse_channel_open(self, m: Any) -> None:
        start = m.packet.tell()
        kind = m.get_text()
        if kind == "forwarded-tcpip":
            chanid = m.get_int()
            m.get_int()
            m.get_int()
            address = m.get_text()
            port = m.get_int()
            gate = self.channel_gate
            reason, window = (
                (wire.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED, 0)
                if gate is None
                else gate(address, port)
            )
            if reason != wire.OPEN_SUCCEEDED:
                self._refuse_channel(chanid, reason)
                return
            # the window the gate granted out of the budget, not paramiko's fixed 2 MiB
            # (read by paramiko for this open only: we are on the transport thread)
            m.packet.seek(start)
            default = int(getattr(self, "default_window_size"))  # noqa: B009
            self.default_window_size = window
            try:
                super()._parse_channel_open(m)
            finally:
                self.default_window_size = default
            return
        m.packet.seek(start)
        super()._parse_channel_open(m)

    def _refuse_channel(self, chanid: int, reason: int) -> None:
        msg = paramiko.Message()
        msg.add_byte(wire.cMSG_CHANNEL_OPEN_FAILURE)
        msg.add_int(chanid)
        msg.add_int(reason)
        msg.add_string("")
        msg.add_string("en")
        self._send_message(msg)


def _to_sink(sink: Callable[[Any], None], value: Any) -> None:
    """Hand ``value`` to a channel's sink; a jumphost that overran the window it was
    granted ends the link (an SSHException in paramiko's loop)."""
    try:
        sink(value)
    except WindowOverrun as exc:
        raise SSHException(str(exc)) from None


def _window_adjust(chanid: int, amount: int) -> Any:
    message = paramiko.Message()
    message.add_byte(wire.cMSG_CHANNEL_WINDOW_ADJUST)
    message.add_int(chanid)
    message.add_int(amount)
    return message


def _mac(cipher: str | None, mac: str | None) -> str | None:
    if cipher and cipher.endswith(("gcm@openssh.com", "chacha20-poly1305@openssh.com")):
        return "implicit (the cipher authenticates)"
    return mac
