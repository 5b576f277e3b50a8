"""``test``: check every step from this machine to the vendor."""

from __future__ import annotations

import argparse
import json
from typing import TextIO

from app.cli.output import EXIT_FAILED, EXIT_OK
from app.cli.passphrases import load_key_for
from app.core.textsafe import DETAIL_LIMIT, safe_text
from app.storage.paths import AppPaths
from app.storage.store import ProfileStore

_MARKS = {"pass": "PASS", "fail": "FAIL", "skipped": "SKIP"}


def cmd_test(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    from app.engine.checks import CheckResult, ConnectionTest
    from app.storage.runstate import read_running

    profile = ProfileStore(paths.profiles_file).get(args.name)

    def running(name: str) -> int | None:
        for tunnel in read_running(paths.runtime_dir):
            if tunnel.get("tunnel") == name and tunnel.get("state") == "connected":
                return int(tunnel["pid"])
        return None

    def report(result: CheckResult) -> None:
        if args.json:
            return
        print(
            f"[{_MARKS[result.status.value]}] {result.number}. {result.name}: "
            f"{safe_text(result.detail, DETAIL_LIMIT)}",
            file=out,
        )
        if result.remedy and result.status.value != "pass":
            print(f"       -> {safe_text(result.remedy, DETAIL_LIMIT)}", file=out)
        out.flush()

    test = ConnectionTest(profile, paths.known_hosts_file, load_key_for, running, report)
    results = test.run()
    if args.json:
        document = {
            "tunnel": profile.name,
            "ok": test.passed,
            "checks": [r.to_dict() for r in results],
        }
        print(json.dumps(document, indent=2), file=out)
    else:
        failed = [r for r in results if r.status.value == "fail"]
        print("All checks passed." if not failed else f"{len(failed)} check(s) failed.", file=out)
    return EXIT_OK if test.passed else EXIT_FAILED
