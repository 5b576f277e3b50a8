"""Tunnel profiles: ``add``, ``edit``, ``list``, ``show`` and ``remove``."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any, TextIO

from app.cli.output import EXIT_CONFIG, EXIT_OK, UserFacingError
from app.cli.proxy_flags import proxy_given, require_proxy_user, tell_proxy_password
from app.cli.show import listed_briefly, print_json, print_table
from app.core.profile import format_hostport, parse_hostport, validate_jump, validate_name
from app.core.textsafe import DETAIL_LIMIT, safe_text
from app.errors import InvalidField
from app.storage.paths import AppPaths

if TYPE_CHECKING:
    from app.services.api import Services

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


def _flag_fields(args: argparse.Namespace, proxy: str | None) -> dict[str, Any]:
    """The settings given as flags (``proxy`` already without its password)."""
    fields: dict[str, Any] = {}
    for key in ("jumphost", "ssh_port", "user", "remote_port", "remote_bind"):
        if getattr(args, key) is not None:
            fields[key] = getattr(args, key)
    if args.target is not None:
        fields["target_host"], fields["target_port"] = parse_hostport(args.target, "target")
    if args.key is not None:
        fields["key_path"] = args.key
    if proxy is not None:
        fields["proxy"] = proxy
    if args.jump is not None:
        fields["jump"] = validate_jump(args.jump)  # None for "none": no jump hosts
    if args.role is not None:
        fields["role"] = args.role
    if args.fence_after is not None:
        fields["fence_after"] = fence_seconds(args.fence_after)
    return fields


def fence_seconds(text: str) -> int:
    """``--fence-after`` as whole seconds (``30s``, ``1m``, ``45``)."""
    from app.core.alert_rules import parse_after

    try:
        return round(parse_after(text))
    except InvalidField as exc:
        raise InvalidField("fence_after", exc.message) from None


def cmd_add(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    from app.services.api import Services

    name = validate_name(args.name)
    proxy, password = proxy_given(args, stdin_taken=args.paste == "-")
    fields: dict[str, Any] = _pasted_fields(args, out) if args.paste is not None else {}
    fields.update(_flag_fields(args, proxy))  # explicit flags fill in or override the paste
    fields.setdefault("ssh_port", 22)
    missing = [k for k in _FLAG_OF if k not in fields]
    if missing:
        flags = sorted({_FLAG_OF[k] for k in missing})
        raise UserFacingError(
            f"still missing: {', '.join(missing)}; give {' '.join(flags)}.", EXIT_CONFIG
        )
    if password is not None:
        require_proxy_user(str(fields.get("proxy", "system")))  # before anything is saved
    services = Services(paths)
    services.profiles.add(name, fields, replace=args.replace)
    print(f"Added tunnel {name!r}.", file=out)
    code = _proxy_password(services, name, password)
    print(f"Next: `tunnelkeeper trust {name}` to check and pin the jumphost's host key.", file=out)
    return code


def cmd_edit(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    from app.services.api import Services

    proxy, password = proxy_given(args, stdin_taken=False)
    changes = _flag_fields(args, proxy)
    if not changes and password is None:
        raise UserFacingError(
            "nothing to change: give the settings to change, such as --proxy URL, "
            "--jump USER@HOST or --remote-port N (see `tunnelkeeper edit --help`).",
            EXIT_CONFIG,
        )
    services = Services(paths)
    if password is not None:
        require_proxy_user(str(changes.get("proxy", services.profiles.get(args.name).proxy)))
    if changes:
        services.profiles.edit(args.name, changes)
        print(f"Changed tunnel {args.name!r}: {', '.join(sorted(changes))}.", file=out)
    return _proxy_password(services, args.name, password)


def _proxy_password(services: Services, name: str, password: str | None) -> int:
    """Keep the proxy password given (or say none is stored for a proxy user): exit code."""
    profile = services.profiles.get(name)
    if password is not None:
        kept = services.proxies.remember(profile, password)
        return tell_proxy_password(kept, name, sys.stderr)
    if services.proxies.wants_password(profile) and services.proxies.password(profile) is None:
        print(
            f"Note: no password is stored for the proxy user of {name!r}; if the proxy asks "
            f"for one, give it with `tunnelkeeper edit {name} --proxy-password-stdin`.",
            file=sys.stderr,
        )
    return EXIT_OK


def cmd_list(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    from app.services.api import Services

    profiles = Services(paths).profiles.all()
    if listed_briefly(out, profiles, args.json, "No tunnels yet. Add one with `tunnelkeeper add`."):
        return EXIT_OK
    jumps = any(p.get("jump") for p in profiles)  # the column only where a tunnel has one
    rows: list[tuple[str, ...]] = [("NAME", "JUMPHOST", "USER", "REMOTE PORT", "TARGET", "PROXY")]
    if jumps:
        rows[0] += ("JUMP",)
    for p in profiles:
        endpoint = format_hostport(p["jumphost"], p["ssh_port"])
        proxy = safe_text(str(p["proxy"]))
        row: tuple[str, ...] = (
            p["name"],
            endpoint,
            p["user"],
            str(p["remote_port"]),
            p["target"],
            proxy,
        )
        if jumps:
            row += (safe_text(str(p.get("jump") or "-")),)
        rows.append(row)
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
        if key == "jump" and value is None:
            shown = "(none: the jumphost is dialled directly or through the proxy)"
        print(f"{key:>20}: {safe_text(str(shown), DETAIL_LIMIT)}", file=out)
    return EXIT_OK


def cmd_remove(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    from app.services.api import Services

    Services(paths).profiles.remove(args.name)
    print(f"Removed tunnel {args.name!r}.", file=out)
    return EXIT_OK
