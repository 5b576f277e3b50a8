"""Errors of hosting and controlling tunnels: where a tunnel runs, and hosts that fail."""

from __future__ import annotations

from app.core.textsafe import safe_text
from app.errors import Then, TunnelkeeperError

HOST_WORDS = {
    "app": "the Tunnelkeeper app",
    "run": "`tunnelkeeper run`",
    "service": "the Tunnelkeeper service",
}


def where(kind: str, pid: object) -> str:
    """A host in words: "the Tunnelkeeper app (process 4711)"."""
    return f"{HOST_WORDS.get(kind, 'another Tunnelkeeper')} (process {pid})"


class HostedElsewhere(TunnelkeeperError):
    """Another process of ours hosts the tunnel (or one on the same jumphost port): two
    would fight over the port, so this one does not start it."""

    then = Then.WAIT_FOR_USER

    def __init__(self, name: str, kind: str, pid: int) -> None:
        super().__init__(f"{where(kind, pid)} already runs {name}")
        self.name = safe_text(name, 200)
        self.kind = kind
        self.pid = pid


class NotHosted(TunnelkeeperError):
    """A controller asked a host to act on a tunnel it does not run."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{name} is not running here")
        self.name = name


class HostUnavailable(TunnelkeeperError):
    """A host's control socket did not answer (it is gone, or hung)."""

    then = Then.RETRY


class HostRefused(TunnelkeeperError):
    """The host answered the request with an error; ``kind`` names its class there."""

    def __init__(self, kind: str, message: str, then: str = "", action: str = "") -> None:
        super().__init__(message)
        self.kind = safe_text(kind, 60)
        self.remote_then = then
        self.remote_action = action
