"""Takeover times of an active / standby pair (issue 19): two `tunnelkeeper run` agents in
network namespaces, a real OpenSSH jumphost configured like the vendors' (ClientAlive 10 s
x 3), a vendor connecting every 100 ms. Per round: SIGKILL the active agent, cut its link
(the vendor quiet meanwhile), make its target unreachable; each time, how long until the
vendor's connections arrive through the other machine (for the cut: until it took over).

    .venv/bin/python bench/failover.py [--rounds 5] [--client-alive 10,3] [--fence-after 30s]

Needs root (ip netns, iptables in the namespaces). Prints medians; raw figures go to
bench/results/failover-*.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.failover import AgentRun, Vendor  # noqa: E402
from tests.support.netns import lab, refused_reason  # noqa: E402
from tests.support.sshd import ssh_keygen  # noqa: E402

BOUND = 180.0


def settled(a: AgentRun, b: AgentRun, timeout: float = 120) -> tuple[AgentRun, AgentRun]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if {a.state, b.state} == {"connected", "standby"}:
            return (a, b) if a.state == "connected" else (b, a)
        time.sleep(0.05)
    raise RuntimeError(f"not settled: {a.state}, {b.state}")


def one_round(
    agents: list[AgentRun], vendor: Vendor, target_port: int, times: dict[str, list[float]]
) -> None:
    """Kill, cut, fence: each on whichever machine is active then; record the takeovers."""
    active, _standby = settled(*agents)
    fault = time.monotonic()
    active.kill()
    times["kill"].append(vendor.first_success_after(fault, BOUND))
    active.start()
    active.wait_for("standby", after=fault, timeout=BOUND)

    # The vendor stays quiet while the link is cut: OpenSSH 9.2's sshd sends ClientAlive
    # probes only when nothing else happened for ClientAliveInterval s, and every vendor
    # connection to the port is something (README: "What the vendor's jumphost settings
    # mean for failover").
    active, standby = settled(*agents)
    vendor.pause()
    fault = time.monotonic()
    active.agent.cut()
    try:
        back = standby.wait_for("connected", after=fault, timeout=BOUND).at
        times["cut"].append(back - fault)
    finally:
        active.agent.mend()
        vendor.resume()
    active.wait_for("standby", after=fault, timeout=BOUND)

    active, standby = settled(*agents)
    fault = time.monotonic()
    active.agent.block_target(target_port)
    try:
        back = standby.wait_for("connected", after=fault, timeout=BOUND).at
        times["fence"].append(vendor.outage(fault, back, BOUND))
    finally:
        active.agent.unblock_target(target_port)
    active.wait_for("standby", after=fault, timeout=BOUND)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--client-alive", default="10,3", help="ClientAliveInterval,CountMax")
    parser.add_argument("--fence-after", default="30s")
    args = parser.parse_args()
    reason = refused_reason()
    if reason is not None:
        raise SystemExit(reason)
    interval, count = (int(x) for x in args.client_alive.split(","))
    work = Path(tempfile.mkdtemp(prefix="tk-bench-failover-"))
    key = ssh_keygen(work / "id_tunnel", comment="tunnelkeeper-bench")
    times: dict[str, list[float]] = {"kill": [], "cut": [], "fence": []}
    with lab(2) as made:
        made.start_target()
        made.start_sshd(
            work / "jumphost",
            key,
            f"ClientAliveInterval {interval}\nClientAliveCountMax {count}\n",
        )
        agents = [
            AgentRun(made, agent, work / f"agent{agent.index}", key, args.fence_after)
            for agent in made.agents
        ]
        vendor = Vendor(made, made.remote_port)
        try:
            agents[0].start()
            agents[0].wait_for("connected")
            agents[1].start()
            agents[1].wait_for("standby")
            vendor.start()
            target = made.target
            assert target is not None
            for round_ in range(1, args.rounds + 1):
                one_round(agents, vendor, target.port, times)
                print(
                    f"round {round_}: kill {times['kill'][-1]:.2f} s, link cut "
                    f"{times['cut'][-1]:.2f} s, target lost {times['fence'][-1]:.2f} s",
                    flush=True,
                )
        finally:
            vendor.stop()
            for agent in agents:
                agent.stop()
    print(
        f"\njumphost ClientAliveInterval {interval}, ClientAliveCountMax {count}; "
        f"fence_after {args.fence_after}; {args.rounds} rounds"
    )
    print("| event | median s | min s | max s |\n| --- | ---: | ---: | ---: |")
    words = {
        "kill": "active agent killed (SIGKILL)",
        "cut": "active machine's link cut",
        "fence": "active machine's target unreachable (fenced)",
    }
    for name, values in times.items():
        print(
            f"| {words[name]} | {statistics.median(values):.1f} | {min(values):.1f} | "
            f"{max(values):.1f} |"
        )
    out = ROOT / "bench" / "results" / f"failover-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "client_alive": [interval, count],
                "fence_after": args.fence_after,
                "seconds": times,
            },
            indent=2,
        )
    )
    print(f"raw: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
