"""`run --all` and the service start a tunnel through its proxy with the stored password."""

from __future__ import annotations

import pytest

from app.control.hosting import HeadlessController
from app.core.control import HostKind
from app.services.api import Services
from app.services.host import TunnelHost
from app.storage.paths import AppPaths
from tests.app.services.conftest import MemoryKeychain
from tests.conftest import Jumphost
from tests.support.net import tcp_server, wait_until
from tests.support.proxy_recorder import ProxyRecorder

pytestmark = pytest.mark.integration


def test_start_profile_passes_the_proxy_password_to_the_engine(
    jumphost: Jumphost, tk_home: AppPaths
) -> None:
    keychain = MemoryKeychain()
    services = Services(tk_home, lambda: keychain)
    recorder = ProxyRecorder()
    with tcp_server(recorder) as proxy:
        profile = jumphost.profile(1, name="db", proxy=f"http://alice@127.0.0.1:{proxy.port}")
        services.profiles.save(profile)
        jumphost.pin(tk_home)
        services.proxies.remember(profile, "headless-secret")
        host = TunnelHost(tk_home.known_hosts_file)
        controller = HeadlessController(services, host, HostKind.RUN)
        try:
            controller.start_profile(services.profiles.get("db"))
            assert wait_until(lambda: recorder.signed_in_as("alice", "headless-secret"), 30.0)
        finally:
            assert host.stop_all()
