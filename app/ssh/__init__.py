"""The paramiko adapter: keys, host-key checks, authentication and global requests."""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import logging
import os
import select
import socket
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import paramiko
from cryptography.exceptions import UnsupportedAlgorithm
from paramiko import common as wire
from paramiko.pkey import UnknownKeyType
from paramiko.ssh_exception import AuthenticationException, SSHException

from app.core import knownhosts
from app.core.budget import WindowOverrun
from app.core.keyformat import unreadable_cipher
from app.core.textsafe import safe_text
from app.errors import (
    AuthRejected,
    ConnectionLost,
    ForwardRefused,
    HandshakeFailed,
    HostKeyChanged,
    HostKeyRevoked,
    HostKeyUnknown,
    JumphostUnreachable,
    KeyPassphraseNeeded,
    KeyPassphraseWrong,
    KeyUnreadable,
    KeyUnsupportedEncryption,
)
from app.ssh.packets import (
    BANNER_LINES_MAX,
    ChannelData,
    FastPacketizer,
    GreetingTrouble,
    channel_data_message,
)

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10.0
GLOBAL_REQUEST_TIMEOUT = 15.0
CANCEL_TIMEOUT = 1.5

# The signature algorithms each stored key type can be verified with, best first.
_ALGORITHMS_FOR_TYPE = {
    "ssh-ed25519": ["ssh-ed25519"],
    "ecdsa-sha2-nistp256": ["ecdsa-sha2-nistp256"],
    "ecdsa-sha2-nistp384": ["ecdsa-sha2-nistp384"],
    "ecdsa-sha2-nistp521": ["ecdsa-sha2-nistp521"],
    "ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256"],
}
_DISPLAY_TYPE = {"ssh-ed25519": "ED25519", "ssh-rsa": "RSA"}
# AES-GCM first: one AEAD call per packet, where paramiko's default aes128-ctr adds a
# Python-built HMAC (a new HMAC object and a copy of every packet) to each packet.
_FAST_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")


# --- keys ----------------------------------------------------------------------------


