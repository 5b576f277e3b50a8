"""The system's proxy as Qt reads it (PAC and WPAD too), as the proxy variables the engine reads."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from PySide6.QtCore import QUrl
from PySide6.QtNetwork import QNetworkProxy, QNetworkProxyFactory, QNetworkProxyQuery

from app.core.profile import Profile, format_hostport
from app.core.proxy import SYSTEM, Route, choose_route
from app.engine.route import first_dialled, route_for
from app.engine.tunnel import EventSink, StatusSink, Tunnel
from app.errors import TunnelkeeperError

SOURCE = "system settings"
# Where the proxy came from, beside it: for app.core.proxy.choose_route to name in a route's
# ``why`` instead of the variable (it does not read it yet; ``route_now`` names it meanwhile).
SOURCE_VARIABLE = "TUNNELKEEPER_PROXY_SOURCE"  # = app.core.proxy.SOURCE_VARIABLE
# The variables `system` reads (app.core.proxy), compared in lower case: a proxy Qt names
# replaces them all, NO_PROXY included (Qt has applied its own exceptions already).
_PROXY_VARIABLES = ("https_proxy", "all_proxy", "no_proxy")
FRESH_FOR = 2.0  # seconds one answer of Qt serves: one route decision, not a session

Asker = Callable[[str, int], dict[str, str]]


def _url(scheme: str, proxy: QNetworkProxy) -> str:
    user = proxy.user()
    userinfo = ""
    if user:
        password = proxy.password()
        secret = f":{quote(password, safe='')}" if password else ""
        userinfo = f"{quote(user, safe='')}{secret}@"
    return f"{scheme}://{userinfo}{format_hostport(proxy.hostName(), proxy.port())}"


def ask_qt(host: str, port: int) -> dict[str, str]:
    """The proxy the system's settings name for ``host:port``, as Qt answers
    ``systemProxyForQuery`` for ``https://host:port``: ``{"HTTPS_PROXY": "http://…"}`` for
    an HTTP proxy, ``{"ALL_PROXY": "socks5://…"}`` (or ``socks5h``) for SOCKS, ``{}`` for a
    direct connection. Qt reads the environment's lower-case variables on Linux, and the
    OS settings with PAC and WPAD on Windows and macOS, which may take seconds: call it
    off the GUI thread (Qt's system proxy lookup is made for its network threads)."""
    query = QNetworkProxyQuery(QUrl(f"https://{format_hostport(host, port)}"))
    for proxy in QNetworkProxyFactory.systemProxyForQuery(query):
        kind = proxy.type()
        if kind == QNetworkProxy.ProxyType.NoProxy:
            return {}
        if kind == QNetworkProxy.ProxyType.HttpProxy:
            return {"HTTPS_PROXY": _url("http", proxy)}
        if kind == QNetworkProxy.ProxyType.Socks5Proxy:
            lookup = QNetworkProxy.Capability.HostNameLookupCapability
            remote_names = bool(proxy.capabilities() & lookup)
            return {"ALL_PROXY": _url("socks5h" if remote_names else "socks5", proxy)}
        # a caching-only or FTP proxy cannot carry SSH: the next entry may
    return {}


def merged(answer: Mapping[str, str], base: Mapping[str, str]) -> dict[str, str]:
    """``base`` (the environment) with Qt's ``answer``: a proxy Qt names replaces the
    environment's proxy variables; no proxy from Qt leaves them as they are (on Linux Qt
    reads only the lower-case ones, while the CLI and the service honour both cases)."""
    if not answer:
        return dict(base)
    kept = {k: v for k, v in base.items() if k.lower() not in _PROXY_VARIABLES}
    return {**kept, **answer, SOURCE_VARIABLE: SOURCE}


class SystemEnvironment(Mapping[str, str]):
    """The environment a `system` proxy is read from in the desktop app, for one jumphost:
    ``base`` with Qt's answer merged (``merged``). Qt is asked when a value is first read,
    on the reading thread (an engine worker, a pool thread), and again once the answer is
    ``FRESH_FOR`` seconds old, so each connection attempt follows the settings of now."""

    def __init__(
        self,
        host: str,
        port: int,
        base: Mapping[str, str] | None = None,
        ask: Asker = ask_qt,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._host, self._port = host, port
        self._base = os.environ if base is None else base
        self._ask, self._clock = ask, clock
        self._lock = threading.Lock()
        self._answer: dict[str, str] = {}
        self._view: dict[str, str] | None = None
        self._asked_at = 0.0

    def _current(self) -> dict[str, str]:
        with self._lock:
            now = self._clock()
            if self._view is None or now - self._asked_at > FRESH_FOR:
                self._answer = self._ask(self._host, self._port)
                self._view = merged(self._answer, self._base)
                self._asked_at = now
            return self._view

    @property
    def answer(self) -> dict[str, str]:
        """What Qt said the last time (``{}``: no proxy from the system settings)."""
        self._current()
        return dict(self._answer)

    def __getitem__(self, key: str) -> str:
        return self._current()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._current())

    def __len__(self) -> int:
        return len(self._current())


def environment_for(profile: Profile, ask: Asker = ask_qt) -> Mapping[str, str] | None:
    """The ``env=`` for the engine: the system settings for a `system` proxy, else None
    (the tunnel's own proxy, or none, needs no environment)."""
    if getattr(profile, "proxy", "system") != "system":
        return None
    return SystemEnvironment(*first_dialled(profile), ask=ask)  # asked for the first hop


def route_now(profile: Profile, env: Mapping[str, str] | None = None) -> Route:
    """The route ``profile``'s connections take now, as the engine picks it with the same
    environment, its ``why`` naming the system settings when they gave the proxy: "via
    HTTP proxy 10.0.0.5:3128 (system settings)". Blocks (Qt may run a PAC script); raises
    InvalidField for a proxy that cannot be used."""
    environment = environment_for(profile) if env is None else env
    route = route_for(profile, environment)
    answer = environment.answer if isinstance(environment, SystemEnvironment) else {}
    if answer and route.proxy is not None:
        return replace(route, why=f"via {route.proxy.label} ({SOURCE})")
    return route


def detected(host: str, port: int, ask: Asker = ask_qt) -> str:
    """The proxy `system` would take to ``host:port`` now, as people read it ("HTTP proxy
    10.0.0.5:3128"); "" for none (or one that cannot be used). Blocks like ``ask_qt``."""
    try:
        route = choose_route(SYSTEM, SystemEnvironment(host, port, ask=ask), host, port)
    except TunnelkeeperError:
        return ""
    return "" if route.proxy is None else route.proxy.label


def describe(profile: Profile) -> str:
    """For the detail pane: ``route_now``'s reason, or what is wrong with the proxy."""
    try:
        return route_now(profile).why
    except TunnelkeeperError as exc:
        return f"cannot be used: {exc}"


def tunnel(
    profile: Profile,
    key: Any,
    known_hosts: Path,
    sink: EventSink,
    *,
    on_status: StatusSink | None = None,
    proxy_password: str | None = None,
) -> Tunnel:
    """The desktop app's ``TunnelFactory``: an engine ``Tunnel`` whose `system` proxy is
    the system settings' (``SystemEnvironment``)."""
    return Tunnel(
        profile,
        key,
        known_hosts,
        sink,
        on_status=on_status,
        proxy_password=proxy_password,
        env=environment_for(profile),
    )
