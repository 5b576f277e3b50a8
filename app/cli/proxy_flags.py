"""``--proxy`` and ``--proxy-password-stdin``: the setting kept, the password split off it."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TextIO

from app.cli.output import EXIT_CONFIG, EXIT_OK, UserFacingError
from app.cli.passphrases import read_stdin_secret
from app.errors import InvalidField

if TYPE_CHECKING:
    from app.services.keys import Remembered

_FORMS = (
    "give none, system, or scheme://[user[:password]@]host:port with scheme http, https, "
    "socks5 or socks5h"
)


def proxy_given(args: argparse.Namespace, *, stdin_taken: bool) -> tuple[str | None, str | None]:
    """(the ``--proxy`` setting in its canonical form without a password, the password given
    in it or on standard input); (None, None) when neither flag was given. Raises
    UserFacingError and InvalidField, never quoting a password."""
    from app.core.profile import validate_proxy
    from app.core.proxy import split_password
    from app.services.proxies import check_password

    spec: str | None = None
    password: str | None = None
    if args.proxy is not None:
        spec, password = split_password(args.proxy)
        try:
            spec = validate_proxy(spec)
        except InvalidField as exc:
            if _may_hold_password(spec):  # a form split_password did not recognise
                raise UserFacingError(
                    f"--proxy is not a proxy this version can use; {_FORMS} (the value is "
                    "not repeated here: it may hold a password).",
                    EXIT_CONFIG,
                ) from None
            raise exc from None
    if args.proxy_password_stdin:
        if password is not None:
            raise UserFacingError(
                "the proxy password is given twice (in --proxy and on standard input); "
                "give it once.",
                EXIT_CONFIG,
            )
        if stdin_taken:
            raise UserFacingError(
                "--from - and --proxy-password-stdin both read standard input; pass the "
                "text with --from TEXT, or set the password afterwards with `tunnelkeeper "
                "edit NAME --proxy-password-stdin`.",
                EXIT_CONFIG,
            )
        password = read_stdin_secret().removesuffix("\r")
    if password is not None:
        check_password(password)
    return spec, password


def _may_hold_password(text: str) -> bool:
    """True when ``text`` has a ``:`` before its last ``@`` (past any ``scheme://``)."""
    head, at, _ = text.rpartition("@")
    return bool(at) and ":" in head.rpartition("://")[2]


def require_proxy_user(proxy: str) -> None:
    """Raise UserFacingError when a password is given for a proxy setting with no user."""
    from app.core.proxy import parse_proxy

    if parse_proxy(proxy).user is None:
        raise UserFacingError(
            f"a proxy password needs a proxy user, and the proxy setting is {proxy!r}: give "
            "--proxy http://USER@HOST:PORT (or socks5://USER@HOST:PORT) too; nothing was "
            "changed.",
            EXIT_CONFIG,
        )


def tell_proxy_password(remembered: Remembered, name: str, out: TextIO) -> int:
    """Say whether the proxy password went into the keychain; the exit code."""
    if remembered.stored:
        print("The proxy password is stored in the system keychain.", file=out)
        return EXIT_OK
    print(
        f"tunnelkeeper: the proxy password was not stored ({remembered.reason}), and it is "
        "never written anywhere else: the tunnel cannot sign in to the proxy until it is. "
        f"Run `tunnelkeeper edit {name} --proxy-password-stdin` where a keychain works.",
        file=out,
    )
    return EXIT_CONFIG
