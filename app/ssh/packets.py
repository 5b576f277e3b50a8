"""Channel data in AES-GCM packets, read and written without paramiko's per-packet copies."""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Callable, Sequence
from typing import Any

import paramiko
from paramiko.ssh_exception import SSHException

MSG_CHANNEL_DATA = 94
_TAG = 16  # AES-GCM's authentication tag
_BLOCK = 16  # AES block: packet lengths are multiples of it
_MAX_PACKET = 256 * 1024 + 64  # larger than any SSH implementation sends (OpenSSH: 256 KiB)
_LENGTH = struct.Struct(">I")
_DATA_HEAD = struct.Struct(">IBBII")  # length, padding length, type, channel, data length
_DATA_FIELDS = struct.Struct(">II")  # channel, data length
_IV_COUNTER = (1 << 64) - 1
# The greeting: OpenSSH reads at most 1024 lines before the version line, each at most
# 8 KiB long (SSH_MAX_PRE_BANNER_LINES, SSH_MAX_BANNER_LEN); so do we, within one deadline.
BANNER_LINE_MAX = 8192
BANNER_LINES_MAX = 1024
_IGNORED = frozenset((2, 4))  # MSG_IGNORE, MSG_DEBUG: prove nothing about progress
# CHANNEL_DATA packets in a row handed straight to ``data_dispatch`` before one goes back
# through paramiko's loop, which checks between packets whether it should stop or rekey
DISPATCH_RUN = 16


class GreetingTrouble(SSHException):  # type: ignore[misc]
    """The server's greeting broke a bound (too long, too many lines, too slow) or never
    came; ``timed_out`` tells the last apart."""

    def __init__(self, detail: str, timed_out: bool = False) -> None:
        super().__init__(detail)
        self.timed_out = timed_out


# paramiko's private Packetizer state this module reads and writes. Checked when a
# packetizer is made: if a paramiko release renames any of it, packets simply take
# paramiko's own path (tests/app/test_packets.py fails loudly so we notice).
_STATE = (
    "aead_in",
    "aead_out",
    "block_engine_in",
    "block_engine_out",
    "iv_in",
    "iv_out",
    "compress_engine_in",
    "compress_engine_out",
    "dump_packets",
    "write_lock",
    "sequence_number_in",
    "sequence_number_out",
    "sent_bytes",
    "sent_packets",
    "received_bytes",
    "received_packets",
    "received_bytes_overflow",
    "received_packets_overflow",
    "need_rekey",
    "remainder",
    "socket",
    "closed",
    "keepalive_last",
)


class ChannelData(paramiko.Message):  # type: ignore[misc]
    """An incoming CHANNEL_DATA packet. paramiko's dispatcher reads the channel id as from
    any message; ``data`` is a view of the bytes in the decrypted packet, not a copy."""

    def __init__(self, plain: bytes, length: int, seqno: int) -> None:
        super().__init__(plain)  # BytesIO shares the bytes until written to
        self.packet.seek(2)  # past the padding length and the message type
        self.seqno = seqno
        self.data = memoryview(plain)[10 : 10 + length]


def _channel_data(ptype: int, plain: bytes, end: int) -> tuple[int, int] | None:
    """(channel id, data length) of a well-formed CHANNEL_DATA packet, else None."""
    if ptype != MSG_CHANNEL_DATA or end < 10:
        return None
    chanid, length = _DATA_FIELDS.unpack_from(plain, 2)
    return (chanid, length) if length == end - 10 else None


def _next_iv(iv: bytes) -> bytes:
    """RFC 5647 section 7.1: the last 8 bytes of the nonce count packets."""
    return iv[:4] + ((int.from_bytes(iv[4:], "big") + 1) & _IV_COUNTER).to_bytes(8, "big")


