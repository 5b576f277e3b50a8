"""build/macos: Info.plist, the minimum-macOS check on Mach-O binaries, and package.sh."""

from __future__ import annotations

import fnmatch
import os
import plistlib
import re
import stat
import struct
import subprocess
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.platform.autostart import APP_ID
from tests.build.conftest import load_script
from tests.support.cli import ROOT

MACOS = ROOT / "build" / "macos"
ARM64, X86_64 = 0x0100000C, 0x01000007
LC_UUID, LC_VERSION_MIN_MACOSX, LC_BUILD_VERSION = 0x1B, 0x24, 0x32
PLATFORM_MACOS, PLATFORM_IOS = 1, 2


@pytest.fixture(scope="module")
def minimum() -> ModuleType:
    return load_script("build/macos/minimum_macos.py")


def packed(major: int, minor: int = 0, patch: int = 0) -> int:
    return major << 16 | minor << 8 | patch


def macho(
    cpu: int,
    minos: tuple[int, int] | None = None,
    legacy: tuple[int, int] | None = None,
    platform: int = PLATFORM_MACOS,
) -> bytes:
    """A thin 64-bit Mach-O image: a UUID command, then LC_BUILD_VERSION and/or the older
    LC_VERSION_MIN_MACOSX (the layouts of <mach-o/loader.h>)."""
    commands = [struct.pack("<II16s", LC_UUID, 24, bytes(16))]
    if minos is not None:
        commands.append(
            struct.pack("<IIIIII", LC_BUILD_VERSION, 24, platform, packed(*minos), packed(26), 0)
        )
    if legacy is not None:
        commands.append(struct.pack("<IIII", LC_VERSION_MIN_MACOSX, 16, packed(*legacy), 0))
    body = b"".join(commands)
    header = struct.pack("<IiiIIIII", 0xFEEDFACF, cpu, 0, 6, len(commands), len(body), 0, 0)
    return header + body + bytes(64)  # and some "code"


def fat(*images: tuple[int, bytes]) -> bytes:
    """A universal binary: big-endian fat header, then each image on a 4 KiB boundary."""
    header = struct.pack(">II", 0xCAFEBABE, len(images))
    offset, entries, blobs = 4096, [], []
    for cpu, image in images:
        entries.append(struct.pack(">IIIII", cpu, 0, offset, len(image), 12))
        blobs.append(image + bytes(-len(image) % 4096))
        offset += len(blobs[-1])
    head = header + b"".join(entries)
    return head + bytes(4096 - len(head)) + b"".join(blobs)


def bundle(tmp_path: Path, minimum_system: str, binaries: dict[str, bytes]) -> Path:
    app = tmp_path / "Tunnelkeeper.app"
    (app / "Contents" / "Frameworks").mkdir(parents=True)
    (app / "Contents" / "Resources").mkdir()
    info = {"CFBundleExecutable": "Tunnelkeeper", "LSMinimumSystemVersion": minimum_system}
    (app / "Contents" / "Info.plist").write_bytes(plistlib.dumps(info))
    (app / "Contents" / "Resources" / "base_library.zip").write_bytes(b"PK\x03\x04 data")
    for relative, data in binaries.items():
        path = app / "Contents" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return app


# --- Info.plist ---------------------------------------------------------------------------


def test_info_plist_makes_a_menu_bar_app_with_the_launch_agents_id(minimum: ModuleType) -> None:
    info = plistlib.loads((MACOS / "Info.plist").read_bytes())
    assert info["LSUIElement"] is True  # no Dock icon
    assert info["CFBundleIdentifier"] == APP_ID
    assert info["CFBundleExecutable"] == info["CFBundleName"] == "Tunnelkeeper"
    assert info["CFBundlePackageType"] == "APPL"
    assert info["NSHighResolutionCapable"] is True
    # placeholders pyinstaller.spec replaces with the app's version
    assert info["CFBundleShortVersionString"] == info["CFBundleVersion"] == "0.0.0"
    # at least what the arm64 cryptography wheels need, and what Qt 6.8 (the oldest PySide6
    # the project allows) needs
    assert minimum.parse_version(info["LSMinimumSystemVersion"]) >= (12, 0, 0)


# --- minimum_macos.py ----------------------------------------------------------------------


@given(
    st.integers(min_value=0, max_value=0xFFFF),
    st.integers(min_value=0, max_value=0xFF),
    st.integers(min_value=0, max_value=0xFF),
)
def test_version_words_decode_to_their_nibbles(
    minimum: ModuleType, major: int, minor: int, patch: int
) -> None:
    assert minimum.decode_version(packed(major, minor, patch)) == (major, minor, patch)


