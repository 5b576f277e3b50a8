"""Proxy passwords: one keychain entry per proxy user, forgotten with the last tunnel using it,
read from the service's credentials folder, and handed to the connection test."""

from __future__ import annotations

import base64
from dataclasses import replace
from pathlib import Path

import pytest

from app.errors import InvalidField
from app.platform.credentials import CredentialsKeychain, credential_name
from app.services.api import Services
from app.services.proxies import secret_name
from app.storage.paths import AppPaths
from tests.app.services.conftest import MemoryKeychain
from tests.support.net import tcp_server
from tests.support.proxy_recorder import ProxyRecorder

ALICE = "proxy:http://alice@10.0.0.5:3128"


def add(services: Services, name: str = "db", proxy: str = "system", port: int = 15432) -> None:
    services.keys.create("plain", None, force=True)
    services.profiles.add(
        name,
        {
            "jumphost": "vendor.example",
            "ssh_port": 22,
            "user": "acme",
            "remote_port": port,
            "target_host": "127.0.0.1",
            "target_port": 5432,
            "key_path": "plain",
            "proxy": proxy,
        },
        replace=True,
    )


def test_a_password_is_kept_under_the_proxy_and_user(
    services: Services, keychain: MemoryKeychain
) -> None:
    add(services, proxy="http://alice@10.0.0.5:3128")
    profile = services.profiles.get("db")
    assert secret_name(profile) == ALICE
    assert services.proxies.wants_password(profile)
    assert services.proxies.password(profile) is None
    assert services.proxies.remember(profile, "pw 1").stored
    assert keychain.entries == {ALICE: "pw 1"}
    assert services.proxies.password(profile) == "pw 1"
    assert "pw 1" not in services.profiles.get("db").proxy
    services.proxies.forget(profile)
    assert keychain.entries == {}


@pytest.mark.parametrize("proxy", ["system", "none", "http://10.0.0.5:3128"])
def test_a_proxy_without_a_user_has_no_password(services: Services, proxy: str) -> None:
    add(services, proxy=proxy)
    profile = services.profiles.get("db")
    assert not services.proxies.wants_password(profile)
    assert services.proxies.password(profile) is None
    with pytest.raises(InvalidField, match="needs a proxy user"):
        services.proxies.remember(profile, "pw")


@pytest.mark.parametrize("bad", ["", "two\nlines", "x" * 5000])
def test_an_unusable_password_is_refused_without_quoting_it(services: Services, bad: str) -> None:
    add(services, proxy="http://alice@10.0.0.5:3128")
    with pytest.raises(InvalidField) as caught:
        services.proxies.remember(services.profiles.get("db"), bad)
    assert bad not in str(caught.value) or not bad


def test_without_a_keychain_nothing_is_kept_and_why_is_said(keyless: Services) -> None:
    add(keyless, proxy="http://alice@10.0.0.5:3128")
    kept = keyless.proxies.remember(keyless.profiles.get("db"), "pw")
    assert not kept.stored and kept.reason == "no usable system keychain"


def test_remove_forgets_the_password_with_the_last_tunnel_using_it(
    services: Services, keychain: MemoryKeychain
) -> None:
    add(services, "db", "http://alice@10.0.0.5:3128", 1)
    add(services, "crm", "http://alice@10.0.0.5:3128", 2)
    add(services, "other", "http://bob@10.0.0.5:3128", 3)
    for name in ("db", "other"):
        services.proxies.remember(services.profiles.get(name), f"pw-{name}")
    assert services.profiles.remove("db")
    assert set(keychain.entries) == {ALICE, "proxy:http://bob@10.0.0.5:3128"}
    assert services.profiles.remove("crm")
    assert set(keychain.entries) == {"proxy:http://bob@10.0.0.5:3128"}


def test_edit_changes_only_what_is_given_and_forgets_an_unused_proxy_password(
    services: Services, keychain: MemoryKeychain
) -> None:
    add(services, proxy="http://alice@10.0.0.5:3128")
    services.proxies.remember(services.profiles.get("db"), "pw")
    before = services.profiles.get("db")
    view = services.profiles.edit("db", {"proxy": "socks5h://10.0.0.5:1080"})
    assert view["proxy"] == "socks5h://10.0.0.5:1080"
    after = services.profiles.get("db")
    assert after.remote_port == before.remote_port and after.key_path == before.key_path
    assert keychain.entries == {}
    with pytest.raises(InvalidField):
        services.profiles.edit("db", {"proxy": "http://alice:pw@10.0.0.5:3128"})
    assert services.profiles.get("db").proxy == "socks5h://10.0.0.5:1080"


def test_add_replace_and_the_wizards_save_forget_a_proxy_password_left_behind(
    services: Services, keychain: MemoryKeychain
) -> None:
    add(services, "db", "http://alice@10.0.0.5:3128", 1)
    services.proxies.remember(services.profiles.get("db"), "pw")
    add(services, "db", "http://alice@10.0.0.5:3128", 2)  # same proxy user: kept
    assert keychain.entries == {ALICE: "pw"}
    add(services, "db", "none", 2)  # `add --replace` re-points the tunnel
    assert keychain.entries == {}

    add(services, "db", "http://alice@10.0.0.5:3128", 1)
    services.proxies.remember(services.profiles.get("db"), "pw")
    edited = replace(services.profiles.get("db"), name="renamed", proxy="system")
    services.profiles.save(edited, old_name="db")  # the wizard's Finish, with a rename
    assert services.profiles.names() == ["renamed"]
    assert keychain.entries == {}


def test_the_service_reads_the_password_from_its_credentials_folder(
    tk_home: AppPaths, tmp_path: Path, services: Services
) -> None:
    add(services, proxy="http://alice@10.0.0.5:3128")
    folder = tmp_path / "credentials"  # as systemd decrypts LoadCredentialEncrypted= there
    folder.mkdir(mode=0o700)
    (folder / credential_name(ALICE)).write_text("from-the-credential")
    service = Services(tk_home, lambda: CredentialsKeychain(folder))
    profile = service.profiles.get("db")
    assert service.proxies.password(profile) == "from-the-credential"
    assert not service.proxies.remember(profile, "other").stored  # read-only there


def test_the_connection_test_signs_in_to_the_proxy_with_the_stored_password(
    services: Services,
) -> None:
    recorder = ProxyRecorder()
    with tcp_server(recorder) as proxy:
        add(services, proxy=f"http://alice@127.0.0.1:{proxy.port}")
        services.proxies.remember(services.profiles.get("db"), "s3cret pw")
        outcome = services.checks.run_test("db", None)
    assert not outcome.passed
    token = base64.b64encode(b"alice:s3cret pw").decode()
    assert recorder.requests, "the test did not go through the proxy"
    assert all(f"Proxy-Authorization: Basic {token}".encode() in r for r in recorder.requests)
    assert b"CONNECT vendor.example:22 " in recorder.requests[0]
    said = " ".join(str(check.get("detail", "")) for check in outcome.checks)
    assert "s3cret" not in said
