"""``test``: check every step from this machine to the vendor."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from app.cli.output import EXIT_FAILED, EXIT_OK, with_command
from app.cli.passphrases import tell_remembered, terminal_ask
from app.core.textsafe import DETAIL_LIMIT, safe_text
from app.storage.paths import AppPaths

_MARKS = {"pass": "PASS", "fail": "FAIL", "skipped": "SKIP"}


def cmd_test(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    from app.services.api import Services

    def report(result: dict[str, Any]) -> None:
        if args.json:
            return
        print(
            f"[{_MARKS[result['status']]}] {result['number']}. {result['name']}: "
            f"{safe_text(result['detail'], DETAIL_LIMIT)}",
            file=out,
        )
        if result["remedy"] and result["status"] != "pass":
            remedy = with_command(result["remedy"], result.get("action"), args.name)
            print(f"       -> {safe_text(remedy, DETAIL_LIMIT)}", file=out)
        out.flush()

    outcome = Services(paths).checks.run_test(
        args.name, terminal_ask(), report, lambda kept: tell_remembered(kept, sys.stderr)
    )
    if args.json:
        print(json.dumps(outcome.to_dict(), indent=2), file=out)
    else:
        failed = [c for c in outcome.checks if c["status"] == "fail"]
        print("All checks passed." if not failed else f"{len(failed)} check(s) failed.", file=out)
    return EXIT_OK if outcome.passed else EXIT_FAILED
