"""``repair``: check every file Tunnelkeeper keeps and move broken ones aside."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TextIO

from app.cli.output import EXIT_FAILED, EXIT_OK
from app.errors import TunnelkeeperError
from app.storage.paths import AppPaths


def cmd_repair(
    args: argparse.Namespace, paths: AppPaths, out: TextIO, ask: Callable[[str], str] = input
) -> int:
    """Check every file we keep (profiles, known_hosts, app settings, run state); report
    each broken one and, with consent, move it aside (kept, renamed, never deleted)."""
    from app.storage.repair import survey

    code = EXIT_OK
    for finding in survey(paths):
        if finding.problem is None:
            if finding.fine:
                print(f"{finding.path} {finding.fine}.", file=out)
            continue
        print(f"Problem: {finding.problem}", file=out)
        consent = args.move_aside
        if not consent and sys.stdin.isatty():
            try:
                answer = ask(finding.question)
            except EOFError:
                answer = ""
            consent = answer.strip().lower() in ("y", "yes")
        if not consent:
            print("Nothing was changed (use --move-aside to rename it).", file=out)
            code = EXIT_FAILED
            continue
        try:
            moved = finding.move()
        except (OSError, TunnelkeeperError) as exc:
            detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            print(f"Could not move it aside: {detail}", file=out)
            code = EXIT_FAILED
            continue
        print(f"Moved to {moved}; {finding.after}.", file=out)
    return code
