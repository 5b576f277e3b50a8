"""Alerts copied into the system service: alerts.toml root's and its group's, each SMTP password
an encrypted systemd credential the unit loads, and the service signing in with it."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from app.core.service_bundle import NoAlertsToCopy
from app.core.service_units import Scope
from app.platform.credentials import CredentialsKeychain, credential_name
from app.platform.service_install import ROOT_ENV, Run, perform
from app.services.api import Services
from app.storage.paths import AppPaths
from tests.app.services.conftest import MemoryKeychain
from tests.support.receivers import (
    LoopbackCa,
    SmtpReceiver,
    loopback_ca_fixture,  # noqa: F401  (registers the `loopback_ca` fixture)
    trusted_ca_fixture,  # noqa: F401  (registers the `trusted_ca` fixture)
)

pytestmark = pytest.mark.integration

PASSWORD = "smtp-Pw-93kq"
URL = "https://hooks.example.com/services/T0/B0/sEcReT-42"
needs_creds = pytest.mark.skipif(
    shutil.which("systemd-creds") is None or os.geteuid() != 0,
    reason="systemd-creds encrypts with the machine's key: it needs root",
)


@pytest.fixture
def system_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "system"
    root.mkdir()
    monkeypatch.setenv(ROOT_ENV, str(root))
    return root


def decrypted(cred: Path, name: str, folder: Path) -> Path:
    """What systemd does at the service's start: decrypt into its private folder."""
    folder.mkdir(mode=0o700, exist_ok=True)
    subprocess.run(
        ["systemd-creds", "decrypt", f"--name={name}", str(cred), str(folder / name)],
        check=True,
        capture_output=True,
    )
    return folder


@needs_creds
def test_the_alerts_go_into_the_service_and_the_password_only_as_a_credential(
    services: Services,
    keychain: MemoryKeychain,
    tmp_path: Path,
    system_root: Path,
    trusted_ca: LoopbackCa,
) -> None:
    with SmtpReceiver("tls", trusted_ca, "alice", PASSWORD) as smtp:
        services.alerts.add_webhook(URL, after="5m")
        services.alerts.add_email(
            "ops@example.com", smtp.address, user="alice", password=PASSWORD, tls="tls",
            tunnel="db",
        )  # fmt: skip
        secret_name = f"smtp:alice@{smtp.address}"
        copied = services.service.alerts_bundle(ask=None)
        assert copied.passwords == ((secret_name, PASSWORD),)
        spec = services.service.install_spec(Scope.SYSTEM, run_as="root")
        steps = services.service.install_steps(spec, [], copied)
        shown = "\n".join(step.describe() for step in steps)
        config = system_root / "etc/tunnelkeeper"
        cred_name = credential_name(secret_name)
        cred = config / "credentials" / f"{cred_name}.cred"
        written = f"write {config}/alerts.toml (mode 0640, owner root:root; contents not shown)"
        assert written in shown
        assert f"systemd-creds encrypt --name={cred_name} - {cred}" in shown
        assert PASSWORD not in shown and "sEcReT" not in shown
        said = services.service.protection(spec, [], copied)
        assert "Your 2 alerts replace the service's" in said and "mode 0640" in said
        assert "SMTP passwords are systemd credentials" in said
        for step in steps:
            if not (isinstance(step, Run) and step.argv[0] == "systemctl"):
                perform(step)

        alerts_file = config / "alerts.toml"
        info = alerts_file.stat()
        assert stat.S_IMODE(info.st_mode) == 0o640 and info.st_uid == 0
        assert URL in alerts_file.read_text()
        for path in config.rglob("*"):
            if path.is_file():
                assert PASSWORD.encode() not in path.read_bytes(), path
        unit = (system_root / "etc/systemd/system/tunnelkeeper.service").read_text()
        assert f"LoadCredentialEncrypted={cred_name}:{cred}\n" in unit

        private = decrypted(cred, cred_name, tmp_path / "credentials")
        service = Services(
            AppPaths(config, config, system_root / "logs", system_root / "run"),
            lambda: CredentialsKeychain(private),
        )
        assert service.alerts.list() == services.alerts.list()  # the same rules, same IDs
        assert service.alerts.has_password("2")
        (result,) = service.alerts.test("2")
        assert result["ok"], result
        assert smtp.logins == ["alice"]  # signed in with the password from its credential
        assert services.alerts.list()  # the user's own alerts stay


def test_a_missing_password_is_asked_for_once_then_said(services: Services) -> None:
    services.alerts.add_email("ops@example.com", "smtp.example.com:587", user="alice")
    services.alerts.add_email("noc@example.com", "smtp.example.com:587", user="alice")
    prompts: list[str] = []

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        return PASSWORD

    typed = services.service.alerts_bundle(ask)
    assert typed.passwords == (("smtp:alice@smtp.example.com:587", PASSWORD),)
    assert prompts == [
        "SMTP password of alice at smtp.example.com:587 (for the service's alerts): "
    ]
    unasked = services.service.alerts_bundle(None)
    assert unasked.passwords == () and len(unasked.without_password()) == 2
    spec = services.service.install_spec(Scope.SYSTEM)
    said = services.service.protection(spec, [], unasked)
    assert "Alert 1 signs in as alice at smtp.example.com:587, but your keychain holds" in said
    assert "SMTP passwords are systemd credentials" not in said
    assert "systemd-creds" not in "\n".join(
        s.describe() for s in services.service.install_steps(spec, [], unasked)
    )


def test_no_alerts_to_copy_is_a_sentence(services: Services) -> None:
    with pytest.raises(NoAlertsToCopy, match="no alerts to copy into the service"):
        services.service.alerts_bundle(None)
