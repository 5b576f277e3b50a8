"""Tunnelkeeper vs `ssh -N -R` on one loopback sshd, interleaved A B A B, as ratios."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
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
def tunnelkeeper(setup: Setup) -> Iterator[float]:
    """`tunnelkeeper run` as users run it; yields seconds from start to forward granted."""
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
        yield time.perf_counter() - started
    finally:
        proc.terminate()
        proc.wait(10)
        wait_until(lambda: not port_is_listening(setup.remote_port), 10)


@contextlib.contextmanager
def openssh(setup: Setup) -> Iterator[float]:
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
        yield time.perf_counter() - started
    finally:
        proc.terminate()
        proc.wait(10)
        wait_until(lambda: not port_is_listening(setup.remote_port), 10)


# --- the run -----------------------------------------------------------------------------

Metrics = dict[str, list[float]]


def measure(
    setup: Setup,
    start: Callable[[Setup], contextlib.AbstractContextManager[float]],
    args: argparse.Namespace,
    into: Metrics,
) -> None:
    with start(setup) as ready:
        into.setdefault("start_to_forward_ms", []).append(ready * 1000)
        port = setup.remote_port
        into.setdefault("to_vendor_MBps", []).append(bulk_to_vendor(port, args.bulk))
        into.setdefault("to_target_MBps", []).append(bulk_to_target(port, args.bulk))
        rtts = round_trips(port, args.round_trips)
        into.setdefault("rtt_p50_us", []).append(percentile(rtts, 0.50))
        into.setdefault("rtt_p99_us", []).append(percentile(rtts, 0.99))
        conns = connects(port, args.connects)
        into.setdefault("connect_p50_ms", []).append(percentile(conns, 0.50))
        into.setdefault("connect_p99_ms", []).append(percentile(conns, 0.99))


def negotiated(log: str) -> list[str]:
    """The kex and ciphers sshd agreed on, per connection (from its DEBUG1 log)."""
    found = re.findall(
        r"kex: (algorithm: \S+|client->server cipher: \S+|server->client cipher: \S+)", log
    )
    return sorted(set(found))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--bulk", type=int, default=512 * 1024 * 1024, help="bytes per transfer")
    parser.add_argument("--round-trips", type=int, default=2000)
    parser.add_argument("--connects", type=int, default=200)
    args = parser.parse_args()

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
        kex = negotiated(sshd.log())
    finally:
        target.close()
        sshd.stop()
    report(results, args, kex)
    return 0


LABELS = {
    "to_vendor_MBps": ("bulk target→vendor", "MB/s", True),
    "to_target_MBps": ("bulk vendor→target", "MB/s", True),
    "rtt_p50_us": ("64-byte round trip p50", "µs", False),
    "rtt_p99_us": ("64-byte round trip p99", "µs", False),
    "connect_p50_ms": ("connect + first byte p50", "ms", False),
    "connect_p99_ms": ("connect + first byte p99", "ms", False),
    "start_to_forward_ms": ("process start → forward granted", "ms", False),
}


def report(results: dict[str, Metrics], args: argparse.Namespace, kex: list[str]) -> None:
    rows = []
    for key, (label, unit, higher_better) in LABELS.items():
        ours = statistics.median(results["tunnelkeeper"][key])
        theirs = statistics.median(results["openssh"][key])
        ratio = ours / theirs if theirs else float("nan")
        rows.append((label, unit, ours, theirs, ratio, higher_better))
    header = f"{'metric':34} {'unit':5} {'Tunnelkeeper':>13} {'OpenSSH':>10} {'ratio':>7}"
    lines = [header, "-" * len(header)]
    lines += [
        f"{label:34} {unit:5} {ours:13.1f} {theirs:10.1f} {ratio:7.2f}"
        for label, unit, ours, theirs, ratio, _ in rows
    ]
    print("\n".join(lines))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = ROOT / "bench" / "results" / f"bench-{stamp}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({
        "when": stamp, "rounds": args.rounds, "bulk_bytes": args.bulk,
        "round_trips": args.round_trips, "connects": args.connects,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version()},
        "negotiated": kex, "raw": results,
        "medians": {r[0]: {"unit": r[1], "tunnelkeeper": r[2], "openssh": r[3], "ratio": r[4]}
                    for r in rows},
    }, indent=2))  # fmt: skip
    print(f"\nnegotiated (sshd log): {', '.join(kex)}\nresults: {out}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
