"""build/windows: the version resource PyInstaller stamps on the .exe, and the Inno Setup script."""

from __future__ import annotations

import importlib
import importlib.util
import re
import struct
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app import __version__
from app.cli import build_parser
from app.platform.autostart import RUN_KEY, RUN_VALUE, windows_run_value
from tests.build.conftest import load_script
from tests.support.cli import ROOT

ISS = ROOT / "build" / "windows" / "installer.iss"
BUILD_PS1 = ROOT / "build" / "windows" / "build.ps1"
INSTALL_DIR = r"C:\Users\Ada Lovelace\AppData\Local\Programs\Tunnelkeeper"


@pytest.fixture(scope="module")
def version_info() -> ModuleType:
    return load_script("build/windows/version_info.py")


@pytest.fixture
def pyinstaller_versioninfo(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """PyInstaller's version-file module. Its top imports pefile and win32api, Windows-only
    dependencies that the text loader and the binary serializer used here never call."""
    import PyInstaller.compat

    monkeypatch.setattr(PyInstaller.compat, "win32api", None, raising=False)
    if importlib.util.find_spec("pefile") is None:
        monkeypatch.setitem(sys.modules, "pefile", ModuleType("pefile"))
    monkeypatch.delitem(sys.modules, "PyInstaller.utils.win32.versioninfo", raising=False)
    return importlib.import_module("PyInstaller.utils.win32.versioninfo")


def fixed_versions(info: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    ffi = info.ffi
    words = (ffi.fileVersionMS, ffi.fileVersionLS, ffi.productVersionMS, ffi.productVersionLS)
    numbers = tuple(n for word in words for n in (word >> 16, word & 0xFFFF))
    return numbers[:4], numbers[4:]


def string_table(info: Any) -> dict[str, str]:
    (string_file_info,) = [kid for kid in info.kids if type(kid).__name__ == "StringFileInfo"]
    (table,) = string_file_info.kids
    assert table.name == "040904B0"  # US English, Unicode
    return {s.name: s.val for s in table.kids}


# --- the version resource -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "numbers"),
    [
        ("0.1.0", (0, 1, 0, 0)),
        ("1.2.3.4", (1, 2, 3, 4)),
        ("2.0rc1", (2, 0, 0, 0)),
        ("10.20.30.dev4", (10, 20, 30, 0)),
    ],
)
def test_version_file_is_what_pyinstaller_reads(
    version_info: ModuleType,
    pyinstaller_versioninfo: ModuleType,
    tmp_path: Path,
    version: str,
    numbers: tuple[int, ...],
) -> None:
    target = tmp_path / "not" / "yet" / "version_info.txt"
    written = version_info.write_version_file(version, target)
    assert written == str(target)
    info = pyinstaller_versioninfo.load_version_info_from_text_file(written)
    assert fixed_versions(info) == (numbers, numbers)
    assert string_table(info) == {
        "CompanyName": "Tunnelkeeper",
        "FileDescription": "Tunnelkeeper",
        "FileVersion": version,
        "InternalName": "Tunnelkeeper",
        "LegalCopyright": "Copyright © Tunnelkeeper contributors. MIT License.",
        "OriginalFilename": "Tunnelkeeper.exe",
        "ProductName": "Tunnelkeeper",
        "ProductVersion": version,
    }
    # what PyInstaller embeds: the structure's first word is its own length in bytes
    raw = info.toRaw()
    assert struct.unpack_from("<H", raw)[0] == len(raw)
    assert "VS_VERSION_INFO".encode("utf-16-le") in raw
    assert version.encode("utf-16-le") in raw


def test_the_apps_version_and_the_console_twins_name(
    version_info: ModuleType, pyinstaller_versioninfo: ModuleType, tmp_path: Path
) -> None:
    written = version_info.write_version_file(
        __version__,
        tmp_path / "cli.txt",
        original_filename="tunnelkeeper-cli.exe",
        description="Tunnelkeeper command line",
    )
    strings = string_table(pyinstaller_versioninfo.load_version_info_from_text_file(written))
    assert strings["ProductVersion"] == __version__
    assert strings["OriginalFilename"] == "tunnelkeeper-cli.exe"
    assert strings["FileDescription"] == "Tunnelkeeper command line"


@given(
    st.lists(st.integers(min_value=0, max_value=0xFFFF), min_size=1, max_size=4),
    st.sampled_from(["", "rc1", "a2", ".dev3", ".post1", "+local.7"]),
)
def test_windows_numbers_are_the_leading_release_numbers(
    version_info: ModuleType, release: list[int], suffix: str
) -> None:
    version = ".".join(map(str, release)) + suffix
    assert version_info.numeric_version(version) == tuple([*release, 0, 0, 0][:4])


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("dev", "does not start with a number"),
        ("1.2.3.4.5", "more than four"),
        ("1.65536", "above 65535"),
    ],
)
def test_versions_windows_cannot_show_are_refused(
    version_info: ModuleType, tmp_path: Path, version: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        version_info.write_version_file(version, tmp_path / "v.txt")
    assert not (tmp_path / "v.txt").exists()


# --- the Inno Setup script ------------------------------------------------------------------


def iss_text() -> str:
    """installer.iss with its plain string #defines expanded (the ISPP subset it uses for
    names); expressions such as {#GetVersionNumbersString(...)} stay as they are."""
    text = ISS.read_text(encoding="utf-8")
    defines = dict(re.findall(r'^#define (\w+) "([^"]*)"$', text, re.M))
    return re.sub(r"\{#(\w+)\}", lambda m: defines.get(m.group(1), m.group(0)), text)


def sections(text: str) -> dict[str, list[str]]:
    """Entry lines per [Section]; comments and preprocessor lines left out."""
    found: dict[str, list[str]] = {}
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith((";", "#", "//")):
            continue
        header = re.fullmatch(r"\[(\w+)\]", line)
        if header:
            current = header.group(1)
            found.setdefault(current, [])
        elif current:
            found[current].append(line)
    return found


def parameters(entry: str) -> dict[str, str]:
    """`Name: "a ""quoted"" b"; Flags: x y` as {"Name": 'a "quoted" b', "Flags": "x y"}."""
    pairs = re.findall(r'(\w+):\s*("(?:[^"]|"")*"|[^;]*)', entry)
    return {
        key: value[1:-1].replace('""', '"') if value.startswith('"') else value.strip()
        for key, value in pairs
    }


def setup_directives() -> dict[str, str]:
    return dict(line.split("=", 1) for line in sections(iss_text())["Setup"])


def test_installs_per_user_without_an_administrator_prompt() -> None:
    setup = setup_directives()
    assert setup["PrivilegesRequired"] == "lowest"
    assert setup["DefaultDirName"] == r"{localappdata}\Programs\Tunnelkeeper"
    assert re.fullmatch(r"\{\{[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}\}", setup["AppId"])
    assert setup["OutputBaseFilename"] == "Tunnelkeeper-Setup-{#AppVersion}"
    assert setup["UninstallDisplayIcon"] == r"{app}\Tunnelkeeper.exe"
    assert setup["CloseApplications"] == "yes"
    assert setup["Compression"].startswith("lzma2")
    assert setup["SetupIconFile"] == "{#IconFile}"
    # by default the icon pyinstaller.spec has build/icons.py draw
    (default,) = [line for line in ISS.read_text().splitlines() if "#define IconFile" in line]
    assert default.endswith(r'"..\..\.pyinstaller\icons\tunnelkeeper.ico"')


def test_start_at_login_writes_exactly_what_the_app_manages() -> None:
    (entry,) = [parameters(line) for line in sections(iss_text())["Registry"]]
    assert entry["Root"] == "HKCU"
    assert entry["Subkey"] == RUN_KEY
    assert entry["ValueName"] == RUN_VALUE
    assert entry["ValueType"] == "string"
    assert entry["Tasks"] == "startatlogin"
    assert "uninsdeletevalue" in entry["Flags"].split()
    # the command line app/platform/autostart.py would store for the frozen app
    exe = INSTALL_DIR + r"\Tunnelkeeper.exe"
    assert entry["ValueData"].replace("{app}", INSTALL_DIR) == windows_run_value(
        [exe, "--autostart"]
    )
    assert build_parser().parse_args(["--autostart"]).autostart


def test_uninstall_closes_the_app_gracefully_and_always_drops_the_run_value() -> None:
    code = iss_text().split("[Code]", 1)[1]
    removal = re.search(r"RegDeleteValue\(HKEY_CURRENT_USER, '([^']*)', '([^']*)'\)", code)
    assert removal is not None
    assert removal.groups() == (RUN_KEY, RUN_VALUE)
    # the Restart Manager asks the app to quit (flags 0: no forced termination), and
    # nothing kills processes by image name
    assert re.search(r"RmShutdown\(Session, 0, 0\)", code)
    assert "taskkill" not in ISS.read_text().lower()
    assert "CurUninstallStepChanged" in code and "usUninstall" in code


def test_installs_the_whole_frozen_folder_a_shortcut_and_offers_to_start() -> None:
    found = sections(iss_text())
    (files,) = [parameters(line) for line in found["Files"]]
    assert files["Source"] == r"{#FrozenDir}\*"
    assert files["DestDir"] == "{app}"
    assert {"recursesubdirs", "createallsubdirs", "ignoreversion"} <= set(files["Flags"].split())
    (shortcut,) = [parameters(line) for line in found["Icons"]]
    assert shortcut["Name"] == r"{autoprograms}\Tunnelkeeper"
    assert shortcut["Filename"] == r"{app}\Tunnelkeeper.exe"
    (launch,) = [parameters(line) for line in found["Run"]]
    assert launch["Filename"] == r"{app}\Tunnelkeeper.exe"
    assert {"postinstall", "nowait", "skipifsilent"} <= set(launch["Flags"].split())


def test_executable_names_agree_with_the_version_resource(version_info: ModuleType) -> None:
    defines = dict(re.findall(r'^#define (\w+) "([^"]*)"$', ISS.read_text(), re.M))
    assert defines["AppExeName"] == f"{version_info.PRODUCT}.exe"
    assert defines["CliExeName"] == "tunnelkeeper-cli.exe"
    assert version_info.version_text("1.0").count("'OriginalFilename', 'Tunnelkeeper.exe'") == 1


def test_build_script_defines_what_the_setup_script_takes() -> None:
    script = BUILD_PS1.read_text(encoding="utf-8")
    passed = dict(re.findall(r"/D(\w+)=([^\"'\s]*)", script))
    optional = set(re.findall(r"^#ifndef (\w+)$", ISS.read_text(), re.M))
    assert optional <= set(passed), "every path and the version come from build.ps1"
    assert "SignToolName" in re.findall(r"^#ifdef (\w+)$", ISS.read_text(), re.M)
    # the sign tool named in the script is the one build.ps1 defines with ISCC /S
    assert re.search(rf"/S{re.escape(passed['SignToolName'])}=", script)
