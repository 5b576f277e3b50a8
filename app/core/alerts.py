"""When to alert: a tunnel down past a threshold, needing its user, or flapping; and back (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from app.core.alert_rules import DEFAULT_AFTER, AlertRule
from app.core.events import Phase, State, phase
from app.core.supervise import RecentCount
from app.core.textsafe import DETAIL_LIMIT, safe_text

FLAP_COUNT = 3  # going down this often within one threshold window is flapping


class Kind(StrEnum):
    """What an alert says."""

    DOWN = "down"  # not connected for longer than the threshold
    NEEDS_USER = "needs_user"  # waiting for a person (a host key to trust, a key rejected)
    FLAPPING = "flapping"  # went down FLAP_COUNT times or more within the threshold window
    RESTORED = "restored"  # back after an alert (after flapping: stable a whole window)
    STOPPED = "stopped"  # switched off (or no longer hosted here) while an alert stood
    TEST = "test"  # `alerts test`: checks that the receiver gets what is sent


PROBLEMS = frozenset({Kind.DOWN, Kind.NEEDS_USER, Kind.FLAPPING})


@dataclass(frozen=True)
class Alert:
    """One message about one tunnel. ``since`` is when the trouble began (wall-clock s),
    ``duration`` how long it lasted until ``at`` (or, once restored, until it came back),
    ``cause`` the tunnel's own words about it, ``count`` how often it went down in the
    last ``window`` seconds."""

    kind: Kind
    tunnel: str
    state: State
    since: float | None
    duration: float
    cause: str
    count: int = 1
    window: float = DEFAULT_AFTER
    at: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "cause", safe_text(self.cause, DETAIL_LIMIT))


@dataclass
class Outage:
    """One rule's watch over one tunnel: the state machine that decides its alerts.

    Feed it every state the tunnel reports (``observe``) and the passing time (``tick``);
    both return the alerts due now. A problem alert (PROBLEMS) goes out at most once per
    ``after`` seconds; the one standing is followed by exactly one RESTORED (or STOPPED),
    and by at most one NEEDS_USER before that when a plain outage turns into one needing
    the user. Times are wall-clock seconds, passed in.
    """

    tunnel: str
    after: float = DEFAULT_AFTER
    state: State = State.STOPPED
    cause: str = ""
    down_since: float | None = None
    up_since: float | None = None
    standing: Kind | None = None  # the problem alert sent and not yet closed
    standing_since: float | None = None
    last_alert: float | None = None
    downs: RecentCount = field(init=False)

    def __post_init__(self) -> None:
        self.downs = RecentCount(self.after)

    def observe(
        self, state: State, detail: str, now: float, since: float | None = None
    ) -> list[Alert]:
        """The tunnel reports ``state`` (with ``detail``); ``since`` is when its phase
        began, when known (the engine's status), else ``now``."""
        was, new = _phase(self.state), _phase(state)
        began = now if since is None else min(since, now)
        if new is Phase.DOWN:
            if was is Phase.UP:
                self.downs.add(now)
            if self.down_since is None:
                self.down_since = began
            self.up_since = None
            # a new try's "connecting to …" is no cause: the last failure's words stay
            if was is not Phase.DOWN or state is not State.CONNECTING or not self.cause:
                self.cause = detail
        elif new is Phase.UP:
            if was is not Phase.UP:
                self.up_since = began
            self.down_since = None
        else:
            self.down_since = self.up_since = None
            self.downs.times.clear()
        self.state = state
        return self.tick(now)

    def tick(self, now: float) -> list[Alert]:
        """The alerts due at ``now`` (none, or one)."""
        if self.standing is not None:
            closing = self._closing(now)
            if closing is not None:
                self.standing = None
                # the downs the closed alert told of are told: a window's last ones must
                # not raise it again the moment it closes
                self.downs.times.clear()
                return [closing]
            if self._turned_needy and self._may_alert(now):
                return [self._raise(Kind.NEEDS_USER, now)]
            return []
        problem = self._problem(now)
        if problem is not None and self._may_alert(now):
            return [self._raise(problem, now)]
        return []

    def due(self, now: float) -> float | None:
        """When ``tick`` may next have an alert to give (``now`` or later); None: not
        unless the tunnel reports something new."""
        current = _phase(self.state)
        if self.standing is not None:
            if current is Phase.OFF or (current is Phase.UP and self.standing is not Kind.FLAPPING):
                return now
            if current is Phase.UP:
                return max(now, _or(self.up_since, now) + self.after)
            if self._turned_needy:
                return max(now, self._allowed_at())
            return None
        if current is Phase.OFF:
            return None
        at: float | None = None
        if current is Phase.DOWN:
            at = now if self._needs_user else _or(self.down_since, now) + self.after
        if self.downs.count(now) >= FLAP_COUNT:
            at = now
        return None if at is None else max(now, at, self._allowed_at())

    # --- internals ------------------------------------------------------------------------

    @property
    def _needs_user(self) -> bool:
        return self.state is State.ERROR

    @property
    def _turned_needy(self) -> bool:
        """The outage an alert stands for now waits for the user (worth one more alert)."""
        return self._needs_user and self.standing in (Kind.DOWN, Kind.FLAPPING)

    def _allowed_at(self) -> float:
        return float("-inf") if self.last_alert is None else self.last_alert + self.after

    def _may_alert(self, now: float) -> bool:
        return now >= self._allowed_at()

    def _problem(self, now: float) -> Kind | None:
        current = _phase(self.state)
        if current is Phase.OFF:
            return None
        if current is Phase.DOWN and self._needs_user:
            return Kind.NEEDS_USER
        if current is Phase.DOWN and now >= _or(self.down_since, now) + self.after:
            return Kind.DOWN
        if self.downs.count(now) >= FLAP_COUNT:
            return Kind.FLAPPING
        return None

    def _raise(self, kind: Kind, now: float) -> Alert:
        count = self.downs.count(now)
        if kind is Kind.FLAPPING and self.downs.times:
            since = self.downs.times[0]
        else:
            since = self.down_since if self.down_since is not None else now
        if self.standing is None:
            self.standing_since = since
        self.standing = kind
        self.last_alert = now
        return self._alert(kind, since, now - since, now, max(1, count))

    def _closing(self, now: float) -> Alert | None:
        current = _phase(self.state)
        began = self.standing_since if self.standing_since is not None else now
        if current is Phase.OFF:
            return self._alert(Kind.STOPPED, began, now - began, now, self.downs.count(now))
        if current is not Phase.UP or self.up_since is None:
            return None
        if self.standing is Kind.FLAPPING and now < self.up_since + self.after:
            return None  # stable again only after a whole window up
        return self._alert(Kind.RESTORED, began, self.up_since - began, now, self.downs.count(now))

    def _alert(self, kind: Kind, since: float, duration: float, now: float, count: int) -> Alert:
        return Alert(
            kind, self.tunnel, self.state, since, max(0.0, duration), self.cause, count,
            self.after, now,
        )  # fmt: skip


def _phase(state: State) -> Phase:
    """A standby is no outage: the machine is connected and ready while another serves."""
    found = phase(state)
    return Phase.UP if found is Phase.STANDBY else found


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


class AlertBook:
    """Every rule's watch over every tunnel of one process: one ``Outage`` per rule and
    tunnel, made when a tunnel first reports or a rule is added (which then hears the
    tunnel's state as last reported)."""

    def __init__(self, rules: Iterable[AlertRule] = ()) -> None:
        self._rules: dict[str, AlertRule] = {}
        self._outages: dict[tuple[str, str], Outage] = {}
        self._last: dict[str, tuple[State, str, float | None]] = {}
        self.set_rules(rules, 0.0)

    @property
    def rules(self) -> list[AlertRule]:
        return list(self._rules.values())

    def set_rules(self, rules: Iterable[AlertRule], now: float) -> list[tuple[AlertRule, Alert]]:
        """Watch with ``rules`` from now on: a rule removed or changed forgets its watches;
        a new one learns each tunnel's last state (and may alert at once)."""
        new = {rule.id: rule for rule in rules}
        for key in list(self._outages):
            if new.get(key[0]) != self._rules.get(key[0]):
                del self._outages[key]
        self._rules = new
        found = []
        for tunnel, (state, detail, since) in self._last.items():
            found += self._feed(tunnel, state, detail, now, since)
        return found

    def observe(
        self, tunnel: str, state: State, detail: str, now: float, since: float | None = None
    ) -> list[tuple[AlertRule, Alert]]:
        """Tunnel ``tunnel`` reports ``state``: the alerts due now, with their rules."""
        last = self._last.get(tunnel)
        if since is None:  # kept for a rule added later: when this phase began, as heard
            same = last is not None and _phase(last[0]) is _phase(state)
            began = last[2] if same and last is not None else now
        else:
            began = since
        self._last[tunnel] = (state, detail, began)
        return self._feed(tunnel, state, detail, now, since)

    def tick(self, now: float) -> list[tuple[AlertRule, Alert]]:
        found = []
        for (rule_id, _), outage in self._outages.items():
            found += [(self._rules[rule_id], alert) for alert in outage.tick(now)]
        return found

    def due(self, now: float) -> float | None:
        """The soonest time any watch may have an alert; None when none waits for time."""
        times = [t for t in (o.due(now) for o in self._outages.values()) if t is not None]
        return min(times, default=None)

    def standing(self) -> list[tuple[str, str, Kind]]:
        """(rule ID, tunnel, kind) of every problem alert not yet closed."""
        return [(r, t, o.standing) for (r, t), o in self._outages.items() if o.standing]

    def _feed(
        self, tunnel: str, state: State, detail: str, now: float, since: float | None
    ) -> list[tuple[AlertRule, Alert]]:
        found = []
        for rule in self._rules.values():
            if not rule.covers(tunnel):
                continue
            outage = self._outages.get((rule.id, tunnel))
            if outage is None:
                outage = self._outages[(rule.id, tunnel)] = Outage(tunnel, rule.after)
            found += [(rule, alert) for alert in outage.observe(state, detail, now, since)]
        return found
