"""Reconnect delays: exponential backoff with full jitter (pure logic)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delays of ``uniform(base, c)``, ``c = min(cap, base * 2**n)``; ``reset()`` when stable."""

    base: float = 1.0
    cap: float = 60.0
    attempts: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def ceiling(self) -> float:
        return min(self.cap, self.base * 2.0 ** min(self.attempts, 32))

    def next_delay(self) -> float:
        ceiling = self.ceiling()
        self.attempts += 1
        return self.rng.uniform(min(self.base, ceiling), ceiling)

    def reset(self) -> None:
        self.attempts = 0
