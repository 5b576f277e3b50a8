"""Throughput through a real Squid (HTTP CONNECT, Basic auth; plain and over TLS) against
direct, interleaved in one run (issue 17): our tunnel carrying 64 MiB each way, sha256
checked, on a loopback sshd.

    .venv/bin/python bench/proxy.py [--rounds 5] [--mib 64]

Prints the median seconds of each and the medians of the per-round ratios (proxied / direct).
"""

from __future__ import annotations

import argparse
import os
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
    tls_s: list[float] = []
    try:
        with (
            running_squid(allow_ports=(jump.port,)) as squid,
            running_squid(allow_ports=(jump.port,), tls=True) as tls_squid,
        ):
            os.environ["SSL_CERT_FILE"] = str(tls_squid.ca_file)  # trust its certificate
            events = EventLog()

            def direct(port: int) -> object:
                return start_proxied(jump, paths, events, port, "none")

            def proxied(port: int) -> object:
                return start_proxied(jump, paths, events, port, squid.url, squid.password)

            def over_tls(port: int) -> object:
                return start_proxied(jump, paths, events, port, tls_squid.url, tls_squid.password)

            for _ in range(args.rounds):  # interleaved, so the machine's noise hits each
                direct_s.append(carry_both_ways(jump, direct, args.mib * MIB))
                proxied_s.append(carry_both_ways(jump, proxied, args.mib * MIB))
                tls_s.append(carry_both_ways(jump, over_tls, args.mib * MIB))
    finally:
        jump.sshd.stop()
    ratios = [p / d for p, d in zip(proxied_s, direct_s, strict=True)]
    tls_ratios = [p / d for p, d in zip(tls_s, direct_s, strict=True)]
    print(
        f"| {args.mib} MiB each way | direct | through Squid | ratio | "
        "through Squid over TLS (https://) | ratio |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    print(
        f"| median of {args.rounds} | {statistics.median(direct_s):.2f} s | "
        f"{statistics.median(proxied_s):.2f} s | {statistics.median(ratios):.2f} | "
        f"{statistics.median(tls_s):.2f} s | {statistics.median(tls_ratios):.2f} |"
    )


if __name__ == "__main__":
    main()
