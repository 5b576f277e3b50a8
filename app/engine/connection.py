"""One forwarded connection: the bytes between a channel and its target socket, both ways."""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import threading
from typing import TYPE_CHECKING

from app.core.budget import WindowLedger
from app.engine.pumploop import TARGET_READ, PumpLoop
from app.ssh.channel import ForwardedChannel
from app.storage.logs import tunnel_log

if TYPE_CHECKING:
    from app.engine.forward import Forwarder

log = logging.getLogger(__name__)

BURST = 8  # reads or writes per direction before a connection yields the loop to the others
PACKET_OVERHEAD = 64  # what paramiko keeps free in a packet for the headers (its payload)


class _Readiness:
    """Stands in for the channel buffer's event: data, EOF or close on a channel
    (set on the transport thread) queues its connection on the loop instead of waking
    a thread of its own."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def set(self) -> None:
        self._connection.wake()

    def clear(self) -> None:
        pass

    def is_set(self) -> bool:
        return False


class Connection:
    """One forwarded connection's state; it runs on its loop thread but for ``wake`` and
    ``deliver``, which the SSH transport thread calls.

    The vendor's bytes are written to the target by the transport thread as each packet
    is read (no hand-off, no buffer); what the target cannot take at once, or everything
    while the target is still being dialled, waits in one ``bytearray`` for the loop.
    The ledger bounds that: the channel's window is granted out of the process budget and
    credited again only once bytes reach the target, so a slow target holds the vendor
    back instead of filling memory, and a jumphost that sends more than it was granted
    loses the link. Half-close passes through both ways: the vendor's EOF becomes
    ``shutdown(SHUT_WR)`` towards the target once its bytes are written, the target's EOF
    becomes the channel's EOF, and the connection ends when both have ended or the
    channel is closed.
    """

    def __init__(self, owner: Forwarder, channel: ForwardedChannel, ledger: WindowLedger) -> None:
        self.owner = owner
        self._log = tunnel_log(log, owner.tunnel)
        self.channel = channel
        self.sock: socket.socket | None = None
        self.loop: PumpLoop | None = None
        self._lock = threading.Lock()  # _pending, _ledger, _owed, _failed, closed, sock
        self._ledger = ledger
        self._pending = bytearray()  # coalesced: a 1-byte packet costs 1 byte, not an object
        self._owed = 0  # window the transport thread could not grant during a key exchange
        self._failed = False
        self._to_vendor = b""
        self._to_vendor_at = 0
        self._asked = TARGET_READ  # the size of the last read from the target
        self._got = 0  # and what it got
        self._vendor_eof = False
        self._target_eof = False
        self.closed = False
        self._events = 0
        # on the transport thread, before any data
        channel.data_sink = self.deliver
        channel.extended_sink = self.drop_extended

    @property
    def held(self) -> int:
        """Vendor bytes held for the target now."""
        return len(self._pending)

    def wake(self) -> None:
        loop = self.loop
        if loop is not None:
            loop.ready(self)

    def attach(self, sock: socket.socket) -> None:
        """The target is connected (dialler thread): the transport thread may write to it."""
        with self._lock:
            self.sock = sock

    def release(self) -> None:
        """Give the connection's window back to the budget (any thread, once)."""
        with self._lock:
            self._ledger.close()
            self._pending = bytearray()

    def start(self, loop: PumpLoop) -> None:
        self.loop = loop
        channel = self.channel
        channel.settimeout(0.0)
        channel.on_window_adjust = self.wake  # see ssh.GuardedTransport
        # EOF and close still arrive through the channel's buffer; sets itself at once
        # if either already has
        channel.in_buffer.set_event(_Readiness(self))

    def deliver(self, data: memoryview) -> None:
        """Vendor bytes from the SSH transport thread: to the target now if it takes
        them, else held for the loop. Raises WindowOverrun (the transport then closes the
        link) if the jumphost sent more than its window."""
        sent = 0
        with self._lock:
            if self.closed or self._failed or self._ledger.closed:
                return
            self._ledger.received(len(data))
            sock = self.sock
            if sock is not None and not self._pending:
                try:
                    sent = sock.send(data)
                except BlockingIOError:
                    pass
                except OSError:
                    self._failed = True
                    self.wake()
                    return
            if sent < len(data):
                self._pending += data[sent:]
                self.wake()
            grant = self._ledger.delivered(sent) if sent else 0
        if sent:
            self.owner.counters.add("bytes_to_target", sent)
        if grant and not self.channel.transport.send_window_adjust(
            self.channel, grant, on_transport_thread=True
        ):
            with self._lock:
                self._owed += grant
            self.wake()

    def drop_extended(self, size: int) -> None:
        """Extended (stderr) data from the jumphost: counted against the window, dropped."""
        with self._lock:
            if self.closed or self._ledger.closed:
                return
            self._ledger.received(size)
            grant = self._ledger.delivered(size)
        if grant and not self.channel.transport.send_window_adjust(
            self.channel, grant, on_transport_thread=True
        ):
            with self._lock:
                self._owed += grant
            self.wake()

    def service(self) -> None:
        """Move what can move now without blocking, in both directions."""
        if self.closed:
            return
        try:
            more = self._vendor_to_target() | self._target_to_vendor()
        except (OSError, EOFError):
            self.close()
            return
        except Exception:  # one connection's surprise must not stop the loop for all
            self._log.exception("forwarded connection failed")
            self.close()
            return
        if self.channel.closed and self._vendor_eof:
            # The vendor side is gone entirely: nothing the target says can be delivered.
            self.close()
            return
        if self._vendor_eof and self._target_eof and not self._to_vendor:
            self.close()
            return
        self._watch_socket()
        if more:
            self.wake()

    def _vendor_to_target(self) -> bool:
        """Write what waits for the target, grant the window for it, pass on EOF."""
        sock, channel = self.sock, self.channel
        assert sock is not None
        # The EOF is read first: data that arrives before it is already queued then, so
        # "drained" below covers it (read the other way round, the transport thread could
        # queue the last bytes and the EOF in between, and the EOF would cut them off).
        ended = channel.eof_received or channel.closed
        # nothing waiting skips the lock: deliver wakes us if that changes
        drained = not (self._pending or self._owed or self._failed) or self._flush(sock)
        if drained and not self._vendor_eof and ended:
            # every packet before the EOF was delivered before the transport read the EOF
            self._vendor_eof = True
            if not channel.closed:
                sock.shutdown(socket.SHUT_WR)
        return False

    def _flush(self, sock: socket.socket) -> bool:
        """Write the held bytes the target takes now and grant the window for them (and
        any the transport thread owes); True once nothing is left held."""
        written = 0
        with self._lock:
            if self._failed:
                raise OSError("the target connection failed")
            pending = self._pending
            while pending:
                try:
                    sent = sock.send(pending)
                except BlockingIOError:
                    break  # the selector says when the target can take more
                written += sent
                del pending[:sent]  # cheap: a bytearray drops its head in place
                if pending:
                    break  # a short write: the socket is full
            owed, self._owed = self._owed, 0
            if written:
                owed += self._ledger.delivered(written)
            drained = not pending
        if written:
            self.owner.counters.add("bytes_to_target", written)
        if owed:
            self.channel.transport.send_window(self.channel, owed)
        return drained

    def _target_to_vendor(self) -> bool:
        sock, channel, loop = self.sock, self.channel, self.loop
        assert sock is not None and loop is not None
        for _ in range(BURST):
            data, at = self._to_vendor, self._to_vendor_at
            if at < len(data):  # what the window did not take last time
                try:
                    sent = channel.transport.send_channel_data(channel, memoryview(data)[at:])
                except TimeoutError:
                    return False  # the window is shut: its adjust wakes us (on_window_adjust)
                self.owner.counters.add("bytes_to_vendor", sent)
                self._to_vendor_at = at + sent
                continue
            self._to_vendor, self._to_vendor_at = b"", 0
            # A read that did not fill what it asked for most likely emptied the socket: leave the
            # next one to the selector instead of a read that would only say so.
            got, self._got = self._got, 0
            if 0 < got < self._asked:
                return False
            # read no more than the vendor's window takes now (the rest stays in the
            # kernel until a window adjust wakes us), nor than this connection's share
            # of the budget: a jumphost that stops reading cannot make us hold more
            room = min(TARGET_READ, channel.out_window_size, self._ledger.allowance)
            if self._target_eof or room <= 0:
                return False
            # whole packets: 256 KiB would go out as eight full packets and a 512-byte one
            payload = channel.out_max_packet_size - PACKET_OVERHEAD
            if room > payload > 0:
                room -= room % payload
            self._asked = room
            # into the loop's buffer and on from there: no bytes object per read (glibc
            # gave 256 KiB ones back to the system and faulted them in again each time);
            # only what the window does not take is copied out and kept
            scratch = loop.read_buffer()
            try:
                got = self._got = sock.recv_into(scratch, room)
            except BlockingIOError:
                return False
            if not got:
                self._target_eof = True
                channel.shutdown_write()
                return False
            try:
                sent = channel.transport.send_channel_data(channel, scratch[:got])
            except TimeoutError:
                sent = 0
            if sent:
                self.owner.counters.add("bytes_to_vendor", sent)
            if sent < got:
                self._to_vendor = bytes(scratch[sent:got])
                if not sent:
                    return False  # the window is shut: its adjust wakes us
        return True

    def _watch_socket(self) -> None:
        """Ask the selector for what this connection waits on from its target socket."""
        events = 0
        if self._pending:
            events |= selectors.EVENT_WRITE
        if not self._target_eof and not self._to_vendor and self.channel.out_window_size > 0:
            events |= selectors.EVENT_READ
        if events != self._events:
            assert self.loop is not None and self.sock is not None
            self.loop.watch(self.sock, self, self._events, events)
            self._events = events

    def close(self) -> None:
        """End the connection: close both ends and tell the owner (loop thread only)."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            self._pending = bytearray()
        sock = self.sock
        if sock is not None:
            if self.loop is not None and self._events:
                self.loop.watch(sock, self, self._events, 0)
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        with contextlib.suppress(Exception):
            self.channel.close()
        if self.loop is not None:
            self.loop.finished(self)
            self.owner._done(self)
