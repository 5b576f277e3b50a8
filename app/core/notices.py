"""Which notices tunnels' events deserve: per tunnel rate-limited, delayed and merged (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

from app.core.events import State, TunnelEvent
from app.core.textsafe import DETAIL_LIMIT, PIECE_LIMIT, safe_text
from app.core.units import duration
from app.errors import TRUST_FIRST, TRUST_NEW

NOTIFY_EVERY = 60.0  # at most one notice per tunnel per this many seconds while it flaps
NOTICE_LIMIT = DETAIL_LIMIT + 100  # a notice quotes one detail and adds a sentence
PASSED_SHOWN = 2  # needs that came and went before a notice could show them, named in it

# The engine's countdowns ("; retrying in 1 s.", " Trying again in 300 s.") are stale the
# moment a notice shows: a notice says what happened, the tooltip says when the next try is.
_COUNTDOWN = re.compile(r"[;,]?\s*(?:retrying|trying again) in \d+ s\b[^;]*$", re.IGNORECASE)
# A standby detail says "standing by" (the notice's own words) and that the port is asked
# for again ("; standing by, asking again every few seconds.", ". Standing by until it
# answers."): what remains is why.
_STANDING_BY = re.compile(r"^\s*standing by\s*(?:[:;,.]\s*|$)", re.IGNORECASE)
_ASKING_AGAIN = re.compile(
    r"(?:[;,]|\.(?=\s))\s*(?:standing by|asking again)\b[^;.]*\.?\s*$", re.IGNORECASE
)
STANDBY_WHY = "another machine is active."  # when the engine's detail gives no reason
# Up, as far as notices go: connected here, or ready while another machine carries it.
_UP = (State.CONNECTED, State.STANDBY)

# The words every front end shares name a remedy; the desktop app's remedy is a menu entry
# (the command line adds `tunnelkeeper trust NAME` instead: app/cli/output.py).
_GUI_REMEDIES = {
    TRUST_NEW: (
        "ask the vendor whether they changed it, and only then open Tunnelkeeper and "
        "choose Trust the new key… for {name}."
    ),
    TRUST_FIRST: (
        "once its fingerprint matches the one the vendor shows, open Tunnelkeeper and "
        "choose Trust the new key… for {name}."
    ),
}


class Notice(StrEnum):
    """What a notice tells."""

    CONNECTED = "connected"  # the first connection since the app started
    LOST = "lost"
    RESTORED = "restored"
    LOST_AND_RESTORED = "lost_and_restored"  # an outage (or more) that began and ended unseen
    NEEDS_YOU = "needs_you"
    # active / standby (role ``redundant``): who carries the tunnel changed, calmly
    STANDBY = "standby"  # this machine stands by (another holds the port, or it let go)
    TOOK_OVER = "took_over"  # this machine holds the port now


TITLES = {
    Notice.CONNECTED: "Tunnel connected",
    Notice.LOST: "Tunnel connection lost",
    Notice.RESTORED: "Tunnel restored",
    Notice.LOST_AND_RESTORED: "Tunnel connection lost and restored",
    Notice.NEEDS_YOU: "Tunnel needs attention",
    Notice.STANDBY: "Tunnel standing by",
    Notice.TOOK_OVER: "Tunnel active on this machine",
}
TOOK_OVER_WORDS = "this machine took over; the vendor's connections come here now."
TOOK_OVER_AFTER = "This machine took over; the vendor's connections come here now."


class Message(NamedTuple):
    """One notice to show now: its kind, its text and the tunnel it is about."""

    kind: Notice
    text: str
    tunnel: str = ""

    @property
    def title(self) -> str:
        return TITLES[self.kind]

    @property
    def warning(self) -> bool:
        """Shown with a warning icon: the tunnel is down now."""
        return self.kind in (Notice.LOST, Notice.NEEDS_YOU)


def without_countdown(detail: str) -> str:
    """An engine detail without its "retrying in N s" tail, ending as a sentence."""
    text = _COUNTDOWN.sub("", detail.strip()).strip()
    if text and not text.endswith((".", "?", "!")):
        text += "."
    return text


def standby_fact(detail: str) -> str:
    """Why a tunnel stands by, from the engine's detail, as a sentence: "another machine holds
    port 58115 on the jumphost." ("another machine is active." when it says nothing more)."""
    text = _ASKING_AGAIN.sub("", _STANDING_BY.sub("", without_countdown(detail))).strip()
    if not text.rstrip("."):
        return STANDBY_WHY
    return text if text.endswith((".", "?", "!")) else text + "."


def gui_words(detail: str, name: str) -> tuple[str, str]:
    """``detail`` split into its fact and its remedy in the desktop app's words (a menu
    entry, not a command); the remedy is "" when the detail names none we know."""
    for words, gui in _GUI_REMEDIES.items():
        suffix = f"; {words}"
        if detail.endswith(suffix):
            return detail.removesuffix(suffix) + ".", gui.format(name=name)
    return detail, ""


