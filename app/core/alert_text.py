"""What an alert says: one sentence for people, a webhook's JSON body, an email (pure)."""

from __future__ import annotations

import re
from typing import Any

from app.core.alerts import Alert, Kind
from app.core.events import State, iso_time
from app.core.textsafe import PIECE_LIMIT, safe_text
from app.core.units import duration

LABELS = {
    Kind.DOWN: "down",
    Kind.NEEDS_USER: "needs attention",
    Kind.FLAPPING: "unstable",
    Kind.RESTORED: "restored",
    Kind.STOPPED: "stopped",
    Kind.TEST: "test",
}
# the engine's cause ends with when it tries next: an alert says why, not what follows
_NEXT_TRY = re.compile(r"(?:;\s*retrying in \d+ s|\s*Trying again in \d+ s)\.?$")
# Slack reads &, < and > as markup (links, mentions) and asks for them escaped
_SLACK = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def cause_of(alert: Alert) -> str:
    """The tunnel's words about its trouble, without the engine's next-try note."""
    return _NEXT_TRY.sub("", alert.cause).rstrip(" .;")


def headline(alert: Alert, host: str) -> str:
    """One sentence (or three) that says it all: the tunnel, where, what, for how long, why."""
    who = f"Tunnel {safe_text(alert.tunnel)} on {safe_text(host, PIECE_LIMIT)}"
    cause = cause_of(alert)
    why = f" Cause: {_sentence(cause)}" if cause else ""
    lasted = duration(alert.duration)
    often = (
        f" It went down {alert.count} times in the last {duration(alert.window)}."
        if alert.count > 1
        else ""
    )
    kind = alert.kind
    if kind is Kind.DOWN:
        return f"{who} is down: not connected for {lasted}.{why}{often}"
    if kind is Kind.NEEDS_USER:
        down = f" It has been down for {lasted}." if alert.duration >= 1 else ""
        return f"{who} needs attention: {_sentence(cause or 'it waits for you')}{down}{often}"
    if kind is Kind.FLAPPING:
        last = f" Last cause: {_sentence(cause)}" if cause else ""
        return (
            f"{who} is unstable: it went down {alert.count} times in the last "
            f"{duration(alert.window)}.{last}"
        )
    if kind is Kind.RESTORED and alert.state is State.STANDBY:
        return (
            f"{who} is connected again and stands by (another machine holds the port): "
            f"restored after {lasted}."
        )
    if kind is Kind.RESTORED:
        return f"{who} is connected again: restored after {lasted}."
    if kind is Kind.STOPPED:
        return (
            f"{who} was stopped after {lasted} of trouble; nothing more is said about it "
            "until it runs again."
        )
    scope = f"tunnel {safe_text(alert.tunnel)}" if alert.tunnel else "every tunnel"
    return (
        f"Test alert from Tunnelkeeper on {safe_text(host, PIECE_LIMIT)}: alerts about "
        f"{scope} reach this receiver."
    )


def _sentence(text: str) -> str:
    return text if text.endswith((".", "?", "!")) else f"{text}."


def alert_text(alert: Alert, host: str) -> str:
    """The ``text`` Slack and Microsoft Teams incoming webhooks show as it is."""
    return headline(alert, host).translate(_SLACK)


def webhook_body(alert: Alert, host: str) -> dict[str, Any]:
    """The JSON a webhook receives: tunnel, state, since (ISO UTC), duration (s), cause,
    host, text; then kind, count (times down in the last ``window`` s) and at."""
    return {
        "tunnel": alert.tunnel,
        "state": alert.state.value if alert.kind is not Kind.TEST else "test",
        "since": iso_time(alert.since),
        "duration": round(alert.duration),
        "cause": cause_of(alert),
        "host": host,
        "text": alert_text(alert, host),
        "kind": alert.kind.value,
        "count": alert.count,
        "window": round(alert.window),
        "at": iso_time(alert.at),
    }


def mail_subject(alert: Alert, host: str) -> str:
    what = safe_text(alert.tunnel) if alert.tunnel else "alerts"
    return f"[Tunnelkeeper] {what} on {safe_text(host)}: {LABELS[alert.kind]}"


def mail_body(alert: Alert, host: str) -> str:
    """The email's plain text: the sentence, then each fact on its own line."""
    lines = [headline(alert, host), ""]
    if alert.kind is not Kind.TEST:
        facts = [
            ("Tunnel", safe_text(alert.tunnel)),
            ("State", alert.state.value),
            ("Since", iso_time(alert.since) or "-"),
            ("Duration", duration(alert.duration)),
            ("Cause", cause_of(alert) or "-"),
            ("Host", safe_text(host)),
        ]
        if alert.count > 1:
            facts.append(("Went down", f"{alert.count} times in {duration(alert.window)}"))
        lines += [f"{label}: {value}" for label, value in facts]
        lines.append("")
    lines.append("Sent by Tunnelkeeper (`tunnelkeeper alerts list` shows where alerts go).")
    return "\n".join(lines) + "\n"
