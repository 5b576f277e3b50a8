"""Errors of the metrics endpoint: an address it cannot use, or will not use unasked."""

from __future__ import annotations

from app.core.textsafe import safe_text
from app.errors.tree import ConfigError, TunnelkeeperError


class BadListenAddress(ConfigError):
    """An address to listen on that cannot be read as ``HOST:PORT``."""

    def __init__(self, given: str, why: str) -> None:
        super().__init__(f"the metrics address {safe_text(given)!r} cannot be used: {why}.")


class MetricsNotLoopback(ConfigError):
    """A metrics address other machines could reach, not explicitly allowed; ``allow`` says
    how to allow it in the front end that was given it (a flag, a setting)."""

    def __init__(self, label: str, allow: str) -> None:
        self.remedy = (
            f"listen on 127.0.0.1 (or [::1]), or allow other machines explicitly with {allow}."
        )
        super().__init__(
            f"the metrics address {label} is not a loopback address: anyone who can reach "
            "this machine could read the tunnels' names and figures (the endpoint has no "
            f"sign-in); {self.remedy}"
        )


class MetricsUnavailable(TunnelkeeperError):
    """The endpoint could not listen (the port is taken, the address is not this machine's)."""

    def __init__(self, label: str, reason: str) -> None:
        super().__init__(f"cannot serve metrics on {label}: {reason}.")
