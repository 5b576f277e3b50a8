"""A redundant tunnel on its live link: probe the target, ask for the port, give it back."""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Callable

from app.core.profile import Profile
from app.core.redundancy import FENCE_PROBES, PROBE_TIMEOUT, Redundancy, Role, Step
from app.engine.forward import Counters
from app.engine.link import Link
from app.errors import TunnelkeeperError, os_reason
from app.ssh.tcp import open_tcp
from app.storage.logs import TunnelLog

log = logging.getLogger(__name__)

STEPS_PER_TICK = 4  # probe, ask, probe the fresh grant: never a loop
Active = Callable[[str], None]  # detail
Standing = Callable[[str, str], None]  # detail, why ("held" or "fenced")


def probe(target: tuple[str, int], timeout: float = PROBE_TIMEOUT) -> str | None:
    """Open and close one TCP connection to the target: None if it answered, else why not."""
    try:
        sock = open_tcp(target[0], target[1], timeout)
    except OSError as exc:
        return os_reason(exc)
    with contextlib.suppress(OSError):
        sock.close()
    return None


class Standby:
    """Runs ``app.core.redundancy``'s decisions on one link, at each tick of the link's
    watch (about once a second, on the tunnel's thread), and says when this machine
    becomes active (``on_active``) or stands by (``on_standby``)."""

    def __init__(
        self,
        profile: Profile,
        link: Link,
        counters: Counters,
        on_active: Active,
        on_standby: Standing,
        rng: random.Random,
    ) -> None:
        self._profile = profile
        self._link = link
        self._counters = counters
        self._on_active = on_active
        self._on_standby = on_standby
        self._plan = Redundancy(float(profile.fence_after), rng)
        self._said: Role | None = None
        self.log = TunnelLog(log, profile.name)

    @property
    def role(self) -> Role:
        return self._plan.role

    def tick(self) -> None:
        """Do what is due now: at most a probe, an ask and a probe of a fresh grant."""
        for _ in range(STEPS_PER_TICK):
            step = self._plan.step(time.monotonic(), self._counters.target_reached_at)
            if step is Step.WAIT:
                return
            if step is Step.PROBE:
                self._probe()
            elif not self._ask():
                return

    def _probe(self) -> None:
        profile, plan = self._profile, self._plan
        was = plan.role
        started = time.monotonic()  # probes keep their pace however long one waits
        limit = min(PROBE_TIMEOUT, plan.probe_every)
        why = probe((profile.target_host, profile.target_port), limit)
        release = plan.probed(started, why is None)
        if release:
            self._link.release()
            port, target = profile.remote_port, profile.target
            if was is Role.ACTIVE and plan.failures >= FENCE_PROBES:
                detail = (
                    f"released port {port}: the target {target} did not answer "
                    f"{plan.failures} probes in {profile.fence_after} s ({why}); a machine "
                    "that reaches it can take over. Standing by until it answers."
                )
            else:
                detail = (
                    f"port {port} was free, but the target {target} does not answer from "
                    f"this machine ({why}); gave it back and standing by until it answers."
                )
            self._say(Role.FENCED, detail)
        elif why is not None and plan.role is Role.FENCED:
            self._say(
                Role.FENCED,
                f"standing by: the target {profile.target} does not answer from this "
                f"machine ({why}); asking for port {profile.remote_port} once it does.",
            )
        elif why is None and was is Role.ACTIVE and plan.role is Role.ACTIVE:
            self._say(Role.ACTIVE, self._active_detail())  # a fresh grant checked out
        elif why is not None:
            self.log.warning("target probe %d of %d failed: %s", plan.failures, FENCE_PROBES, why)

    def _ask(self) -> bool:
        """Ask for the port; False when nothing more is due this tick."""
        plan = self._plan
        try:
            granted = self._link.ask()
        except TunnelkeeperError as exc:
            self.log.info("asking for the port got no answer: %s", exc)  # the watch decides
            plan.asked(time.monotonic(), False)
            return False
        plan.asked(time.monotonic(), granted)
        if not granted:
            profile = self._profile
            self._say(
                Role.HELD,
                f"another machine holds port {profile.remote_port} on the jumphost; "
                "standing by, asking again every few seconds.",
            )
            return False
        if not plan.probe_after_grant:
            self._say(Role.ACTIVE, self._active_detail())
        return True

    def _active_detail(self) -> str:
        profile = self._profile
        took = "took over: " if self._said is not None else ""
        return (
            f"{took}the jumphost is listening on {profile.forward_bind or '*'}:"
            f"{profile.remote_port} for this machine and forwards to {profile.target}; "
            "other machines stand by."
        )

    def _say(self, role: Role, detail: str) -> None:
        """Report a change of role (held and fenced are standbys of different reasons)."""
        if self._said is role:
            return
        self._said = role
        if role is Role.ACTIVE:
            self._on_active(detail)
        else:
            self._on_standby(detail, role.value)
