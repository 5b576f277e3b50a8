"""Tunnelkeeper vs OpenSSH's `ssh -N -R` with its defaults and with the same cipher, on one
loopback sshd, interleaved round by round, as ratios (issue 20).

    .venv/bin/python bench/run.py [--rounds 5] [--bulk BYTES] [--conn-levels 0,100,1000,4000]

Each round runs the three clients one after the other (the order turned each round, so a
drift in the machine's load falls on each alike); see docs/benchmarks.md for the method.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import report  # noqa: E402
from bench.clients import (  # noqa: E402
    OPENSSH_DEFAULT,
    TUNNELKEEPER,
    Client,
    Setup,
    describe,
    key_exchanges,
    openssh_same,
    probe,
    same_cipher,
)
from bench.idle_conns import idle_connection_memory  # noqa: E402
from bench.procstat import (  # noqa: E402
    cpu_seconds,
    idle_cost,
    raise_open_file_limit,
    rss_mib,
    settle,
)
from bench.traffic import (  # noqa: E402
    Target,
    bulk_to_target,
    bulk_to_vendor,
    concurrent_echoes,
    connection_burst,
    connects,
    percentile,
    round_trips,
)
from tests.support.net import free_port, port_is_listening, wait_until  # noqa: E402
from tests.support.sshd import Sshd, ssh_keygen  # noqa: E402

GIB = 1 << 30


def measure(setup: Setup, client: Client, args: argparse.Namespace, into: report.Metrics) -> None:
    """One round of every measurement on a fresh ``client`` process, into ``into``."""

    def record(name: str, value: float) -> None:
        into.setdefault(name, []).append(value)

    # the machine quiet first (the previous client's closed connections, the target's
    # threads): Tunnelkeeper's start is ~130 ms of CPU, OpenSSH's mostly waits on sshd, so
    # leftover work would slow ours most. In the runs of 2026-11-28 the first 0.25 s
    # window was already quiet: the start's drift across rounds is not explained by it.
    record("settle_s", settle())
    with client.start(setup) as (ready, pid):
        record("start_to_forward_ms", ready * 1000)
        # at rest first, before anything has run through the tunnel
        if args.idle:
            cpu, rss = idle_cost(pid, args.idle)
            record("idle_cpu_pct", cpu)
        else:
            rss = rss_mib(pid)
        record("idle_rss_mib", rss)
        port = setup.remote_port
        for name, transfer in (("to_vendor", bulk_to_vendor), ("to_target", bulk_to_target)):
            before = cpu_seconds(pid)
            record(f"{name}_MBps", transfer(port, args.bulk))
            record(f"cpu_{name}_s_per_gib", (cpu_seconds(pid) - before) / (args.bulk / GIB))
        rtts = round_trips(port, args.round_trips)
        record("rtt_p50_us", percentile(rtts, 0.50))
        record("rtt_p99_us", percentile(rtts, 0.99))
        if args.connects:
            conns = connects(port, args.connects)
            record("connect_p50_ms", percentile(conns, 0.50))
            record("connect_p99_ms", percentile(conns, 0.99))
        if args.concurrent:
            errors, wall = concurrent_echoes(port, args.concurrent, 64 * 1024)
            record("concurrent_errors", errors)
            record("concurrent_wall_s", wall)
        if args.burst_rate:
            errors, setups = connection_burst(port, args.burst_rate, args.burst_seconds)
            record("burst_errors", errors)
            record("burst_setup_p99_ms", percentile(setups, 0.99) if setups else float("nan"))
        # last: after thousands of channels OpenSSH's client is slower (its poll loop walks
        # every channel slot it ever allocated, most likely): with the transfers after
        # this (up to 2026-11-28) its CPU per GiB was 23-31 % and its round trip 28 % higher
        if args.conn_levels:
            curve = idle_connection_memory(port, pid, setup.target, args.conn_levels)
            record("conn_slope_kib", curve.slope_kib())
            for level, (_, kib) in zip(args.conn_levels, curve.points, strict=True):
                record(f"rss_{level}_conns_mib", kib / 1024)
            record("conn_errors", curve.errors)
            if not curve.drained:
                print(f"  {client.label}: idle connections not all closed after 60 s",
                      file=sys.stderr)  # fmt: skip
        record("rss_after_mib", rss_mib(pid))


def gui_idle(setup: Setup, command: str, seconds: float) -> report.Metrics:
    """Idle CPU and RSS of the desktop app with the tunnel up.

    The app starts the saved tunnel by itself; with no screen it runs on Qt's offscreen
    platform (the status window stands in for the tray), which draws nothing while idle,
    as a real tray app does."""
    env = {**os.environ, "TUNNELKEEPER_HOME": str(setup.home)}
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    # the last client's sshd session may hold the port a moment after it ends: the app
    # would be refused it and back off
    if not wait_until(lambda: not port_is_listening(setup.remote_port), 120, interval=0.1):
        raise RuntimeError("the jumphost still holds the port 120 s after the last client")
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


def _levels(text: str) -> list[int]:
    levels = sorted({int(part) for part in text.split(",") if part.strip()})
    if any(level < 0 for level in levels):
        raise argparse.ArgumentTypeError("connection counts are 0 or more")
    return levels


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--bulk", type=int, default=512 * 1024 * 1024, help="bytes per transfer")
    parser.add_argument("--round-trips", type=int, default=2000)
    parser.add_argument("--connects", type=int, default=200, help="0 skips")
    parser.add_argument("--concurrent", type=int, default=1000, help="0 skips")
    parser.add_argument("--burst-rate", type=int, default=200, help="0 skips")
    parser.add_argument("--burst-seconds", type=float, default=10.0)
    parser.add_argument("--idle", type=float, default=60.0, help="seconds; 0 skips idle CPU")
    parser.add_argument(
        "--conn-levels", type=_levels, default=[0, 100, 1000, 4000],
        help="idle forwarded connections at which client RSS is read, comma-separated; "
        "'' skips the per-connection memory slope",
    )  # fmt: skip
    parser.add_argument(
        "--same-cipher", default="auto",
        help="OpenSSH's -c for the same-cipher client; 'auto' takes the one Tunnelkeeper "
        "negotiates (sshd's log of a first connection), with its MAC unless implicit",
    )  # fmt: skip
    parser.add_argument(
        "--gui-cmd",
        default=f"{shlex.quote(sys.executable)} -m app",
        help="the desktop app's command line; its idle CPU and RSS are measured each round "
        "with the tunnel up; an empty string skips it",
    )
    return parser.parse_args()


def compile_bytecode() -> None:
    """The app's modules compiled to bytecode, as every install has them (pip compiles at
    install, the frozen app carries .pyc files). A checkout run with PYTHONDONTWRITEBYTECODE
    (or stale caches after an edit) compiles them at every start instead: 30-40 ms of
    Tunnelkeeper's start that no user pays."""
    compileall.compile_dir(str(ROOT / "app"), quiet=1)


