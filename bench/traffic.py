"""The loopback target and the traffic the bench sends through the jumphost's port."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
import time

from tests.support.net import recv_exact

CHUNK = 1 << 20

# sshd listens on a remote forward with a backlog of 128 (SSH_LISTEN_BACKLOG). 1,000 SYNs
# at once overflow it: Linux answers the excess with SYN cookies, and a cookie handshake
# whose last ACK meets a full accept queue is dropped without a trace, leaving the client
# "connected" to nothing until its timeout. That hit both clients alike (errors equal to
# the kernel's TCPReqQFullDoCookies count); it measures sshd's accept loop and the
# kernel, not the tunnel. So at most CONNECTING connects are in flight at once.
CONNECTING = 100


class Target:
    """One loopback server; the first byte a client sends picks the mode."""

    def __init__(self, bulk: int) -> None:
        self.bulk = bulk
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=1024)
        self.port = self.listener.getsockname()[1]
        self._held: list[socket.socket] = []
        self._held_changed = threading.Condition()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        held = False
        try:
            conn.sendall(b"!")  # greeting: lets a client time connect + first byte
            mode = conn.recv(1)
            if mode == b"I":  # idle: kept open and unread, without a thread, until released
                with self._held_changed:
                    self._held.append(conn)
                    self._held_changed.notify_all()
                held = True
            elif mode == b"S":  # send bulk to the vendor
                block = os.urandom(CHUNK)
                left = self.bulk
                while left:
                    n = min(left, CHUNK)
                    conn.sendall(block[:n])
                    left -= n
            elif mode == b"R":  # receive bulk from the vendor, then say how much
                got = 0
                while got < self.bulk:
                    data = conn.recv(CHUNK)
                    if not data:
                        break
                    got += len(data)
                conn.sendall(str(got).encode())
            elif mode == b"E":  # echo
                while data := conn.recv(65536):
                    conn.sendall(data)
        except OSError:
            pass
        finally:
            if not held:
                conn.close()

    def wait_held(self, count: int, timeout: float) -> bool:
        """Wait until ``count`` idle connections are held (at most ``timeout`` seconds)."""
        with self._held_changed:
            return self._held_changed.wait_for(lambda: len(self._held) >= count, timeout)

    def release_held(self) -> None:
        """Close every idle connection held."""
        with self._held_changed:
            held, self._held = self._held, []
        for conn in held:
            conn.close()

    def close(self) -> None:
        self.listener.close()
        self.release_held()


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    assert recv_exact(sock, 1) == b"!"
    return sock


def bulk_to_vendor(port: int, size: int) -> float:
    """``size`` bytes from the target to the vendor; MB/s."""
    with _connect(port) as sock:
        started = time.perf_counter()
        sock.sendall(b"S")
        got = 0
        while got < size:
            data = sock.recv(CHUNK)
            if not data:
                break
            got += len(data)
        elapsed = time.perf_counter() - started
    assert got == size, f"received {got} of {size}"
    return size / elapsed / 1e6


def bulk_to_target(port: int, size: int) -> float:
    """``size`` bytes from the vendor to the target, until the target has counted them; MB/s."""
    block = os.urandom(CHUNK)
    with _connect(port) as sock:
        started = time.perf_counter()
        sock.sendall(b"R")
        left = size
        while left:
            n = min(left, CHUNK)
            sock.sendall(block[:n])
            left -= n
        answer = sock.recv(64)
        elapsed = time.perf_counter() - started
    assert int(answer) == size
    return size / elapsed / 1e6


def round_trips(port: int, count: int) -> list[float]:
    """``count`` 64-byte echoes on one connection; µs each."""
    payload = b"x" * 64
    times: list[float] = []
    with _connect(port) as sock:
        sock.sendall(b"E")
        for _ in range(count):
            started = time.perf_counter()
            sock.sendall(payload)
            recv_exact(sock, 64)
            times.append((time.perf_counter() - started) * 1e6)
    return times


def connects(port: int, count: int) -> list[float]:
    """``count`` fresh connections one after another; ms from connect to the first byte."""
    times: list[float] = []
    for _ in range(count):
        started = time.perf_counter()
        with _connect(port) as sock:
            times.append((time.perf_counter() - started) * 1e3)
            sock.sendall(b"E")
    return times


async def _echo_once(port: int, payload: bytes) -> float:
    """One fresh connection: connect, first byte, echo ``payload``; returns setup ms."""
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if await reader.readexactly(1) != b"!":
            raise RuntimeError("no greeting")
        setup = (time.perf_counter() - started) * 1e3
        writer.write(b"E" + payload)
        await writer.drain()
        if await reader.readexactly(len(payload)) != payload:
            raise RuntimeError("echo differs")
        return setup
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _held_echo(
    port: int,
    payload: bytes,
    gate: asyncio.Semaphore,
    all_open: asyncio.Event,
    settled: list[int],
    count: int,
) -> None:
    def settle() -> None:  # opened, or failed to: once all have, the echoes start
        settled[0] += 1
        if settled[0] == count:
            all_open.set()

    async with gate:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except BaseException:
            settle()
            raise
        try:
            writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if await reader.readexactly(1) != b"!":
                raise RuntimeError("no greeting")
        except BaseException:
            settle()
            writer.close()
            raise
    try:
        settle()
        await all_open.wait()
        writer.write(b"E" + payload)
        await writer.drain()
        if await reader.readexactly(len(payload)) != payload:
            raise RuntimeError("echo differs")
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _concurrent(port: int, count: int, size: int) -> tuple[int, float]:
    payload = os.urandom(size)
    gate, all_open, settled = asyncio.Semaphore(CONNECTING), asyncio.Event(), [0]
    started = time.perf_counter()
    outcomes = await asyncio.gather(
        *(asyncio.wait_for(_held_echo(port, payload, gate, all_open, settled, count), 120)
          for _ in range(count)),
        return_exceptions=True,
    )  # fmt: skip
    wall = time.perf_counter() - started
    return sum(isinstance(o, BaseException) for o in outcomes), wall


def concurrent_echoes(port: int, count: int, size: int) -> tuple[int, float]:
    """``count`` connections open at once (connects paced, see CONNECTING), then each
    echoes ``size`` bytes: (errors, wall s)."""
    return asyncio.run(_concurrent(port, count, size))


async def _burst(port: int, rate: int, seconds: float) -> tuple[int, list[float]]:
    payload = b"x" * 64
    tasks = []
    started = time.perf_counter()
    for index in range(int(rate * seconds)):
        # an absolute schedule, so a slow connection does not delay the next one
        await asyncio.sleep(max(0.0, started + index / rate - time.perf_counter()))
        tasks.append(asyncio.ensure_future(asyncio.wait_for(_echo_once(port, payload), 60)))
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    setups = [o for o in outcomes if isinstance(o, float)]
    return len(outcomes) - len(setups), setups


def connection_burst(port: int, rate: int, seconds: float) -> tuple[int, list[float]]:
    """``rate`` new connections a second for ``seconds``: (errors, setup ms of the rest)."""
    return asyncio.run(_burst(port, rate, seconds))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