def load_private_key(path: str | Path, passphrase: str | None = None, name: str = "") -> Any:
    """Load a private key, turning every failure into a sentence a person can act on."""
    key_path = Path(path).expanduser()
    try:
        data = key_path.read_bytes()
    except FileNotFoundError:
        raise KeyUnreadable(str(key_path), "the file does not exist.") from None
    except IsADirectoryError:
        raise KeyUnreadable(str(key_path), "that is a folder, not a key file.") from None
    except PermissionError:
        raise KeyUnreadable(str(key_path), "permission denied reading it.") from None
    except OSError as exc:
        raise KeyUnreadable(str(key_path), exc.strerror or "it cannot be read.") from None
    cipher = unreadable_cipher(data)
    if cipher is not None:
        raise KeyUnsupportedEncryption(str(key_path), cipher)
    unreadable = KeyUnreadable(
        str(key_path), "it is not a private key in OpenSSH or PEM format that we can read."
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # cryptography's DSA deprecation notice
            return paramiko.PKey.from_path(key_path, password=None)
    except TypeError:
        if passphrase is None:
            raise KeyPassphraseNeeded(str(key_path)) from None
    except UnknownKeyType:
        raise KeyUnreadable(
            str(key_path), "its key type is not supported (use ed25519, ECDSA or RSA)."
        ) from None
    except (ValueError, SSHException, IndexError, KeyError, UnsupportedAlgorithm):
        raise unreadable from None
    # Encrypted, and we have a passphrase: any failure now means it is the wrong one.
    try:
        return paramiko.PKey.from_path(key_path, password=passphrase.encode("utf-8"))
    except (ValueError, TypeError, SSHException, IndexError, KeyError):
        raise KeyPassphraseWrong(name or key_path.name) from None
    except UnsupportedAlgorithm:
        raise unreadable from None


def fingerprint_of_blob(blob: bytes) -> str:
    """``SHA256:…`` exactly as ``ssh-keygen -l`` prints it."""
    digest = hashlib.sha256(blob).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def fingerprint(key: Any) -> str:
    return fingerprint_of_blob(key.asbytes())


def key_bits(key: Any) -> int:
    bits = int(key.get_bits())
    if key.get_name() == "ssh-ed25519":
        return 256
    return bits


def display_type(key_type: str) -> str:
    if key_type.startswith("ecdsa-"):
        return "ECDSA"
    return _DISPLAY_TYPE.get(key_type, key_type.upper())


def describe_key(key: Any, comment: str) -> str:
    """One line as ``ssh-keygen -lf`` prints it: ``256 SHA256:… comment (ED25519)``."""
    return f"{key_bits(key)} {fingerprint(key)} {comment} ({display_type(key.get_name())})"


def public_key_from_entry(entry: knownhosts.Entry) -> Any:
    return paramiko.PKey.from_type_string(entry.key_type, entry.key_blob)


# --- connections ---------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """Where to dial and how the host is filed in known_hosts."""

    host: str
    port: int

    @property
    def pattern(self) -> str:
        return knownhosts.host_pattern(self.host, self.port)

    @property
    def label(self) -> str:
        return f"{self.host}:{self.port}" if ":" not in self.host else f"[{self.host}]:{self.port}"


READ_AHEAD = 256 * 1024  # bytes asked of the jumphost socket at once
# Linux only: acknowledge at once instead of up to 40 ms later (see WatchedSocket.recv).
_QUICKACK = getattr(socket, "TCP_QUICKACK", None)
# A socket with a timeout (paramiko gives it one) makes Python poll before every recv and
# send: two system calls each. Its descriptor is non-blocking underneath, so on POSIX we
# try the read or write first and fall back to the socket's own waiting call only when it
# would block. (Windows cannot read or write sockets as files.)
_DIRECT = os.name == "posix"


class Reactor(Protocol):
    """A forwarding loop the transport thread can host (pumploop.PumpLoop)."""

    def serve(self, host_socket: socket.socket, timeout: float) -> bool: ...

    def host_ended(self) -> None: ...


class WatchedSocket:
    """The jumphost socket, remembering when the server last sent anything.

    paramiko reads each packet with two exact-size ``recv`` calls; reading ahead serves
    many packets from one system call. Only paramiko's transport thread reads, so no lock is needed.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._ahead = b""
        self._ahead_at = 0
        self.last_rx = time.monotonic()
        # set by GuardedTransport.host: waits for the jumphost while serving the targets
        self.reactor: Reactor | None = None
        self.may_serve: Callable[[], bool] = lambda: False

    def recv(self, size: int) -> bytes:
        start = self._ahead_at
        if start < len(self._ahead):
            self._ahead_at = start + size
            return self._ahead[start : start + size]
        reactor = self.reactor
        if reactor is not None and self.may_serve():
            timeout = self._sock.gettimeout()
            if not reactor.serve(self._sock, 1.0 if timeout is None else timeout):
                raise TimeoutError  # as the socket's own timeout: paramiko polls again
        data = self._read(max(size, READ_AHEAD))
        if not data:
            return data
        self.last_rx = time.monotonic()
        if _QUICKACK is not None:
            # sshd leaves Nagle on: its next small packet (an EOF, or the next
            # connection's CHANNEL_OPEN) waits for our ACK of the last one, which Linux
            # would delay by up to 40 ms whenever we have nothing to send back. The
            # kernel drops quick-ack mode by itself, hence once per read.
            with contextlib.suppress(OSError):
                self._sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
        if len(data) > size:
            self._ahead, self._ahead_at = data, size
            return data[:size]
        return data

    def _read(self, size: int) -> bytes:
        if _DIRECT:
            try:
                return os.read(self._sock.fileno(), size)
            except BlockingIOError:
                pass
        return self._sock.recv(size)  # waits, up to paramiko's poll interval

    def send(self, data: Any) -> int:
        """paramiko's writes: at once when the socket takes them (see ``_DIRECT``)."""
        if _DIRECT:
            try:
                return os.write(self._sock.fileno(), data)
            except BlockingIOError:
                pass
        return self._sock.send(data)  # waits for room, up to paramiko's poll interval

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _resolve(endpoint: Endpoint, timeout: float, cancel: threading.Event | None) -> list[Any]:
    """getaddrinfo on a helper thread so a hung resolver cannot hold up a stop."""
    answer: list[Any] = []

    def lookup() -> None:
        try:
            answer.append(socket.getaddrinfo(endpoint.host, endpoint.port, type=socket.SOCK_STREAM))
        except OSError as exc:
            answer.append(exc)

    thread = threading.Thread(target=lookup, name="resolve", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while thread.is_alive() and time.monotonic() < deadline:
        if cancel is not None and cancel.is_set():
            raise JumphostUnreachable(endpoint.host, endpoint.port, "cancelled")
        thread.join(0.1)
    if not answer:
        raise JumphostUnreachable(
            endpoint.host, endpoint.port, f"name lookup took longer than {timeout:g} s"
        )
    result = answer[0]
    if isinstance(result, socket.gaierror):
        raise JumphostUnreachable(
            endpoint.host, endpoint.port, f"name lookup failed ({result.strerror})"
        )
    if isinstance(result, OSError):
        raise JumphostUnreachable(endpoint.host, endpoint.port, result.strerror or str(result))
    return list(result)


def dial(
    endpoint: Endpoint, timeout: float, cancel: threading.Event | None = None
) -> socket.socket:
    """Open a TCP connection to the jumphost, trying each address it resolves to in turn
    (the time left is shared among them); ``cancel`` aborts within 0.1 s."""
    deadline = time.monotonic() + timeout
    infos = _resolve(endpoint, timeout, cancel)
    last_error = "no address to connect to"
    for index, (family, socktype, proto, _name, address) in enumerate(infos):
        remaining_addresses = len(infos) - index
        share = max(0.0, deadline - time.monotonic()) / remaining_addresses
        try:
            sock = _connect_one(family, socktype, proto, address, share, cancel)
        except _Cancelled:
            raise JumphostUnreachable(endpoint.host, endpoint.port, "cancelled") from None
        except TimeoutError:
            last_error = f"no answer within {timeout:g} s"
            continue
        except OSError as exc:
            last_error = exc.strerror or str(exc)
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    raise JumphostUnreachable(endpoint.host, endpoint.port, last_error)


class _Cancelled(Exception):
    pass


def _connect_one(
    family: int,
    socktype: int,
    proto: int,
    address: Any,
    timeout: float,
    cancel: threading.Event | None,
) -> socket.socket:
    deadline = time.monotonic() + timeout
    sock = socket.socket(family, socktype, proto)
    try:
        sock.setblocking(False)
        error = sock.connect_ex(address)
        while error in (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY):
            if cancel is not None and cancel.is_set():
                raise _Cancelled
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            # Windows reports a failed connect in the "exceptional" set, not as writable.
            _, writable, failed = select.select([], [sock], [sock], min(remaining, 0.1))
            if writable or failed:
                error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                break
        if error:
            raise OSError(error, os.strerror(error))
        sock.setblocking(True)
    except BaseException:
        sock.close()
        raise
    return sock


def port_open(endpoint: Endpoint, timeout: float, cancel: threading.Event | None = None) -> bool:
    """True if the jumphost's SSH port accepts a TCP connection now (closed again at once)."""
    try:
        sock = dial(endpoint, timeout, cancel)
    except JumphostUnreachable:
        return False
    sock.close()
    return True


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
        data = m.data if isinstance(m, ChannelData) else memoryview(m.get_binary())
        try:
            sink(data)
        except WindowOverrun as exc:
            raise SSHException(str(exc)) from None

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
        try:
            sink(len(m.get_binary()))
        except WindowOverrun as exc:
            raise SSHException(str(exc)) from None

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


def _window_adjust(chanid: int, amount: int) -> Any:
    message = paramiko.Message()
    message.add_byte(wire.cMSG_CHANNEL_WINDOW_ADJUST)
    message.add_int(chanid)
    message.add_int(amount)
    return message


def start_transport(
    sock: Any, endpoint: Endpoint, preferred_key_types: list[str], timeout: float
) -> Any:
    """Run the SSH handshake on ``sock``; prefer host-key algorithms we have pinned."""
    transport = GuardedTransport(sock)
    transport.banner_timeout = timeout
    transport.handshake_timeout = timeout
    transport.auth_timeout = timeout
    options = transport.get_security_options()
    options.ciphers = _first(_FAST_CIPHERS, options.ciphers)
    if preferred_key_types:
        options.key_types = _first(preferred_key_types, options.key_types)
    started = time.monotonic()
    try:
        transport.start_client(timeout=timeout)
    except (SSHException, OSError, EOFError) as exc:
        transport.close()
        waited = time.monotonic() - started
        raise HandshakeFailed(endpoint.label, _handshake_reason(exc, waited, timeout)) from None
    # paramiko returns quietly when its own timeout ends the handshake: check it finished.
    if not transport.is_active() or not transport.initial_kex_done:
        transport.close()
        raise HandshakeFailed(endpoint.label, f"no SSH answer within {timeout:g} s")
    return transport


def _first(preferred: Sequence[str], supported: Sequence[str]) -> list[str]:
    """``supported`` reordered so that those of ``preferred`` it contains come first."""
    first = [name for name in preferred if name in supported]
    return first + [name for name in supported if name not in first]


def _handshake_reason(exc: BaseException, waited: float, timeout: float) -> str:
    if isinstance(exc, GreetingTrouble):
        if exc.timed_out:
            return f"no SSH answer within {timeout:g} s"
        return f"it did not answer like an SSH server ({exc}); check the host and SSH port"
    if isinstance(exc, EOFError | ConnectionError) and not str(exc):
        # paramiko ends a handshake that outlives its timer with a bare EOFError
        if waited >= timeout - 0.5:
            return f"no SSH answer within {timeout:g} s"
        return "the server closed the connection during the SSH handshake"
    text = str(exc)
    if "banner" in text.lower():
        return "it did not answer like an SSH server (check the host and SSH port)"
    return safe_text(text) or type(exc).__name__


def fetch_host_key(
    endpoint: Endpoint, preferred_key_types: list[str], timeout: float = CONNECT_TIMEOUT
) -> Any:
    """Connect just long enough to learn the jumphost's host key (of a pinned type first)."""
    sock = dial(endpoint, timeout)
    try:
        transport = start_transport(sock, endpoint, preferred_key_types, timeout)
        try:
            return transport.get_remote_server_key()
        except SSHException as exc:
            raise ConnectionLost(endpoint.label, str(exc)) from None
        finally:
            transport.close()
    finally:
        sock.close()


def algorithms_for(entries: list[knownhosts.Entry]) -> list[str]:
    out: list[str] = []
    for entry in entries:
        for algorithm in _ALGORITHMS_FOR_TYPE.get(entry.key_type, [entry.key_type]):
            if algorithm not in out:
                out.append(algorithm)
    return out


def verify_host_key(
    transport: Any, parsed: knownhosts.ParsedFile, endpoint: Endpoint, profile_name: str
) -> None:
    try:
        key = transport.get_remote_server_key()
    except SSHException as exc:
        raise ConnectionLost(endpoint.label, str(exc)) from None
    verdict, entries = knownhosts.check(parsed, endpoint.pattern, key.asbytes())
    presented = fingerprint(key)
    if verdict is knownhosts.Verdict.TRUSTED:
        return
    if verdict is knownhosts.Verdict.REVOKED:
        raise HostKeyRevoked(endpoint.label, presented)
    if verdict is knownhosts.Verdict.CHANGED:
        pinned = ", ".join(fingerprint_of_blob(e.key_blob) for e in entries)
        raise HostKeyChanged(endpoint.label, pinned, presented)
    raise HostKeyUnknown(profile_name, endpoint.label, presented)


def authenticate(transport: Any, user: str, key: Any, endpoint: Endpoint) -> None:
    """Offer exactly one key: no agent, no other keys, no passwords."""
    try:
        transport.auth_publickey(user, key)
    except AuthenticationException:
        raise AuthRejected(user, endpoint.label, fingerprint(key)) from None
    except (SSHException, OSError, EOFError) as exc:
        raise ConnectionLost(endpoint.label, f"during authentication: {exc}") from None
    if not transport.is_authenticated():
        raise AuthRejected(user, endpoint.label, fingerprint(key))


class GlobalRequests:
    """Serialises global requests on one transport and enforces a deadline on each.

    paramiko's ``Transport.global_request`` waits forever and shares one completion
    event between callers, so two at once would confuse each other's replies.
    """

    def __init__(self, transport: Any, timeout: float = GLOBAL_REQUEST_TIMEOUT) -> None:
        self._transport = transport
        self._timeout = timeout
        self._lock = threading.Lock()

    def request(
        self, kind: str, data: tuple[Any, ...] | None, timeout: float | None = None
    ) -> Any | None:
        """Send and wait for the reply; ``None`` if denied. Closes the link on timeout."""
        deadline = self._timeout if timeout is None else timeout
        if not self._lock.acquire(timeout=deadline):
            raise TimeoutError(f"another global request is still waiting; {kind} not sent")
        try:
            return self._request_locked(kind, data, deadline)
        finally:
            self._lock.release()

    def _request_locked(self, kind: str, data: tuple[Any, ...] | None, deadline: float) -> Any:
        result: list[Any] = []
        done = threading.Event()

        def worker() -> None:
            try:
                result.append(self._transport.global_request(kind, data, wait=True))
            except Exception as exc:  # reported to the caller below
                result.append(exc)
            finally:
                done.set()

        thread = threading.Thread(target=worker, name=f"global-request-{kind}", daemon=True)
        thread.start()
        if not done.wait(deadline):
            # No reply: the link is dead or the server misbehaves; drop the connection,
            # which also ends the worker (global_request returns when inactive).
            self._transport.close()
            thread.join(2.0)
            raise TimeoutError(f"no reply to {kind} within {deadline:g} s")
        thread.join()
        outcome = result[0]
        if isinstance(outcome, Exception):
            raise outcome
        if not self._transport.is_active():
            raise EOFError("the connection closed while waiting for a reply")
        return outcome


def request_forward(requests: GlobalRequests, bind: str, port: int, endpoint: Endpoint) -> None:
    """Ask the jumphost to listen on ``bind:port`` (the exact ``ssh -R`` wire form)."""
    try:
        reply = requests.request("tcpip-forward", (bind, port))
    except (TimeoutError, EOFError, SSHException, OSError) as exc:
        raise ConnectionLost(endpoint.label, f"while requesting the forward: {exc}") from None
    if reply is None:
        raise ForwardRefused(bind or "*", port, endpoint.label)


def cancel_forward(requests: GlobalRequests, bind: str, port: int) -> None:
    with contextlib.suppress(Exception):
        requests.request("cancel-tcpip-forward", (bind, port), timeout=CANCEL_TIMEOUT)
