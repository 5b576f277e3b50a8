"""The AES-GCM short path against paramiko's own packetizer, over a real socket pair."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from typing import Any

import paramiko
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from paramiko import common as wire
from paramiko.ssh_exception import SSHException

from app.ssh.packets import (
    DISPATCH_RUN,
    MSG_CHANNEL_DATA,
    ChannelData,
    FastPacketizer,
    channel_data_message,
)
from app.ssh.watched import WatchedSocket

SIZES = [1, 15, 16, 17, 31, 32, 1000, 32704]


def pair(
    socket_pair: tuple[socket.socket, socket.socket], writer_class: Any, reader_class: Any
) -> tuple[Any, Any]:
    """A writer and a reader sharing AES-GCM keys, as paramiko sets them after NEWKEYS."""
    key, iv = os.urandom(16), os.urandom(12)
    writer, reader = writer_class(socket_pair[0]), reader_class(socket_pair[1])
    writer.set_outbound_cipher(AESGCM(key), 16, None, 16, None, aead=True, iv_out=iv)
    reader.set_inbound_cipher(AESGCM(key), 16, None, 16, None, aead=True, iv_in=iv)
    return writer, reader


def in_background(work: Callable[[], None]) -> threading.Thread:
    """Writes run beside the reads: a socket pair holds only a few hundred KiB."""
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def ignore_message(text: bytes) -> Any:
    message = paramiko.Message()
    message.add_byte(wire.cMSG_IGNORE)
    message.add_string(text)
    return message


def test_paramiko_still_has_the_state_the_short_path_uses(socket_pair: Any) -> None:
    # If a paramiko release renames its packetizer's private state, data silently takes
    # paramiko's slower path; this is where we find out.
    assert FastPacketizer(socket_pair[0]).fast


def test_paramiko_reads_what_the_short_path_writes(socket_pair: Any) -> None:
    writer, reader = pair(socket_pair, FastPacketizer, paramiko.Packetizer)
    chunks = [os.urandom(size) for size in SIZES]

    def write() -> None:
        assert writer.send_channel_data(7, [memoryview(c) for c in chunks[:4]])
        writer.send_message(ignore_message(b"between"))  # paramiko's path, same stream
        assert writer.send_channel_data(7, [memoryview(c) for c in chunks[4:]])

    thread = in_background(write)
    seen = []
    for expected in range(len(SIZES) + 1):
        ptype, message = reader.read_message()
        assert message.seqno == expected
        if ptype == wire.MSG_IGNORE:
            assert message.get_binary() == b"between"
            continue
        assert ptype == MSG_CHANNEL_DATA
        assert message.get_int() == 7
        seen.append(message.get_binary())
    thread.join(10)
    assert seen == chunks
    assert writer.fast_packets_out == len(SIZES)


def test_the_short_path_reads_what_paramiko_writes(socket_pair: Any) -> None:
    writer, reader = pair(socket_pair, paramiko.Packetizer, FastPacketizer)
    chunks = [os.urandom(size) for size in SIZES]

    def write() -> None:
        for chunk in chunks:
            writer.send_message(channel_data_message(3, memoryview(chunk)))
        writer.send_message(ignore_message(b"after"))

    thread = in_background(write)
    for number, chunk in enumerate(chunks):
        ptype, message = reader.read_message()
        assert (ptype, message.seqno) == (MSG_CHANNEL_DATA, number)
        assert isinstance(message, ChannelData)
        assert message.get_int() == 3  # as paramiko's dispatcher reads the channel
        assert bytes(message.data) == chunk
    ptype, message = reader.read_message()
    assert (ptype, message.seqno) == (wire.MSG_IGNORE, len(chunks))
    assert not isinstance(message, ChannelData)
    assert message.get_binary() == b"after"
    thread.join(10)
    assert reader.fast_packets_in == len(chunks)


def test_the_short_path_reads_what_it_writes_and_counts_towards_rekeys(socket_pair: Any) -> None:
    writer, reader = pair(socket_pair, FastPacketizer, FastPacketizer)
    # paramiko rekeys after 2**29 bytes or packets each way; a small limit shows both
    # sides keep counting on the short path
    writer.REKEY_BYTES = reader.REKEY_BYTES = 200_000
    block = os.urandom(32704)
    thread = in_background(lambda: writer.send_channel_data(1, [memoryview(block)] * 8))
    for _ in range(8):
        _, message = reader.read_message()
        assert bytes(message.data) == block
    thread.join(10)
    assert writer.need_rekey()
    assert reader.need_rekey()


def test_before_aes_gcm_is_in_place_paramikos_path_is_taken(socket_pair: Any) -> None:
    writer, reader = FastPacketizer(socket_pair[0]), FastPacketizer(socket_pair[1])
    assert not writer.send_channel_data(1, [memoryview(b"x")])  # nothing sent
    writer.send_message(channel_data_message(1, memoryview(b"plain")))
    ptype, message = reader.read_message()
    assert ptype == MSG_CHANNEL_DATA
    assert not isinstance(message, ChannelData)
    assert (message.get_int(), message.get_binary()) == (1, b"plain")
    assert writer.fast_packets_out == reader.fast_packets_in == 0


def test_a_tampered_packet_is_refused(socket_pair: Any) -> None:
    writer, reader = pair(socket_pair, FastPacketizer, FastPacketizer)
    captured: list[bytes] = []
    writer.write_all = captured.append
    assert writer.send_channel_data(1, [memoryview(b"secret data")])
    packet = bytearray(b"".join(captured))  # the length and the sealed rest
    packet[-20] ^= 1
    socket_pair[0].sendall(bytes(packet))
    with pytest.raises(InvalidTag):
        reader.read_message()


@pytest.mark.parametrize("length", [0, 17, 1 << 24])
def test_an_impossible_packet_length_is_refused(socket_pair: Any, length: int) -> None:
    _, reader = pair(socket_pair, paramiko.Packetizer, FastPacketizer)
    socket_pair[0].sendall(length.to_bytes(4, "big") + bytes(32))
    with pytest.raises(SSHException, match="Invalid packet length"):
        reader.read_message()


# --- runs of channel data handed to the transport's dispatch ---------------------------


def watched_pair(socket_pair: Any) -> tuple[Any, Any]:
    """As ``pair``, the reader on a WatchedSocket (the read-ahead the short path reads from)."""
    return pair((socket_pair[0], WatchedSocket(socket_pair[1])), FastPacketizer, FastPacketizer)


def read_channel_data(reader: Any, count: int) -> list[bytes]:
    """The data of the next ``count`` packets, each CHANNEL_DATA numbered in order."""
    seen = []
    for number in range(count):
        ptype, message = reader.read_message()
        assert (ptype, message.seqno) == (MSG_CHANNEL_DATA, number)
        seen.append(bytes(message.data))
    return seen


def test_packets_whole_in_the_read_ahead_are_read_from_it(socket_pair: Any) -> None:
    writer, reader = watched_pair(socket_pair)
    chunks = [os.urandom(size) for size in SIZES * 20]  # several read-aheads' worth
    thread = in_background(lambda: writer.send_channel_data(5, [memoryview(c) for c in chunks]))
    seen = read_channel_data(reader, len(chunks))
    thread.join(10)
    assert seen == chunks


def test_runs_of_channel_data_go_to_the_dispatch_in_order(socket_pair: Any) -> None:
    writer, reader = watched_pair(socket_pair)
    got: list[tuple[int, bytes]] = []
    reader.data_dispatch = lambda chanid, data: got.append((chanid, bytes(data))) is None
    chunks = [os.urandom(size) for size in SIZES * 6]  # 48: three whole runs

    def write() -> None:
        writer.send_channel_data(9, [memoryview(c) for c in chunks])
        writer.send_message(ignore_message(b"after"))

    thread = in_background(write)
    returned = []
    while len(got) < len(chunks):
        ptype, message = reader.read_message()
        assert ptype == MSG_CHANNEL_DATA
        returned.append(message)
        # every DISPATCH_RUN-th packet goes back through paramiko's loop (which checks
        # between packets whether to stop or rekey); the order is kept across both
        got.append((message.get_int(), bytes(message.data)))
    assert {chanid for chanid, _ in got} == {9}
    dispatched = [data for _, data in got]
    ptype, message = reader.read_message()
    assert (ptype, message.get_binary()) == (wire.MSG_IGNORE, b"after")
    assert message.seqno == len(chunks)
    thread.join(10)
    assert dispatched == chunks
    assert len(returned) == len(chunks) // DISPATCH_RUN
    assert reader.fast_packets_in == len(chunks)


def test_a_packet_the_dispatch_declines_comes_back_to_paramikos_loop(socket_pair: Any) -> None:
    writer, reader = watched_pair(socket_pair)
    offered: list[int] = []
    reader.data_dispatch = lambda chanid, data: offered.append(chanid) and False
    two = [memoryview(b"one"), memoryview(b"two")]
    thread = in_background(lambda: writer.send_channel_data(4, two))
    first, second = reader.read_message(), reader.read_message()
    thread.join(10)
    assert [bytes(m.data) for _, m in (first, second)] == [b"one", b"two"]
    assert offered == [4, 4]


def test_no_data_is_dispatched_once_a_rekey_is_due(socket_pair: Any) -> None:
    writer, reader = watched_pair(socket_pair)
    reader.REKEY_BYTES = 100_000
    got: list[bytes] = []
    reader.data_dispatch = lambda chanid, data: got.append(bytes(data)) is None
    block = os.urandom(32704)
    thread = in_background(lambda: writer.send_channel_data(1, [memoryview(block)] * 8))
    ptype, message = reader.read_message()
    thread.join(10)
    # the fourth packet passes 100,000 bytes: it is returned for paramiko to start the
    # rekey before anything else is read
    assert (ptype, message.seqno) == (MSG_CHANNEL_DATA, 3)
    assert len(got) == 3
    assert reader.need_rekey()


class _CountedWrites(WatchedSocket):
    """Records each gathered write: (bytes written, bytes offered)."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(sock)
        self.gathered: list[tuple[int, int]] = []

    def send_pieces(self, pieces: list[bytes]) -> int:
        sent = super().send_pieces(pieces)
        self.gathered.append((sent, sum(map(len, pieces))))
        return sent


def test_packets_written_together_arrive_whole_when_the_socket_takes_only_part(
    socket_pair: Any,
) -> None:
    end = socket_pair[0]
    end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16 * 1024)
    end.settimeout(0.1)  # as paramiko's transport sets it: non-blocking underneath
    counted = _CountedWrites(end)
    writer, reader = pair((counted, socket_pair[1]), FastPacketizer, FastPacketizer)
    chunks = [os.urandom(size) for size in SIZES * 8]
    done: list[bool] = []
    thread = in_background(
        lambda: done.append(writer.send_channel_data(2, [memoryview(c) for c in chunks]))
    )
    seen = read_channel_data(reader, len(chunks))
    thread.join(10)
    assert done == [True]
    assert seen == chunks
    sent, offered = counted.gathered[0]
    assert 0 < sent < offered  # the rest went out the waiting way, in order
