"""Proxy settings: the text forms, the system's (environment) proxy and the route chosen."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import quote, unquote

from app.core.profile import format_hostport, is_ip_address, parse_hostport
from app.core.textsafe import safe_text
from app.errors import InvalidField

Kind = Literal["none", "system", "url"]
# scheme -> how it is named to people
SCHEMES = {"http": "HTTP", "https": "HTTPS", "socks5": "SOCKS5", "socks5h": "SOCKS5h"}
# Only for proxies read from the environment, which often leave the port out.
_DEFAULT_PORTS = {"http": 80, "https": 443, "socks5": 1080, "socks5h": 1080}
# The environment variables `system` reads, in order; within a pair the lower-case one wins,
# as in curl and Python's urllib.
PROXY_VARIABLES = (("https_proxy", "HTTPS_PROXY"), ("all_proxy", "ALL_PROXY"))
NO_PROXY_VARIABLES = ("no_proxy", "NO_PROXY")
_USER_LIMIT = 128
FORMS = "none, system, or scheme://[user@]host:port with scheme http, https, socks5 or socks5h"


@dataclass(frozen=True)
class ProxySetting:
    """A tunnel's proxy setting: none, the system's, or one proxy (never with a password)."""

    kind: Kind
    scheme: str | None = None  # "http", "https", "socks5", "socks5h"
    host: str | None = None
    port: int | None = None
    user: str | None = None

    @property
    def hostport(self) -> str:
        return "" if self.host is None else format_hostport(self.host, self.port or 0)

    @property
    def text(self) -> str:
        """The canonical spec, as stored in profiles.toml."""
        if self.kind != "url":
            return self.kind
        user = "" if self.user is None else quote(self.user, safe="") + "@"
        return f"{self.scheme}://{user}{self.hostport}"

    @property
    def label(self) -> str:
        """How people are told about it: "HTTP proxy 10.0.0.5:3128"."""
        if self.kind == "none":
            return "no proxy"
        if self.kind == "system":
            return "the system's proxy"
        return f"{SCHEMES[self.scheme or 'http']} proxy {self.hostport}"


NONE = ProxySetting("none")
SYSTEM = ProxySetting("system")


@dataclass(frozen=True)
class Route:
    """How to reach the jumphost: directly (``proxy`` None) or through one proxy, and why.
    ``password`` is one the environment gave with the proxy (never one from a profile)."""

    proxy: ProxySetting | None
    why: str
    password: str | None = field(default=None, repr=False, compare=False)

    @property
    def label(self) -> str:
        return "direct" if self.proxy is None else f"via {self.proxy.label}"


def _invalid(text: str, problem: str) -> InvalidField:
    """The sentence for a spec that cannot be used, its password (if any) shown as ***."""
    shown, password = split_password(text)
    if password is not None:
        scheme, _, rest = shown.partition("://")
        user, _, hostport = rest.partition("@")
        shown = f"{scheme}://{user}:***@{hostport}"
    return InvalidField("proxy", f"{safe_text(shown)!r} {problem}; give {FORMS}.")


def _split_url(text: str) -> tuple[str, str, str | None, str | None]:
    """(scheme, host:port, user, password) of ``scheme://[user[:password]@]host:port[/]``;
    the user and password percent-decoded. Raises InvalidField."""
    scheme, sep, rest = text.partition("://")
    if not sep:
        raise _invalid(text, "is not a proxy")
    scheme = scheme.lower()
    if scheme not in SCHEMES:
        raise _invalid(text, f"has a scheme ({safe_text(scheme)!r}) Tunnelkeeper cannot use")
    userinfo, at, hostport = rest.rpartition("@")
    if hostport.endswith("/"):
        hostport = hostport[:-1]
    if "/" in hostport or "?" in hostport or "#" in hostport:
        raise _invalid(text, "has a path; a proxy is only a host and a port")
    user: str | None = None
    password: str | None = None
    if at:
        raw_user, colon, raw_password = userinfo.partition(":")
        user = unquote(raw_user)
        password = unquote(raw_password) if colon else None
        if not user or len(user) > _USER_LIMIT or not user.isprintable():
            raise _invalid(text, "has a user name that is empty, too long or not printable")
    return scheme, hostport, user, password


def _hostport(text: str, hostport: str, default_port: int | None) -> tuple[str, int]:
    bare_name = ":" not in hostport
    bare_v6 = hostport.startswith("[") and hostport.endswith("]")
    if default_port is not None and (bare_name or bare_v6):
        hostport = f"{hostport}:{default_port}"
    if not hostport.strip():
        raise _invalid(text, "names no proxy host")
    try:
        return parse_hostport(hostport, "proxy")
    except InvalidField as exc:
        raise _invalid(
            text, f"does not name a proxy host and port ({exc.message.rstrip('.')})"
        ) from None


def parse_proxy(text: str) -> ProxySetting:
    """A proxy spec as a user gives it (``none``, ``system``, ``http://[user@]host:port``,
    ``https://…``, ``socks5://…``, ``socks5h://…``). Raises InvalidField("proxy", …),
    also for a spec that holds a password (see ``split_password``)."""
    raw = text.strip()
    if raw.lower() in ("none", "system"):
        return NONE if raw.lower() == "none" else SYSTEM
    if not raw:
        raise InvalidField("proxy", f"no proxy given; give {FORMS}.")
    scheme, hostport, user, password = _split_url(raw)
    if password is not None:
        raise _invalid(raw, "holds a password; a tunnel's settings never keep one")
    host, port = _hostport(raw, hostport, None)
    return ProxySetting("url", scheme, host, port, user)


def split_password(text: str) -> tuple[str, str | None]:
    """``text`` without the password of a ``scheme://user:password@host:port`` spec, and that
    password (None when there is none); anything else comes back as it was. Never raises."""
    scheme, sep, rest = text.partition("://")
    userinfo, at, hostport = rest.rpartition("@")
    if not sep or not at:
        return text, None
    user, colon, password = userinfo.partition(":")
    if not colon:
        return text, None
    return f"{scheme}://{user}@{hostport}", unquote(password)


def proxy_secret_name(setting: ProxySetting) -> str:
    """The keychain entry for this proxy's password: "proxy:http://alice@10.0.0.5:3128"."""
    return f"proxy:{setting.text}"


def _first_set(env: Mapping[str, str], names: tuple[str, ...]) -> tuple[str, str] | None:
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return name, value
    return None


def _environment_proxy(name: str, value: str) -> tuple[ProxySetting, str | None]:
    """The proxy an environment variable names: scheme (http) and port may be left out,
    and it may carry a password."""
    text = value if "://" in value else f"http://{value}"
    try:
        scheme, hostport, user, password = _split_url(text)
        host, port = _hostport(text, hostport, _DEFAULT_PORTS[scheme])
    except InvalidField as exc:
        raise InvalidField(
            "proxy", f"the system's proxy ({name}) cannot be used: {exc.message}"
        ) from None
    return ProxySetting("url", scheme, host, port, user), password


def _normal_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def _no_proxy_matches(entry: str, host: str, port: int) -> bool:
    """One NO_PROXY entry: ``*``, a name (its subdomains too; a leading ``.`` or ``*.`` is
    the same), an IP address, a CIDR block, any of them with ``:port``."""
    entry = entry.strip().lower()
    if entry == "*":
        return True
    if "/" in entry:
        try:
            network = ipaddress.ip_network(entry.strip("[]"), strict=False)
            return is_ip_address(host) and ipaddress.ip_address(host) in network
        except ValueError:
            return False
    name = entry
    if entry.startswith("[") and "]:" in entry:
        name, _, port_text = entry[1:].partition("]:")
        if port_text != str(port):
            return False
    elif entry.count(":") == 1:
        name, _, port_text = entry.partition(":")
        if port_text != str(port):
            return False
    name = _normal_host(name.removeprefix("*").lstrip("."))
    if not name:
        return False
    return host == name or (not is_ip_address(host) and host.endswith("." + name))


def _bypassed(env: Mapping[str, str], host: str, port: int) -> str | None:
    """The NO_PROXY variable that sends ``host:port`` direct, if one does."""
    found = _first_set(env, NO_PROXY_VARIABLES)
    if found is None:
        return None
    name, value = found
    wanted = _normal_host(host)
    entries = value.replace(" ", ",").split(",")
    if any(_no_proxy_matches(e, wanted, port) for e in entries if e.strip()):
        return name
    return None


SOURCE_VARIABLE = "TUNNELKEEPER_PROXY_SOURCE"  # where an environment's proxy came from, in words


def choose_route(setting: ProxySetting, env: Mapping[str, str], host: str, port: int) -> Route:
    """How to reach ``host:port``: the tunnel's own proxy, none, or for ``system`` the
    environment's (HTTPS_PROXY, then ALL_PROXY, lower-case first; NO_PROXY honoured).
    Raises InvalidField for an environment proxy that cannot be used."""
    if setting.kind == "none":
        return Route(None, "direct: the tunnel is set to use no proxy")
    if setting.kind == "url":
        return Route(setting, f"via {setting.label} (set for this tunnel)")
    for pair in PROXY_VARIABLES:
        found = _first_set(env, pair)
        if found is None:
            continue
        bypass = _bypassed(env, host, port)
        if bypass is not None:
            return Route(None, f"direct: {safe_text(host)} is in {bypass.upper()}")
        name, value = found
        proxy, password = _environment_proxy(name, value)
        source = env.get(SOURCE_VARIABLE) or name.upper()  # the desktop's "system settings"
        return Route(proxy, f"via {proxy.label} ({safe_text(source, 40)})", password)
    return Route(None, "direct: no proxy set")
