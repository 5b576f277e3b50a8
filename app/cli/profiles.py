"""Tunnel profiles: ``add``, ``list``, ``show`` and ``remove``."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from app.cli.output import EXIT_CONFIG, EXIT_OK, UserFacingError
from app.cli.show import listed_briefly, print_json, print_table
from app.core.profile import format_hostport, parse_hostport, validate_name
from app.core.textsafe import DETAIL_LIMIT, safe_text
from app.storage.paths import AppPaths

_FLAG_OF = {
    "jumphost": "--jumphost HOST",
    "ssh_port": "--ssh-port N",
    "user": "--user USER",
    "remote_port": "--remote-port N",
    "target_host": "--target HOST:PORT",
    "target_port": "--target HOST:PORT",
    "key_path": "--key PATH",
}


def _pasted_fields(args: argparse.Namespace, out: TextIO) -> dict[str, Any]:
    """Fields from ``--from`` (reported as found / placeholders / ignored)."""
    from app.core.paste import parse_paste

    text = sys.stdin.read() if args.paste == "-" else args.paste
    result = parse_paste(text)
    found = ", ".join(f"{k} {v!s}" for k, v in result.fields.items()) or "nothing usable"
    print(safe_text(f"Found ({result.source}): {found}.", DETAIL_LIMIT), file=out)
    for field_name, token in result.placeholders.items():
        print(f"Still a placeholder: {field_name} ({safe_text(token)}).", file=out)
    for note in result.ignored:
        print(f"Ignored: {safe_text(note, DETAIL_LIMIT)}", file=out)
    return dict(result.fields)


def cmd_add(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    from app.services.api import Services

    name = validate_name(args.name)
    fields: dict[str, Any] = _pasted_fields(args, out) if args.paste is not None else {}
    # explicit flags fill in or override what the paste said
    for flag, key in (
        ("jumphost", "jumphost"),
        ("ssh_port", "ssh_port"),
        ("user", "user"),
        ("remote_port", "remote_port"),
        ("remote_bind", "remote_bind"),
    ):
        if getattr(args, flag) is not None:
            fields[key] = getattr(args, flag)
    if args.target is not None:
        fields["target_host"], fields["target_port"] = parse_hostport(args.target, "target")
    if args.key is not None:
        fields["key_path"] = args.key
    fields.setdefault("ssh_port", 22)
    missing = [k for k in _FLAG_OF if k not in fields]
    if missing:
        flags = sorted({_FLAG_OF[k] for k in missing})
        raise UserFacingError(
            f"still missing: {', '.join(missing)}; give {' '.join(flags)}.", EXIT_CONFIG
        )
    Services(paths).profiles.add(name, fields, replace=args.replace)
    print(f"Added tunnel {name!r}.", file=out)
    print(f"Next: `tunnelkeeper trust {name}` to check and pin the jumphost's host key.", file=out)
    return EXIT_OK


def cmd_list(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    from app.services.api import Services

    profiles = Services(paths).profiles.all()
    if listed_briefly(out, profiles, args.json, "No tunnels yet. Add one with `tunnelkeeper add`."):
        return EXIT_OK
    rows = [("NAME", "JUMPHOST", "USER", "REMOTE PORT", "TARGET")]
    for p in profiles:
        endpoint = format_hostport(p["jumphost"], p["ssh_port"])
        rows.append((p["name"], endpoint, p["user"], str(p["remote_port"]), p["target"]))
    print_table(out, rows)
    return EXIT_OK


def cmd_show(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    from app.services.api import Services

    view = Services(paths).profiles.show(args.name)
    if args.json:
        print_json(out, view)
        return EXIT_OK
    for key, value in view.items():
        shown = "(as ssh -R: localhost)" if key == "remote_bind" and value is None else value
        print(f"{key:>20}: {safe_text(str(shown), DETAIL_LIMIT)}", file=out)
    return EXIT_OK


def cmd_remove(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    from app.services.api import Services

    Services(paths).profiles.remove(args.name)
    print(f"Removed tunnel {args.name!r}.", file=out)
    return EXIT_OK
