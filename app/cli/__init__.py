"""The ``tunnelkeeper`` command line (imports no Qt): ``main`` and the command table."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from app.cli.alerts import cmd_alerts
from app.cli.check import cmd_test
from app.cli.control import cmd_connect, cmd_disconnect, cmd_logs, cmd_reconnect
from app.cli.diagnose import cmd_diagnose
from app.cli.health import cmd_health
from app.cli.history import cmd_history
from app.cli.keys import cmd_import_key, cmd_keygen, cmd_pubkey
from app.cli.output import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, UserFacingError, error_text
from app.cli.parser import build_parser
from app.cli.passphrases import stored_passphrase_wrong
from app.cli.profiles import cmd_add, cmd_edit, cmd_list, cmd_remove, cmd_show
from app.cli.repair import cmd_repair
from app.cli.run import cmd_run, cmd_status
from app.cli.service import cmd_service
from app.cli.trust import cmd_trust
from app.core.textsafe import DETAIL_LIMIT, safe_text
from app.errors import ConfigError, StoredPassphraseWrong, TunnelkeeperError
from app.storage.paths import AppPaths, app_paths

__all__ = [
    "COMMANDS",
    "EXIT_CONFIG",
    "EXIT_FAILED",
    "EXIT_OK",
    "UserFacingError",
    "build_parser",
    "cmd_add",
    "cmd_edit",
    "cmd_import_key",
    "cmd_keygen",
    "cmd_list",
    "cmd_pubkey",
    "cmd_remove",
    "cmd_repair",
    "cmd_run",
    "cmd_show",
    "cmd_status",
    "cmd_test",
    "cmd_trust",
    "main",
]


COMMANDS: dict[str, Callable[[argparse.Namespace, AppPaths, TextIO], int]] = {
    "add": cmd_add,
    "edit": cmd_edit,
    "list": cmd_list,
    "repair": cmd_repair,
    "show": cmd_show,
    "remove": cmd_remove,
    "trust": cmd_trust,
    "run": cmd_run,
    "keygen": cmd_keygen,
    "import-key": cmd_import_key,
    "pubkey": cmd_pubkey,
    "status": cmd_status,
    "history": cmd_history,
    "alerts": cmd_alerts,
    "test": cmd_test,
    "connect": cmd_connect,
    "disconnect": cmd_disconnect,
    "reconnect": cmd_reconnect,
    "logs": cmd_logs,
    "diagnose": cmd_diagnose,
    "health": cmd_health,
    "service": cmd_service,
}


def cmd_self_test(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    from app.selftest import run

    return run(out)


def _desktop_app(parser: argparse.ArgumentParser, quiet: bool) -> int:
    """No command: the tray app, or the help (and why) where no window can open."""
    from app.ui.display import display_problem

    problem = display_problem()
    if problem is not None:
        print(f"tunnelkeeper: {problem}", file=sys.stderr)
        parser.print_help()
        return EXIT_CONFIG
    try:
        from app.ui.application import run
    except ImportError as exc:  # Qt's system libraries missing (libEGL, libxkbcommon, …)
        print(f"tunnelkeeper: the desktop app cannot start: {exc}.", file=sys.stderr)
        parser.print_help()
        return EXIT_FAILED
    return run(quiet=quiet)


def _give_windowless_streams_a_file() -> None:
    """A windowed Windows build has no stdout/stderr: send what would be printed (--version,
    --self-test, errors) to ``console.log`` in the logs folder instead of losing it."""
    if sys.stdout is not None and sys.stderr is not None:
        return
    try:
        log_dir = app_paths().log_dir
        log_dir.mkdir(parents=True, exist_ok=True)
        stream = open(log_dir / "console.log", "a", encoding="utf-8", buffering=1)  # noqa: SIM115
    except (OSError, TunnelkeeperError):
        stream = open(os.devnull, "w")  # noqa: SIM115
    sys.stdout = sys.stdout or stream
    sys.stderr = sys.stderr or stream


def main(argv: Sequence[str] | None = None) -> int:
    _give_windowless_streams_a_file()
    parser = build_parser()
    args = parser.parse_args(argv)
    command: Callable[[argparse.Namespace, AppPaths, TextIO], int]
    if args.self_test:
        command = cmd_self_test
    elif args.command is None:
        return _desktop_app(parser, quiet=args.autostart)
    else:
        command = COMMANDS[args.command]
    from app.storage.logs import quiet_paramiko

    quiet_paramiko()
    try:
        # inside: no private runtime folder (FolderNotPrivate) is a sentence, not a traceback
        return command(args, app_paths(), sys.stdout)
    except UserFacingError as exc:
        print(f"tunnelkeeper: {safe_text(str(exc), DETAIL_LIMIT)}", file=sys.stderr)
        return exc.code
    except StoredPassphraseWrong as exc:  # only a terminal can put this right
        wrong = stored_passphrase_wrong(exc)
        print(f"tunnelkeeper: {safe_text(str(wrong), DETAIL_LIMIT)}", file=sys.stderr)
        return wrong.code
    except TunnelkeeperError as exc:
        # the sentence, and the command that does its remedy (`tunnelkeeper trust NAME`)
        print(f"tunnelkeeper: {safe_text(error_text(exc), DETAIL_LIMIT)}", file=sys.stderr)
        return EXIT_CONFIG if isinstance(exc, ConfigError) else EXIT_FAILED
    except KeyboardInterrupt:
        print("tunnelkeeper: interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader of our output went away (`tunnelkeeper list | head -1`)
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silences the exit flush
        return EXIT_FAILED
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        said = safe_text(f"cannot use{where}: {exc.strerror or exc}", DETAIL_LIMIT)
        print(f"tunnelkeeper: {said}", file=sys.stderr)
        return EXIT_FAILED
