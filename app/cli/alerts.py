"""``alerts add | list | remove | test``: where alerts about down tunnels go."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any, TextIO

from app.cli.output import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, UserFacingError
from app.cli.show import listed_briefly, print_json, print_table
from app.core.textsafe import DETAIL_LIMIT, safe_text
from app.storage.paths import AppPaths

if TYPE_CHECKING:
    from app.services.api import Services

_AFTER_HELP = "alert once a tunnel has been down this long: 2m (the default), 90s, 1h"


def add_alerts_command(sub: Any) -> None:
    """The ``alerts`` subcommand and its actions (``sub``: the parser's subparsers)."""
    alerts = sub.add_parser(
        "alerts",
        help="send a webhook or an email when a tunnel is down, and when it is back",
        description="Alerts go out from whichever process runs the tunnel (the desktop app, "
        "`run`, the service): once a tunnel has been down for the threshold, or needs you; "
        "then once it is back. A flapping tunnel sends at most one alert per threshold.",
    )
    verbs = alerts.add_subparsers(dest="alerts_command", metavar="ACTION", required=True)
    add = verbs.add_parser("add", help="send alerts to a webhook or an email address")
    kinds = add.add_subparsers(dest="alert_kind", metavar="KIND", required=True)
    hook = kinds.add_parser(
        "webhook",
        help="POST a JSON body to this URL (Slack and Teams incoming webhooks show its text)",
    )
    hook.add_argument("url", metavar="URL")
    email = kinds.add_parser("email", help="send an email to this address")
    email.add_argument("address", metavar="ADDRESS")
    email.add_argument("--smtp", required=True, metavar="HOST:PORT", help="the mail server")
    email.add_argument("--user", metavar="USER", help="sign in to the mail server as USER")
    email.add_argument(
        "--password-stdin",
        action="store_true",
        help="read USER's password from the first line of standard input; it goes into the "
        "keychain, never into a file",
    )
    email.add_argument(
        "--smtp-tls",
        choices=["starttls", "tls", "none"],
        help="tls from the start (the default on port 465), starttls (the default "
        "elsewhere), or none (only without --user, or to this machine)",
    )
    email.add_argument("--from", dest="sender", metavar="ADDRESS", help="the sender address")
    for parser in (hook, email):
        parser.add_argument("--tunnel", metavar="NAME", help="only this tunnel (default: all)")
        parser.add_argument("--after", default="2m", metavar="TIME", help=_AFTER_HELP)

    listing = verbs.add_parser("list", help="show where alerts go")
    listing.add_argument("--json", action="store_true")
    remove = verbs.add_parser("remove", help="stop sending alerts to one receiver")
    remove.add_argument("rule_id", metavar="ID")
    test = verbs.add_parser(
        "test", help="send a test alert (to every receiver, or one) and show each answer"
    )
    test.add_argument("rule_id", nargs="?", metavar="ID")
    test.add_argument("--json", action="store_true")


def cmd_alerts(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    from app.services.api import Services

    services = Services(paths)
    if args.alerts_command == "add":
        return _add(services, args, out)
    if args.alerts_command == "list":
        return _list(services, args.json, out)
    if args.alerts_command == "remove":
        removed = services.alerts.remove(args.rule_id)
        print(f"Alert {removed['id']} removed: {_where(removed)}.", file=out)
        return EXIT_OK
    return _test(services, args.rule_id, args.json, out)


def _add(services: Services, args: argparse.Namespace, out: TextIO) -> int:
    from app.cli.passphrases import read_stdin_secret

    if args.alert_kind == "webhook":
        added = services.alerts.add_webhook(args.url, args.tunnel, args.after)
    else:
        if args.password_stdin and not args.user:
            raise UserFacingError(
                "--password-stdin needs --user (the SMTP user it is the password of).", EXIT_CONFIG
            )
        password = read_stdin_secret().removesuffix("\r") if args.password_stdin else None
        added = services.alerts.add_email(
            args.address,
            args.smtp,
            user=args.user,
            password=password,
            tls=args.smtp_tls,
            sender=args.sender,
            tunnel=args.tunnel,
            after=args.after,
        )
    print(f"Alert {added['id']} added: {_where(added)}.", file=out)
    _note_unknown_tunnel(services, args.tunnel)
    print(f"Send a test message with `tunnelkeeper alerts test {added['id']}`.", file=out)
    if added.get("password_stored") is False:
        print(
            f"tunnelkeeper: the SMTP password was not stored ({added['password_problem']}), "
            "and it is never written anywhere else: the alert cannot sign in until it is. "
            f"Run `tunnelkeeper alerts remove {added['id']}` and add it again where a "
            "keychain works.",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    if added.get("password_stored"):
        print("The SMTP password is stored in the system keychain.", file=out)
    return EXIT_OK


def _note_unknown_tunnel(services: Services, name: str | None) -> None:
    from app.errors import TunnelkeeperError

    if name is None:
        return
    try:
        known = name in services.profiles.load()
    except TunnelkeeperError:
        return
    if not known:
        print(
            f"Note: there is no tunnel named {name} here; the alert applies wherever a tunnel "
            "of that name runs with these alerts (see `tunnelkeeper list`).",
            file=sys.stderr,
        )


def _where(rule: dict[str, Any]) -> str:
    """ "the webhook https://hooks.example.com/… about every tunnel, after 2m"."""
    scope = f"tunnel {rule['tunnel']}" if rule["tunnel"] else "every tunnel"
    what = safe_text(str(rule["receiver"]), DETAIL_LIMIT)
    return f"{what}, about {scope} once down {rule['after_text']}"


def _list(services: Services, as_json: bool, out: TextIO) -> int:
    rules = services.alerts.list()
    none = "No alerts are set up (add one with `tunnelkeeper alerts add webhook URL`)."
    if listed_briefly(out, rules, as_json, none):
        return EXIT_OK
    rows = [["ID", "KIND", "RECEIVER", "TUNNEL", "AFTER", "SMTP"]]
    for rule in rules:
        receiver = rule["receiver"].removeprefix("the webhook ")
        sign_in = f"{rule['user']} ({rule['tls']})" if rule.get("user") else rule.get("tls", "")
        rows.append([
            rule["id"], rule["kind"], safe_text(receiver), rule["tunnel"] or "(all)",
            rule["after_text"], sign_in or "-",
        ])  # fmt: skip
    print_table(out, rows)
    return EXIT_OK


def _test(services: Services, rule_id: str | None, as_json: bool, out: TextIO) -> int:
    results = services.alerts.test(rule_id)
    if as_json:
        print_json(out, results)
        return EXIT_OK if all(r["ok"] for r in results) else EXIT_FAILED
    if not results:
        raise UserFacingError(
            "no alerts are set up: add one with `tunnelkeeper alerts add webhook URL`.",
            EXIT_CONFIG,
        )
    for result in results:
        receiver = safe_text(result["receiver"], DETAIL_LIMIT)
        if result["ok"]:
            print(f"Alert {result['id']}: {receiver} answered {result['answer']}", file=out)
        else:
            print(
                f"tunnelkeeper: alert {result['id']}: the test did not reach {receiver}: "
                f"{result['answer']}.",
                file=sys.stderr,
            )
    return EXIT_OK if all(r["ok"] for r in results) else EXIT_FAILED
