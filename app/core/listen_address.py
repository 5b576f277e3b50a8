"""Where a local HTTP endpoint listens: ``HOST:PORT`` read, and judged loopback or not (pure)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from app.errors.metrics import BadListenAddress

LOOPBACK = "127.0.0.1"  # a bare port listens here
LOCALHOST = "localhost"  # the one name taken as loopback without looking it up


@dataclass(frozen=True)
class ListenAddress:
    """An address to listen on: ``host`` an IP literal (IPv6 without brackets) or a name."""

    host: str
    port: int

    @property
    def ipv6(self) -> bool:
        return ":" in self.host

    @property
    def label(self) -> str:
        """``127.0.0.1:9464`` / ``[::1]:9464``, as a person would type it."""
        return f"[{self.host}]:{self.port}" if self.ipv6 else f"{self.host}:{self.port}"

    @property
    def loopback(self) -> bool:
        """Only this machine can connect. A name other than ``localhost`` is not taken as
        loopback: what it resolves to may change after it has been checked."""
        if self.host.lower() == LOCALHOST:
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def parse_listen_address(text: str) -> ListenAddress:
    """``HOST:PORT``, ``[IPV6]:PORT`` or a bare ``PORT`` (on 127.0.0.1); port 0 lets the
    system choose. Raises BadListenAddress with the reason."""
    given = text.strip()
    if not given:
        raise BadListenAddress(text, "it is empty")
    if "/" in given:
        raise BadListenAddress(text, "give HOST:PORT alone, without http:// or a path")
    if given.isdigit():
        host, port_text = LOOPBACK, given
    elif given.startswith("["):
        inside, bracket, rest = given[1:].partition("]")
        if not bracket or not rest.startswith(":"):
            raise BadListenAddress(text, "write an IPv6 address as [ADDRESS]:PORT")
        host, port_text = inside, rest[1:]
        if not _is_ipv6(host):
            raise BadListenAddress(text, f"{host!r} is not an IPv6 address")
    else:
        host, colon, port_text = given.rpartition(":")
        if not colon:
            raise BadListenAddress(text, "give HOST:PORT, such as 127.0.0.1:9464")
        if ":" in host:
            raise BadListenAddress(text, "write an IPv6 address in brackets: [::1]:9464")
    if not host:
        raise BadListenAddress(
            text, "give the host: 127.0.0.1:PORT for this machine, 0.0.0.0:PORT for every one"
        )
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise BadListenAddress(text, "the port must be a number from 0 to 65535")
    if any(c.isspace() or c in "@?#" for c in host):
        raise BadListenAddress(text, f"{host!r} is not a host name or IP address")
    return ListenAddress(host, int(port_text))


def _is_ipv6(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 6
    except ValueError:
        return False
