"""Tunnelkeeper vs `ssh -N -R` on one loopback sshd, interleaved A B A B, as ratios."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import resource
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.net import free_port, port_is_listening, recv_exact, wait_until  # noqa: E402
from tests.support.sshd import Sshd, ssh_keygen  # noqa: E402

CHUNK = 1 << 20


# --- target servers ----------------------------------------------------------------------


class Target:
    """One loopback server; the first byte a client sends picks the mode."""

    def __init__(self, bulk: int) -> None:
        self.bulk = bulk
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=1024)
        self.port = self.listener.getsockname()[1]
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
        with contextlib.suppress(OSError), conn:
            conn.sendall(b"!")  # greeting: lets a client time connect + first byte
            mode = conn.recv(1)
            if mode == b"S":  # send bulk to the vendor
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

    def close(self) -> None:
        self.listener.close()


# --- measurements through the jumphost's allocated port ----------------------------------


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    assert recv_exact(sock, 1) == b"!"
    return sock


def bulk_to_vendor(port: int, size: int) -> float:
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


# sshd listens on a remote forward with a backlog of 128 (SSH_LISTEN_BACKLOG). 1,000 SYNs
# at once overflow it: Linux answers the excess with SYN cookies, and a cookie handshake
# whose last ACK meets a full accept queue is dropped without a trace, leaving the client
# "connected" to nothing until its timeout. That hit both clients alike (errors equal to
# the kernel's TCPReqQFullDoCookies count); it measures sshd's accept loop and the
# kernel, not the tunnel. So at most CONNECTING connects are in flight at once, and every
# connection waits until all are open and greeted before it echoes.
CONNECTING = 100


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


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def idle_cost(pid: int, seconds: float) -> tuple[float, float]:
    """CPU % of one core and RSS (MiB) of ``pid`` over ``seconds`` of doing nothing."""
    before, started = _cpu_seconds(pid), time.perf_counter()
    time.sleep(seconds)
    used, elapsed = _cpu_seconds(pid) - before, time.perf_counter() - started
    return used / elapsed * 100, _rss_mib(pid)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- the two contenders ------------------------------------------------------------------


@dataclass
class Setup:
    sshd: Sshd
    key: Path
    remote_port: int
    target: Target
    home: Path


@contextlib.contextmanager
def tunnelkeeper(setup: Setup) -> Iterator[tuple[float, int]]:
    """`tunnelkeeper run` as users run it; yields (seconds from start to forward granted,
    the process id)."""
    env = {**os.environ, "TUNNELKEEPER_HOME": str(setup.home)}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "run", "bench", "--events", "json"],
        cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        for _ in range(10):
            event = json.loads(proc.stdout.readline())
            if event["state"] == "connected":
                break
        else:
            raise RuntimeError("tunnelkeeper did not connect")
        yield time.perf_counter() - started, proc.pid
    finally:
        proc.terminate()
        proc.wait(10)
        wait_until(lambda: not port_is_listening(setup.remote_port), 10)


@contextlib.contextmanager
def openssh(setup: Setup) -> Iterator[tuple[float, int]]:
    """OpenSSH's client with the same key, port and pinned host key."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        ["ssh", "-N", "-R", f"localhost:{setup.remote_port}:127.0.0.1:{setup.target.port}",
         "-i", str(setup.key), "-p", str(setup.sshd.port),
         "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes",
         "-o", f"UserKnownHostsFile={setup.home / 'known_hosts'}",
         "-o", "StrictHostKeyChecking=yes", "-o", "ServerAliveInterval=10",
         "-o", "ServerAliveCountMax=1", f"{setup.sshd.user}@127.0.0.1"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        if not wait_until(lambda: port_is_listening(setup.remote_port), 30, interval=0.005):
            raise RuntimeError("ssh -R did not get its forward")
        yield time.perf_counter() - started, proc.pid
    finally:
        proc.terminate()
        proc.wait(10)
        wait_until(lambda: not port_is_listening(setup.remote_port), 10)


# --- the run -----------------------------------------------------------------------------

Metrics = dict[str, list[float]]


