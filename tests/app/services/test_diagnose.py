"""The diagnostics bundle against a real sshd and Squid: every planted secret is absent."""

from __future__ import annotations

import base64
import json
import stat
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from app.core.events import State, TunnelEvent
from app.core.profile import Profile
from app.services.api import Services
from app.services.proxies import secret_name
from app.storage.paths import AppPaths
from app.storage.store import ProfileStore
from tests.app.services.conftest import MemoryKeychain
from tests.conftest import Jumphost
from tests.support.net import TcpServer
from tests.support.squid import Squid, running_squid

pytestmark = pytest.mark.integration

PASSPHRASE = "Corr3ct-Horse:Battery/Staple?"
PROXY_PASSWORD = "pr0xy&Pa55 word+"
SMTP_PASSWORD = "smtp-Secr3t=xyz"
SLACK_TOKENS = ("T0ABCDEF12", "B0ABCDEF34", "zzXXyyWWvvUU1234abcd5678")
SLACK_URL = "https://hooks.slack.com/services/" + "/".join(SLACK_TOKENS)
TEAMS_URL = "https://example.webhook.office.com/webhookb2/guid-1234@tenant?sig=QuErYsEcReT"


def forms(secret: str) -> list[str]:
    """The secret as it is, URL-encoded and in base64 (a Basic sign-in's, too)."""
    raw = secret.encode()
    return [
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        base64.b64encode(raw).decode(),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    ]


def fingerprint(public_key: Path) -> str:
    out = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", str(public_key)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split()[1]


@dataclass(frozen=True)
class Planted:
    """Tunnel db and the secrets planted around it, to look for in the bundle."""

    profile: Profile
    home: str
    key: Path
    secrets: list[str]
    tokens: list[str]
    pem_body: list[str]


