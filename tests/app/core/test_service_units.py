"""The service's files: systemd accepts both units as they are; plist and task are well formed."""

from __future__ import annotations

import plistlib
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from app.core.service_units import (
    UNIT_NAME,
    Scope,
    ServiceSpec,
    launchd_plist,
    systemd_unit,
    windows_task,
)
from app.platform.service_install import service_command

CREDS = (("passphrase-0123456789abcdef", "/etc/tunnelkeeper/credentials/x.cred"),)


def spec(scope: Scope) -> ServiceSpec:
    return ServiceSpec(scope, service_command(), credentials=CREDS)


def verify(unit: str, folder: Path, user: bool) -> subprocess.CompletedProcess[str]:
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is missing: `make prereqs` installs the systemd package")
    path = folder / UNIT_NAME
    path.write_text(unit)
    runtime = folder / "runtime"
    runtime.mkdir(mode=0o700)
    argv = ["systemd-analyze", *(["--user"] if user else []), "verify", str(path)]
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "XDG_RUNTIME_DIR": str(runtime)},
    )


@pytest.mark.parametrize("scope", [Scope.SYSTEM, Scope.USER])
def test_systemd_verify_accepts_the_unit_without_a_word(scope: Scope, tmp_path: Path) -> None:
    unit = systemd_unit(spec(scope))
    done = verify(unit, tmp_path, user=scope is Scope.USER)
    assert done.returncode == 0 and done.stdout == done.stderr == "", done.stderr


def test_the_system_unit_is_hardened_notify_with_a_watchdog() -> None:
    lines = systemd_unit(spec(Scope.SYSTEM)).splitlines()
    for wanted in (
        "Type=notify",
        "Restart=always",
        "After=network-online.target",
        "User=tunnelkeeper",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "ReadWritePaths=/var/lib/tunnelkeeper",
        "Environment=TUNNELKEEPER_CONFIG_DIR=/etc/tunnelkeeper",
        f"LoadCredentialEncrypted={CREDS[0][0]}:{CREDS[0][1]}",
    ):
        assert wanted in lines, wanted
    assert any(line.startswith("WatchdogSec=") for line in lines)
    exec_start = next(line for line in lines if line.startswith("ExecStart="))
    assert exec_start.endswith(" run --all")
    user_lines = systemd_unit(spec(Scope.USER)).splitlines()
    assert "WantedBy=default.target" in user_lines and not any(
        line.startswith(("User=", "LoadCredential")) for line in user_lines
    )


def test_an_odd_program_path_is_quoted_for_systemd(tmp_path: Path) -> None:
    odd = ServiceSpec(Scope.SYSTEM, ('/opt/Tunnel keeper/bin/tunnel"keeper',))
    exec_start = next(
        line for line in systemd_unit(odd).splitlines() if line.startswith("ExecStart=")
    )
    assert exec_start == 'ExecStart="/opt/Tunnel keeper/bin/tunnel\\"keeper" run --all'


def test_the_launchd_plist_keeps_it_alive_from_load() -> None:
    for scope in Scope:
        parsed = plistlib.loads(launchd_plist(spec(scope)).encode())
        assert parsed["RunAtLoad"] is True and parsed["KeepAlive"] is True
        assert parsed["ProgramArguments"][-2:] == ["run", "--all"]
        assert ("UserName" in parsed) == (scope is Scope.SYSTEM)


def test_the_windows_task_starts_at_boot_logged_on_or_not() -> None:
    text = windows_task(spec(Scope.SYSTEM), "SYSTEM")
    root = ET.fromstring(text.split("\n", 1)[1])  # past the UTF-16 declaration
    ns = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
    assert root.find("t:Triggers/t:BootTrigger", ns) is not None
    assert root.findtext("t:Principals/t:Principal/t:LogonType", namespaces=ns) == "ServiceAccount"
    assert root.findtext("t:Actions/t:Exec/t:Arguments", namespaces=ns).endswith("run --all")
