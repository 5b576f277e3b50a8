"""`service install --system --alerts`: the user's alerts, and the SMTP password from their real
keychain (a private Secret Service), go into the system service; --dry-run says so first."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from app.core.alert_rules import webhook_rule
from app.core.service_bundle import MovedAlerts, encode
from app.platform.credentials import credential_name
from app.platform.service_install import ROOT_ENV
from app.storage.alerts import AlertStore
from app.storage.paths import AppPaths
from tests.app.cli.test_cli_keyring import keyring_env
from tests.support.cli import APP, ROOT, tk
from tests.support.secret_service import (
    PrivateSecretService,
    secret_service_fixture,  # noqa: F401  (registers the `secret_service` fixture)
)

pytestmark = pytest.mark.integration

PASSWORD = "smtp-Pw-93kq"
URL = "https://hooks.example.com/services/T0/B0/sEcReT-42"
SECRET_NAME = "smtp:alerts@example.com@smtp.example.com:587"


@pytest.fixture
def alerts(secret_service: PrivateSecretService, tk_home: AppPaths) -> AppPaths:
    """A webhook, and an email alert whose password is in the user's keychain."""
    env = keyring_env()
    assert tk("alerts", "add", "webhook", URL, env=env).returncode == 0
    added = tk(
        "alerts", "add", "email", "ops@example.com", "--smtp", "smtp.example.com:587",
        "--user", "alerts@example.com", "--password-stdin", "--tunnel", "db",
        input=f"{PASSWORD}\n", env=env,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "stored in the system keychain" in added.stdout
    return tk_home


def test_dry_run_lists_the_alerts_file_and_the_credential(alerts: AppPaths, tmp_path: Path) -> None:
    root = tmp_path / "system"
    root.mkdir()
    env = {**keyring_env(), ROOT_ENV: str(root)}
    result = tk("service", "install", "--system", "--alerts", "--dry-run", env=env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    config = root / "etc/tunnelkeeper"
    cred = credential_name(SECRET_NAME)
    assert "Your 2 alerts replace the service's in" in out
    assert "Their SMTP passwords are systemd credentials" in out
    assert (
        f"- write {config}/alerts.toml (mode 0640, owner root:tunnelkeeper; contents not shown)"
        in out
    )
    assert f"- run systemd-creds encrypt --name={cred} - {config}/credentials/{cred}.cred" in out
    assert f"LoadCredentialEncrypted={cred}:{config}/credentials/{cred}.cred" in out
    assert PASSWORD not in out + result.stderr and "sEcReT" not in out + result.stderr
    assert sorted(root.rglob("*")) == []  # nothing written


def test_alerts_go_with_the_system_service(tk_home: AppPaths) -> None:
    result = tk("service", "install", "--user", "--alerts")
    assert result.returncode != 0 and "--alerts goes with --system" in result.stderr


def test_no_alerts_to_copy_is_a_sentence(tk_home: AppPaths, tmp_path: Path) -> None:
    env = {**os.environ, ROOT_ENV: str(tmp_path)}
    result = tk("service", "install", "--system", "--alerts", "--dry-run", env=env)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "you have no alerts to copy into the service" in result.stderr


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("systemd-creds") is None,
    reason="as root, the copy installs without sudo; systemd-creds encrypts with the machine key",
)
def test_install_writes_the_alerts_file_and_the_units_credential(
    alerts: AppPaths, tmp_path: Path
) -> None:
    root = tmp_path / "system"
    root.mkdir()
    env = {**keyring_env(), ROOT_ENV: str(root)}
    result = tk(
        "service", "install", "--system", "--alerts", "--run-as", "root", "--no-start", env=env
    )
    assert result.returncode == 0, result.stderr
    assert "The service sends your alerts now" in result.stdout
    assert "moved tunnels" not in result.stdout
    config = root / "etc/tunnelkeeper"
    copied = config / "alerts.toml"
    info = copied.stat()
    assert stat.S_IMODE(info.st_mode) == 0o640 and (info.st_uid, info.st_gid) == (0, 0)
    text = copied.read_text()
    assert URL in text and 'user = "alerts@example.com"' in text and PASSWORD not in text
    cred = credential_name(SECRET_NAME)
    cred_file = config / "credentials" / f"{cred}.cred"
    assert cred_file.is_file() and PASSWORD.encode() not in cred_file.read_bytes()
    unit = (root / "etc/systemd/system/tunnelkeeper.service").read_text()
    assert f"LoadCredentialEncrypted={cred}:{cred_file}\n" in unit
    assert "systemctl" not in result.stdout  # under another root nothing is started
    assert alerts.alerts_file.read_text().count("[alerts.") == 2  # the user's stay


@pytest.mark.skipif(os.geteuid() != 0, reason="the privileged half gives the file to root")
def test_the_privileged_half_takes_the_alerts_from_standard_input(
    tk_home: AppPaths, tmp_path: Path
) -> None:
    root = tmp_path / "system"
    root.mkdir()
    rule = webhook_rule("7", URL, "db", "90s")
    done = subprocess.run(
        [*APP, "service", "install", "--system", "--from-stdin", "--run-as", "root", "--no-start"],
        input=encode([], MovedAlerts((rule,))),
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, ROOT_ENV: str(root)},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr.decode()
    copied = root / "etc/tunnelkeeper/alerts.toml"
    assert stat.S_IMODE(copied.stat().st_mode) == 0o640
    assert AlertStore(copied).load() == [rule]
    assert "sEcReT" not in done.stdout.decode() + done.stderr.decode()