def measure(
    setup: Setup,
    start: Callable[[Setup], contextlib.AbstractContextManager[tuple[float, int]]],
    args: argparse.Namespace,
    into: Metrics,
) -> None:
    def record(name: str, value: float) -> None:
        into.setdefault(name, []).append(value)

    with start(setup) as (ready, pid):
        record("start_to_forward_ms", ready * 1000)
        if args.idle:  # first, while nothing has run through the tunnel yet
            cpu, rss = idle_cost(pid, args.idle)
            record("idle_cpu_pct", cpu)
            record("idle_rss_mib", rss)
        port = setup.remote_port
        into.setdefault("to_vendor_MBps", []).append(bulk_to_vendor(port, args.bulk))
        into.setdefault("to_target_MBps", []).append(bulk_to_target(port, args.bulk))
        rtts = round_trips(port, args.round_trips)
        into.setdefault("rtt_p50_us", []).append(percentile(rtts, 0.50))
        into.setdefault("rtt_p99_us", []).append(percentile(rtts, 0.99))
        conns = connects(port, args.connects)
        into.setdefault("connect_p50_ms", []).append(percentile(conns, 0.50))
        into.setdefault("connect_p99_ms", []).append(percentile(conns, 0.99))
        if args.concurrent:
            errors, wall = concurrent_echoes(port, args.concurrent, 64 * 1024)
            record("concurrent_errors", errors)
            record("concurrent_wall_s", wall)
        if args.burst_rate:
            errors, setups = connection_burst(port, args.burst_rate, args.burst_seconds)
            record("burst_errors", errors)
            record("burst_setup_p99_ms", percentile(setups, 0.99) if setups else float("nan"))
        record("rss_after_mib", _rss_mib(pid))


