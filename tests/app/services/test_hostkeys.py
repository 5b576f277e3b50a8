"""Host keys: imported from a known_hosts file, pinned, required before a run."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import HostKeyNotPinned
from app.services.api import Services
from app.services.errors import HostKeyUnavailable, KnownHostsMissing, NoKeyForHost
from app.storage.paths import AppPaths
from tests.app.services.test_keys import add_tunnel
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
