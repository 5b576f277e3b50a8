"""NTLM and Negotiate (Kerberos) sign-in to an HTTP proxy, through pyspnego."""

from __future__ import annotations

import base64
import binascii
import sys
from typing import Any

from app.core.textsafe import safe_text
from app.errors import ProxyAuthFailed

# The schemes we answer, in the header's spelling. On Windows, Negotiate first (SSPI picks
# Kerberos when it can, NTLM otherwise); elsewhere NTLM first, since Negotiate without a
# Kerberos library is only NTLM wrapped in SPNEGO, which some proxies' helpers refuse.
_PREFERENCE = ("Negotiate", "NTLM") if sys.platform == "win32" else ("NTLM", "Negotiate")
TOKEN_LIMIT = 64 * 1024  # characters of a challenge we decode at most
INTEGRATED = sys.platform == "win32"  # sign in as the logged-in Windows user without a password


def pick_scheme(offered: dict[str, str]) -> str | None:
    """The integrated scheme we answer among the proxy's offers (lower-case keys)."""
    for scheme in _PREFERENCE:
        if scheme.lower() in offered:
            return scheme
    return None


class IntegratedSignIn:
    """One NTLM or Negotiate exchange: ``first`` gives the opening token, ``answer`` each
    reply to a challenge. ``user`` may be DOMAIN\\user or user@REALM; without a password
    only Windows can sign in (as the logged-in user). Raises ProxyAuthFailed."""

    def __init__(
        self, scheme: str, label: str, host: str, user: str | None, password: str | None
    ) -> None:
        self.scheme = scheme
        self._label = label
        if password is None and not INTEGRATED:
            raise ProxyAuthFailed(
                label,
                "407",
                f"the proxy asks for {scheme} sign-in and the tunnel has no proxy "
                "password here (give the user as DOMAIN\\user with its password)",
            )
        import spnego  # noqa: PLC0415 (loaded only when a proxy asks for it)

        try:
            self._context: Any = spnego.client(
                user if password is not None else None,
                password,
                hostname=host,
                service="HTTP",
                protocol=scheme.lower(),
            )
        except Exception as exc:  # pyspnego raises its own and the platform's errors
            raise self._failed(exc) from None

    def first(self) -> str:
        return self._step(None)

    def answer(self, challenge: str) -> str:
        if not challenge or len(challenge) > TOKEN_LIMIT:
            raise ProxyAuthFailed(self._label, "407", f"the proxy gave no {self.scheme} challenge")
        try:
            token = base64.b64decode(challenge, validate=True)
        except (binascii.Error, ValueError):
            raise ProxyAuthFailed(
                self._label, "407", f"the proxy's {self.scheme} challenge is not base64"
            ) from None
        return self._step(token)

    def _step(self, token: bytes | None) -> str:
        try:
            reply = self._context.step(token)
        except Exception as exc:
            raise self._failed(exc) from None
        if not reply:
            raise ProxyAuthFailed(
                self._label, "407", f"{self.scheme} sign-in ended without a token"
            )
        return f"{self.scheme} {base64.b64encode(reply).decode('ascii')}"

    def _failed(self, exc: BaseException) -> ProxyAuthFailed:
        text = safe_text(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, 120)
        return ProxyAuthFailed(self._label, "407", f"{self.scheme} sign-in failed: {text}")