def gui_idle(setup: Setup, command: str, seconds: float) -> Metrics:
    """Item 7 (GUI): idle CPU and RSS of the desktop app with the tunnel up.

    The app starts the saved tunnel by itself; with no screen it runs on Qt's offscreen
    platform (the status window stands in for the tray), which draws nothing while idle,
    as a real tray app does."""
    env = {**os.environ, "TUNNELKEEPER_HOME": str(setup.home)}
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    proc = subprocess.Popen(
        shlex.split(command), cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        if not wait_until(lambda: port_is_listening(setup.remote_port), 60, interval=0.05):
            raise RuntimeError("the desktop app did not bring the forward up")
        cpu, rss = idle_cost(proc.pid, seconds)
        return {"idle_cpu_pct": [cpu], "idle_rss_mib": [rss]}
    finally:
        proc.terminate()
        proc.wait(10)


def negotiated(log: str) -> dict[str, list[str]]:
    """The kex and ciphers sshd agreed on, per client software (from its DEBUG1 log)."""
    found: dict[str, set[str]] = {}
    client = "unknown"
    pattern = re.compile(
        r"remote software version (\S+)"
        r"|kex: (algorithm: \S+|client->server cipher: \S+ MAC: \S+"
        r"|server->client cipher: \S+ MAC: \S+)"
    )
    for match in pattern.finditer(log):
        if match.group(1):
            client = match.group(1)
        else:
            found.setdefault(client, set()).add(match.group(2))
    return {name: sorted(items) for name, items in found.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--bulk", type=int, default=512 * 1024 * 1024, help="bytes per transfer")
    parser.add_argument("--round-trips", type=int, default=2000)
    parser.add_argument("--connects", type=int, default=200)
    parser.add_argument("--concurrent", type=int, default=1000, help="0 skips (item 5)")
    parser.add_argument("--burst-rate", type=int, default=200, help="0 skips (item 6)")
    parser.add_argument("--burst-seconds", type=float, default=10.0)
    parser.add_argument("--idle", type=float, default=60.0, help="seconds; 0 skips (item 7)")
    parser.add_argument(
        "--gui-cmd",
        default=f"{shlex.quote(sys.executable)} -m app",
        help="the desktop app's command line; its idle CPU and RSS are measured each round "
        "with the tunnel up (item 7, GUI); an empty string skips it",
    )
    args = parser.parse_args()
    # 1,000 connections need ~2,000 descriptors here and in the processes started below.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))

    work = Path(tempfile.mkdtemp(prefix="tk-bench-"))
    key = ssh_keygen(work / "id_bench", comment="bench")
    sshd = Sshd(work / "sshd")
    # sshd keeps the first LogLevel it reads: DEBUG1 logs the negotiated kex and ciphers
    sshd.config.write_text(sshd.config.read_text().replace("LogLevel VERBOSE", "LogLevel DEBUG1"))
    remote_port = free_port()
    sshd.authorize_tunnel(key, f"localhost:{remote_port}")
    sshd.start()
    target = Target(args.bulk)
    home = work / "home"
    home.mkdir()
    pub = Path(f"{sshd.host_key}.pub").read_text().split()
    (home / "known_hosts").write_text(f"[127.0.0.1]:{sshd.port} {pub[0]} {pub[1]}\n")
    subprocess.run(
        [sys.executable, "-m", "app", "add", "bench", "--jumphost", "127.0.0.1",
         "--ssh-port", str(sshd.port), "--user", sshd.user, "--remote-port", str(remote_port),
         "--target", f"127.0.0.1:{target.port}", "--key", str(key)],
        cwd=ROOT, env={**os.environ, "TUNNELKEEPER_HOME": str(home)}, check=True,
        capture_output=True,
    )  # fmt: skip
    setup = Setup(sshd, key, remote_port, target, home)
    results: dict[str, Metrics] = {"tunnelkeeper": {}, "openssh": {}}
    try:
        for number in range(1, args.rounds + 1):
            print(f"round {number}/{args.rounds}", file=sys.stderr, flush=True)
            measure(setup, tunnelkeeper, args, results["tunnelkeeper"])
            measure(setup, openssh, args, results["openssh"])
            if args.gui_cmd and args.idle:
                for key, values in gui_idle(setup, args.gui_cmd, args.idle).items():
                    results.setdefault("gui", {}).setdefault(key, []).extend(values)
        kex = negotiated(sshd.log())
    finally:
        target.close()
        sshd.stop()
    report(results, args, kex)
    return 0


LABELS = {
    "to_vendor_MBps": ("bulk target→vendor", "MB/s"),
    "to_target_MBps": ("bulk vendor→target", "MB/s"),
    "rtt_p50_us": ("64-byte round trip p50", "µs"),
    "rtt_p99_us": ("64-byte round trip p99", "µs"),
    "connect_p50_ms": ("connect + first byte p50", "ms"),
    "connect_p99_ms": ("connect + first byte p99", "ms"),
    "concurrent_errors": ("{concurrent} concurrent, 64 KiB echo each: errors", "count"),
    "concurrent_wall_s": ("{concurrent} concurrent, 64 KiB echo each: wall", "s"),
    "burst_errors": ("{burst_rate} new conn/s for {burst_seconds:g} s: errors", "count"),
    "burst_setup_p99_ms": ("{burst_rate} new conn/s for {burst_seconds:g} s: setup p99", "ms"),
    "idle_cpu_pct": ("idle {idle:g} s, headless: CPU", "%"),
    "idle_rss_mib": ("idle, headless: RSS", "MiB"),
    "rss_after_mib": ("RSS after the round's load", "MiB"),
    "start_to_forward_ms": ("process start → forward granted", "ms"),
}


def report(
    results: dict[str, Metrics], args: argparse.Namespace, kex: dict[str, list[str]]
) -> None:
    rows = []
    for key, (label, unit) in LABELS.items():
        if key not in results["tunnelkeeper"]:
            continue  # skipped with its option set to 0
        ours = statistics.median(results["tunnelkeeper"][key])
        theirs = statistics.median(results["openssh"][key])
        ratio = ours / theirs if theirs else float("nan")
        rows.append((label.format(**vars(args)), unit, ours, theirs, ratio))
    for key, values in results.get("gui", {}).items():
        label, unit = LABELS[key]
        rows.append((label.format(**vars(args)).replace("headless", "GUI"), unit,
                     statistics.median(values), float("nan"), float("nan")))  # fmt: skip
    header = f"{'metric':44} {'unit':5} {'Tunnelkeeper':>13} {'OpenSSH':>10} {'ratio':>7}"
    lines = [header, "-" * len(header)]
    lines += [
        f"{label:44} {unit:5} {ours:13.1f} {theirs:10.1f} {ratio:7.2f}"
        for label, unit, ours, theirs, ratio in rows
    ]
    print("\n".join(lines))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = ROOT / "bench" / "results" / f"bench-{stamp}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({
        "when": stamp, "args": vars(args),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version()},
        "negotiated": kex, "raw": results,
        "medians": {r[0]: {"unit": r[1], "tunnelkeeper": r[2], "openssh": r[3], "ratio": r[4]}
                    for r in rows},
    }, indent=2))  # fmt: skip
    for client, items in kex.items():
        print(f"negotiated by {client} (sshd log): {', '.join(items)}", file=sys.stderr)
    print(f"results: {out}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
