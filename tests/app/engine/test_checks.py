"""`tunnelkeeper test`: the seven checks against a real jumphost and real targets."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from app import ssh
from app.core.events import State
from app.core.profile import Profile
from app.engine.checks import PORT_REFUSED, CheckResult, ConnectionTest, Outcome
from app.errors import StoredPassphraseWrong
from app.services.api import Services
from app.storage.paths import AppPaths
from app.storage.store import ProfileStore
from tests.conftest import EventLog, Jumphost, start_jumphost, start_tunnel
from tests.support.cli import add_profile, tk
from tests.support.mariadb import MariaDB
from tests.support.net import echo_handler, free_port, tcp_server

pytestmark = pytest.mark.integration


def run_test(profile: Profile, tk_home: AppPaths, running: int | None = None) -> list[CheckResult]:
    reported: list[CheckResult] = []
    test = ConnectionTest(
        profile,
        tk_home.known_hosts_file,
        lambda p: ssh.load_private_key(p.key_path),
        lambda name: running,
        reported.append,
    )
    results = test.run()
    assert reported == results  # each check is reported as it finishes
    assert [r.number for r in results] == [1, 2, 3, 4, 5, 6, 7]
    return results


def statuses(results: list[CheckResult]) -> list[str]:
    return [r.status.value for r in results]


def test_vendor_restricted_jumphost_passes_with_end_to_end_skipped(
    jumphost: Jumphost, tk_home: AppPaths
) -> None:
    jumphost.pin(tk_home)
    # the target is the jumphost's own sshd: a real service that speaks first
    results = run_test(jumphost.profile(jumphost.port), tk_home)
    assert statuses(results) == ["pass"] * 6 + ["skipped"]
    assert "SSH server (SSH-2.0-OpenSSH" in results[5].detail
    assert "vendors usually forbid it" in results[6].detail
    assert f"localhost:{jumphost.remote_port}" in results[4].detail
    assert "matches the pinned key" in results[2].detail


def test_end_to_end_when_the_jumphost_permits_it(
    tmp_path: Path, client_key: Path, tk_home: AppPaths, mariadb: MariaDB
) -> None:
    host = start_jumphost(tmp_path / "open", client_key, extra_config="")
    try:
        host.permit_end_to_end()
        host.pin(tk_home)
        results = run_test(host.profile(mariadb.port), tk_home)
    finally:
        host.sshd.stop()
    assert statuses(results) == ["pass"] * 7, [r.detail for r in results]
    assert "MariaDB server" in results[5].detail
    assert "MariaDB server" in results[6].detail
    assert f"port {host.remote_port} reached 127.0.0.1:{mariadb.port}" in results[6].detail


def test_target_down_fails_check_six_only(jumphost: Jumphost, tk_home: AppPaths) -> None:
    jumphost.pin(tk_home)
    results = run_test(jumphost.profile(free_port()), tk_home)
    assert statuses(results) == ["pass"] * 5 + ["fail", "skipped"]
    assert "did not accept a TCP connection" in results[5].detail
    assert results[5].remedy


def test_wrong_key_fails_authentication_and_skips_what_depends_on_it(
    jumphost: Jumphost, tk_home: AppPaths, tmp_path: Path
) -> None:
    from tests.support.sshd import ssh_keygen

    jumphost.pin(tk_home)
    stranger = ssh_keygen(tmp_path / "stranger")
    results = run_test(jumphost.profile(jumphost.port, key_path=str(stranger)), tk_home)
    assert statuses(results) == ["pass", "pass", "pass", "fail", "skipped", "pass", "skipped"]
    assert "has its public key been added" in results[3].detail


def test_unknown_host_key_fails_check_three(jumphost: Jumphost, tk_home: AppPaths) -> None:
    results = run_test(jumphost.profile(jumphost.port), tk_home)
    assert statuses(results)[:3] == ["pass", "pass", "fail"]
    assert "not trusted" in results[2].detail
    assert results[2].remedy.startswith("trust its key once its fingerprint matches")
    assert "tunnelkeeper" not in results[2].detail + results[2].remedy
    assert results[2].action == "trust" and results[2].to_dict()["action"] == "trust"


def test_unreachable_jumphost_fails_check_two(jumphost: Jumphost, tk_home: AppPaths) -> None:
    jumphost.pin(tk_home)
    results = run_test(jumphost.profile(jumphost.port, ssh_port=free_port()), tk_home)
    assert statuses(results)[:3] == ["pass", "fail", "skipped"]
    assert "firewall" in results[1].remedy


def test_unreadable_key_fails_check_one(jumphost: Jumphost, tk_home: AppPaths) -> None:
    results = run_test(jumphost.profile(jumphost.port, key_path="/nonexistent"), tk_home)
    assert statuses(results)[0] == "fail"
    assert "does not exist" in results[0].detail
    assert results[0].remedy == "fix the key file, or choose another key for this tunnel."
    assert results[0].action == "edit"


def test_a_wrong_stored_passphrase_ends_the_test_instead_of_failing_a_check(
    jumphost: Jumphost, tk_home: AppPaths
) -> None:
    def wrong(profile: Profile) -> object:
        raise StoredPassphraseWrong(profile.name, profile.key_path)

    reported: list[CheckResult] = []
    test = ConnectionTest(
        jumphost.profile(jumphost.port),
        tk_home.known_hosts_file,
        wrong,
        lambda n: None,
        reported.append,
    )
    with pytest.raises(StoredPassphraseWrong):
        test.run()
    assert reported == []  # the front end asks for the passphrase; nothing was checked


def test_port_held_by_the_running_tunnel_is_reported_not_failed(
    jumphost: Jumphost, tk_home: AppPaths, events: EventLog
) -> None:
    with tcp_server(echo_handler) as echo:
        tunnel = start_tunnel(jumphost, tk_home, events, echo.port)
        try:
            events.wait_for(State.CONNECTED)
            results = run_test(tunnel.profile, tk_home, running=os.getpid())
        finally:
            assert tunnel.stop()
    assert results[4].status is Outcome.PASS
    assert f"held by this tunnel, running now (process {os.getpid()})" in results[4].detail


def test_cli_test_command_json_and_exit_codes(jumphost: Jumphost, tk_home: AppPaths) -> None:
    add_profile(jumphost, jumphost.port)
    jumphost.pin(tk_home)
    ok = tk("test", "db", "--json")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    document = json.loads(ok.stdout)
    assert document["ok"] is True
    assert [c["status"] for c in document["checks"]] == ["pass"] * 6 + ["skipped"]
    assert {"number", "name", "status", "detail", "remedy", "seconds"} <= set(document["checks"][0])

    human = tk("test", "db")
    assert human.returncode == 0
    assert "[PASS] 1. configuration" in human.stdout
    assert "[SKIP] 7. end to end" in human.stdout

    jumphost.sshd.stop()
    down = tk("test", "db")
    assert down.returncode == 1
    assert "[FAIL] 2. jumphost reachable" in down.stdout
    assert "Traceback" not in down.stderr


def test_cli_test_command_adds_the_trust_command_to_the_remedy(
    jumphost: Jumphost, tk_home: AppPaths
) -> None:
    add_profile(jumphost, jumphost.port)
    unpinned = tk("test", "db")
    assert unpinned.returncode == 1
    assert "[FAIL] 3. host key matches: the jumphost" in unpinned.stdout
    assert "-> trust its key once its fingerprint matches" in unpinned.stdout
    assert "run `tunnelkeeper trust db`" in unpinned.stdout
    document = json.loads(tk("test", "db", "--json").stdout)
    assert document["checks"][2]["action"] == "trust"
    assert "tunnelkeeper" not in document["checks"][2]["remedy"]


def test_a_refused_port_names_the_tunnel_here_that_uses_it(
    jumphost: Jumphost, tk_home: AppPaths, events: EventLog
) -> None:
    with tcp_server(echo_handler) as echo:
        tunnel = start_tunnel(jumphost, tk_home, events, echo.port, name="warehouse")
        try:
            events.wait_for(State.CONNECTED)
            second = jumphost.profile(echo.port, name="second")
            results = ConnectionTest(
                second,
                tk_home.known_hosts_file,
                lambda p: ssh.load_private_key(p.key_path),
                lambda name: os.getpid() if name == "warehouse" else None,
                neighbours=[tunnel.profile, second],
            ).run()
            # the same, through the services, as `tunnelkeeper test second` runs it
            store = ProfileStore(tk_home.profiles_file)
            store.add(tunnel.profile)
            store.add(second)
            outcome = Services(tk_home).checks.run_test("second", None)
        finally:
            assert tunnel.stop()
    label = f"localhost:{jumphost.remote_port}"
    assert statuses(results)[:5] == ["pass"] * 4 + ["fail"]
    assert results[4].detail == f"the jumphost refused to listen on {label}."
    assert results[4].remedy == (
        f"tunnel 'warehouse' on this computer uses {label} on this jumphost and is running "
        f"now (process {os.getpid()}): the vendor allocates one port per tunnel, so stop "
        "'warehouse' first, or ask the vendor for another port for this tunnel."
    )
    check = outcome.checks[4]
    assert check["status"] == "fail"
    assert check["remedy"].startswith(
        f"tunnel 'warehouse' on this computer is set up for {label} on this jumphost too"
    )
    assert "another machine" in check["remedy"]  # after the tunnel here, not instead


def test_a_refused_port_with_no_tunnel_here_on_it_suggests_another_machine(
    jumphost: Jumphost, tk_home: AppPaths, events: EventLog
) -> None:
    with tcp_server(echo_handler) as echo:
        tunnel = start_tunnel(jumphost, tk_home, events, echo.port, name="elsewhere")
        try:
            events.wait_for(State.CONNECTED)
            other_port = jumphost.profile(echo.port, name="x", remote_port=1)
            results = ConnectionTest(
                jumphost.profile(echo.port, name="second"),
                tk_home.known_hosts_file,
                lambda p: ssh.load_private_key(p.key_path),
                lambda name: None,
                neighbours=[other_port],  # the running one is not a profile here
            ).run()
        finally:
            assert tunnel.stop()
    assert results[4].status is Outcome.FAIL
    assert results[4].remedy == PORT_REFUSED
    assert "another machine" in PORT_REFUSED


def test_a_redundant_tunnel_whose_port_another_machine_holds_passes_check_5(
    jumphost: Jumphost, tk_home: AppPaths, events: EventLog
) -> None:
    with tcp_server(echo_handler) as echo:
        tunnel = start_tunnel(jumphost, tk_home, events, echo.port, name="elsewhere")
        try:
            events.wait_for(State.CONNECTED)
            results = ConnectionTest(
                jumphost.profile(echo.port, name="pair", role="redundant"),
                tk_home.known_hosts_file,
                lambda p: ssh.load_private_key(p.key_path),
                lambda name: None,
            ).run()
        finally:
            assert tunnel.stop()
    assert statuses(results)[:6] == ["pass"] * 6
    assert "another machine holds it" in results[4].detail
    assert "stand by and take over" in results[4].detail
    assert results[6].status is Outcome.SKIPPED
