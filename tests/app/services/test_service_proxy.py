"""A proxy password moved into the system service becomes a systemd credential, never a file."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest

from app.core.service_units import Scope
from app.platform.credentials import CredentialsKeychain, credential_name
from app.platform.service_install import ROOT_ENV, Run, perform
from app.services.api import Services
from app.storage import hostkeys as pins
from app.storage.paths import AppPaths
from tests.app.services.conftest import MemoryKeychain
from tests.support.sshd import ssh_keygen

pytestmark = pytest.mark.integration

SECRET = "proxy-hunter2-long"


@pytest.fixture
def system_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "system"
    root.mkdir()
    monkeypatch.setenv(ROOT_ENV, str(root))
    return root


def test_a_proxy_password_travels_as_an_encrypted_credential_only(
    services: Services, keychain: MemoryKeychain, tmp_path: Path, system_root: Path
) -> None:
    key = ssh_keygen(tmp_path / "id_plain")
    host_key = ssh_keygen(tmp_path / "host_key")
    kind, blob = Path(f"{host_key}.pub").read_text().split()[:2]
    pins.pin_all(
        services.paths.known_hosts_file, "[vendor.example]:2222", [(kind, base64.b64decode(blob))]
    )
    services.profiles.add(
        "behind",
        {
            "jumphost": "vendor.example",
            "ssh_port": 2222,
            "user": "acme",
            "remote_port": 15432,
            "target_host": "127.0.0.1",
            "target_port": 5432,
            "key_path": str(key),
            "proxy": "http://alice@10.0.0.5:3128",
        },
    )
    services.proxies.remember(services.profiles.get("behind"), SECRET)
    (moved,) = services.service.bundle(["behind"], ask=None)
    assert moved.proxy_password == SECRET
    spec = services.service.install_spec(Scope.SYSTEM, run_as="root")
    steps = services.service.install_steps(spec, [moved])
    shown = "\n".join(step.describe() for step in steps)
    assert SECRET not in shown and "systemd-creds encrypt" in shown
    assert "proxy passwords are systemd credentials" in services.service.protection(spec, [moved])
    for step in steps:
        if not (isinstance(step, Run) and step.argv[0] == "systemctl"):
            perform(step)
    config = system_root / "etc/tunnelkeeper"
    for path in config.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    cred_name = credential_name("proxy:http://alice@10.0.0.5:3128")
    cred = config / "credentials" / f"{cred_name}.cred"
    unit = (system_root / "etc/systemd/system/tunnelkeeper.service").read_text()
    assert f"LoadCredentialEncrypted={cred_name}:{cred}" in unit
    # what systemd does at start: decrypt into the service's private folder
    private = tmp_path / "credentials"
    private.mkdir(mode=0o700)
    subprocess.run(
        ["systemd-creds", "decrypt", f"--name={cred_name}", str(cred), str(private / cred_name)],
        check=True,
        capture_output=True,
    )
    service = Services(
        AppPaths(config, config, system_root / "logs", system_root / "run"),
        lambda: CredentialsKeychain(private),
    )
    assert service.proxies.password(service.profiles.get("behind")) == SECRET


def test_without_a_stored_password_the_installer_asks_once(
    services: Services, tmp_path: Path, system_root: Path
) -> None:
    key = ssh_keygen(tmp_path / "id_plain")
    host_key = ssh_keygen(tmp_path / "host_key")
    kind, blob = Path(f"{host_key}.pub").read_text().split()[:2]
    pins.pin_all(
        services.paths.known_hosts_file, "vendor.example", [(kind, base64.b64decode(blob))]
    )
    fields = {
        "jumphost": "vendor.example",
        "user": "acme",
        "remote_port": 15432,
        "target_host": "127.0.0.1",
        "target_port": 5432,
        "key_path": str(key),
        "ssh_port": 22,
    }
    services.profiles.add("behind", {**fields, "proxy": "socks5://bob@10.0.0.5:1080"})
    services.profiles.add("direct", {**fields, "remote_port": 15433, "proxy": "none"})
    prompts: list[str] = []

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        return "typed"

    behind, direct = services.service.bundle(["behind", "direct"], ask=ask)
    assert behind.proxy_password == "typed" and direct.proxy_password is None
    assert prompts == ["Password of the proxy user of behind (for the service): "]
    (unasked,) = services.service.bundle(["behind"], ask=None)
    assert unasked.proxy_password is None
