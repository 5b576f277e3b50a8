"""A jumphost that floods forwarded channels cannot make `tunnelkeeper run` hold unbounded memory.

The client runs as users run it (a separate `tunnelkeeper run` process); a paramiko
server in this process plays the jumphost; the process's peak RSS is read from /proc.
Ceilings are generous: the measured figures are in bench/hostile.py's output.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core import knownhosts
from app.storage.paths import AppPaths
from tests.support import firewall
from tests.support.cli import spawn_run, stop, tk
from tests.support.fake_jumphost import HostileJumphost
from tests.support.flood import (
    MIB,
    REMOTE_PORT,
    Client,
    StalledTarget,
    open_channels,
    push_to_the_window,
    raw_data,
    rss,
)
from tests.support.net import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def stalled_target() -> Iterator[StalledTarget]:
    target = StalledTarget()
    try:
        yield target
    finally:
        target.close()


@pytest.fixture
def blackholed_port() -> Iterator[int]:
    """A loopback port whose packets iptables drops: dialling it hangs until the timeout."""
    if not firewall.available():
        pytest.skip("needs root and iptables to black-hole a loopback port")
    port = free_port()
    hole = firewall.Blackhole()
    try:
        hole.port(port)
        yield port
    finally:
        hole.clear()


@pytest.fixture
def run_client(
    tk_home: AppPaths, client_key: Path
) -> Iterator[Callable[[HostileJumphost, int], Client]]:
    procs: list[subprocess.Popen[str]] = []

    def start(hostile: HostileJumphost, target_port: int) -> Client:
        added = tk(
            "add", "hostile", "--jumphost", "127.0.0.1", "--ssh-port", str(hostile.port),
            "--user", "u", "--remote-port", str(REMOTE_PORT),
            "--target", f"127.0.0.1:{target_port}", "--key", str(client_key),
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        pattern = knownhosts.host_pattern("127.0.0.1", hostile.port)
        line = knownhosts.format_line(pattern, hostile.key.get_name(), hostile.key.asbytes())
        tk_home.known_hosts_file.write_text(line + "\n")
        proc = spawn_run("hostile", stderr=subprocess.DEVNULL)
        procs.append(proc)
        client = Client(proc)
        assert client.wait_for(lambda e: e.get("state") == "connected", 30)
        return client

    yield start
    for proc in procs:
        stop(proc)


def _lost_for_window(event: dict[str, Any]) -> bool:
    return event.get("state") in ("retrying", "error") and "window" in str(event.get("detail"))


@pytest.mark.parametrize("extended", [False, True], ids=["data", "extended-data"])
def test_data_past_the_window_while_the_target_is_dialled_is_never_held(
    run_client: Callable[[HostileJumphost, int], Client], blackholed_port: int, extended: bool
) -> None:
    """Item 1: this channel's data went to paramiko's unbounded buffer while the target
    (black-holed, 10 s dial) was dialled: 44 MB to 2,991 MB RSS. Extended (stderr) data
    went to another unbounded buffer of paramiko's, at any time."""

    def script(transport: Any, server: HostileJumphost) -> None:
        assert server.forward_requested.wait(30)
        server.results["connected"].wait(30)
        (channel,) = open_channels(transport, 1)
        payload = b"\0" * 32768
        deadline = time.monotonic() + 20
        sent = 0
        while transport.is_active() and sent < 512 * MIB and time.monotonic() < deadline:
            transport._send_user_message(raw_data(channel.remote_chanid, payload, extended))
            sent += len(payload)
        server.results["sent"] = sent

    hostile = HostileJumphost(script)
    hostile.results["connected"] = threading.Event()
    try:
        client = run_client(hostile, blackholed_port)
        base, _ = rss(client.proc.pid)
        hostile.results["connected"].set()
        if extended:
            # counted against the window and dropped, the window granted again at once
            # (as OpenSSH does): never held, so the jumphost may go on, at its own cost
            assert hostile.script_done.wait(60)
        else:
            assert client.wait_for(_lost_for_window, 40)
        _, peak = rss(client.proc.pid)
    finally:
        hostile.close()
    sent = hostile.results.get("sent", 0)
    print(f"overrun: sent {sent / MIB:.0f} MiB, base {base / MIB:.0f}, peak {peak / MIB:.0f} MiB")
    if extended:
        assert sent >= 64 * MIB  # enough to show in RSS had it been buffered
    assert peak - base < 16 * MIB, (base, peak)


