"""The argparse definitions of every command (nothing slow is imported here)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from app import __version__
from app.cli.metrics import metrics_flags_parent
from app.cli.output import EXIT_CONFIG


class _Parser(argparse.ArgumentParser):
    """Every command's parser: no prefix matching (``--jump`` must never be read as
    ``--jumphost``: a mistyped flag is an error, never another flag), exit code 3 on misuse."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> Any:  # argparse's exit code for usage errors is 2
        self.print_usage(sys.stderr)
        self.exit(EXIT_CONFIG, f"tunnelkeeper: {message}\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Every command's parser; with ``command`` "run", only run's (the same parser for
    it, without importing the other commands' modules: issue 20's start-up time)."""
    parser = _Parser(
        prog="tunnelkeeper",
        description="Keep a reverse SSH tunnel to a data vendor's jumphost open.",
    )
    parser.add_argument("--version", action="version", version=f"tunnelkeeper {__version__}")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check that this installation has every part it needs (Qt, keychain, crypto, "
        "icons), then exit",
    )
    # what the start-at-login entry passes; the desktop app (issue 5) will start quietly
    parser.add_argument("--autostart", action="store_true", help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    if command == "run":
        _add_run_command(sub)
    else:
        _add_every_command(sub)
    return parser


def _add_every_command(sub: Any) -> None:
    from app.cli.alerts import add_alerts_command
    from app.cli.diagnose import add_diagnose_command
    from app.cli.health import add_health_command
    from app.cli.history import add_history_command
    from app.cli.service import add_service_commands

    add = sub.add_parser(
        "add",
        help="add a tunnel profile",
        description="Add a tunnel. --from reads the vendor's text (an ssh/autossh command, "
        "an endpoint, an ssh config block, KEY=value lines); flags fill or override fields.",
    )
    add.add_argument("name", metavar="NAME")
    add.add_argument("--from", dest="paste", metavar="TEXT", help="pasted text, or - for stdin")
    _add_tunnel_flags(add)
    add.add_argument("--replace", action="store_true", help="overwrite a profile of that name")

    edit = sub.add_parser(
        "edit",
        help="change some settings of a tunnel profile",
        description="Change only the settings given; the rest stay. A `run --all` (and the "
        "service) restarts a tunnel whose connection changed; elsewhere the change applies "
        "when the tunnel next starts.",
    )
    edit.add_argument("name", metavar="NAME")
    _add_tunnel_flags(edit)

    _add_key_commands(sub)

    repair = sub.add_parser(
        "repair",
        help="check every file Tunnelkeeper keeps (profiles, known_hosts, settings, run "
        "state); move broken ones aside",
    )
    repair.add_argument(
        "--move-aside",
        action="store_true",
        help="rename each broken file out of the way (kept, never deleted) without asking",
    )

    lst = sub.add_parser("list", help="list tunnel profiles")
    lst.add_argument("--json", action="store_true")

    show = sub.add_parser("show", help="show one tunnel profile")
    show.add_argument("name", metavar="NAME")
    show.add_argument("--json", action="store_true")

    rm = sub.add_parser("remove", help="remove a tunnel profile")
    rm.add_argument("name", metavar="NAME")

    trust = sub.add_parser(
        "trust",
        help="fetch, confirm and pin the jumphost's host key (and its jump hosts', first)",
    )
    trust.add_argument("name", metavar="NAME")
    how = trust.add_mutually_exclusive_group()
    how.add_argument("--yes", action="store_true", help="pin first keys without asking")
    how.add_argument(
        "--fingerprint",
        metavar="SHA256:...",
        action="append",
        help="pin only if it matches; once per host key to pin (jump hosts, the jumphost)",
    )
    trust.add_argument(
        "--import-known-hosts",
        nargs="?",
        const=str(Path("~/.ssh/known_hosts")),
        metavar="FILE",
        help="take the key from an OpenSSH known_hosts file (default ~/.ssh/known_hosts)",
    )

    _add_run_command(sub)

    test = sub.add_parser("test", help="check every step from this machine to the vendor")
    test.add_argument("name", metavar="NAME")
    test.add_argument("--json", action="store_true")

    for add_command in (
        add_history_command,
        add_alerts_command,
        add_diagnose_command,
        add_health_command,
    ):
        add_command(sub)

    status = sub.add_parser("status", help="show the state of running tunnels")
    status.add_argument("names", nargs="*", metavar="NAME")
    status.add_argument("--json", action="store_true")

    for verb, what in (
        ("connect", "start a tunnel in the process that hosts tunnels (app, run or service)"),
        ("disconnect", "stop a tunnel wherever it runs"),
        ("reconnect", "drop a tunnel's connection and connect again now"),
    ):
        acting = sub.add_parser(verb, help=what)
        acting.add_argument("name", metavar="NAME")

    add_service_commands(sub)

    logs = sub.add_parser("logs", help="show the log (of one tunnel)")
    logs.add_argument("name", nargs="?", metavar="NAME", default="")
    logs.add_argument("-f", "--follow", action="store_true", help="keep showing new lines")
    logs.add_argument("-n", "--lines", type=int, default=100, help="how many lines (100)")


def _add_run_command(sub: Any) -> None:
    run = sub.add_parser(
        "run",
        help="run tunnels until interrupted",
        parents=[metrics_flags_parent("its tunnels", _Parser)],
    )
    run.add_argument("names", nargs="*", metavar="NAME")
    run.add_argument(
        "--all",
        action="store_true",
        help="run every tunnel not switched off, following changes to the profiles file",
    )
    run.add_argument("--events", choices=["json"], help="write one JSON object per event")
    run.add_argument("-v", "--verbose", action="store_true", help="log debug detail")


def _add_tunnel_flags(command: argparse.ArgumentParser) -> None:
    """The settings of a tunnel, as ``add`` and ``edit`` take them."""
    command.add_argument("--jumphost", metavar="HOST")
    command.add_argument("--ssh-port", metavar="N", help="default 22")
    command.add_argument("--user", metavar="USER")
    command.add_argument("--remote-port", metavar="N", help="the allocated port")
    command.add_argument(
        "--remote-bind",
        metavar="ADDR",
        help="address the jumphost listens on (default: as ssh -R, 'localhost')",
    )
    command.add_argument("--target", metavar="HOST:PORT")
    command.add_argument(
        "--key", metavar="PATH", help="private key file, or a key NAME from keygen"
    )
    command.add_argument(
        "--proxy",
        metavar="URL|system|none",
        help="reach the jumphost through this proxy: http://[user@]host:port, https://…, "
        "socks5://…, socks5h://… (the proxy resolves the name); 'system' (the default) "
        "uses HTTPS_PROXY / ALL_PROXY / NO_PROXY; 'none' dials directly. A password given "
        "as user:password@ goes into the keychain, never into the profile",
    )
    command.add_argument(
        "--jump",
        metavar="USER@HOST[:PORT][,…]",
        help="reach the jumphost through these SSH jump hosts (as ssh -J / ProxyJump), the "
        "first dialled first (through --proxy, if one applies); each logs in with the "
        "tunnel's key and has its host key pinned by `trust`. 'none' removes them",
    )
    command.add_argument(
        "--role",
        choices=("single", "redundant"),
        help="'redundant' when another machine runs this tunnel too: the one holding the "
        "jumphost's port is active, the others stand by and take over (default: single)",
    )
    command.add_argument(
        "--fence-after",
        metavar="TIME",
        help="redundant only: give the port up when the target has not answered for this "
        "long (30s, 1m; default 30s), so a machine that reaches it takes over",
    )
    command.add_argument(
        "--proxy-password-stdin",
        action="store_true",
        help="read the proxy user's password from the first line of standard input (for "
        "scripts); it goes into the keychain",
    )


def _add_key_commands(sub: Any) -> None:
    keygen = sub.add_parser("keygen", help="create an ed25519 key for a tunnel")
    keygen.add_argument("name", metavar="NAME")
    secret = keygen.add_mutually_exclusive_group()
    secret.add_argument(
        "--passphrase-stdin",
        action="store_true",
        help="read the passphrase from the first line of standard input",
    )
    secret.add_argument("--no-passphrase", action="store_true", help="leave the key unencrypted")
    keygen.add_argument("--force", action="store_true", help="replace an existing key")

    imp = sub.add_parser("import-key", help="copy an existing private key into Tunnelkeeper")
    imp.add_argument("name", metavar="NAME")
    imp.add_argument("path", metavar="PATH")
    imp.add_argument(
        "--passphrase-stdin",
        action="store_true",
        help="read the key's passphrase from the first line of standard input",
    )
    imp.add_argument("--force", action="store_true", help="replace an existing key")

    pub = sub.add_parser("pubkey", help="print a key's public line (to paste at the vendor)")
    pub.add_argument("name", metavar="NAME", help="a key made by keygen/import-key, or a tunnel")
