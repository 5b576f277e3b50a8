"""CPU time, resident memory and open descriptors of a client process, read from /proc."""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid``, every thread (live or ended) included; the
    kernel counts in clock ticks, so the resolution is 1/SC_CLK_TCK (10 ms)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def rss_kib(pid: int) -> float:
    """VmRSS of ``pid`` in KiB (NaN if the kernel does not say)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return float(line.split()[1])
    return float("nan")


def rss_mib(pid: int) -> float:
    return rss_kib(pid) / 1024


def open_fds(pid: int) -> int:
    """How many descriptors ``pid`` has open."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def idle_cost(pid: int, seconds: float) -> tuple[float, float]:
    """CPU % of one core and RSS (MiB) of ``pid`` over ``seconds`` of doing nothing."""
    before, started = cpu_seconds(pid), time.perf_counter()
    time.sleep(seconds)
    used, elapsed = cpu_seconds(pid) - before, time.perf_counter() - started
    return used / elapsed * 100, rss_mib(pid)


def raise_open_file_limit(want: int = 65536) -> int:
    """Lift this process's soft RLIMIT_NOFILE towards ``want`` (the clients it starts inherit
    it); returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        soft = want
    return soft


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of every CPU since boot, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def settle(busy_below: float = 0.10, window: float = 0.25, limit: float = 20.0) -> float:
    """Wait until the machine's CPUs are less than ``busy_below`` busy over a ``window``
    (the previous client's closed connections and the target's threads winding down), at
    most ``limit`` seconds; returns the seconds waited."""
    started = time.perf_counter()
    busy, total = _machine_ticks()
    while time.perf_counter() - started < limit:
        time.sleep(window)
        now_busy, now_total = _machine_ticks()
        if now_total > total and (now_busy - busy) / (now_total - total) < busy_below:
            break
        busy, total = now_busy, now_total
    return time.perf_counter() - started
