"""The ``tunnelkeeper`` command line (imports no Qt): ``main`` and the command table."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from app.cli.output import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, UserFacingError, error_text
from app.cli.parser import build_parser
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
    "command_function",
    "main",
]

Command = Callable[[argparse.Namespace, AppPaths, TextIO], int]

# command -> (module in app.cli, function): a command's module is imported only when it
# runs, so `run` does not pay for the others' imports at every start (issue 20)
COMMANDS: dict[str, tuple[str, str]] = {
    "add": ("profiles", "cmd_add"),
    "edit": ("profiles", "cmd_edit"),
    "list": ("profiles", "cmd_list"),
    "repair": ("repair", "cmd_repair"),
    "show": ("profiles", "cmd_show"),
    "remove": ("profiles", "cmd_remove"),
    "trust": ("trust", "cmd_trust"),
    "run": ("run", "cmd_run"),
    "keygen": ("keys", "cmd_keygen"),
    "import-key": ("keys", "cmd_import_key"),
    "pubkey": ("keys", "cmd_pubkey"),
    "status": ("run", "cmd_status"),
    "history": ("history", "cmd_history"),
    "alerts": ("alerts", "cmd_alerts"),
    "test": ("check", "cmd_test"),
    "connect": ("control", "cmd_connect"),
    "disconnect": ("control", "cmd_disconnect"),
    "reconnect": ("control", "cmd_reconnect"),
    "logs": ("control", "cmd_logs"),
    "diagnose": ("diagnose", "cmd_diagnose"),
    "health": ("health", "cmd_health"),
    "service": ("service", "cmd_service"),
}


def command_function(name: str) -> Command:
    """The function that carries out command ``name`` (its module imported now)."""
    module, function = COMMANDS[name]
    found: Command = getattr(importlib.import_module(f"app.cli.{module}"), function)
    return found


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
    argv = list(sys.argv[1:] if argv is None else argv)
    # `run` (what the service and scripts start) builds only its own parser
    parser = build_parser("run" if argv[:1] == ["run"] else None)
    args = parser.parse_args(argv)
    command: Command
    if args.self_test:
        command = cmd_self_test
    elif args.command is None:
        return _desktop_app(parser, quiet=args.autostart)
    else:
        if args.command == "run":  # before its imports: see app/platform/openssl.py
            from app.platform.openssl import hash_without_system_openssl

            hash_without_system_openssl()
        command = command_function(args.command)
    from app.storage.logs import quiet_paramiko

    quiet_paramiko()
    try:
        # inside: no private runtime folder (FolderNotPrivate) is a sentence, not a traceback
        return command(args, app_paths(), sys.stdout)
    except UserFacingError as exc:
        print(f"tunnelkeeper: {safe_text(str(exc), DETAIL_LIMIT)}", file=sys.stderr)
        return exc.code
    except StoredPassphraseWrong as exc:  # only a terminal can put this right
        from app.cli.passphrases import stored_passphrase_wrong

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
