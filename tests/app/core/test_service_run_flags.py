"""The service's files carry the flags given for its `run` (``--metrics HOST:PORT``)."""

from __future__ import annotations

from app.core.service_units import (
    Scope,
    ServiceSpec,
    launchd_plist,
    systemd_unit,
    windows_task,
)

FLAGS = ("--metrics", "127.0.0.1:9464")


def test_no_flags_leave_the_command_as_it_was() -> None:
    spec = ServiceSpec(Scope.USER, ("/usr/bin/tunnelkeeper",))
    assert spec.argv == ("/usr/bin/tunnelkeeper", "run", "--all")


def test_each_kind_of_service_file_passes_them_to_run() -> None:
    spec = ServiceSpec(Scope.SYSTEM, ("/usr/bin/tunnelkeeper",), run_flags=FLAGS)
    assert spec.argv[-4:] == ("run", "--all", *FLAGS)
    unit = systemd_unit(spec)
    assert "ExecStart=/usr/bin/tunnelkeeper run --all --metrics 127.0.0.1:9464\n" in unit
    plist = launchd_plist(spec)
    assert "<string>--all</string>\n    <string>--metrics</string>\n" in plist
    assert "<string>127.0.0.1:9464</string>" in plist
    task = windows_task(spec, "SYSTEM")
    assert "<Arguments>run --all --metrics 127.0.0.1:9464</Arguments>" in task


def test_an_ipv6_address_is_one_execstart_word() -> None:
    spec = ServiceSpec(Scope.USER, ("tk",), run_flags=("--metrics", "[::1]:9464"))
    assert 'ExecStart=tk run --all --metrics "[::1]:9464"\n' in systemd_unit(spec)
