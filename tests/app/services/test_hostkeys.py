"""Host keys: fetched from a real jumphost, imported from a known_hosts file, pinned, required."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import HostKeyNotPinned
from app.services.api import Services
from app.services.errors import HostKeyUnavailable, KnownHostsMissing, NoKeyForHost
from app.services.hostkeys import CHANGED, TRUSTED, UNKNOWN
from app.storage.paths import AppPaths
from tests.app.services.test_keys import add_tunnel
from tests.conftest import Jumphost
from tests.support.net import free_port


def test_import_pin_and_require(services: Services, tk_home: AppPaths, tmp_path: Path) -> None:
    made = services.keys.create("plain", None)
    add_tunnel(services, "plain")
    with pytest.raises(HostKeyNotPinned):
        services.hostkeys.require_pinned(["db"])
    key_type, blob = made.public_line.split()[:2]
    theirs = tmp_path / "known_hosts"
    with pytest.raises(KnownHostsMissing):
        services.hostkeys.from_known_hosts("db", str(theirs))
    theirs.write_text(f"other.example {key_type} {blob}\n")
    with pytest.raises(NoKeyForHost):
        services.hostkeys.from_known_hosts("db", str(theirs))
    theirs.write_text(f"vendor.example {key_type} {blob}\n")
    (found,) = services.hostkeys.from_known_hosts("db", str(theirs))
    assert found.pattern == "vendor.example" and found.fingerprint == made.fingerprint
    assert services.hostkeys.pin([found]) == str(tk_home.known_hosts_file)
    assert blob in tk_home.known_hosts_file.read_text()
    services.hostkeys.require_pinned(["db"])


def test_a_jumphost_that_does_not_answer(services: Services) -> None:
    services.keys.create("plain", None)
    add_tunnel(services, "plain")
    services.profiles.edit("db", {"jumphost": "127.0.0.1", "ssh_port": free_port()})
    with pytest.raises(HostKeyUnavailable) as caught:
        services.hostkeys.fetch("db")
    assert "127.0.0.1" in str(caught.value)


def test_fetch_endpoint_unknown_then_trusted_once_pinned(
    services: Services, tk_home: AppPaths, jumphost: Jumphost
) -> None:
    pattern = f"[127.0.0.1]:{jumphost.port}"
    key_type, blob = Path(f"{jumphost.sshd.host_key}.pub").read_text().split()[:2]
    first = services.hostkeys.fetch_endpoint("127.0.0.1", jumphost.port)
    assert (first.verdict, first.pinned_before) == (UNKNOWN, ())
    assert (first.pattern, first.label) == (pattern, f"127.0.0.1:{jumphost.port}")
    assert (first.key_type, first.key_base64) == (key_type, blob)
    assert first.kind == "ED25519, 256 bits" and first.fingerprint.startswith("SHA256:")
    assert not tk_home.known_hosts_file.exists()  # fetching pins nothing
    services.hostkeys.pin([first])
    again = services.hostkeys.fetch_endpoint("127.0.0.1", jumphost.port)
    assert (again.verdict, again.pinned_before) == (TRUSTED, (first.fingerprint,))


def test_fetch_endpoint_changed_lists_what_was_pinned_and_pin_replaces_it(
    services: Services, tk_home: AppPaths, jumphost: Jumphost
) -> None:
    pattern = f"[127.0.0.1]:{jumphost.port}"
    old = services.keys.create("old", None)  # a key the jumphost does not have
    old_type, old_blob = old.public_line.split()[:2]
    tk_home.known_hosts_file.write_text(
        f"other.example {old_type} {old_blob}\n{pattern} {old_type} {old_blob}\n"
    )
    changed = services.hostkeys.fetch_endpoint("127.0.0.1", jumphost.port)
    assert (changed.verdict, changed.pinned_before) == (CHANGED, (old.fingerprint,))
    services.hostkeys.pin([changed])  # what the wizard does once the vendor confirmed it
    lines = tk_home.known_hosts_file.read_text().splitlines()
    assert lines == [
        f"other.example {old_type} {old_blob}",
        f"{pattern} {changed.key_type} {changed.key_base64}",
    ]
    assert services.hostkeys.fetch_endpoint("127.0.0.1", jumphost.port).verdict == TRUSTED
