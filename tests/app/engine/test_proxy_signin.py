"""Through a real Squid that asks for NTLM, one that speaks TLS (https://), and jump hosts
reached through a proxy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app import ssh
from app.core.events import State
from app.core.proxy import choose_route, parse_proxy
from app.engine.tunnel import Tunnel
from app.errors import ProxyAuthFailed, ProxyTlsFailed
from app.storage.paths import AppPaths
from tests.app.engine.test_proxy_tunnel import carry_both_ways, start_proxied
from tests.conftest import EventLog, Jumphost
from tests.support.jump_sshd import running_jump_host
from tests.support.net import wait_until
from tests.support.squid import Squid, running_squid

pytestmark = pytest.mark.integration

MIB = 1024 * 1024


@pytest.fixture
def ntlm_squid(jumphost: Jumphost) -> Iterator[Squid]:
    with running_squid(allow_ports=(jumphost.port,), auth="ntlm") as proxy:
        yield proxy


@pytest.fixture
def tls_squid(jumphost: Jumphost, monkeypatch: pytest.MonkeyPatch) -> Iterator[Squid]:
    """Squid on https_port with Basic auth; its certificate trusted through SSL_CERT_FILE,
    as a company's own certificate authority would be."""
    with running_squid(allow_ports=(jumphost.port,), tls=True) as proxy:
        monkeypatch.setenv("SSL_CERT_FILE", str(proxy.ca_file))
        yield proxy


def tunnels(squid: Squid) -> list[str]:
    return [line for line in squid.connects() if "TCP_TUNNEL/200" in line]


def endpoint(host: Jumphost) -> ssh.Endpoint:
    return ssh.Endpoint("127.0.0.1", host.port)


# --- NTLM -------------------------------------------------------------------------------------


def test_ntlm_sign_in_through_squid_carries_4_mib_each_way(
    jumphost: Jumphost, tk_home: AppPaths, events: EventLog, ntlm_squid: Squid
) -> None:
    url = f"http://CORP%5Calice@127.0.0.1:{ntlm_squid.port}"

    def proxied(port: int) -> Tunnel:
        return start_proxied(jumphost, tk_home, events, port, url, "wonderland")

    carry_both_ways(jumphost, proxied, 4 * MIB)
    # Squid logs the 407s that asked for NTLM, then the tunnel with the user its helper read
    # from our authenticate message ("C\\a": ntlm_fake_auth reads the UTF-16 domain and user
    # names as C strings, so only their first letters, "CORP" and "alice")
    assert wait_until(lambda: tunnels(ntlm_squid) != [], 10), ntlm_squid.connects()
    (line,) = tunnels(ntlm_squid)
    assert f"CONNECT 127.0.0.1:{jumphost.port} C\\\\a " in line, line
    assert any("TCP_DENIED/407" in denied for denied in ntlm_squid.connects())


def test_ntlm_without_a_password_says_what_is_missing(
    jumphost: Jumphost, ntlm_squid: Squid
) -> None:
    route = choose_route(parse_proxy(ntlm_squid.url), {}, "127.0.0.1", jumphost.port)
    with pytest.raises(ProxyAuthFailed) as caught:
        ssh.dial(endpoint(jumphost), 10, route=route)
    assert "the proxy asks for NTLM sign-in" in str(caught.value)
    assert "DOMAIN\\user" in str(caught.value)


# --- https:// (TLS to the proxy) -----------------------------------------------------------------


def test_through_an_https_proxy_16_mib_each_way(
    jumphost: Jumphost, tk_home: AppPaths, events: EventLog, tls_squid: Squid
) -> None:
    def proxied(port: int) -> Tunnel:
        return start_proxied(jumphost, tk_home, events, port, tls_squid.url, tls_squid.password)

    carry_both_ways(jumphost, proxied, 16 * MIB)
    connected = [e for e in events.events if e.state is State.CONNECTED]
    assert f"via HTTPS proxy 127.0.0.1:{tls_squid.port}" in connected[-1].detail
    assert wait_until(lambda: len(tls_squid.connects()) == 1, 10), tls_squid.connects()
    assert f"CONNECT 127.0.0.1:{jumphost.port} alice" in tls_squid.connects()[0]


def test_an_https_proxy_whose_certificate_is_not_trusted_is_refused_with_the_remedy(
    jumphost: Jumphost, tk_home: AppPaths, events: EventLog, tls_squid: Squid,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.delenv("SSL_CERT_FILE")
    route = choose_route(parse_proxy(tls_squid.url), {}, "127.0.0.1", jumphost.port)
    with pytest.raises(ProxyTlsFailed) as caught:
        ssh.dial(endpoint(jumphost), 10, route=route, proxy_password=tls_squid.password)
    assert "SSL_CERT_FILE" in str(caught.value)
    tunnel = start_proxied(jumphost, tk_home, events, 1, tls_squid.url, tls_squid.password)
    try:
        failed = events.wait_for(State.RETRYING)
        assert f"the TLS connection to the proxy 127.0.0.1:{tls_squid.port} failed" in (
            failed.detail
        )
    finally:
        assert tunnel.stop()
    assert tls_squid.connects() == []  # nothing reached Squid's CONNECT


# --- a jump host reached through the proxy --------------------------------------------------------


def test_a_jump_host_reached_through_squid(
    jumphost: Jumphost, tk_home: AppPaths, events: EventLog, tmp_path: Path, client_key: Path
) -> None:
    """The proxy carries the connection to the first hop (the jump host), and the jump host
    the one to the jumphost: Squid's log names the jump host's port, not the jumphost's."""
    with (
        running_jump_host(tmp_path / "jump", client_key, jumphost.port) as jump,
        running_squid(allow_ports=(jump.port,)) as squid,
    ):

        def start(port: int) -> Tunnel:
            jumphost.pin(tk_home)
            jump.pin(tk_home)
            profile = jumphost.profile(port, proxy=squid.url, jump=jump.spec)
            key = ssh.load_private_key(profile.key_path)
            tunnel = Tunnel(
                profile, key, tk_home.known_hosts_file, events, proxy_password=squid.password
            )
            tunnel.start()
            return tunnel

        carry_both_ways(jumphost, start, 4 * MIB)
        assert wait_until(lambda: len(squid.connects()) == 1, 10), squid.connects()
        assert f"CONNECT 127.0.0.1:{jump.port} alice" in squid.connects()[0]
        assert "Accepted publickey" in jump.sshd.log()
    connecting = next(e for e in events.events if e.state is State.CONNECTING)
    assert f"via jump host 127.0.0.1:{jump.port}" in connecting.detail