def start_world(args: argparse.Namespace, work: Path) -> Setup:
    """The jumphost (sshd logging the negotiated algorithms), the target and the profile."""
    compile_bytecode()
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
    return Setup(sshd, key, remote_port, target, home)


def contenders(
    setup: Setup, args: argparse.Namespace, work: Path
) -> tuple[list[Client], dict[str, dict[str, dict[str, str]]], dict[str, str]]:
    """The three clients, the same-cipher one with Tunnelkeeper's cipher unless
    --same-cipher names one; each started once to see what it negotiates (sshd's log, and
    `ssh -v` for OpenSSH): (clients, every view's algorithms, one line per view)."""
    ours = probe(setup, TUNNELKEEPER, work)
    if args.same_cipher == "auto":
        cipher, mac = same_cipher(ours["sshd_log"])
        why = "what Tunnelkeeper negotiated"
    else:
        cipher, mac, why = args.same_cipher, None, "--same-cipher"
    clients = [TUNNELKEEPER, openssh_same(cipher, mac), OPENSSH_DEFAULT]
    agreed = {TUNNELKEEPER.label: ours}
    for client in clients[1:]:
        agreed[client.label] = probe(setup, client, work)
    lines = {
        f"{label} ({view.replace('_', ' ').replace('ssh v', 'ssh -v')})": describe(kex)
        for label, views in agreed.items()
        for view, kex in views.items()
    }
    flags = f"-c {cipher}" + (f" -m {mac}" if mac else "")
    lines["OpenSSH same cipher runs with"] = f"`ssh {flags}` ({why})"
    return clients, agreed, lines


def main() -> int:
    args = parse_args()
    # 4,000 idle connections hold ~8,000 descriptors here (both ends) and 4,000+ in each
    # client and in sshd's session process, which inherit this limit.
    limit = raise_open_file_limit()
    needed = 2 * max(args.conn_levels, default=0) + 2 * args.concurrent + 256
    if limit < needed:
        print(f"the open-file limit is {limit}; this run needs about {needed}", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="tk-bench-"))
    setup = start_world(args, work)
    results: dict[str, report.Metrics] = {}
    try:
        clients, agreed, negotiated = contenders(setup, args, work)
        for who, what in negotiated.items():
            print(f"{who}: {what}", file=sys.stderr)
        orders = []
        for number in range(args.rounds):
            order = clients[number % 3 :] + clients[: number % 3]
            orders.append([c.key for c in order])
            print(f"round {number + 1}/{args.rounds}: {', '.join(c.label for c in order)}",
                  file=sys.stderr, flush=True)  # fmt: skip
            for client in order:
                measure(setup, client, args, results.setdefault(client.key, {}))
            if args.gui_cmd and args.idle:
                for name, values in gui_idle(setup, args.gui_cmd, args.idle).items():
                    results.setdefault("gui", {}).setdefault(name, []).extend(values)
        combos = {tuple(sorted(k.items())) for k in key_exchanges(setup.sshd.log())}
        extra: dict[str, object] = {
            "same_cipher": {"cipher": clients[1].cipher, "mac": clients[1].mac},
            "negotiated": agreed,
            "sshd_log_combinations": [dict(c) for c in sorted(combos)], "orders": orders,
            "versions": {"openssh": _ssh_version(), "paramiko": _paramiko_version()},
        }  # fmt: skip
    finally:
        setup.target.close()
        setup.sshd.stop()
    rows = report.summarize(results, args)
    print(report.markdown(rows, report.goals(rows), negotiated))
    out = report.write_json(ROOT, args, results, rows, extra)
    print(f"results: {out}\nsshd's log: {setup.sshd.log_file}", file=sys.stderr)
    return 0


def _ssh_version() -> str:
    done = subprocess.run(["ssh", "-V"], capture_output=True, text=True, check=False)
    return (done.stderr or done.stdout).strip()


def _paramiko_version() -> str:
    with contextlib.suppress(ImportError):
        import paramiko  # noqa: PLC0415

        return str(paramiko.__version__)
    return "unknown"


if __name__ == "__main__":
    sys.exit(main())
