"""``ProxyCommand`` helpers: nc, connect, corkscrew (a proxy) and ssh -W (a jump host)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from app.core.paste.jump import Unusable, jump_from_ssh
from app.core.paste.result import Found, short
from app.core.paste.values import is_placeholder
from app.core.profile import format_hostport, parse_hostport, validate_proxy
from app.errors import InvalidField

_UNKNOWN_REASON = (
    "Tunnelkeeper runs no ProxyCommand; it reads the proxy from the nc -X/-x, connect-proxy "
    "and corkscrew forms and a jump host from ssh -W %h:%p only. Give the proxy with "
    "--proxy URL, a jump host with --jump USER@HOST:PORT."
)
# The program's file name, whatever folder it is in (Windows too).
_PROGRAM_RE = re.compile(r"(?:.*[\\/])?([A-Za-z0-9._-]+?)(?:\.exe)?", re.IGNORECASE)
_NC = frozenset({"nc", "netcat", "nc.openbsd"})
_CONNECT = frozenset({"connect", "connect-proxy"})
_SSH = frozenset({"ssh"})
# nc's options that take a value (OpenBSD netcat), besides -X, -x and -P read here.
_NC_WITH_VALUE = frozenset("IiMmOpsTVw")
# connect's options that take a value, besides -H and -S read here.
_CONNECT_WITH_VALUE = frozenset("Rpwd")
_NC_PROTOCOLS = {"connect": "http", "5": "socks5", "4": None}
# What nc and connect dial when the proxy's port is left out.
_DEFAULT_PORTS = {"http": 3128, "socks5": 1080}
_CONNECT_DEFAULT_PORTS = {"http": 8080, "socks5": 1080}
_TARGET = ("%h", "%p")


class _Unusable(Exception):
    """Why a ProxyCommand gives no proxy (said as a note; the rest of the paste stands)."""


@dataclass(frozen=True)
class _Proxy:
    scheme: str
    address: str  # host[:port] or [v6]:port as written
    user: str | None = None


def read_proxy_command(found: Found, words: list[str], context: str) -> None:
    """Fill ``proxy`` (or ``jump``, for ``ssh -W %h:%p host``) from a ProxyCommand's
    ``words``; what cannot be used becomes a note, never an error."""
    shown = f"ProxyCommand {short(' '.join(words), 100)}"
    program = _program(words[0])
    try:
        if program in _SSH:
            jump_from_ssh(found, words[1:])
            return
        if program in _NC:
            proxy = _nc(words[1:])
        elif program in _CONNECT:
            proxy = _connect(words[1:])
        elif program == "corkscrew":
            proxy = _corkscrew(found, words[1:])
        else:
            raise _Unusable(_UNKNOWN_REASON)
        if is_placeholder(proxy.address) or (proxy.user and is_placeholder(proxy.user)):
            found.hole("proxy", proxy.address)
            return
        found.put("proxy", _spec(proxy, program))
    except (_Unusable, Unusable) as why:
        found.note(f"{shown} is ignored: {why}")


def _program(word: str) -> str:
    match = _PROGRAM_RE.fullmatch(word)
    return match.group(1).lower() if match else ""


def _options(
    args: list[str], wanted: frozenset[str], with_value: frozenset[str]
) -> tuple[dict[str, str], list[str], set[str]]:
    """(the values of the ``wanted`` letters, the other words, the bare letters seen)."""
    values: dict[str, str] = {}
    rest: list[str] = []
    bare: set[str] = set()
    index = 0
    while index < len(args):
        word = args[index]
        index += 1
        if len(word) < 2 or not word.startswith("-") or word == "--":
            rest.append(word)
            continue
        for position in range(1, len(word)):
            letter = word[position]
            if letter not in wanted and letter not in with_value:
                bare.add(letter)
                continue
            value = word[position + 1 :]
            if not value:
                if index >= len(args):
                    raise _Unusable(f"-{letter} has no value.")
                value = args[index]
                index += 1
            if letter in wanted:
                values.setdefault(letter, value)
            break
    return values, rest, bare


def _check_target(rest: list[str]) -> None:
    if tuple(rest) != _TARGET:
        raise _Unusable(
            "it does not end in %h %p, so it is not a plain connection through a proxy."
        )


def _nc(args: list[str]) -> _Proxy:
    """``nc [-X connect|5] -x proxy[:port] [-P user] %h %p`` (no -X: SOCKS5, as nc does)."""
    values, rest, _ = _options(args, frozenset("XxP"), _NC_WITH_VALUE)
    if "x" not in values:
        raise _Unusable("nc without -x PROXY:PORT names no proxy.")
    protocol = values.get("X", "5").lower()
    if protocol not in _NC_PROTOCOLS:
        raise _Unusable(f"nc -X {short(protocol, 20)} is not a proxy protocol nc knows.")
    scheme = _NC_PROTOCOLS[protocol]
    if scheme is None:
        raise _Unusable("SOCKS4 proxies are not supported; SOCKS5 and HTTP are.")
    _check_target(rest)
    return _Proxy(scheme, values["x"], values.get("P"))


def _connect(args: list[str]) -> _Proxy:
    """``connect[-proxy] -H [user@]proxy[:port] %h %p`` (HTTP) or ``-S …`` (SOCKS5)."""
    values, rest, bare = _options(args, frozenset("HS"), _CONNECT_WITH_VALUE)
    if "H" in values and "S" in values:
        raise _Unusable("it names both an HTTP (-H) and a SOCKS (-S) proxy.")
    if "4" in bare:
        raise _Unusable("SOCKS4 proxies are not supported; SOCKS5 and HTTP are.")
    if "H" in values:
        scheme, given = "http", values["H"]
    elif "S" in values:
        scheme, given = "socks5", values["S"]
    else:
        raise _Unusable("connect without -H or -S PROXY:PORT names no proxy.")
    _check_target(rest)
    user, at, address = given.rpartition("@")
    return _Proxy(scheme, address, user if at else None)


def _corkscrew(found: Found, args: list[str]) -> _Proxy:
    """``corkscrew proxy port %h %p [authfile]`` (HTTP)."""
    if len(args) not in (4, 5):
        raise _Unusable("corkscrew takes PROXY PORT %h %p [AUTHFILE].")
    _check_target(args[2:4])
    if len(args) == 5:
        found.note(
            f"corkscrew's password file {short(args[4], 60)} is not read: give the proxy "
            "user in --proxy http://USER@HOST:PORT and the password with "
            "--proxy-password-stdin."
        )
    host, port = args[0], args[1]
    address = f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"
    return _Proxy("http", address)


def _spec(proxy: _Proxy, program: str) -> str:
    """The proxy setting for ``proxy``; raises _Unusable saying what is wrong with it."""
    defaults = _CONNECT_DEFAULT_PORTS if program in _CONNECT else _DEFAULT_PORTS
    address = _with_port(proxy.address, defaults[proxy.scheme])
    user = "" if proxy.user is None else quote(proxy.user, safe="") + "@"
    try:
        host, port = parse_hostport(address, "proxy")
        return validate_proxy(f"{proxy.scheme}://{user}{format_hostport(host, port)}")
    except InvalidField as exc:
        raise _Unusable(f"the proxy {short(proxy.address, 60)!r}: {exc.message}") from None


def _with_port(address: str, default: int) -> str:
    """``address`` with the helper's default port when it names none."""
    if address.startswith("["):
        return address if "]:" in address else f"{address}:{default}"
    return address if ":" in address else f"{address}:{default}"
