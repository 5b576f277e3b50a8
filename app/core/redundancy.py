"""Active / standby for a tunnel several machines run: who asks for the port, when (pure logic)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from enum import Enum

# A standby asks for the port again after STANDBY_EVERY s, give or take half of it, so
# several standbys do not ask in step and one takes over within ~STANDBY_EVERY s of the
# jumphost freeing the port.
STANDBY_EVERY = 2.0
JITTER = 0.5
# Failed target probes in a row (spread over ``fence_after`` s) that make an active
# machine give the port up.
FENCE_PROBES = 3
MIN_PROBE_EVERY = 1.0
PROBE_TIMEOUT = 3.0


class Role(Enum):
    """Where a redundant tunnel's machine stands on its live link."""

    ACTIVE = "active"  # the jumphost listens for this machine
    HELD = "held"  # another machine holds the port: ask again every few seconds
    FENCED = "fenced"  # our target does not answer: ask only once it does


class Step(Enum):
    """What the machine does now."""

    WAIT = "wait"
    PROBE = "probe"  # try the target
    ASK = "ask"  # ask the jumphost for the port


@dataclass
class Redundancy:
    """The decisions of one redundant tunnel on one live link; the engine does the I/O
    and reports each outcome back. Times are monotonic seconds.

    - HELD: asks every ``STANDBY_EVERY`` s (jittered). No target probes while another
      machine serves: a probe is a connection the target did not need (MariaDB counts
      connections closed before login against ``max_connect_errors``).
    - A granted port is kept only if the target answers a probe right after; else it is
      released at once and the machine is FENCED: "never takes over while its own target
      is unreachable".
    - ACTIVE: probes every ``fence_after / FENCE_PROBES`` s unless a forwarded connection
      reached the target meanwhile; ``FENCE_PROBES`` failures in a row release the port.
    - FENCED: probes at the same pace; the first answer makes it ask for the port.
    """

    fence_after: float
    rng: random.Random = field(default_factory=random.Random)
    role: Role = Role.FENCED
    failures: int = 0
    due: float = 0.0  # when the next step is due
    probe_after_grant: bool = False  # the port was just granted: check the target first
    checked_at: float = -math.inf  # when the target last answered a probe

    @property
    def probe_every(self) -> float:
        return max(MIN_PROBE_EVERY, self.fence_after / FENCE_PROBES)

    def standby_delay(self) -> float:
        return STANDBY_EVERY * self.rng.uniform(1 - JITTER, 1 + JITTER)

    def step(self, now: float, target_reached_at: float = 0.0) -> Step:
        """What to do at ``now``; ``target_reached_at``: when a forwarded connection last
        reached the target (it counts as an answered probe)."""
        if self.role is Role.ACTIVE and self.probe_after_grant:
            return Step.PROBE
        if now < self.due:
            return Step.WAIT
        if self.role is Role.ACTIVE:
            if now - target_reached_at < self.probe_every:
                self.failures = 0
                self.due = target_reached_at + self.probe_every
                return Step.WAIT
            return Step.PROBE
        if self.role is Role.HELD:
            return Step.ASK
        return Step.PROBE

    def asked(self, now: float, granted: bool) -> None:
        """The jumphost answered a request for the port."""
        if granted:
            # a probe answered just before asking (a FENCED machine's way back) is enough
            self.probe_after_grant = now - self.checked_at > STANDBY_EVERY
            self.role = Role.ACTIVE
            self.failures = 0
            self.due = now + self.probe_every
        else:
            self.role = Role.HELD
            self.due = now + self.standby_delay()

    def probed(self, now: float, answered: bool) -> bool:
        """A probe's outcome; True when the port must be released now (then FENCED)."""
        fresh_grant, self.probe_after_grant = self.probe_after_grant, False
        self.due = now + self.probe_every
        if answered:
            self.checked_at = now
            self.failures = 0
            if self.role is Role.FENCED:
                self.role = Role.HELD
                self.due = now  # ask at once
            return False
        self.failures += 1
        if self.role is Role.ACTIVE and (fresh_grant or self.failures >= FENCE_PROBES):
            self.role = Role.FENCED
            return True
        return False
