"""Errors of the connection to the jumphost (and its proxy): the engine may retry them."""

from __future__ import annotations

from app.core.textsafe import safe_text
from app.errors.tree import Action, ConfigError, Then, TunnelkeeperError

# --- connection: something outside went wrong; the engine may retry ----------------


class ConnectionTrouble(TunnelkeeperError):
    """The tunnel could not be brought up or was lost; retrying may help."""

    then = Then.RETRY


class JumphostUnreachable(ConnectionTrouble):
    def __init__(self, host: str, port: int, detail: str) -> None:
        super().__init__(f"cannot reach the jumphost {host} port {port}: {safe_text(detail)}")


class JumpHostUnreachable(JumphostUnreachable):
    """A jump host on the way to the jumphost (ProxyJump) cannot be reached; retried and
    watched for like the jumphost itself."""

    def __init__(self, label: str, detail: str) -> None:
        ConnectionTrouble.__init__(self, f"cannot reach the jump host {label}: {safe_text(detail)}")


class HandshakeFailed(ConnectionTrouble):
    def __init__(self, host: str, detail: str) -> None:
        super().__init__(f"the SSH handshake with {host} failed: {safe_text(detail)}")


class AuthRejected(ConnectionTrouble):
    def __init__(self, user: str, host: str, fingerprint: str, role: str = "jumphost") -> None:
        ask = (
            "has its public key been added in the vendor's settings?"
            if role == "jumphost"
            else "is its public key in that host's authorized_keys?"
        )
        super().__init__(f"the {role} rejected key {fingerprint} for user {user} at {host} — {ask}")


class ForwardRefused(ConnectionTrouble):
    def __init__(self, bind: str, port: int, host: str) -> None:
        super().__init__(
            f"the jumphost {host} refused to listen on {bind}:{port} for us; check the "
            "allocated port and bind address the vendor gave you (or the port is still "
            "held by an earlier connection)."
        )
        self.port = port


class ConnectionLost(ConnectionTrouble):
    def __init__(self, host: str, detail: str) -> None:
        # a bare exception's text is "" (or just the caller's "during authentication: ")
        why = safe_text(detail).strip().rstrip(":").strip()
        super().__init__(f"the connection to {host} was lost" + (f": {why}" if why else ""))


class ProxyTrouble(ConnectionTrouble):
    """A proxy between us and the jumphost did not get us through; ``proxy`` is its
    host:port. Retried like an unreachable jumphost unless a subclass says otherwise."""

    def __init__(self, proxy: str, sentence: str) -> None:
        super().__init__(sentence)
        self.proxy = proxy


class ProxyNoAnswer(ProxyTrouble):
    """No connection to the proxy itself, or it closed or stalled without a reply."""

    def __init__(self, proxy: str, detail: str) -> None:
        super().__init__(proxy, f"the proxy did not answer ({proxy}: {safe_text(detail)})")


class ProxyRefused(ProxyTrouble):
    """The proxy's rules do not let us reach the jumphost's port (HTTP 403, SOCKS rule)."""

    def __init__(self, proxy: str, host: str, port: int, status: str) -> None:
        hint = " — many proxies allow only port 443" if status.startswith("HTTP") else ""
        super().__init__(
            proxy,
            f"the proxy {proxy} refused to connect to port {port} ({safe_text(status)}){hint}; "
            f"ask your network team to allow {safe_text(host)}:{port}",
        )
        self.port = port


class ProxyCannotReach(ProxyTrouble):
    """The proxy answered but could not connect to the jumphost (HTTP 502/503/504, SOCKS)."""

    def __init__(self, proxy: str, host: str, port: int, status: str) -> None:
        super().__init__(
            proxy,
            f"the proxy {proxy} could not connect to the jumphost {safe_text(host)} port "
            f"{port} ({safe_text(status)})",
        )


class ProxyBadReply(ProxyTrouble):
    """The proxy's reply is not one a proxy of its kind gives."""

    def __init__(self, proxy: str, detail: str) -> None:
        super().__init__(proxy, f"the proxy {proxy} gave a reply we cannot use: {detail}")


class ProxyTlsFailed(ProxyTrouble):
    """The TLS connection to an https:// proxy failed (no handshake, or a certificate we do
    not accept); ``untrusted``: its certificate's issuer is not one we trust, and the
    sentence says how to trust a company's own certificate authority."""

    def __init__(self, proxy: str, detail: str, untrusted: bool = False) -> None:
        hint = (
            "; if your company uses its own certificate authority, set SSL_CERT_FILE to a "
            "file with its certificate"
            if untrusted
            else ""
        )
        super().__init__(
            proxy, f"the TLS connection to the proxy {proxy} failed: {safe_text(detail)}{hint}"
        )
        self.untrusted = untrusted


class ProxyAuthFailed(ConfigError):
    """The proxy refused our user name and password: retrying cannot help (a setting to
    change, not connection trouble); ``proxy`` is its host:port."""

    then = Then.WAIT_FOR_USER
    action = Action.EDIT
    remedy = "check the proxy user name and password in the tunnel's settings."

    def __init__(self, proxy: str, status: str = "407", why: str = "") -> None:
        said = f": {why}" if why else ""
        super().__init__(f"proxy authentication failed ({status}){said}; {self.remedy}")
        self.proxy = proxy


class HostKeyUnavailable(TunnelkeeperError):
    """The jumphost's host key could not be fetched; ``str()`` is the cause's sentence."""

    then = Then.RETRY  # the cause is connection trouble

    def __init__(self, cause: TunnelkeeperError) -> None:
        Exception.__init__(self, str(cause))  # already made safe to print: not again
        self.cause = cause


def os_reason(exc: OSError) -> str:
    """Why a socket call failed, in a few words and never empty: "timed out", the
    system's words ("Connection refused"), the exception's text, or its class's name."""
    if isinstance(exc, TimeoutError):
        return "timed out"
    return exc.strerror or str(exc) or type(exc).__name__
