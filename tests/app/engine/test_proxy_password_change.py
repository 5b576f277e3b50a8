"""A running tunnel given a new proxy password (``use_proxy_password``) keeps its live link
and signs in with the new one from its next connection on, through a real Squid."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.core.events import State
from app.storage.paths import AppPaths
from tests.app.engine.test_proxy_tunnel import forwarding_works, start_proxied
from tests.conftest import EventLog, Jumphost
from tests.support.net import TcpServer, wait_until
from tests.support.squid import Squid, running_squid

pytestmark = pytest.mark.integration

AUTH_FAILED = "proxy authentication failed (407)"


@pytest.fixture
def squid(jumphost: Jumphost) -> Iterator[Squid]:
    with running_squid(allow_ports=(jumphost.port,)) as proxy:
        yield proxy


def test_the_next_connection_signs_in_with_the_new_password(
    jumphost: Jumphost, tk_home: AppPaths, events: EventLog, squid: Squid, echo: TcpServer
) -> None:
    tunnel = start_proxied(jumphost, tk_home, events, echo.port, squid.url, squid.password)
    try:
        events.wait_for(State.CONNECTED)
        tunnel.use_proxy_password("not-the-password")
        # the live link is kept: it signed in already
        assert tunnel.state is State.CONNECTED and forwarding_works(jumphost)
        assert tunnel.reconnects == 0

        tunnel.reconnect_now()  # the next connection signs in with the new password
        failed = events.wait_for(State.ERROR)
        assert AUTH_FAILED in failed.detail
        assert failed.status is not None and failed.status.next_retry_at is None  # waits

        tunnel.use_proxy_password(squid.password)
        tunnel.reconnect_now()
        events.wait_for(State.CONNECTED)
        assert forwarding_works(jumphost)
    finally:
        assert tunnel.stop()
    # Squid's access log (in the order the connections ended): a tunnel for each sign-in
    # with the right password, one 407 for the wrong one
    assert wait_until(lambda: len(squid.connects()) == 3, 10), squid.connects()
    outcomes = sorted(line.split()[3] for line in squid.connects())
    assert outcomes == ["TCP_DENIED/407", "TCP_TUNNEL/200", "TCP_TUNNEL/200"], squid.connects()
