"""Dialling the jumphost: directly, or through the proxy its route names; each cancellable."""

from __future__ import annotations

import socket
import threading

from app.core.proxy import Route
from app.errors import TunnelkeeperError
from app.ssh.proxying import dial_via
from app.ssh.tcp import Endpoint, connect_tcp

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
        return dial_via(route, endpoint, timeout, cancel, proxy_password)
    return connect_tcp(endpoint, timeout, cancel)


def port_open(
    endpoint: Endpoint,
    timeout: float,
    cancel: threading.Event | None = None,
    route: Route | None = None,
    proxy_password: str | None = None,
) -> bool:
    """True if the jumphost's SSH port accepts a connection now (closed again at once);
    through the route's proxy, if any, since a direct probe would say nothing about it."""
    try:
        sock = dial(endpoint, timeout, cancel, route, proxy_password)
    except TunnelkeeperError:
        return False
    sock.close()
    return True
