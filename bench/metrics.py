"""Idle CPU cost of the metrics endpoint (issue 18): `tunnelkeeper run` with one connected,
idle tunnel, without --metrics, with it, and with it scraped every 15 s as Prometheus does.

    .venv/bin/python bench/metrics.py [--rounds 3] [--seconds 60] [--scrape-every 15]

Each round runs the three variants one after the other (their order turned each round, so
a drift in the machine's load falls on each alike), each a fresh `run` against one real
loopback sshd. CPU is the process's user + system time from /proc/PID/stat (every thread,
live or ended), read after the tunnel has connected and settled, over ``--seconds``.
Prints each variant's median CPU seconds per minute and its ratio to the run without, both
of the medians and the median of each round's own ratio (steadier when the machine's load
drifts between rounds).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import start_jumphost  # noqa: E402
from tests.support.cli import add_profile, next_event, spawn_run, stop, tk  # noqa: E402
from tests.support.net import echo_handler, free_port, tcp_server  # noqa: E402
from tests.support.sshd import ssh_keygen  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
SETTLE = 5.0  # seconds after "connected" before measuring: start-up work is not idle cost
BURST = 100  # scrapes back to back after the idle window: one scrape's CPU, past 10 ms ticks


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process ``pid`` so far (all its threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14, 15)


def scrape(url: str) -> float:
    """One GET as Prometheus makes it; its wall time in seconds."""
    started = time.monotonic()
    with urllib.request.urlopen(url, timeout=10) as reply:  # noqa: S310 - http://127.0.0.1
        reply.read()
    return time.monotonic() - started


def measure(variant: str, seconds: float, every: float) -> tuple[float, list[float], float]:
    """Run `tunnelkeeper run db` as ``variant`` says; its CPU seconds over ``seconds`` of
    idleness, the scrapes' wall times, and (scraped) the CPU seconds of one scrape, from
    ``BURST`` more made back to back afterwards."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    flags = () if variant == "off" else ("--metrics", f"127.0.0.1:{port}")
    proc = spawn_run("db", *flags)
    scrapes: list[float] = []
    try:
        for wanted in ("connecting", "connected"):
            event = next_event(proc)
            if event["state"] != wanted:
                raise RuntimeError(f"expected {wanted}, got {event}")
        time.sleep(SETTLE)
        before = cpu_seconds(proc.pid)
        end = due = time.monotonic() + seconds
        if variant == "scraped":
            due = time.monotonic()
        while time.monotonic() < end:
            if variant == "scraped":
                scrapes.append(scrape(url))  # at 0, every, 2 * every … s
                due += every
            time.sleep(max(0.0, min(due, end) - time.monotonic()))
        used = cpu_seconds(proc.pid) - before
        per_scrape = 0.0
        if variant == "scraped":
            before = cpu_seconds(proc.pid)
            for _ in range(BURST):
                scrape(url)
            per_scrape = (cpu_seconds(proc.pid) - before) / BURST
    finally:
        _, err = stop(proc)
    if proc.returncode != 0:
        raise RuntimeError(f"run ended with {proc.returncode}: {err[-2000:]}")
    return used, scrapes, per_scrape


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--scrape-every", type=float, default=15.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tk-bench-metrics-"))
    os.environ["TUNNELKEEPER_HOME"] = str(work / "home")
    key = ssh_keygen(work / "id_tunnel")
    jump = start_jumphost(work / "jump", key)
    variants = ["off", "on", "scraped"]
    cpu: dict[str, list[float]] = {v: [] for v in variants}
    scrape_times: list[float] = []
    scrape_cpu: list[float] = []
    try:
        with tcp_server(echo_handler) as echo:
            add_profile(jump, echo.port)
            trusted = tk("trust", "db", "--yes")
            if trusted.returncode != 0:
                raise RuntimeError(trusted.stderr)
            for round_no in range(args.rounds):
                order = variants if round_no % 2 == 0 else variants[::-1]
                for variant in order:
                    used, scrapes, per_scrape = measure(variant, args.seconds, args.scrape_every)
                    cpu[variant].append(used)
                    scrape_times += scrapes
                    if variant == "scraped":
                        scrape_cpu.append(per_scrape)
                    print(f"round {round_no + 1} {variant:>7}: {used:.3f} CPU s", flush=True)
    finally:
        jump.sshd.stop()
    report(cpu, scrape_times, scrape_cpu, args.seconds, args.scrape_every)


def report(
    cpu: dict[str, list[float]],
    scrape_times: list[float],
    scrape_cpu: list[float],
    seconds: float,
    every: float,
) -> None:
    def per_minute(cpu_s: float) -> float:
        return cpu_s * 60.0 / seconds

    median = {v: statistics.median(values) for v, values in cpu.items()}
    print(f"\nidle `run` with one connected tunnel, {len(cpu['off'])} rounds of {seconds:g} s")
    print(f"(CPU from /proc/PID/stat, resolution {1 / TICK:g} s; medians)")
    for variant, label in (
        ("off", "without --metrics"),
        ("on", "with --metrics, not scraped"),
        ("scraped", f"with --metrics, scraped every {every:g} s"),
    ):
        ratio = median[variant] / median["off"] if median["off"] else float("nan")
        # the same round's runs share the machine's load: their ratio is the steadier figure
        rounds = [v / off for v, off in zip(cpu[variant], cpu["off"], strict=True) if off]
        in_round = statistics.median(rounds) if rounds else float("nan")
        print(
            f"  {label:<40} {per_minute(median[variant]):.3f} CPU s/min  "
            f"ratio {ratio:.2f} (per round: {in_round:.2f})  "
            f"runs: {', '.join(f'{v:.2f}' for v in cpu[variant])}"
        )
    if scrape_times and scrape_cpu:
        one = statistics.median(scrape_cpu)
        share = one * 60.0 / every / per_minute(median["off"]) if median["off"] else float("nan")
        print(
            f"  one scrape: {statistics.median(scrape_times) * 1000:.1f} ms wall (median of "
            f"{len(scrape_times)}), {one * 1000:.2f} ms CPU (median of {len(scrape_cpu)} "
            f"bursts of {BURST}): {one * 60.0 / every:.3f} CPU s/min at one per {every:g} s, "
            f"{share:.1%} of the idle run's own"
        )


if __name__ == "__main__":
    main()
