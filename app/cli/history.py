"""``history``: a tunnel's availability, outages and throughput, from the history file."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from app.cli.output import EXIT_FAILED, EXIT_OK, UserFacingError
from app.cli.show import print_json
from app.storage.paths import AppPaths

if TYPE_CHECKING:
    from app.services.api import Services

CELLS = 48  # the 24-hour strip: one cell per half hour
OUTAGES_SHOWN = 20
SYMBOLS = {
    "up": "█",
    "target_refusing": "▒",
    "retrying": "░",
    "down": "✕",
    "stopped": "·",
}
LEGEND = "█ up  ▒ target refusing  ░ retrying  ✕ down (needs you)  · not running"


def add_history_command(sub: Any) -> None:
    """The ``history`` subcommand's arguments (``sub``: the parser's subparsers)."""
    history = sub.add_parser(
        "history", help="show a tunnel's availability, outages and throughput (7 days)"
    )
    history.add_argument("name", metavar="NAME")
    history.add_argument("--json", action="store_true")


def cmd_history(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    from app.services.api import Services

    services = Services(paths)
    data, where = _history(services, args.name)
    for problem in data.pop("problems", []):
        print(f"tunnelkeeper: {problem}.", file=sys.stderr)
    if not data["recorded"] and not _known(services, args.name):
        raise UserFacingError(
            f"no history of a tunnel named {args.name}: no such tunnel has run on this "
            f"machine in the last 7 days (see `tunnelkeeper list`).",
            EXIT_FAILED,
        )
    if args.json:
        print_json(out, {k: data[k] for k in ("tunnel", "windows", "throughput")})
        return EXIT_OK
    _print(out, data, where)
    return EXIT_OK


def _history(services: Services, name: str) -> tuple[dict[str, Any], str]:
    """The tunnel's history, and whose file it came from ("" for this user's). A tunnel
    the system service hosts is read from the service's file, if this account may."""
    from app.services.history import find_history
    from app.storage.history import HistoryUnreadable

    host = services.status.host_of(name, stopped=True)
    in_service = host is not None and host.address.system
    if host is not None:
        host.close()
    try:
        return find_history(services.history, name, in_service)
    except HistoryUnreadable as exc:
        raise UserFacingError(
            f"{name} runs in the system service; {exc} Run the command as root (sudo) "
            "or as the service's account to see it.",
            EXIT_FAILED,
        ) from None


def _known(services: Services, name: str) -> bool:
    from app.errors import TunnelkeeperError

    try:
        services.profiles.get(name)
    except TunnelkeeperError:
        return False
    return True


def _print(out: TextIO, data: dict[str, Any], where: str) -> None:
    from app.core.history import duration_text, rate_text

    day, week = data["windows"]["24h"], data["windows"]["7d"]
    source = f" (recorded by {where})" if where else ""
    print(f"{data['tunnel']}: history{source}, times local", file=out)
    print(
        f"  available {_share(day['availability'])} of the last 24 h, "
        f"{_share(week['availability'])} of the last 7 days (of the time it ran)",
        file=out,
    )
    if not data["recorded"]:
        print("  it has not run in the last 7 days.", file=out)
        return
    strip = "".join(SYMBOLS[kind] for kind in _cells(day))
    print(f"  last 24 h  {strip}", file=out)
    start, end = _local(day["start"], "%H:%M"), "now"
    print(f"             {start}{end.rjust(CELLS - len(start))}", file=out)
    print(f"             {LEGEND}", file=out)
    kept = data.get("kept_since")
    if kept and kept > week["start"]:
        print(f"  recorded since {_local(kept)}", file=out)

    found = list(reversed(week["outages"]))
    if not found:
        print("  outages in the last 7 days: none", file=out)
    else:
        print(f"  outages in the last 7 days ({len(found)}, newest first):", file=out)
        for outage in found[:OUTAGES_SHOWN]:
            length = duration_text(outage["seconds"])
            if outage.get("ongoing"):
                length += " (ongoing)"
            cause = outage["cause"] or "no reason recorded"
            print(f"    {_local(outage['start'])}  {length:<16}  {cause}", file=out)
        if len(found) > OUTAGES_SHOWN:
            print(f"    … and {len(found) - OUTAGES_SHOWN} earlier (see --json)", file=out)

    rates = data["throughput"]
    to_target = [r["to_target_bps"] for r in rates] or [0.0]
    to_vendor = [r["to_vendor_bps"] for r in rates] or [0.0]
    print("  throughput in the last hour:", file=out)
    for label, values in (("to target", to_target), ("to vendor", to_vendor)):
        average = sum(values) / len(values)
        print(
            f"    {label}: average {rate_text(average)}, peak {rate_text(max(values))}",
            file=out,
        )


def _cells(window: dict[str, Any]) -> list[str]:
    from app.core.history import Kind, Segment, cells

    parts = [
        Segment(Kind(s["kind"]), _epoch(s["start"]), _epoch(s["end"])) for s in window["segments"]
    ]
    return [k.value for k in cells(parts, _epoch(window["start"]), _epoch(window["end"]), CELLS)]


def _share(percent: float | None) -> str:
    return "—" if percent is None else f"{percent:.1f} %"


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def _local(stamp: str, form: str = "%Y-%m-%d %H:%M") -> str:
    return datetime.fromisoformat(stamp).astimezone().strftime(form)