def test_many_channels_queued_behind_the_diallers_stay_within_the_budget(
    run_client: Callable[[HostileJumphost, int], Client], blackholed_port: int
) -> None:
    """Item 1: 40 channels behind the 32 diallers, each pushed to its window."""

    def script(transport: Any, server: HostileJumphost) -> None:
        assert server.forward_requested.wait(30)
        server.results["connected"].wait(30)
        channels = open_channels(transport, 40)
        server.results["sent"] = push_to_the_window(channels, b"\0" * 32768, 20)

    hostile = HostileJumphost(script)
    hostile.results["connected"] = threading.Event()
    try:
        client = run_client(hostile, blackholed_port)
        base, _ = rss(client.proc.pid)
        hostile.results["connected"].set()
        assert hostile.script_done.wait(60)
        _, peak = rss(client.proc.pid)
    finally:
        hostile.close()
    assert "error" not in hostile.results, hostile.results.get("error")
    print(
        f"40 queued: sent {hostile.results['sent'] / MIB:.1f} MiB, base {base / MIB:.0f}, "
        f"peak {peak / MIB:.0f} MiB"
    )
    # 64 MiB budget: 40 windows of at most ~0.8 MiB each, ~33 MiB in all
    assert hostile.results["sent"] <= 64 * MIB
    assert peak - base < 64 * MIB, (base, peak)
    assert not any(_lost_for_window(e) for e in client.events)


@pytest.mark.slow
def test_one_byte_packets_cost_bytes_not_objects(
    run_client: Callable[[HostileJumphost, int], Client], stalled_target: StalledTarget
) -> None:
    """Item 2: 1-byte CHANNEL_DATA within the window to a target that never reads took
    782 MB for one connection (one queued object per packet)."""

    def script(transport: Any, server: HostileJumphost) -> None:
        assert server.forward_requested.wait(30)
        server.results["connected"].wait(30)
        channels = open_channels(transport, 1)
        # until the window stays shut (seconds when the machine is idle); 60 s on a busy one
        server.results["sent"] = push_to_the_window(channels, b"x", 60)

    hostile = HostileJumphost(script)
    hostile.results["connected"] = threading.Event()
    try:
        client = run_client(hostile, stalled_target.port)
        base, _ = rss(client.proc.pid)
        hostile.results["connected"].set()
        assert hostile.script_done.wait(120)
        _, peak = rss(client.proc.pid)
    finally:
        hostile.close()
    assert "error" not in hostile.results, hostile.results.get("error")
    print(
        f"1-byte: sent {hostile.results['sent']}, base {base / MIB:.0f}, peak {peak / MIB:.0f} MiB"
    )
    # past the kernel's ~1.7 MB send buffer, enough packets for a queue of objects to show
    assert hostile.results["sent"] > 2_000_000
    assert peak - base < 16 * MIB, (base, peak, hostile.results["sent"])


@pytest.mark.slow
def test_a_thousand_stalled_connections_stay_under_256_mib(
    run_client: Callable[[HostileJumphost, int], Client], stalled_target: StalledTarget
) -> None:
    """Item 3: 4,096 stalled connections took RSS from 44 MB to 7,760 MB."""

    def script(transport: Any, server: HostileJumphost) -> None:
        assert server.forward_requested.wait(30)
        server.results["connected"].wait(30)
        channels = open_channels(transport, 1000)
        server.results["opened"] = len(channels)
        server.results["sent"] = push_to_the_window(channels, b"\0" * 32768, 60)

    hostile = HostileJumphost(script)
    hostile.results["connected"] = threading.Event()
    try:
        client = run_client(hostile, stalled_target.port)
        hostile.results["connected"].set()
        assert hostile.script_done.wait(180)
        _, peak = rss(client.proc.pid)
    finally:
        hostile.close()
    assert "error" not in hostile.results, hostile.results.get("error")
    print(f"1000 stalled: sent {hostile.results['sent'] / MIB:.0f} MiB, peak {peak / MIB:.0f} MiB")
    assert hostile.results["opened"] == 1000
    assert peak < 256 * MIB, peak
