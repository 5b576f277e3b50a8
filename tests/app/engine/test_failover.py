"""Active / standby across machines: two `tunnelkeeper run` agents in network namespaces,
the jumphost (a real OpenSSH sshd) and the target on a third; kill, cut, fence, restore."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.engine.forward import DIALERS
from tests.support.cli import tk
from tests.support.failover import AgentRun, Vendor
from tests.support.netns import Lab, lab, refused_reason
from tests.support.sshd import ssh_keygen

pytestmark = pytest.mark.integration

# The jumphost notices a silent client after ClientAliveInterval times ClientAliveCountMax
# s (2 and 2 here, so the tests are quick; bench/failover.py measures 10 and 3, as vendors
# set them).
CLIENT_ALIVE = "ClientAliveInterval 2\nClientAliveCountMax 2\n"
FENCE_AFTER = "3s"
# Generous bounds: what the takeover may take at most on a loaded 2-core machine; the
# measured medians are in bench/failover.py and the README.
KILL_BOUND = 15.0
CUT_BOUND = 25.0  # the jumphost's ClientAlive timeout comes first
FENCE_BOUND = 25.0
FAILOVERS = int(os.environ.get("TK_FAILOVERS", "50"))


@dataclass
class Pair:
    lab: Lab
    a: AgentRun
    b: AgentRun
    vendor: Vendor

    def active(self) -> AgentRun:
        actives = [x for x in (self.a, self.b) if x.state == "connected"]
        assert len(actives) == 1, [(x.name, x.state) for x in (self.a, self.b)]
        return actives[0]

    def other(self, one: AgentRun) -> AgentRun:
        return self.b if one is self.a else self.a

    def settled(self, timeout: float = 60.0) -> tuple[AgentRun, AgentRun]:
        """Wait until exactly one is active, the other stands by and the vendor gets
        through (so a fault's outage is measured from a working tunnel); (active, standby)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = {self.a.state, self.b.state}
            if states == {"connected", "standby"}:
                active = self.active()
                now = time.monotonic()
                self.vendor.first_success_after(now, max(10.0, deadline - now))
                return active, self.other(active)
            time.sleep(0.05)
        raise AssertionError(f"not settled: a {self.a.state}, b {self.b.state}")


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    reason = refused_reason()
    if reason is not None:
        pytest.skip(reason)
    key = ssh_keygen(tmp_path / "id_tunnel", comment="tunnelkeeper-failover")
    with lab(2) as made:
        made.start_target()
        made.start_sshd(tmp_path / "jumphost", key, CLIENT_ALIVE)
        a = AgentRun(made, made.agents[0], tmp_path / "a", key, FENCE_AFTER)
        b = AgentRun(made, made.agents[1], tmp_path / "b", key, FENCE_AFTER)
        assert made.remote_port
        vendor = Vendor(made, made.remote_port)
        try:
            a.start()
            a.wait_for("connected")
            b.start()
            b.wait_for("standby")
            vendor.start()
            yield Pair(made, a, b, vendor)
        finally:
            vendor.stop()
            a.stop()
            b.stop()


def test_exactly_one_machine_is_active_and_data_flows(pair: Pair) -> None:
    active, standby = pair.settled()
    assert active is pair.a
    held = standby.wait_for("standby")
    assert held.extra.get("standby") == "held"
    assert "another machine holds port" in held.detail
    assert pair.lab.vendor_echo(pair.lab.remote_port, b"x" * 65536)
    assert "error" not in standby.states_since(0) and "retrying" not in standby.states_since(0)


def test_killing_the_active_machine_hands_over_and_it_comes_back_as_standby(pair: Pair) -> None:
    active, standby = pair.settled()
    killed = time.monotonic()
    active.kill()
    took = pair.vendor.first_success_after(killed, KILL_BOUND)
    print(f"takeover after SIGKILL: {took:.2f} s")
    assert standby.wait_for("connected", after=killed).detail.startswith("took over:")
    active.start()  # the machine reboots: it finds the port held and stands by
    back = time.monotonic()
    assert active.wait_for("standby", after=back).extra.get("standby") == "held"
    time.sleep(3)
    assert standby.states_since(back) == []  # no switch back: at most one per event
    assert pair.lab.vendor_echo(pair.lab.remote_port)


def test_cutting_the_active_machines_link_hands_over_after_the_jumphosts_timeout(
    pair: Pair,
) -> None:
    active, standby = pair.settled()
    cut = time.monotonic()
    active.agent.cut()
    try:
        took = pair.vendor.first_success_after(cut, CUT_BOUND)
        print(f"takeover after a link cut: {took:.2f} s")
        standby.wait_for("connected", after=cut)
    finally:
        active.agent.mend()
    mended = time.monotonic()
    # the cut machine finds its link gone, connects again and stands by
    active.wait_for("standby", after=mended, timeout=60)
    time.sleep(3)
    assert standby.states_since(mended) == []
    assert standby.state == "connected"
    assert pair.lab.vendor_echo(pair.lab.remote_port)


def test_an_active_machine_whose_target_fails_fences_itself_and_no_flapping_after(
    pair: Pair,
) -> None:
    active, standby = pair.settled()
    target = pair.lab.target
    assert target is not None
    blocked = time.monotonic()
    active.agent.block_target(target.port)
    try:
        fenced = active.wait_for("standby", after=blocked, timeout=FENCE_BOUND)
        assert fenced.extra.get("standby") == "fenced"
        assert "did not answer 3 probes" in fenced.detail
        back = standby.wait_for("connected", after=blocked).at
        took = pair.vendor.outage(blocked, back, FENCE_BOUND)
        print(f"forwarding lost for {took:.2f} s when the active machine's target failed")
        standby.wait_for("connected", after=blocked)
    finally:
        active.agent.unblock_target(target.port)
    restored = time.monotonic()
    time.sleep(5)  # its probes answer again; the other machine keeps the port
    assert standby.states_since(restored) == []
    assert active.states_since(restored) in ([], ["standby"])
    assert active.state == "standby"


def test_a_standby_whose_target_fails_does_not_take_over(pair: Pair) -> None:
    active, standby = pair.settled()
    target = pair.lab.target
    assert target is not None
    standby.agent.block_target(target.port)
    try:
        active.kill()
        killed = time.monotonic()
        fenced = standby.wait_for("standby", after=killed - 1, timeout=30)
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:  # the port stays free: no dead end for the vendor
            assert standby.state == "standby", fenced
            time.sleep(0.2)
        assert "connected" not in standby.states_since(killed)
    finally:
        standby.agent.unblock_target(target.port)
    mended = time.monotonic()
    standby.wait_for("connected", after=mended, timeout=30)
    assert pair.vendor.first_success_after(mended, 30) > 0


@pytest.mark.slow
def test_fifty_forced_failovers_lose_forwarding_only_briefly_and_leak_nothing(
    pair: Pair,
) -> None:
    """Each round the active machine is told to let go (`tunnelkeeper disconnect`, as an
    operator draining it would) and then to run again: it comes back as the standby. Every
    fifth round its target fails instead, and it fences itself."""
    target = pair.lab.target
    assert target is not None
    active, standby = pair.settled()
    baseline = {x.name: (x.threads(), x.fds()) for x in (pair.a, pair.b)}
    gaps: list[float] = []
    for round_ in range(FAILOVERS):
        fence = round_ % 5 == 4
        forced = time.monotonic()
        if fence:
            active.agent.block_target(target.port)
        else:
            assert tk("disconnect", "db", env=active.env).returncode == 0
        try:
            back = standby.wait_for("connected", after=forced, timeout=FENCE_BOUND).at
            gaps.append(pair.vendor.outage(forced, back, FENCE_BOUND))
        finally:
            if fence:
                active.agent.unblock_target(target.port)
            else:
                assert tk("connect", "db", env=active.env).returncode == 0
        active.wait_for("standby", after=forced, timeout=FENCE_BOUND)
        active, standby = standby, active
    peak = {x.name: (x.threads(), x.fds()) for x in (pair.a, pair.b)}
    gaps.sort()
    median = gaps[len(gaps) // 2]
    print(f"{FAILOVERS} failovers: forwarding lost for median {median:.2f} s, longest "
          f"{gaps[-1]:.2f} s; threads/fds before {baseline}, right after {peak}")  # fmt: skip
    assert gaps[-1] < FENCE_BOUND
    for name, (threads, _fds) in peak.items():  # the dial pool's bound, at most
        assert threads <= baseline[name][0] + DIALERS, (name, baseline, peak)
    # Dial threads that waited on the blocked target end after 30 s without work (the
    # vendor stops connecting); then both processes are back where they started.
    pair.vendor.stop()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        after = {x.name: (x.threads(), x.fds()) for x in (pair.a, pair.b)}
        if all(
            after[n][0] <= baseline[n][0] + 1 and after[n][1] <= baseline[n][1] + 3 for n in after
        ):
            break
        time.sleep(1)
    print(f"threads/fds once idle: {after}")
    for name, (threads, fds) in after.items():
        threads_before, fds_before = baseline[name]
        assert threads <= threads_before + 1, (name, baseline, after)
        assert fds <= fds_before + 3, (name, baseline, after)
