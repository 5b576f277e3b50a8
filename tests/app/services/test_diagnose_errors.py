"""The diagnostics bundle without a jumphost: where it goes, mistakes, alerts files, logging."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from app.cli import main
from app.core.profile import Profile
from app.errors import UnknownProfile
from app.services.api import Services
from app.services.diagnose import DiagnosticsNotSaved
from app.storage.paths import AppPaths
from app.storage.store import ProfileStore


def add_db(paths: AppPaths, tmp_path: Path) -> Profile:
    profile = Profile("db", "jump.invalid", "t", 2201, "127.0.0.1", 5432, str(tmp_path / "k"))
    ProfileStore(paths.profiles_file).add(profile)
    return profile


def test_unknown_tunnel_and_unusable_places_are_sentences(
    services: Services, tk_home: AppPaths, tmp_path: Path
) -> None:
    add_db(tk_home, tmp_path)
    with pytest.raises(UnknownProfile, match="no tunnel named 'nope'"):
        services.diagnose.save("nope", tmp_path / "x.zip", run_test=False)
    with pytest.raises(DiagnosticsNotSaved, match=r"x\.zip: .*missing does not exist\."):
        services.diagnose.save("db", tmp_path / "missing" / "x.zip", run_test=False)
    (tmp_path / "file").write_text("")
    with pytest.raises(DiagnosticsNotSaved, match=r"file is not a folder\."):
        services.diagnose.save("db", tmp_path / "file" / "x.zip", run_test=False)
    assert not list(tmp_path.glob("**/*.zip"))


def test_a_folder_gets_the_default_name_and_the_file_is_private(
    services: Services, tk_home: AppPaths, tmp_path: Path
) -> None:
    add_db(tk_home, tmp_path)
    saved = services.diagnose.save("db", tmp_path, run_test=False)
    assert saved.path.parent == tmp_path
    assert saved.path.name.startswith("tunnelkeeper-diagnostics-")
    assert saved.path.name.endswith("Z.zip")
    assert stat.S_IMODE(saved.path.stat().st_mode) == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left
    with zipfile.ZipFile(saved.path) as archive:
        assert archive.namelist() == saved.files
        assert "alerts.json" not in saved.files  # no alerts here
    assert saved.summary.startswith("db: connection test not run, route ")


def test_without_tunnels_the_bundle_still_has_versions_and_the_log(
    services: Services, tmp_path: Path
) -> None:
    saved = services.diagnose.save(None, tmp_path / "d.zip", run_test=False)
    assert saved.files == ["README.txt", "versions.json", "log-tail.txt"]
    assert saved.summary.startswith("no tunnels; 3 files")


def test_a_broken_alerts_file_is_said_not_fatal(
    services: Services, tk_home: AppPaths, tmp_path: Path
) -> None:
    tk_home.config_dir.mkdir(parents=True, exist_ok=True)
    (tk_home.config_dir / "alerts.toml").write_text("[[alert]\nurl = https://x/y\n")
    saved = services.diagnose.save(None, tmp_path / "d.zip", run_test=False)
    with zipfile.ZipFile(saved.path) as archive:
        assert "is not valid TOML" in archive.read("alerts.json").decode()


def test_the_cli_saves_in_the_working_folder_and_says_where(
    tk_home: AppPaths,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    add_db(tk_home, tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(["diagnose", "db", "--no-test"]) == 0
    out = capsys.readouterr()
    (made,) = work.glob("tunnelkeeper-diagnostics-*.zip")
    assert out.out.splitlines() == [
        f"Diagnostics saved to {made}",
        out.out.splitlines()[1],
    ]
    assert out.out.splitlines()[1].startswith("db: connection test not run")
    assert out.err == ""  # no test, nothing to say while it works
