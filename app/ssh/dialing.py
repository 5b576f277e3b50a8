"""Dialling the jumphost: directly, through the proxy its route names, or a jump host probe."""

from __future__ import annotations

import socket
import threading
from typing import TYPE_CHECKING

from app.core.proxy import Route
from app.errors import TunnelkeeperError
from app.ssh.tcp import Endpoint, connect_tcp

if TYPE_CHECKING:
    from app.ssh.jumping import JumpPlan

__all__ = ["CONNECT_TIMEOUT", "Endpoint", "dial", "port_open"]

CONNECT_TIMEOUT = 10.0


def dial(
    endpoint: Endpoint,
    timeout: float,
    cancel: threading.Event | None = None,
    route: Route | None = None,
    proxy_password: str | None = None,
) -> socket.socket:
    """Open a connection to the jumphost's SSH port: a direct TCP connection (each address
    it resolves to in turn, the time shared among them) or, when ``route`` names a proxy,
    one through it (``proxy_password`` for its user). ``cancel`` aborts within 0.1 s.
    Raises JumphostUnreachable, or a ProxyTrouble subclass for the proxy's part."""
    if route is not None and route.proxy is not None:
        # python-socks and the HTTP CONNECT client load only for a route with a proxy
        from app.ssh.proxying import dial_via  # noqa: PLC0415

        return dial_via(route, endpoint, timeout, cancel, proxy_password)
    return connect_tcp(endpoint, timeout, cancel)


def port_open(
    endpoint: Endpoint,
    timeout: float,
    cancel: threading.Event | None = None,
    route: Route | None = None,
    proxy_password: str | None = None,
    jumps: JumpPlan | None = None,
) -> bool:
    """True if the jumphost's SSH port accepts a connection now (closed again at once);
    through the route's proxy and the jump hosts, if any, since a direct probe would say
    nothing about that way (through jump hosts: a login to each and a channel opened)."""
    if jumps is not None and jumps.hops:
        from app.ssh.jumping import probe  # noqa: PLC0415 (jumping builds on this module)

        return probe(jumps, endpoint, timeout, cancel, route, proxy_password)
    try:
        sock = dial(endpoint, timeout, cancel, route, proxy_password)
    except TunnelkeeperError:
        return False
    sock.close()
    return True