def test_reads_the_minimum_of_each_slice(minimum: ModuleType) -> None:
    thin = macho(ARM64, minos=(14, 4))
    assert minimum.slices(thin) == {ARM64: thin}
    assert minimum.minimum_macos(thin) == (14, 4, 0)
    universal = minimum.slices(fat((X86_64, macho(X86_64, legacy=(10, 13))), (ARM64, thin)))
    assert set(universal) == {X86_64, ARM64}
    assert minimum.minimum_macos(universal[X86_64]) == (10, 13, 0)
    assert minimum.minimum_macos(universal[ARM64]) == (14, 4, 0)
    # an iOS build version says nothing about macOS
    assert minimum.minimum_macos(macho(ARM64, minos=(17, 0), platform=PLATFORM_IOS)) is None


def test_only_mach_o_files_are_recognised(minimum: ModuleType) -> None:
    assert minimum.is_macho(macho(ARM64))
    assert minimum.is_macho(fat((ARM64, macho(ARM64))))
    assert not minimum.is_macho(b"\xca\xfe\xba\xbe\x00\x00\x00\x34")  # a Java class file
    assert not minimum.is_macho(b"PK\x03\x04 zip")
    with pytest.raises(ValueError, match="past the end"):
        minimum.slices(fat((ARM64, macho(ARM64)))[:4150])


def test_bundle_passes_when_its_binaries_need_no_newer_macos(
    minimum: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = bundle(
        tmp_path,
        "14.4",
        {
            "MacOS/Tunnelkeeper": fat((ARM64, macho(ARM64, minos=(11, 0)))),
            "Frameworks/QtCore.framework/Versions/A/QtCore": macho(ARM64, minos=(14, 4)),
            "Frameworks/cryptography/_rust.abi3.so": macho(ARM64, minos=(11, 0)),
        },
    )
    # PyInstaller links Resources/ to Frameworks/: a link is neither read twice nor followed
    os.symlink("../Frameworks/cryptography", app / "Contents" / "Resources" / "cryptography")
    assert minimum.main([str(app)]) == 0
    assert "need macOS 14.4 (Contents/Frameworks/QtCore.framework" in capsys.readouterr().out


def test_bundle_fails_on_a_binary_that_needs_a_newer_macos(
    minimum: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = bundle(tmp_path, "14.4", {"Frameworks/libnew.dylib": macho(ARM64, minos=(15, 0))})
    assert minimum.main([str(app)]) == 1
    assert "Contents/Frameworks/libnew.dylib: needs macOS 15.0" in capsys.readouterr().err
    # an exempted name is not held to the version, only to the architecture
    assert minimum.main([str(app), "--ignore", "libnew.*"]) == 0


def test_bundle_fails_on_a_binary_without_arm64_code(
    minimum: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = bundle(tmp_path, "14.4", {"Frameworks/intel.so": macho(X86_64, minos=(10, 13))})
    assert minimum.main([str(app), "--ignore", "*"]) == 1
    assert "intel.so: has no arm64 code" in capsys.readouterr().err
    assert minimum.main([str(app), "--arch", "x86_64"]) == 0


def test_package_script_exempts_pyside_bindings_but_not_qt_or_python(minimum: ModuleType) -> None:
    script = (MACOS / "package.sh").read_text()
    patterns = re.findall(r"--ignore '([^']+)'", script)
    assert patterns
    exempt = [
        "libpyside6.abi3.6.12.dylib",
        "libshiboken6.abi3.6.12.dylib",
        "Shiboken.abi3.so",
        "QtCore.abi3.so",
        "QtWidgets.abi3.so",
    ]
    checked = [
        "QtCore",
        "QtGui",
        "libqcocoa.dylib",
        "Python",
        "_rust.abi3.so",
        "_ssl.cpython-312-darwin.so",
    ]
    for name in exempt:
        assert any(fnmatch.fnmatch(name, p) for p in patterns), name
    for name in checked:
        assert not any(fnmatch.fnmatch(name, p) for p in patterns), name


# --- package.sh ----------------------------------------------------------------------------


def test_package_script_parses_and_is_executable() -> None:
    script = MACOS / "package.sh"
    assert script.stat().st_mode & stat.S_IXUSR
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def fake_uname(tmp_path: Path, system: str, machine: str) -> dict[str, str]:
    """An environment whose `uname -s` / `uname -m` answer like another machine."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    uname = bin_dir / "uname"
    uname.write_text(f'#!/bin/sh\ncase "$1" in -s) echo {system} ;; -m) echo {machine} ;; esac\n')
    uname.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


@pytest.mark.parametrize(
    ("system", "machine", "refusal"),
    [("Linux", "x86_64", "built on macOS"), ("Darwin", "x86_64", "Apple Silicon")],
)
def test_package_script_refuses_other_machines_before_doing_anything(
    tmp_path: Path, system: str, machine: str, refusal: str
) -> None:
    result = subprocess.run(
        ["bash", str(MACOS / "package.sh")],
        capture_output=True,
        text=True,
        env=fake_uname(tmp_path, system, machine),
        timeout=60,
    )
    assert result.returncode == 1
    assert refusal in result.stderr
    assert result.stdout == ""  # it stopped before its first step
