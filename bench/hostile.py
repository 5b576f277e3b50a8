"""What a hostile jumphost can make `tunnelkeeper run` spend: peak RSS per attack (issue 13).

Run as root (the black-holed target uses iptables on loopback):
    .venv/bin/python bench/hostile.py [--push-seconds 60] [--connections 1000]
Prints a Markdown table; each attack runs against a fresh `tunnelkeeper run` process.
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core import knownhosts  # noqa: E402
from tests.support import firewall  # noqa: E402
from tests.support.cli import spawn_run, stop, tk  # noqa: E402
from tests.support.fake_jumphost import HostileJumphost  # noqa: E402
from tests.support.flood import (  # noqa: E402
    MIB,
    REMOTE_PORT,
    Client,
    StalledTarget,
    open_channels,
    push_to_the_window,
    raw_data,
    rss,
)
from tests.support.net import free_port  # noqa: E402
from tests.support.sshd import ssh_keygen  # noqa: E402

Script = Callable[[Any, HostileJumphost], None]


def attack(name: str, script: Script, target_port: int, wait: float) -> dict[str, Any]:
    """Run ``script`` against a fresh client; peak RSS and whether the link was dropped."""
    home = Path(tempfile.mkdtemp(prefix="tk-hostile-"))
    env = {**os.environ, "TUNNELKEEPER_HOME": str(home)}
    key = ssh_keygen(home / "id_client", comment="bench")
    hostile = HostileJumphost(script)
    go = threading.Event()
    hostile.results["go"] = go
    added = tk(
        "add", "hostile", "--jumphost", "127.0.0.1", "--ssh-port", str(hostile.port),
        "--user", "u", "--remote-port", str(REMOTE_PORT),
        "--target", f"127.0.0.1:{target_port}", "--key", str(key), env=env,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    pattern = knownhosts.host_pattern("127.0.0.1", hostile.port)
    line = knownhosts.format_line(pattern, hostile.key.get_name(), hostile.key.asbytes())
    (home / "known_hosts").write_text(line + "\n")
    proc = spawn_run("hostile", env=env, stderr=subprocess.DEVNULL)
    client = Client(proc)
    try:
        if not client.wait_for(lambda e: e.get("state") == "connected", 30):
            raise RuntimeError(f"{name}: the client never connected")
        base, _ = rss(proc.pid)
        go.set()
        hostile.script_done.wait(wait)
        dropped = client.wait_for(lambda e: "window" in str(e.get("detail")), 5)
        current, peak = rss(proc.pid)
    finally:
        hostile.close()
        stop(proc, timeout=30)  # a dial to a black-holed target may hold the exit 10 s
    return {
        "attack": name,
        "sent": hostile.results.get("sent", 0),
        "base": base,
        "peak": peak,
        "end": current,
        "dropped": dropped,
    }


def overrun(transport: Any, server: HostileJumphost) -> None:
    assert server.forward_requested.wait(30)
    server.results["go"].wait(30)
    (channel,) = open_channels(transport, 1)
    payload, sent = b"\0" * 32768, 0
    deadline = time.monotonic() + 20
    while transport.is_active() and time.monotonic() < deadline and sent < 1024 * MIB:
        transport._send_user_message(raw_data(channel.remote_chanid, payload))
        sent += len(payload)
        server.results["sent"] = sent  # kept as it goes: the client may hang up mid-send


def pusher(count: int, chunk: bytes, seconds: float, settle: float) -> Script:
    def script(transport: Any, server: HostileJumphost) -> None:
        assert server.forward_requested.wait(30)
        server.results["go"].wait(30)
        channels = open_channels(transport, count)
        server.results["sent"] = push_to_the_window(channels, chunk, seconds, settle)

    return script


def endless_greeting_cpu() -> tuple[float, float]:
    """CPU and wall seconds `trust` spends on a greeting line that never ends."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]

    def serve() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        deadline = time.monotonic() + 30
        with conn:
            try:
                while time.monotonic() < deadline:
                    conn.sendall(b"\x1b[31m" + b"A" * 65536)
            except OSError:
                pass

    threading.Thread(target=serve, daemon=True).start()
    home = Path(tempfile.mkdtemp(prefix="tk-hostile-"))
    env = {**os.environ, "TUNNELKEEPER_HOME": str(home)}
    key = ssh_keygen(home / "id_client", comment="bench")
    tk(
        "add", "e", "--jumphost", "127.0.0.1", "--ssh-port", str(port), "--user", "u",
        "--remote-port", "40000", "--target", "127.0.0.1:5432", "--key", str(key), env=env,
    )  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    tk("trust", "e", "--yes", env=env)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    listener.close()
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--push-seconds", type=float, default=60.0)
    parser.add_argument("--connections", type=int, default=1000)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    if not firewall.available():
        sys.exit("needs root and iptables (the black-holed target)")
    hole = firewall.Blackhole()
    blackholed = free_port()
    hole.port(blackholed)
    stalled = StalledTarget()
    rows = []
    try:
        rows.append(attack("window overrun, target black-holed", overrun, blackholed, 40))
        rows.append(
            attack(
                "40 channels behind the diallers, to the window",
                pusher(40, b"\0" * 32768, 20, 2),
                blackholed,
                60,
            )
        )
        rows.append(
            attack(
                "1-byte packets, target never reads (25 s)",
                pusher(1, b"x", 25, 2),
                stalled.port,
                60,
            )
        )
        rows.append(
            attack(
                f"{args.connections:,} stalled connections, pushed {args.push_seconds:g} s",
                pusher(args.connections, b"\0" * 32768, args.push_seconds, args.push_seconds),
                stalled.port,
                args.push_seconds + 120,
            )
        )
    finally:
        stalled.close()
        hole.clear()
    print("| attack | sent by the jumphost | RSS before | peak RSS | growth | link dropped |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for row in rows:
        print(
            f"| {row['attack']} | {row['sent'] / MIB:,.1f} MiB | {row['base'] / MIB:.0f} MiB "
            f"| {row['peak'] / MIB:.0f} MiB | {(row['peak'] - row['base']) / MIB:+.0f} MiB "
            f"| {'yes (window overrun)' if row['dropped'] else 'no'} |"
        )
    cpu, wall = endless_greeting_cpu()
    print(f"\nendless greeting line: `trust` took {wall:.1f} s, {cpu:.1f} s CPU")


if __name__ == "__main__":
    main()
