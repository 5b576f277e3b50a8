"""Throughput through a real Squid (HTTP CONNECT, Basic auth) against direct, interleaved in one
run (issue 17): our tunnel carrying 64 MiB each way, sha256 checked, on a loopback sshd.

    .venv/bin/python bench/proxy.py [--rounds 5] [--mib 64]

Prints the median seconds of each and the median of the per-round ratios (proxied / direct).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.storage.paths import HOME_ENV, app_paths  # noqa: E402
from tests.app.engine.test_proxy_tunnel import carry_both_ways, start_proxied  # noqa: E402
from tests.conftest import EventLog, start_jumphost  # noqa: E402
from tests.support.squid import running_squid  # noqa: E402
from tests.support.sshd import ssh_keygen  # noqa: E402

MIB = 1024 * 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--mib", type=int, default=64)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tk-bench-proxy-"))
    paths = app_paths({HOME_ENV: str(work / "home")})
    key = ssh_keygen(work / "id_tunnel")
    jump = start_jumphost(work / "jump", key)
    direct_s: list[float] = []
    proxied_s: list[float] = []
    try:
        with running_squid(allow_ports=(jump.port,)) as squid:
            events = EventLog()

            def direct(port: int) -> object:
                return start_proxied(jump, paths, events, port, "none")

            def proxied(port: int) -> object:
                return start_proxied(jump, paths, events, port, squid.url, squid.password)

            for _ in range(args.rounds):  # interleaved, so the machine's noise hits both
                direct_s.append(carry_both_ways(jump, direct, args.mib * MIB))
                proxied_s.append(carry_both_ways(jump, proxied, args.mib * MIB))
    finally:
        jump.sshd.stop()
    ratios = [p / d for p, d in zip(proxied_s, direct_s, strict=True)]
    print(f"| {args.mib} MiB each way | direct | through Squid | ratio (Squid / direct) |")
    print("| --- | --- | --- | --- |")
    print(
        f"| median of {args.rounds} | {statistics.median(direct_s):.2f} s | "
        f"{statistics.median(proxied_s):.2f} s | {statistics.median(ratios):.2f} |"
    )


if __name__ == "__main__":
    main()