class _Padding:
    """Random padding bytes drawn from the OS in 4 KiB at a time: a ``getrandom`` call
    per batch of packets cost 10 % of the sending thread here."""

    def __init__(self) -> None:
        self._pool = b""
        self._at = 0

    def take(self, size: int) -> bytes:
        at = self._at
        if at + size > len(self._pool):
            self._pool, at = os.urandom(4096), 0
        self._at = at + size
        return self._pool[at : at + size]


class FastPacketizer(paramiko.Packetizer):  # type: ignore[misc]
    """paramiko's packetizer, with a short path for AES-GCM once keys are in place.

    Reading: one decrypt per packet, straight from the socket's read-ahead, and a
    CHANNEL_DATA packet hands on a view of its data (paramiko slices and copies every
    packet five times before a channel buffers it); runs of CHANNEL_DATA go to the
    transport's ``data_dispatch`` without a turn of paramiko's loop each.
    Writing: ``send_channel_data`` builds CHANNEL_DATA packets straight from the bytes to
    send and writes several with one system call. Sequence numbers, nonces and the
    byte counts that trigger rekeys are kept exactly as paramiko keeps them.
    """

    # paramiko's private state this class assigns (annotations only, for mypy)
    _Packetizer__iv_in: bytes
    _Packetizer__iv_out: bytes
    _Packetizer__sequence_number_in: int
    _Packetizer__sequence_number_out: int
    _Packetizer__sent_bytes: int
    _Packetizer__sent_packets: int
    _Packetizer__received_bytes: int
    _Packetizer__received_packets: int
    _Packetizer__received_bytes_overflow: int
    _Packetizer__received_packets_overflow: int
    _Packetizer__remainder: bytes
    _Packetizer__socket: Any
    _Packetizer__closed: bool
    _Packetizer__keepalive_last: float

    def __init__(self, sock: Any) -> None:
        super().__init__(sock)
        # monotonic time of the last packet that proves the server makes progress (any
        # but IGNORE and DEBUG, which a stuck server can send forever)
        self.last_progress = time.monotonic()
        self._padding = _Padding()  # used under the write lock
        self.fast = all(hasattr(self, "_Packetizer__" + name) for name in _STATE)
        self.fast_packets_in = 0
        # set by the transport: takes CHANNEL_DATA (channel id, a view of the data) on the
        # reading thread, False to leave it to paramiko's loop (see _read_message)
        self.data_dispatch: Callable[[int, memoryview], bool] | None = None
        self.fast_packets_out = 0

    def _fast_in(self) -> bool:
        return (
            self.fast
            and self._Packetizer__aead_in
            and self._Packetizer__compress_engine_in is None
            and not self._Packetizer__dump_packets
        )

    def _fast_out(self) -> bool:
        return (
            self.fast
            and self._Packetizer__aead_out
            and self._Packetizer__compress_engine_out is None
            and not self._Packetizer__dump_packets
        )

    # --- reading (paramiko's transport thread only) ------------------------------------

    def read_message(self) -> tuple[int, Any]:
        ptype, message = self._read_message()
        if ptype not in _IGNORED:
            self.last_progress = time.monotonic()
        return ptype, message

    def read_greeting_line(self, deadline: float) -> str:
        """One line of the server's greeting (paramiko's ``readline`` grows its buffer by
        128 bytes and searches it whole each time: quadratic, and unbounded in length and
        time). Raises GreetingTrouble past ``BANNER_LINE_MAX`` bytes or the deadline
        (monotonic seconds), or if the server hangs up first; EOFError if we close."""
        line = bytearray(self._Packetizer__remainder)
        scanned = 0
        while True:
            end = line.find(b"\n", scanned)
            if end >= 0:
                break
            if len(line) > BANNER_LINE_MAX:
                raise GreetingTrouble(f"its greeting line is longer than {BANNER_LINE_MAX} bytes")
            scanned = len(line)
            if time.monotonic() >= deadline:
                raise GreetingTrouble("it sent no SSH greeting in time", timed_out=True)
            try:
                data = self._Packetizer__socket.recv(4096)
            except TimeoutError:
                if self._Packetizer__closed:
                    raise EOFError from None
                continue
            except OSError as exc:  # a reset: what a non-SSH server that hangs up causes
                reason = exc.strerror or type(exc).__name__
                raise GreetingTrouble(
                    f"the connection ended before an SSH greeting ({reason})"
                ) from None
            if not data:
                raise GreetingTrouble("it closed the connection without an SSH greeting")
            line += data
        if end > BANNER_LINE_MAX:
            raise GreetingTrouble(f"its greeting line is longer than {BANNER_LINE_MAX} bytes")
        self._Packetizer__remainder = bytes(line[end + 1 :])
        raw = bytes(line[:end])
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        try:
            # the version line goes into the key exchange's hash: exactly as sent
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise GreetingTrouble("its greeting is not text") from None

    def _read_message(self) -> tuple[int, Any]:
        if not self._fast_in():
            return super().read_message()  # type: ignore[no-any-return]
        dispatch = self.data_dispatch
        dispatched = 0
        while True:
            ptype, plain, end, seqno = self._read_plain()
            fields = _channel_data(ptype, plain, end)
            if fields is None:
                return ptype, self._message(plain, end, seqno)
            chanid, length = fields
            self.fast_packets_in += 1
            if (
                dispatched == DISPATCH_RUN - 1
                or dispatch is None
                or self._Packetizer__need_rekey  # back to paramiko's loop: it starts the rekey
                or not dispatch(chanid, memoryview(plain)[10 : 10 + length])
            ):
                return ptype, ChannelData(plain, length, seqno)
            dispatched += 1
            self.last_progress = time.monotonic()

    def _read_plain(self) -> tuple[int, bytes, int, int]:
        """The next packet, decrypted: (type, plaintext, end of payload, sequence number);
        the payload is ``plain[1:end]``. A packet whole in the socket's read-ahead is
        decrypted from there, without a copy."""
        sock = self._Packetizer__socket
        take = getattr(sock, "take", None)
        head = take(4) if take is not None and not self._Packetizer__remainder else None
        if head is None:
            head = self.read_all(4, check_rekey=True)
        (size,) = _LENGTH.unpack(head)
        if size > _MAX_PACKET or size % _BLOCK or size < _BLOCK:
            raise SSHException(f"Invalid packet length {size}")
        sealed = take(size + _TAG) if take is not None else None
        if sealed is None:
            sealed = self.read_all(size + _TAG, check_rekey=False)
        plain = self._Packetizer__block_engine_in.decrypt(self._Packetizer__iv_in, sealed, head)
        self._Packetizer__iv_in = _next_iv(self._Packetizer__iv_in)
        seqno = self._count_in(size + _TAG + 4)
        end = size - plain[0]  # less the padding
        if end < 2:
            raise SSHException("Invalid packet padding")
        return plain[1], plain, end, seqno

    @staticmethod
    def _message(plain: bytes, end: int, seqno: int) -> Any:
        message = paramiko.Message(plain[2:end])
        message.seqno = seqno
        return message

    def _count_in(self, raw_size: int) -> int:
        """Sequence number and the rekey trigger, as paramiko's ``read_message`` keeps them."""
        seqno: int = self._Packetizer__sequence_number_in
        self._Packetizer__sequence_number_in = (seqno + 1) & 0xFFFFFFFF
        self._Packetizer__received_bytes += raw_size
        self._Packetizer__received_packets += 1
        if self._Packetizer__need_rekey:
            # we asked to rekey: give the server some packets to comply before giving up
            self._Packetizer__received_bytes_overflow += raw_size
            self._Packetizer__received_packets_overflow += 1
            if (
                self._Packetizer__received_packets_overflow >= self.REKEY_PACKETS_OVERFLOW_MAX
                or self._Packetizer__received_bytes_overflow >= self.REKEY_BYTES_OVERFLOW_MAX
            ):
                raise SSHException("Remote transport is ignoring rekey requests")
        elif (
            self._Packetizer__received_packets >= self.REKEY_PACKETS
            or self._Packetizer__received_bytes >= self.REKEY_BYTES
        ):
            self._Packetizer__received_bytes_overflow = 0
            self._Packetizer__received_packets_overflow = 0
            self._trigger_rekey()
        return seqno

    # --- writing (any thread; the write lock orders packets) -----------------------------

    def _write_pieces(self, pieces: list[bytes]) -> int:
        """Write ``pieces`` in order, with one gathering system call while the socket
        takes them all (no join: 8 packets joined are 256 KiB, which glibc gives back to
        the system and faults in again at every write); the rest as paramiko writes,
        waiting for room. Returns the bytes written."""
        total = sum(map(len, pieces))
        gather = getattr(self._Packetizer__socket, "send_pieces", None)
        if gather is None:  # not our socket, or no writev (Windows): one joined write
            self.write_all(b"".join(pieces))
            return total
        sent = gather(pieces)
        if sent == total:
            self._Packetizer__keepalive_last = time.time()  # as write_all keeps it
            return total
        for piece in _rest(pieces, sent):
            self.write_all(piece)
        return total

    def send_channel_data(self, chanid: int, chunks: Sequence[memoryview]) -> bool:
        """Send each chunk as one CHANNEL_DATA packet for the peer's channel ``chanid``.

        Returns False, having sent nothing, when the short path does not apply (no AES-GCM
        yet, compression, packet dumps): the caller then sends through paramiko.
        """
        with self._Packetizer__write_lock:
            if not self._fast_out():
                return False
            engine = self._Packetizer__block_engine_out
            iv = self._Packetizer__iv_out
            fixed, counter = iv[:4], int.from_bytes(iv[4:], "big")
            take_padding = self._padding.take
            pieces: list[bytes] = []
            for chunk in chunks:
                size = len(chunk)
                # as paramiko pads: at least 4 bytes, to a whole block without the length
                padding = 3 + _BLOCK - ((size + 13) % _BLOCK)
                head = _DATA_HEAD.pack(size + 10 + padding, padding, MSG_CHANNEL_DATA, chanid, size)
                plain = b"".join((head[4:], chunk, take_padding(padding)))
                pieces.append(head[:4])
                pieces.append(engine.encrypt(fixed + counter.to_bytes(8, "big"), plain, head[:4]))
                counter = (counter + 1) & _IV_COUNTER
            count = len(chunks)
            self._Packetizer__iv_out = fixed + counter.to_bytes(8, "big")
            self._Packetizer__sequence_number_out = (
                self._Packetizer__sequence_number_out + count
            ) & 0xFFFFFFFF
            written = self._write_pieces(pieces)
            self.fast_packets_out += count
            self._Packetizer__sent_bytes += written
            self._Packetizer__sent_packets += count
            if (
                self._Packetizer__sent_packets >= self.REKEY_PACKETS
                or self._Packetizer__sent_bytes >= self.REKEY_BYTES
            ) and not self._Packetizer__need_rekey:
                self._Packetizer__received_bytes_overflow = 0
                self._Packetizer__received_packets_overflow = 0
                self._trigger_rekey()
        return True


def _rest(pieces: list[bytes], sent: int) -> list[bytes]:
    """What of ``pieces`` is left once their first ``sent`` bytes are written."""
    for at, piece in enumerate(pieces):
        if sent < len(piece):
            return [piece[sent:], *pieces[at + 1 :]]
        sent -= len(piece)
    return []


def channel_data_message(chanid: int, chunk: memoryview) -> Any:
    """A CHANNEL_DATA message the slow way, for paramiko's ``send_message``."""
    message = paramiko.Message()
    message.add_byte(bytes([MSG_CHANNEL_DATA]))
    message.add_int(chanid)
    message.add_string(bytes(chunk))
    return message