@dataclass(frozen=True)
class _Fact:
    """One piece of news: ``words`` for a loss or a need (its ``fact`` alone, too) or why it
    stands by, ``down`` the seconds an ended outage lasted (0 when its start is not known)."""

    kind: Notice
    words: str = ""
    fact: str = ""
    down: float = 0.0
    loss: bool = False  # it began an outage (a need met right after being connected)
    # up again (connected or standing by): its role now, as a sentence ending the notice
    # ("It stands by: …", "This machine took over; …"); "" when the role did not change
    role: str = ""
    up: State | None = None  # CONNECTED or STANDBY: the state it is up in (None: not up)


@dataclass
class _News:
    """What happened to one tunnel since its last notice, merged (counts, not a list)."""

    newest: Notice  # CONNECTED (first), LOST, RESTORED, NEEDS_YOU, STANDBY or TOOK_OVER
    loss: str = ""  # the newest loss's words
    need: str = ""  # the need that holds now, in words (fact and remedy)
    passed: list[str] = field(default_factory=list)  # needs that came and went (facts)
    losses: int = 0  # outages that began
    restores: int = 0  # outages that ended
    down: float = 0.0  # seconds the ended outages lasted, together (those with a known start)
    standby: str = ""  # why it stands by (a STANDBY fact's words)
    role: str = ""  # the newest role sentence (said after a restore)
    up: State | None = None  # the newest up state among the facts (None: none was up)
    _need_fact: str = ""

    def add(self, fact: _Fact) -> None:
        self.newest = fact.kind
        self.losses += fact.loss
        if fact.kind is Notice.LOST:
            self.loss = fact.words
        elif fact.kind is Notice.NEEDS_YOU:
            self.need, self._need_fact = fact.words, fact.fact
            return
        if fact.kind is Notice.RESTORED:
            self.restores += 1
            self.down += fact.down
        if fact.up is not None:  # up again: its role now
            self.standby, self.role, self.up = fact.words, fact.role, fact.up
        if self.need and fact.kind is not Notice.LOST:  # connected: the need is over
            if self._need_fact not in self.passed:
                self.passed.append(self._need_fact)
            self.need = ""


@dataclass
class _Tunnel:
    """What the notifier remembers of one tunnel."""

    state: State | None = None
    ever_connected: bool = False  # connected or standing by, once at least
    role: State | None = None  # the last up state: CONNECTED (active) or STANDBY
    told: State | None = None  # the up state its last notice told
    left_up_at: float | None = None  # when it stopped being up (connected or standing by)
    troubled: bool = False  # since it left, a loss or a need was news
    need: str = ""  # the need last made news: not repeated until it connects again
    shown_at: float | None = None  # when its last notice was shown
    news: _News | None = None  # not shown yet: due at shown_at + every

    def fact(self, event: TunnelEvent, now: float) -> _Fact | None:
        """The news in ``event``, if any; remembers what it needs to judge the next."""
        state, previous = event.state, self.state
        self.state = state
        if state is previous and state is not State.ERROR:
            return None  # warnings and repeats inside a state are for the status window
        if state is State.STOPPED:  # the user (or its host) stopped it: no more news of it
            self.left_up_at, self.troubled, self.need, self.news = None, False, "", None
            self.role = self.told  # a role not told yet is news when it starts again
            return None
        if previous in _UP and state not in _UP:
            self.left_up_at = now
        if state in _UP:
            return self._up(state, event.detail, now)
        if state is State.RETRYING and self.left_up_at is not None and not self.troubled:
            self.troubled = True
            return _Fact(Notice.LOST, without_countdown(event.detail), loss=True)
        if state is State.ERROR:
            fact, remedy = gui_words(without_countdown(event.detail), event.tunnel)
            words = f"{fact.rstrip('.')}; {remedy}" if remedy else fact
            if words == self.need:
                return None  # told already, and it has not connected since
            self.need = words
            loss = not self.troubled and self.left_up_at is not None
            self.troubled = self.troubled or loss
            return _Fact(Notice.NEEDS_YOU, words, fact, loss=loss)
        return None

    def _up(self, state: State, detail: str, now: float) -> _Fact | None:
        """Connected, or standing by (up too: ready, while another machine carries it)."""
        first, troubled, left = not self.ever_connected, self.troubled, self.left_up_at
        role, self.role = self.role, state
        self.ever_connected, self.left_up_at, self.troubled, self.need = True, None, False, ""
        why = standby_fact(detail) if state is State.STANDBY else ""
        if first:
            return _Fact(Notice.STANDBY if why else Notice.CONNECTED, why, up=state)
        if why:
            said = f"It stands by: {why}" if troubled or role is not State.STANDBY else ""
        else:
            said = TOOK_OVER_AFTER if role is State.STANDBY else ""
        if troubled:
            down = 0.0 if left is None else max(0.0, now - left)
            return _Fact(Notice.RESTORED, why, down=down, role=said, up=state)
        if said:
            return _Fact(Notice.STANDBY if why else Notice.TOOK_OVER, why, role=said, up=state)
        return None  # a reconnect the user asked for, or one after they started it again


