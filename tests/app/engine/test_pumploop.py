"""Forwarding loops on a thread of their own and hosted by another thread, on real sockets."""

from __future__ import annotations

import socket
import threading

from app.engine.pumploop import PumpLoop
from tests.support.net import wait_until


class Recorder:
    """A connection that records what its loop does with it, and on which thread."""

    def __init__(self) -> None:
        self.closed = False
        self.loop: PumpLoop | None = None
        self.threads: set[str] = set()
        self.services = 0

    def start(self, loop: PumpLoop) -> None:
        self.loop = loop
        self.threads.add(threading.current_thread().name)

    def service(self) -> None:
        self.services += 1
        self.threads.add(threading.current_thread().name)

    def close(self) -> None:
        self.closed = True
        if self.loop is not None:
            self.loop.finished(self)


def test_serve_returns_when_the_host_socket_is_readable_or_the_time_is_up(
    socket_pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, theirs = socket_pair  # the host's (as the jumphost's) and its far end
    loop = PumpLoop(threading.Lock(), hosted=True)
    try:
        assert loop.serve(ours, 0.05) is False
        theirs.send(b"x")
        assert loop.serve(ours, 30) is True
    finally:
        loop.host_ended()


def test_a_hosted_loop_runs_its_connections_only_on_the_host_thread(
    socket_pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, _ = socket_pair
    loop = PumpLoop(threading.Lock(), hosted=True)
    connection = Recorder()
    loop.add(connection)
    assert connection.loop is None  # nobody runs the loop until the host waits in it
    loop.serve(ours, 0.05)
    assert connection.services >= 1
    assert connection.threads == {threading.current_thread().name}
    loop.stop()
    assert loop.serve(ours, 30) is True  # stopping ends the loop and lets the host read
    assert connection.closed
    loop.join(0)  # already ended: returns at once


def test_when_the_host_ends_its_connections_close_and_later_ones_too(
    socket_pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, _ = socket_pair
    loop = PumpLoop(threading.Lock(), hosted=True)
    first, second = Recorder(), Recorder()
    loop.add(first)
    loop.serve(ours, 0.05)
    loop.host_ended()
    assert first.closed
    loop.add(second)  # a dial that finished after the host was gone
    assert second.closed


def test_a_loop_on_its_own_thread_serves_and_stops() -> None:
    loop = PumpLoop(threading.Lock())
    connection = Recorder()
    loop.add(connection)
    assert wait_until(lambda: connection.services >= 1, 30)
    assert connection.threads == {"forward-loop"}
    loop.stop()
    loop.join(30)
    assert connection.closed
