"""``diagnose``: one zip file for the vendor's support, with every secret taken out."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from app.cli.output import EXIT_FAILED, EXIT_OK, UserFacingError
from app.storage.paths import AppPaths


def add_diagnose_command(sub: Any) -> None:
    """The ``diagnose`` subcommand's arguments (``sub``: the parser's subparsers)."""
    diagnose = sub.add_parser(
        "diagnose",
        help="save a zip of diagnostics for the vendor's support (secrets taken out)",
        description="Save one zip file for support: the connection test's results and the "
        "SSH algorithms it negotiated, the route, recent state changes and outages, the "
        "log's tail, versions, the profile (the key by fingerprint, not path) and pinned "
        "host keys. Passphrases, passwords, private keys, webhook URLs' secrets and your "
        "home folder's path are taken out; README.txt inside lists what is there.",
    )
    diagnose.add_argument(
        "name", nargs="?", metavar="NAME", help="one tunnel (default: every tunnel)"
    )
    diagnose.add_argument(
        "-o",
        "--output",
        metavar="FILE.zip",
        help="where to save it, a file or a folder (default: "
        "./tunnelkeeper-diagnostics-HOST-TIME.zip)",
    )
    diagnose.add_argument(
        "--no-test",
        action="store_true",
        help="leave the connection test out (it dials the jumphost)",
    )


def cmd_diagnose(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    from app.cli.passphrases import terminal_ask
    from app.services.api import Services
    from app.services.diagnose import DiagnosticsNotSaved

    def progress(step: str) -> None:
        print(f"{step[:1].upper()}{step[1:]}…", file=sys.stderr, flush=True)

    output = Path(args.output) if args.output else None
    try:
        saved = Services(paths).diagnose.save(
            args.name,
            output,
            run_test=not args.no_test,
            ask=terminal_ask(),
            progress=progress,
        )
    except DiagnosticsNotSaved as exc:
        raise UserFacingError(str(exc), EXIT_FAILED) from None
    print(f"Diagnostics saved to {saved.path}", file=out)
    print(saved.summary, file=out)
    return EXIT_OK
