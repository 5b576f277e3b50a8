"""Client memory per open, idle forwarded connection: RSS at several connection counts and
the least-squares slope through them."""

from __future__ import annotations

import asyncio
import socket
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from bench.procstat import rss_kib
from bench.traffic import CONNECTING, Target
from tests.support.net import wait_until

OPEN_TIMEOUT = 60.0  # seconds for one connection to open and be greeted
DRAIN_TIMEOUT = 60.0  # seconds for the client to close every channel afterwards


@dataclass
class MemoryCurve:
    """RSS (KiB) of the client at each count of idle connections it carried."""

    points: list[tuple[int, float]] = field(default_factory=list)  # (connections held, KiB)
    errors: int = 0  # connections that did not open, or were not greeted, in time
    drained: bool = True  # the client closed its side of every one afterwards

    def slope_kib(self) -> float:
        """KiB per connection, least squares; NaN with fewer than two distinct counts."""
        counts = [float(n) for n, _ in self.points]
        if len(set(counts)) < 2:
            return float("nan")
        return statistics.linear_regression(counts, [kib for _, kib in self.points]).slope


async def _open_idle(port: int, gate: asyncio.Semaphore) -> asyncio.StreamWriter:
    """One connection through the forward, greeted by the target (so the channel is open
    both ways), then told to sit idle."""
    async with gate:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if await reader.readexactly(1) != b"!":
                raise RuntimeError("no greeting")
            writer.write(b"I")
            await writer.drain()
        except BaseException:
            writer.close()
            raise
    return writer


async def _climb(port: int, pid: int, target: Target, levels: list[int]) -> MemoryCurve:
    curve = MemoryCurve()
    gate = asyncio.Semaphore(CONNECTING)
    held: list[asyncio.StreamWriter] = []
    try:
        for level in sorted(levels):
            outcomes = await asyncio.gather(
                *(asyncio.wait_for(_open_idle(port, gate), OPEN_TIMEOUT)
                  for _ in range(level - len(held))),
                return_exceptions=True,
            )  # fmt: skip
            opened = [o for o in outcomes if isinstance(o, asyncio.StreamWriter)]
            held += opened
            curve.errors += len(outcomes) - len(opened)
            # the target has every one's mode byte: the client has passed data both ways
            await asyncio.to_thread(target.wait_held, len(held), OPEN_TIMEOUT)
            curve.points.append((len(held), rss_kib(pid)))
    finally:
        for writer in held:
            writer.close()
        target.release_held()
        await asyncio.gather(*(w.wait_closed() for w in held), return_exceptions=True)
    return curve


# /proc/net/tcp states in which the connecting process has not closed its socket yet:
# ESTABLISHED, SYN_SENT, CLOSE_WAIT (the others are past its close, or a listener)
_OPEN_STATES = {"01", "02", "08"}


def connected_to(port: int) -> int:
    """How many IPv4 sockets on this machine are connected to ``port`` and not yet closed
    by the process that holds them (from /proc/net/tcp)."""
    rows = [row.split() for row in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    return sum(row[3] in _OPEN_STATES and int(row[2].rsplit(":", 1)[1], 16) == port for row in rows)


def idle_connection_memory(port: int, pid: int, target: Target, levels: list[int]) -> MemoryCurve:
    """Open idle connections through ``port`` up to each of ``levels`` in turn (at most
    CONNECTING connects in flight) and read client ``pid``'s VmRSS at each; then close them
    all and wait until the client has closed its side of each (its sockets to the target)."""
    curve = asyncio.run(_climb(port, pid, target, levels))
    curve.drained = wait_until(lambda: not connected_to(target.port), DRAIN_TIMEOUT, 0.1)
    return curve
