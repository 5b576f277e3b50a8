"""build/linux/package.py: the .deb (installed for real with dpkg) and the .tar.gz."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from app import __version__
from tests.build.conftest import load_script

APT_TIMEOUT = 900.0  # seconds: apt-get -f install downloads the X11 libraries on a fresh machine


@pytest.fixture(scope="module")
def package() -> ModuleType:
    return load_script("build/linux/package.py")


# --- pure ----------------------------------------------------------------------------------


def test_depends_maps_sonames_to_packages_once_each(package: ModuleType) -> None:
    entries = package.depends(
        ["libc.so.6", "libxcb.so.1", "libglib-2.0.so.0", "libgthread-2.0.so.0", "libm.so.6"],
        "2.34",
    )
    assert entries == ["libc6 (>= 2.34)", "libglib2.0-0t64 | libglib2.0-0", "libxcb1"]


def test_an_unknown_system_library_fails_the_build_by_name(package: ModuleType) -> None:
    with pytest.raises(package.PackagingError, match=r"libbar\.so\.1, libfoo\.so\.3"):
        package.depends(["libxcb.so.1", "libfoo.so.3", "libbar.so.1"], None)


def test_glibc_floor_is_the_newest_symbol_version(package: ModuleType) -> None:
    blobs = [b"x\x00GLIBC_2.17\x00GLIBC_2.2.5\x00", b"GLIBC_2.34\x00GLIBC_PRIVATE\x00"]
    assert package.glibc_floor_of(blobs) == "2.34"
    assert package.glibc_floor_of([b"no versions"]) is None


def test_control_file_is_what_dpkg_expects(package: ModuleType) -> None:
    text = package.control_text("1.2.3", "amd64", ["libc6 (>= 2.34)", "libxcb1"], 4242)
    fields = dict(line.split(": ", 1) for line in text.splitlines() if not line.startswith(" "))
    assert fields["Package"] == "tunnelkeeper"
    assert fields["Version"] == "1.2.3"
    assert fields["Architecture"] == "amd64"
    assert fields["Installed-Size"] == "4242"
    assert fields["Depends"] == "libc6 (>= 2.34), libxcb1"
    assert text.endswith("\n") and all(len(line) <= 80 for line in text.splitlines())


# --- the real packages ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def packages(
    package: ModuleType, frozen_app: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("packages")
    assert package.main([str(frozen_app), "--out", str(out)]) == 0
    (deb,) = out.glob("*.deb")
    (tarball,) = out.glob("*.tar.gz")
    return deb, tarball


def test_tarball_holds_the_frozen_folder_owned_by_root(
    packages: tuple[Path, Path], frozen_app: Path
) -> None:
    _, tarball = packages
    assert tarball.name.startswith(f"tunnelkeeper-{__version__}-linux-")
    with tarfile.open(tarball) as archive:
        members = {m.name: m for m in archive.getmembers()}
    executable = members["tunnelkeeper/tunnelkeeper"]
    assert executable.mode & 0o111 and executable.uid == 0 and executable.uname == "root"
    assert len([n for n in members if not members[n].isdir()]) == len(
        [p for p in frozen_app.rglob("*") if not p.is_dir()]
    )
    assert any(m.issym() for m in members.values())  # PyInstaller's library links kept


def test_deb_lays_out_opt_a_menu_entry_and_its_dependencies(packages: tuple[Path, Path]) -> None:
    deb, _ = packages
    info = subprocess.run(
        ["dpkg-deb", "--field", str(deb)], capture_output=True, text=True, check=True
    ).stdout
    depends = next(line for line in info.splitlines() if line.startswith("Depends:"))
    for needed in ("libxcb-cursor0", "libxkbcommon-x11-0", "libegl1", "libfontconfig1"):
        assert needed in depends
    contents = subprocess.run(
        ["dpkg-deb", "--contents", str(deb)], capture_output=True, text=True, check=True
    ).stdout
    assert "./opt/tunnelkeeper/tunnelkeeper" in contents
    assert "./usr/bin/tunnelkeeper -> /opt/tunnelkeeper/tunnelkeeper" in contents
    assert "./usr/share/applications/tunnelkeeper.desktop" in contents
    assert "./usr/share/icons/hicolor/scalable/apps/tunnelkeeper.svg" in contents
    assert "./usr/share/icons/hicolor/256x256/apps/tunnelkeeper.png" in contents
    assert all(" root/root " in line for line in contents.splitlines())  # not the builder's


def _installed(name: str) -> bool:
    status = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", name], capture_output=True, text=True
    )
    return status.returncode == 0 and "installed" in status.stdout.split()


@pytest.fixture
def installed_deb(packages: tuple[Path, Path]) -> Iterator[Path]:
    """dpkg -i, then apt-get -f install for the dependencies; removed again afterwards."""
    if os.geteuid() != 0:
        pytest.fail("installing the .deb needs root (CI runs as root)")
    if _installed("tunnelkeeper"):
        pytest.fail("a tunnelkeeper package is already installed here; not replacing it")
    deb, _ = packages
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        # dpkg leaves the package unconfigured when a dependency is missing; apt completes it
        subprocess.run(["dpkg", "-i", str(deb)], env=env, capture_output=True, timeout=300)
        if not list(Path("/var/lib/apt/lists").glob("*Packages*")):  # images ship without lists
            subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=300)
        fixed = subprocess.run(
            ["apt-get", "-f", "install", "-y", "-qq", "--no-install-recommends"],
            env=env, capture_output=True, text=True, timeout=APT_TIMEOUT,
        )  # fmt: skip
        assert fixed.returncode == 0, fixed.stderr[-2000:]
        assert _installed("tunnelkeeper")
        yield Path("/opt/tunnelkeeper")
    finally:
        if _installed("tunnelkeeper") or Path("/opt/tunnelkeeper").exists():
            subprocess.run(["dpkg", "--purge", "tunnelkeeper"], env=env, capture_output=True)


def test_installed_deb_passes_its_self_test_and_removes_cleanly(installed_deb: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    self_test = subprocess.run(
        [str(installed_deb / "tunnelkeeper"), "--self-test"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert self_test.returncode == 0, self_test.stdout + self_test.stderr
    assert "self-test passed" in self_test.stdout
    on_path = subprocess.run(
        [shutil.which("tunnelkeeper", path="/usr/bin") or "missing", "--version"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert on_path.stdout == f"tunnelkeeper {__version__}\n"
    # every library the bundle loads from the system is there (the Depends are complete)
    missing = []
    bundled = {**os.environ, "LD_LIBRARY_PATH": str(installed_deb / "_internal")}
    for path in installed_deb.rglob("*.so*"):
        if path.is_symlink() or not path.is_file():
            continue
        ldd = subprocess.run(["ldd", str(path)], capture_output=True, text=True, env=bundled)
        missing += [f"{path.name}: {line.strip()}" for line in ldd.stdout.splitlines() if
                    "not found" in line]  # fmt: skip
    assert missing == []

    removed = subprocess.run(["dpkg", "--purge", "tunnelkeeper"], capture_output=True, text=True)
    assert removed.returncode == 0, removed.stderr
    assert not _installed("tunnelkeeper")
    assert not installed_deb.exists()
    assert not Path("/usr/bin/tunnelkeeper").exists()
    assert not Path("/usr/share/applications/tunnelkeeper.desktop").exists()