def render(name: str, news: _News) -> Message:
    """The one notice that tells all of ``news`` (the newest fact leads)."""
    kind = news.newest
    if kind is Notice.NEEDS_YOU:
        text = f"{name} needs your attention: {news.need}"
        if news.passed:
            text += f" Before that it needed your attention: {_passed(news.passed)}"
        return Message(kind, _cut(text), name)
    if kind is Notice.LOST:
        text = _lost(name, news)
    elif news.restores:  # up again after an outage (or more), in whichever role
        text = _restored(name, news)
        if news.role:
            text += f" {news.role}"
        kind = Notice.LOST_AND_RESTORED if news.losses else Notice.RESTORED
    elif kind is Notice.STANDBY:
        text = f"{name} stands by: {news.standby}"
    elif kind is Notice.TOOK_OVER:
        text = f"{name}: {TOOK_OVER_WORDS}"
    else:
        text = f"{name} is connected."
    if news.passed:  # a need came and went before it could be shown: said in passing
        text += f" In between it needed your attention: {_passed(news.passed)}"
    return Message(kind, _cut(text), name)


def _lost(name: str, news: _News) -> str:
    if news.restores == 0:
        text = f"{name} lost its connection: {news.loss}"
    elif news.restores == 1:
        text = f"{name} was connected again briefly, then lost its connection again: {news.loss}"
    else:
        text = (
            f"{name} was connected again {news.restores} times, but lost its connection "
            f"each time; the last time: {news.loss}"
        )
    return text + " Tunnelkeeper keeps trying."


def _restored(name: str, news: _News) -> str:
    down = duration(news.down)
    if news.restores > 1:
        return f"{name} is connected again after {news.restores} outages ({down} down in all)."
    if news.losses:
        return f"{name} lost its connection and is connected again ({down} down)."
    if news.down:
        return f"{name} is connected again ({down} down)."
    return f"{name} is connected again."


def _passed(facts: list[str]) -> str:
    """Needs said in passing: the first few, each cut short, and how many more."""
    shown = " ".join(safe_text(fact, PIECE_LIMIT) for fact in facts[:PASSED_SHOWN])
    more = len(facts) - PASSED_SHOWN
    return f"{shown} (and {more} more)" if more > 0 else shown


def _cut(text: str) -> str:
    return safe_text(text, NOTICE_LIMIT)


@dataclass
class Notifier:
    """Turns tunnels' events into notices: at most one per tunnel per ``every`` seconds.

    A notice the limit holds back is not dropped: it waits, merged with whatever follows
    (an outage that begins and ends inside the limit becomes one "lost and … connected
    again (38 s down)"), until ``due`` hands it out; ``next_due`` says when to ask. Times are
    seconds on one steady clock the caller chooses (the tray: ``time.monotonic``).
    """

    enabled: bool = True
    every: float = NOTIFY_EVERY
    _tunnels: dict[str, _Tunnel] = field(default_factory=dict)

    def consider(self, event: TunnelEvent, now: float) -> Message | None:
        """The notice to show now for ``event``'s tunnel, if any (and if the limit allows;
        otherwise the news waits for ``due``)."""
        tunnel = self._tunnels.setdefault(event.tunnel, _Tunnel())
        fact = tunnel.fact(event, now)
        if not self.enabled:
            tunnel.news = None
            return None
        if fact is not None:
            if tunnel.news is None:
                tunnel.news = _News(fact.kind)
            tunnel.news.add(fact)
        return self._ripe(event.tunnel, tunnel, now)

    def due(self, now: float) -> list[Message]:
        """The notices whose wait is over, one per tunnel at most."""
        if not self.enabled:
            for tunnel in self._tunnels.values():
                tunnel.news = None
            return []
        ripe = (self._ripe(name, tunnel, now) for name, tunnel in self._tunnels.items())
        return [message for message in ripe if message is not None]

    def next_due(self) -> float | None:
        """When the earliest waiting notice may be shown (None: nothing waits)."""
        times = [
            (tunnel.shown_at or 0.0) + self.every
            for tunnel in self._tunnels.values()
            if tunnel.news is not None
        ]
        return min(times) if times and self.enabled else None

    def forget(self, name: str) -> None:
        """A tunnel that is gone (removed): nothing more is told of it."""
        self._tunnels.pop(name, None)

    def _ripe(self, name: str, tunnel: _Tunnel, now: float) -> Message | None:
        if tunnel.news is None:
            return None
        if tunnel.shown_at is not None and now < tunnel.shown_at + self.every:
            return None  # (the sum next_due gives: a difference may round below it)
        message = render(name, tunnel.news)
        tunnel.told = tunnel.news.up or tunnel.told
        tunnel.news, tunnel.shown_at = None, now
        return message
