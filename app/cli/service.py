"""``service install | uninstall | status``: tunnels that run at boot, with nobody logged in."""

from __future__ import annotations

import argparse
import getpass
import os
import subprocess
import sys
from typing import TYPE_CHECKING, Any, TextIO

from app.cli.metrics import add_metrics_flags, metrics_flags
from app.cli.output import EXIT_FAILED, EXIT_OK, UserFacingError
from app.core.service_units import SERVICE_USER, UNIT_NAME, Scope
from app.platform.service_install import ROOT_ENV, starts_it
from app.storage.paths import AppPaths

if TYPE_CHECKING:
    from app.platform.service_install import Step


def add_service_commands(sub: Any) -> None:
    service = sub.add_parser("service", help="run tunnels at boot, with nobody logged in")
    verbs = service.add_subparsers(dest="service_command", metavar="ACTION", required=True)
    install = verbs.add_parser("install", help="install and start the service")
    uninstall = verbs.add_parser("uninstall", help="stop and remove the service")
    verbs.add_parser("status", help="is the service installed and running")
    for parser in (install, uninstall):
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument("--user", action="store_true", help="your tunnels (the default)")
        scope.add_argument("--system", action="store_true", help="the machine's own service")
        parser.add_argument(
            "--dry-run", action="store_true", help="show every file and command; change nothing"
        )
    install.add_argument(
        "--move",
        nargs="+",
        metavar="NAME",
        default=[],
        help="(--system) move these tunnels, their keys and host keys into the service",
    )
    install.add_argument(
        "--alerts",
        action="store_true",
        help="(--system) copy your alerts into the service (replacing its own), their SMTP "
        "passwords as encrypted credentials",
    )
    install.add_argument(
        "--run-as",
        default=SERVICE_USER,
        metavar="USER",
        help=f"(--system) the account the service runs as (default: {SERVICE_USER})",
    )
    install.add_argument(
        "--no-start",
        action="store_true",
        help="write everything but do not enable or start it (images, packaging)",
    )
    install.add_argument("--from-stdin", action="store_true", help=argparse.SUPPRESS)
    add_metrics_flags(install, "the service's tunnels")


def cmd_service(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    if args.service_command == "status":
        return _status(out)
    scope = Scope.SYSTEM if args.system else Scope.USER
    if args.service_command == "uninstall":
        return _uninstall(scope, args.dry_run, out)
    return _install(args, scope, paths, out)


def _install(args: argparse.Namespace, scope: Scope, paths: AppPaths, out: TextIO) -> int:
    from app.core import service_bundle
    from app.services.api import Services

    if (args.move or args.from_stdin) and scope is not Scope.SYSTEM:
        raise UserFacingError("--move goes with --system: your own tunnels are the user service's.")
    if args.alerts and scope is not Scope.SYSTEM:
        raise UserFacingError("--alerts goes with --system: the user service reads your alerts.")
    manager = Services(paths).service
    run_flags = metrics_flags(args)  # checked before anything is asked or written
    if args.from_stdin:  # the privileged half: the tunnels arrive on standard input
        if os.name == "posix" and os.geteuid() != 0 and not os.environ.get(ROOT_ENV):
            raise UserFacingError("--from-stdin is the installer's own step, run as root.")
        data = sys.stdin.buffer.read(service_bundle.MAX_BUNDLE + 1)
        moved, copied = service_bundle.decode_bundle(data)
    elif (args.move or args.alerts) and not args.dry_run:
        problems = manager.move_to_system(
            list(args.move),
            _ask,
            run_as=args.run_as,
            start=not args.no_start,
            on_step=lambda step: print(f"done: {step.describe().splitlines()[0]}", file=out),
            run_flags=run_flags,
            alerts=args.alerts,
        )
        return _handed_over(problems, out, bool(args.move), args.alerts)
    else:
        moved = manager.bundle(list(args.move), _ask) if args.move else []
        copied = manager.alerts_bundle(_ask) if args.alerts else None
    spec = manager.install_spec(scope, args.run_as, run_flags)
    steps = manager.install_steps(spec, moved, copied)
    if args.no_start:
        steps = [step for step in steps if not starts_it(step)]
    for warning in manager.warnings(spec):
        print(f"tunnelkeeper: warning: {warning}", file=sys.stderr)
    print(manager.protection(spec, moved, copied), file=out)
    if args.dry_run:
        print("\nWould do (nothing is changed):", file=out)
        for step in steps:
            print(f"- {step.describe()}", file=out)
        return EXIT_OK
    _perform(steps, out)
    where = "at boot, for the whole machine" if scope is Scope.SYSTEM else "at boot, as you"
    print(f"The service is installed and runs {where} (`tunnelkeeper service status`).", file=out)
    return EXIT_OK


def _perform(steps: list[Step], out: TextIO) -> None:
    from app.platform.service_install import perform

    for step in steps:
        perform(step)
        print(f"done: {step.describe().splitlines()[0]}", file=out)


def _handed_over(problems: list[str], out: TextIO, tunnels: bool, alerts: bool) -> int:
    for problem in problems:
        print(f"tunnelkeeper: could not stop {problem}", file=sys.stderr)
    if tunnels:
        print("The moved tunnels run in the service now and were removed from yours.", file=out)
    if alerts:
        print(
            "The service sends your alerts now (yours stay as they are; run this again after "
            "changing them).",
            file=out,
        )
    return EXIT_FAILED if problems else EXIT_OK


def _uninstall(scope: Scope, dry_run: bool, out: TextIO) -> int:
    from app.platform.service_install import linux_removal

    steps = linux_removal(scope)
    if dry_run:
        print("Would do (nothing is changed):", file=out)
        for step in steps:
            print(f"- {step.describe()}", file=out)
        return EXIT_OK
    _perform(steps, out)
    print(
        "The service is removed; its configuration and keys are kept (remove them by hand).",
        file=out,
    )
    return EXIT_OK


def _status(out: TextIO) -> int:
    from app.control.addresses import system_address

    for scope, prefix in ((Scope.SYSTEM, ()), (Scope.USER, ("--user",))):
        state = _systemctl(*prefix, "is-active", UNIT_NAME)
        enabled = _systemctl(*prefix, "is-enabled", UNIT_NAME)
        print(
            f"{scope.value} service: {state or 'unknown'} ({enabled or 'not installed'})", file=out
        )
    address = system_address()
    print(f"system service's control socket: {address.path if address else 'none'}", file=out)
    return EXIT_OK


def _systemctl(*argv: str) -> str:
    try:
        done = subprocess.run(
            ["systemctl", *argv], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip()[:60]


def _ask(prompt: str) -> str | None:
    if not sys.stdin.isatty():
        return None
    try:
        return getpass.getpass(prompt)
    except (EOFError, KeyboardInterrupt):
        return None