def members(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


@pytest.fixture
def squid(jumphost: Jumphost) -> Iterator[Squid]:
    with running_squid(allow_ports=(jumphost.port,), password=PROXY_PASSWORD) as proxy:
        yield proxy


@pytest.fixture
def planted(
    tmp_path: Path,
    tk_home: AppPaths,
    jumphost: Jumphost,
    echo: TcpServer,
    squid: Squid,
    services: Services,
    keychain: MemoryKeychain,
    monkeypatch: pytest.MonkeyPatch,
) -> Planted:
    """Tunnel db through Squid (user alice) with an encrypted key, alert rules with an SMTP
    password and webhooks, and a log that quotes every secret. This account's home is
    ``tmp_path``, which holds the app's folder and the key."""
    monkeypatch.setenv("HOME", str(tmp_path))
    key = jumphost.key
    pem_plain = key.read_text()
    subprocess.run(
        ["ssh-keygen", "-q", "-p", "-P", "", "-N", PASSPHRASE, "-f", str(key)], check=True
    )
    pem = key.read_text()
    profile = jumphost.profile(echo.port, name="db", proxy=f"http://alice@127.0.0.1:{squid.port}")
    ProfileStore(tk_home.profiles_file).add(profile)
    jumphost.pin(tk_home)
    keychain.set(str(key), PASSPHRASE)
    proxy_entry = secret_name(profile)
    assert proxy_entry is not None
    keychain.set(proxy_entry, PROXY_PASSWORD)
    plant_alerts(services, keychain, tk_home)
    tk_home.log_dir.mkdir(parents=True, exist_ok=True)
    escaped_pem = pem.replace("\n", "\\n")
    lines = [
        f"2025-01-01 10:00:00,000 INFO app.engine.tunnel: [db] key {key} opened with {PASSPHRASE}",
        f"2025-01-01 10:00:01,000 INFO app.ssh: [db] Proxy-Authorization: Basic "
        f"{base64.b64encode(f'alice:{PROXY_PASSWORD}'.encode()).decode()}",
        f"2025-01-01 10:00:02,000 INFO app.ssh: [db] proxy password {quote(PROXY_PASSWORD)}",
        f"2025-01-01 10:00:03,000 INFO app.alerts: [db] posted to {SLACK_URL} and {TEAMS_URL}",
        f"2025-01-01 10:00:04,000 INFO app.alerts: [db] smtp login ops {SMTP_PASSWORD}",
        f"2025-01-01 10:00:05,000 ERROR app.engine: [db] {escaped_pem}",
        "2025-01-01 10:00:06,000 ERROR app: a traceback quoting a key:",
        *pem.splitlines(),
        *pem_plain.splitlines(),
        f"2025-01-01 10:00:07,000 INFO app: home is {tmp_path}, key {key}",
    ]
    tk_home.log_file.write_text("\n".join(lines) + "\n")
    body = [line for line in pem.splitlines() + pem_plain.splitlines() if "-----" not in line]
    return Planted(
        profile,
        str(tmp_path),
        key,
        [PASSPHRASE, PROXY_PASSWORD, f"alice:{PROXY_PASSWORD}", SMTP_PASSWORD],
        [*SLACK_TOKENS, "guid-1234@tenant", "QuErYsEcReT", "webhookb2/"],
        body,
    )


def plant_alerts(services: Services, keychain: MemoryKeychain, paths: AppPaths) -> None:
    """A Slack-like webhook and an email rule whose SMTP user signs in with a password, the
    way the alerts feature keeps them (the password in the keychain)."""
    alerts = getattr(services, "alerts", None)
    if alerts is not None:
        alerts.add_webhook(SLACK_URL, tunnel="db")
        alerts.add_webhook(TEAMS_URL)
        view = alerts.add_email(
            "ops@example.com", "127.0.0.1:2525", user="ops", password=SMTP_PASSWORD
        )
        assert SMTP_PASSWORD in keychain.entries.values(), view
        return
    paths.config_dir.joinpath("alerts.toml").write_text(
        f'[[alert]]\nurl = "{SLACK_URL}"\n\n[[alert]]\nurl = "{TEAMS_URL}"\n\n'
        '[[alert]]\nto = "ops@example.com"\nsmtp = "127.0.0.1:2525"\nuser = "ops"\n'
        f'password = "{SMTP_PASSWORD}"\n'
    )
    keychain.set("smtp:ops@127.0.0.1:2525", SMTP_PASSWORD)


def assert_nothing_leaks(files: dict[str, str], planted: Planted) -> None:
    home, key = planted.home, planted.key
    for name, text in files.items():
        for secret in planted.secrets:
            for form in forms(secret):
                assert form not in text, f"{secret!r} as {form!r} in {name}"
        for token in planted.tokens:
            assert token not in text, f"webhook token {token!r} in {name}"
        for line in planted.pem_body:
            assert line not in text, f"private key material in {name}"
        assert "PRIVATE KEY-----" not in text, name
        assert home not in text, f"the home folder in {name}"
        assert str(key) not in text, f"the key's path in {name}"
        if name.endswith("profile.json"):  # the log quotes it (home taken out); not these
            assert f"~/{key.name}" not in text


def test_the_bundle_holds_the_diagnosis_and_none_of_the_secrets(
    planted: Planted,
    services: Services,
    jumphost: Jumphost,
    tmp_path: Path,
) -> None:
    profile = planted.profile
    event = TunnelEvent("db", State.RETRYING, f"smtp said no to {SMTP_PASSWORD}")
    heard: list[str] = []
    out = tmp_path / "out"
    out.mkdir()

    saved = services.diagnose.save("db", out, events=[event], progress=heard.append)

    assert heard == ["running the connection test of db"]
    assert saved.path.parent == out and saved.path.name.startswith("tunnelkeeper-diagnostics-")
    assert stat.S_IMODE(saved.path.stat().st_mode) == 0o600
    files = members(saved.path)
    assert (
        sorted(files)
        == sorted(saved.files)
        == [
            "README.txt",
            "alerts.json",
            "log-tail.txt",
            "tunnels/db/connection-test.json",
            "tunnels/db/events.jsonl",
            "tunnels/db/history.json",
            "tunnels/db/profile.json",
            "tunnels/db/status.json",
            "versions.json",
        ]
    )
    assert_nothing_leaks(files, planted)

    view = json.loads(files["tunnels/db/profile.json"])
    assert "key_path" not in view
    assert view["key"]["fingerprint"] == fingerprint(Path(f"{jumphost.key}.pub"))
    assert view["key_file"] == jumphost.key.name
    assert view["route"]["kind"] == "proxy"
    assert view["route"]["proxy"] == f"HTTP proxy 127.0.0.1:{profile.proxy.rsplit(':', 1)[1]}"
    host_key = fingerprint(Path(f"{jumphost.sshd.host_key}.pub"))
    assert view["pinned_host_keys"] == {profile.endpoint: [f"ssh-ed25519 {host_key}"]}

    test = json.loads(files["tunnels/db/connection-test.json"])
    statuses = {c["number"]: c["status"] for c in test["checks"]}
    assert [statuses[n] for n in (1, 2, 3, 4, 5, 6)] == ["pass"] * 6, test
    assert "via HTTP proxy" in test["checks"][1]["detail"]
    algorithms = test["negotiated"]
    assert algorithms["host_key"] == "ssh-ed25519"
    assert algorithms["cipher_to_server"] == "aes128-gcm@openssh.com"
    assert algorithms["key_exchange"]  # paramiko forgets it; the bundle heard it agreed
    assert algorithms["server_version"].startswith("SSH-2.0-OpenSSH")

    versions = json.loads(files["versions.json"])
    for part in ("os", "python", "paramiko", "openssl (ssh)", "qt", "tunnelkeeper"):
        assert versions[part]

    alerts = files["alerts.json"]
    assert "https://hooks.slack.com/…" in alerts and "ops@example.com" in alerts
    assert "opened with [redacted]" in files["log-tail.txt"]
    assert "[private key removed]" in files["log-tail.txt"]
    assert "[redacted]" in files["tunnels/db/events.jsonl"]
    readme = files["README.txt"]
    for name in saved.files[1:]:
        assert name in readme
    assert "password or passphrase" in readme and "home folder path" in readme
    assert "db: connection test" in saved.summary and "route proxy" in saved.summary


def test_every_tunnel_without_the_test_still_hides_every_secret(
    planted: Planted, services: Services, tmp_path: Path
) -> None:
    saved = services.diagnose.save(None, tmp_path / "all.zip", run_test=False)
    files = members(saved.path)
    assert "tunnels/db/profile.json" in files
    assert_nothing_leaks(files, planted)
    test = json.loads(files["tunnels/db/connection-test.json"])
    assert test == {"run": False, "why": "--no-test: the jumphost was not dialled"}
    # without NAME the log's every line is in: the traceback's key lines were taken out
    assert files["log-tail.txt"].count("[private key removed]") >= 2
    view = json.loads(files["tunnels/db/profile.json"])
    assert view["key"]["fingerprint"].startswith("SHA256:")  # from the .pub, not asked
