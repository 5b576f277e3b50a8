"""`tunnelkeeper diagnose [NAME] [--output FILE.zip] [--no-test]` as users run it."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest

from app.storage.paths import AppPaths
from tests.conftest import Jumphost
from tests.support.cli import add_profile, tk
from tests.support.net import TcpServer

pytestmark = pytest.mark.integration

NO_KEYRING = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
WEBHOOK = "https://hooks.slack.com/services/T0AAAA1111/B0BBBB2222/sEcReTtOkEnXyZ"


def run(*args: str, home: Path | None = None) -> tuple[int, str, str]:
    env = {**os.environ, **NO_KEYRING}
    if home is not None:
        env["HOME"] = str(home)
    result = tk(*args, env=env)
    return result.returncode, result.stdout, result.stderr


def test_diagnose_saves_a_zip_says_where_and_hides_paths_and_tokens(
    jumphost: Jumphost, echo: TcpServer, tk_home: AppPaths, tmp_path: Path
) -> None:
    add_profile(jumphost, echo.port, name="db")
    jumphost.pin(tk_home)
    (tk_home.config_dir / "alerts.toml").write_text(f'[[alert]]\nurl = "{WEBHOOK}"\n')
    out = tmp_path / "bundles"
    out.mkdir()

    code, stdout, stderr = run("diagnose", "db", "--output", str(out), home=tmp_path)

    assert code == 0, stderr
    assert stderr == "Running the connection test of db…\n"
    (made,) = out.glob("tunnelkeeper-diagnostics-*.zip")
    saved, summary = stdout.splitlines()
    assert saved == f"Diagnostics saved to {made}"
    assert summary.startswith("db: connection test passed (6 checks, 1 skipped), route direct;")
    with zipfile.ZipFile(made) as archive:
        files = {name: archive.read(name).decode() for name in archive.namelist()}
    assert "tunnels/db/connection-test.json" in files and "alerts.json" in files
    public = Path(f"{jumphost.key}.pub").read_text().split()[1]
    profile = json.loads(files["tunnels/db/profile.json"])
    assert profile["key"]["fingerprint"].startswith("SHA256:")
    for name, text in files.items():
        assert str(tmp_path) not in text, name  # this account's home folder
        assert str(jumphost.key) not in text, name
        assert "sEcReTtOkEnXyZ" not in text and "T0AAAA1111" not in text, name
        assert public not in text, name  # the fingerprint only, not even the public key
    assert "https://hooks.slack.com/…" in files["alerts.json"]


def test_diagnose_without_the_test_and_every_tunnel(
    jumphost: Jumphost, echo: TcpServer, tk_home: AppPaths, tmp_path: Path
) -> None:
    add_profile(jumphost, echo.port, name="db")
    target = tmp_path / "d.zip"
    code, stdout, stderr = run("diagnose", "--no-test", "-o", str(target))
    assert code == 0, stderr
    assert stderr == ""
    assert stdout.startswith(f"Diagnostics saved to {target}\ndb: connection test not run")
    with zipfile.ZipFile(target) as archive:
        test = json.loads(archive.read("tunnels/db/connection-test.json"))
    assert test["run"] is False


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (["diagnose", "nope"], 2, "tunnelkeeper: there is no tunnel named 'nope' (see"),
        (
            ["diagnose", "--no-test", "-o", "/nonexistent-folder/d.zip"],
            1,
            "tunnelkeeper: cannot save the diagnostics as /nonexistent-folder/d.zip: "
            "/nonexistent-folder does not exist.",
        ),
        (["diagnose", "--no-t"], 2, "unrecognized arguments: --no-t"),
    ],
)
def test_mistakes_are_sentences_not_tracebacks(
    tk_home: AppPaths, args: list[str], code: int, said: str
) -> None:
    result_code, stdout, stderr = run(*args)
    assert result_code == code
    assert said in stderr
    assert "Traceback" not in stderr and stdout == ""
