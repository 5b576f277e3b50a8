"""The ``tunnelkeeper`` command line, run as users run it: a separate process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.storage.paths import AppPaths
from tests.conftest import Jumphost
from tests.support.cli import ROOT, add_profile, next_event, spawn_run, tk
from tests.support.net import (
    TcpServer,
    port_is_listening,
    recv_exact,
    tcp_server,
    wait_until,
)

pytestmark = pytest.mark.integration


def test_version_prints_without_importing_qt() -> None:
    code = (
        "import sys, runpy; sys.argv=['tunnelkeeper','--version']\n"
        "try:\n runpy.run_module('app', run_name='__main__')\n"
        "except SystemExit: pass\n"
        "assert not [m for m in sys.modules if m.startswith('PySide6')], 'Qt was imported'"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode == 0, result.stderr
    from app import __version__

    assert result.stdout.strip() == f"tunnelkeeper {__version__}"


def test_no_arguments_without_a_display_explains_and_prints_the_command_help(
    tk_home: AppPaths,
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in _DISPLAY_VARS}
    result = tk(env=env)
    assert result.returncode == 2
    assert "no graphical display" in result.stderr and "Traceback" not in result.stderr
    for command in ("add", "list", "show", "remove", "trust", "run"):
        assert command in result.stdout


_DISPLAY_VARS = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")


def test_add_list_show_remove(tk_home: AppPaths, client_key: Path) -> None:
    result = tk(
        "add",
        "warehouse",
        "--jumphost",
        "virginia-tunnel.flydata.app",
        "--ssh-port",
        "50683",
        "--user",
        "sshtunnel",
        "--remote-port",
        "58115",
        "--target",
        "[::1]:3306",
        "--key",
        str(client_key),
    )
    assert result.returncode == 0, result.stderr
    assert tk_home.profiles_file.exists()
    assert tk_home.profiles_file.stat().st_mode & 0o777 == 0o600

    listed = json.loads(tk("list", "--json").stdout)
    assert [p["name"] for p in listed] == ["warehouse"]
    shown = json.loads(tk("show", "warehouse", "--json").stdout)
    assert shown["jumphost"] == "virginia-tunnel.flydata.app"
    assert shown["ssh_port"] == 50683
    assert shown["remote_port"] == 58115
    assert shown["target_host"] == "::1"
    assert shown["target_port"] == 3306
    assert shown["remote_bind"] is None
    assert shown["key_path"] == str(client_key.resolve())

    table = tk("list").stdout
    assert "warehouse" in table and "[::1]:3306" in table

    assert tk("remove", "warehouse").returncode == 0
    assert json.loads(tk("list", "--json").stdout) == []


def test_ssh_port_defaults_to_22(tk_home: AppPaths, client_key: Path) -> None:
    assert (
        tk(
            "add",
            "a",
            "--jumphost",
            "jh.example.com",
            "--user",
            "u",
            "--remote-port",
            "1",
            "--target",
            "db:5432",
            "--key",
            str(client_key),
        ).returncode
        == 0
    )
    assert json.loads(tk("show", "a", "--json").stdout)["ssh_port"] == 22


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--remote-port", "70000", "remote_port: 70000 is out of range"),
        ("--ssh-port", "0", "ssh_port: 0 is out of range"),
        ("--jumphost", "bad host!", "jumphost: 'bad host!' is not a valid host name"),
        ("--target", "localhost", "is not of the form HOST:PORT"),
        ("--target", "::1:3306", "write an IPv6 address in brackets"),
        ("--key", "/nonexistent/key", "the file does not exist"),
    ],
)
def test_add_rejects_bad_fields_with_a_specific_message(
    tk_home: AppPaths, client_key: Path, flag: str, value: str, message: str
) -> None:
    args = {
        "--jumphost": "jh.example.com",
        "--ssh-port": "22",
        "--user": "u",
        "--remote-port": "100",
        "--target": "db:5432",
        "--key": str(client_key),
    }
    args[flag] = value
    result = tk("add", "x", *[part for pair in args.items() for part in pair])
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not tk_home.profiles_file.exists()


def test_bad_name_is_rejected(tk_home: AppPaths, client_key: Path) -> None:
    result = tk(
        "add",
        "my tunnel",
        "--jumphost",
        "h",
        "--user",
        "u",
        "--remote-port",
        "1",
        "--target",
        "db:1",
        "--key",
        str(client_key),
    )
    assert result.returncode == 2
    assert "letters, digits" in result.stderr


def test_corrupt_profiles_file_is_reported_and_kept(tk_home: AppPaths, client_key: Path) -> None:
    tk_home.profiles_file.write_text("[tunnels.a]\njumphost = 'x'\nbroken = = 1\n")
    before = tk_home.profiles_file.read_bytes()
    listed = tk("list")
    assert listed.returncode == 2
    assert "line 3" in listed.stderr
    added = tk(
        "add",
        "b",
        "--jumphost",
        "h",
        "--user",
        "u",
        "--remote-port",
        "1",
        "--target",
        "db:1",
        "--key",
        str(client_key),
    )
    assert added.returncode == 2
    assert tk_home.profiles_file.read_bytes() == before


def test_trust_prints_what_ssh_keygen_prints_and_pins(
    jumphost: Jumphost, tk_home: AppPaths, echo: TcpServer
) -> None:
    add_profile(jumphost, echo.port)
    refused = tk("trust", "db")  # no terminal, no --yes: nothing pinned
    assert refused.returncode == 2
    assert "--yes or --fingerprint" in refused.stderr
    assert not tk_home.known_hosts_file.exists()

    result = tk("trust", "db", "--yes")
    assert result.returncode == 0, result.stderr
    expected = subprocess.run(
        ["ssh-keygen", "-lf", str(tk_home.known_hosts_file)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert result.stdout.splitlines()[0] == expected
    assert expected.endswith(f"[127.0.0.1]:{jumphost.port} (ED25519)")
    line = tk_home.known_hosts_file.read_text().strip()
    assert line.startswith(f"[127.0.0.1]:{jumphost.port} ssh-ed25519 ")
    # the line is accepted by OpenSSH itself
    found = subprocess.run(
        ["ssh-keygen", "-F", f"[127.0.0.1]:{jumphost.port}", "-f", str(tk_home.known_hosts_file)],
        capture_output=True,
        text=True,
    )
    assert found.returncode == 0


def test_trust_with_fingerprint_pins_only_on_a_match(
    jumphost: Jumphost, tk_home: AppPaths, echo: TcpServer
) -> None:
    add_profile(jumphost, echo.port)
    wrong = tk("trust", "db", "--fingerprint", "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    assert wrong.returncode == 1
    assert "nothing was pinned" in wrong.stderr
    assert not tk_home.known_hosts_file.exists()
    real = subprocess.run(
        ["ssh-keygen", "-lf", f"{jumphost.sshd.host_key}.pub"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[1]
    right = tk("trust", "db", "--fingerprint", real)
    assert right.returncode == 0, right.stderr
    assert real in right.stdout
    assert tk_home.known_hosts_file.exists()


def test_run_refuses_configuration_errors(
    tk_home: AppPaths, jumphost: Jumphost, echo: TcpServer
) -> None:
    unknown = tk("run", "nope")
    assert unknown.returncode == 2
    assert "there is no tunnel named 'nope'" in unknown.stderr

    add_profile(jumphost, echo.port)
    unpinned = tk("run", "db")
    assert unpinned.returncode == 2
    assert "tunnelkeeper trust db" in unpinned.stderr

    assert tk("trust", "db", "--yes").returncode == 0
    jumphost.key.rename(jumphost.key.with_name("moved"))
    unreadable = tk("run", "db")
    assert unreadable.returncode == 2
    assert "does not exist" in unreadable.stderr
    assert "Traceback" not in unreadable.stderr


def test_run_events_json_and_sigterm(
    jumphost: Jumphost, tk_home: AppPaths, echo: TcpServer
) -> None:
    add_profile(jumphost, echo.port)
    assert tk("trust", "db", "--yes").returncode == 0
    proc = spawn_run("db")
    try:
        first = next_event(proc)
        assert first["state"] == "connecting"
        second = next_event(proc)
        assert second["state"] == "connected", second
        for key in ("ts", "tunnel", "state", "detail"):
            assert key in second
        assert second["tunnel"] == "db"
        assert str(jumphost.remote_port) in second["detail"]
        with socket.create_connection(("127.0.0.1", jumphost.remote_port), timeout=30) as conn:
            conn.sendall(b"via cli")
            assert recv_exact(conn, 7) == b"via cli"

        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
        elapsed = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 0, err
    assert elapsed < 5.0
    last = json.loads(out.strip().splitlines()[-1])
    assert last["state"] == "stopped"
    assert wait_until(lambda: not port_is_listening(jumphost.remote_port), 10)
    assert "connected" in err  # human lines go to stderr


def test_run_retries_network_trouble_instead_of_exiting(
    jumphost: Jumphost, tk_home: AppPaths, echo: TcpServer
) -> None:
    add_profile(jumphost, echo.port)
    assert tk("trust", "db", "--yes").returncode == 0
    jumphost.sshd.stop()
    proc = spawn_run("db")
    try:
        states = [next_event(proc)["state"] for _ in range(2)]
        assert states == ["connecting", "retrying"]
        assert proc.poll() is None
        jumphost.sshd.start()
        deadline = time.monotonic() + 60
        state = ""
        while state != "connected" and time.monotonic() < deadline:
            state = json.loads(proc.stdout.readline())["state"]
        assert state == "connected"
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 0


def _on_a_terminal(
    args: list[str], prompt: bytes, answer: bytes, until: bytes | None = None
) -> tuple[int, str]:
    """Run tunnelkeeper on a pseudo-terminal, type ``answer`` at ``prompt``; with ``until``,
    send SIGTERM once that text has appeared."""
    import pty
    import select

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=ROOT,
        close_fds=True,
    )
    os.close(slave)
    output = b""
    answered = terminated = False
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                output += chunk
            if not answered and prompt in output:
                os.write(master, answer)
                answered = True
            if until is not None and not terminated and until in output:
                proc.send_signal(signal.SIGTERM)
                terminated = True
            if proc.poll() is not None and not ready:
                break
        code = proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        os.close(master)
    return code, output.decode(errors="replace")


def _trust_on_a_terminal(answer: bytes) -> tuple[int, str]:
    return _on_a_terminal(["trust", "db"], b"[y/N]", answer)


def test_trust_asks_on_a_terminal(jumphost: Jumphost, tk_home: AppPaths, echo: TcpServer) -> None:
    add_profile(jumphost, echo.port)
    code, output = _trust_on_a_terminal(b"n\n")
    assert code == 1
    assert "Not trusted" in output
    assert not tk_home.known_hosts_file.exists()
    code, output = _trust_on_a_terminal(b"y\n")
    assert code == 0, output
    assert "Pinned SHA256:" in output
    assert tk_home.known_hosts_file.read_text().startswith(
        f"[127.0.0.1]:{jumphost.port} ssh-ed25519 "
    )


def test_status_reads_the_running_instance(
    jumphost: Jumphost, tk_home: AppPaths, echo: TcpServer
) -> None:
    add_profile(jumphost, echo.port)
    assert tk("trust", "db", "--yes").returncode == 0
    idle = tk("status", "--json")
    assert idle.returncode == 0 and json.loads(idle.stdout) == []
    assert "No tunnel is running" in tk("status").stdout
    proc = spawn_run("db", stderr=subprocess.DEVNULL)
    try:
        assert next_event(proc)["state"] == "connecting"
        assert next_event(proc)["state"] == "connected"
        with socket.create_connection(("127.0.0.1", jumphost.remote_port), timeout=30) as conn:
            conn.sendall(b"12345")
            assert recv_exact(conn, 5) == b"12345"

        def connected_with_traffic() -> bool:
            rows = json.loads(tk("status", "--json").stdout)
            # the file is rewritten at most once a second: wait for a copy with the bytes
            return (
                bool(rows)
                and rows[0]["state"] == "connected"
                and rows[0]["total_connections"] == 1
                and rows[0]["bytes_to_target"] == 5
                and rows[0]["bytes_to_vendor"] == 5
            )

        assert wait_until(connected_with_traffic, 30, interval=0.5)
        row = json.loads(tk("status", "--json").stdout)[0]
        for key in (
            "state",
            "detail",
            "since",
            "reconnects",
            "bytes_to_target",
            "bytes_to_vendor",
            "active_connections",
            "total_connections",
            "vendor_last_connected",
            "next_retry_at",
        ):
            assert key in row, key
        assert row["tunnel"] == "db" and row["pid"] == proc.pid
        assert row["bytes_to_target"] == 5 and row["bytes_to_vendor"] == 5
        assert row["vendor_last_connected"] is not None
        human = tk("status").stdout
        assert "db: connected" in human and "vendor last connected" in human

        # the connection test sees that the running tunnel holds the port
        tested = tk("test", "db", "--json")
        checks = json.loads(tested.stdout)["checks"]
        assert checks[4]["status"] == "pass"
        assert f"process {proc.pid}" in checks[4]["detail"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    assert json.loads(tk("status", "--json").stdout) == []


def test_ctrl_d_at_the_trust_prompt_trusts_nothing(
    jumphost: Jumphost, tk_home: AppPaths, echo: TcpServer
) -> None:
    add_profile(jumphost, echo.port)
    code, output = _trust_on_a_terminal(b"\x04")
    assert code == 1
    assert "Not trusted" in output and "Traceback" not in output
    assert not tk_home.known_hosts_file.exists()


def test_run_asks_for_a_passphrase_on_a_terminal(
    jumphost: Jumphost, tk_home: AppPaths, echo: TcpServer, tmp_path: Path
) -> None:
    locked = tmp_path / "locked"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "open sesame", "-f", str(locked)], check=True
    )
    jumphost.sshd.authorize_tunnel(locked, f"localhost:{jumphost.remote_port}")
    add_profile(jumphost, echo.port, key=locked)
    assert tk("trust", "db", "--yes").returncode == 0
    # without a terminal, a clear configuration error
    headless = tk("run", "db")
    assert headless.returncode == 2
    assert "protected by a passphrase" in headless.stderr
    wrong_code, wrong = _on_a_terminal(["run", "db"], b"Passphrase", b"not it\n")
    assert wrong_code == 2
    assert "the passphrase for key db is wrong" in wrong
    assert "not it" not in wrong.replace("not it\r\n", "")  # never echoed or logged back
    code, output = _on_a_terminal(
        ["run", "db", "--events", "json"], b"Passphrase", b"open sesame\n", until=b'"connected"'
    )
    assert code == 0, output
    assert '"state": "connected"' in output
    assert "open sesame" not in output


def test_trust_yes_refuses_a_changed_key(
    jumphost: Jumphost, tk_home: AppPaths, echo: TcpServer, tmp_path: Path
) -> None:
    from tests.support.sshd import ssh_keygen

    add_profile(jumphost, echo.port)
    other = ssh_keygen(tmp_path / "old_host_key").with_suffix(".pub")
    old = Path(f"{tmp_path / 'old_host_key'}.pub").read_text().split()
    tk_home.known_hosts_file.write_text(f"[127.0.0.1]:{jumphost.port} {old[0]} {old[1]}\n")
    refused = tk("trust", "db", "--yes")
    assert refused.returncode == 1
    assert "CHANGED" in refused.stderr and "--fingerprint SHA256:" in refused.stderr
    assert old[1] in tk_home.known_hosts_file.read_text()
    real = refused.stdout.split()[1]
    accepted = tk("trust", "db", "--fingerprint", real)
    assert accepted.returncode == 0, accepted.stderr
    assert old[1] not in tk_home.known_hosts_file.read_text()
    del other


def test_trust_keeps_a_pinned_rsa_key_when_the_jumphost_also_has_ed25519(
    tmp_path: Path, client_key: Path, tk_home: AppPaths, echo: TcpServer
) -> None:
    from tests.conftest import start_jumphost
    from tests.support.sshd import ssh_keygen

    rsa = ssh_keygen(tmp_path / "host_rsa", key_type="rsa")
    host = start_jumphost(tmp_path / "jh", client_key, extra_config=f"HostKey {rsa}\n")
    try:
        add_profile(host, echo.port)
        pub = Path(f"{rsa}.pub").read_text().split()
        tk_home.known_hosts_file.write_text(f"[127.0.0.1]:{host.port} {pub[0]} {pub[1]}\n")
        again = tk("trust", "db", "--yes")
        assert again.returncode == 0, again.stderr
        assert "already trusted" in again.stdout
        assert "(RSA)" in again.stdout
        # and the tunnel itself negotiates the pinned RSA key
        proc = spawn_run("db", stderr=subprocess.DEVNULL)
        try:
            next_event(proc)
            assert next_event(proc)["state"] == "connected"
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=10)
    finally:
        host.sshd.stop()


def test_a_silent_jumphost_is_reported_without_tracebacks(
    tk_home: AppPaths, client_key: Path
) -> None:
    import threading

    release = threading.Event()
    with tcp_server(lambda conn: release.wait(60)) as silent:
        assert (
            tk(
                "add",
                "db",
                "--jumphost",
                "127.0.0.1",
                "--ssh-port",
                str(silent.port),
                "--user",
                "u",
                "--remote-port",
                "5000",
                "--target",
                "127.0.0.1:1",
                "--key",
                str(client_key),
            ).returncode
            == 0
        )
        trusted = tk("trust", "db", "--yes", timeout=120)
        release.set()
    assert trusted.returncode == 1
    assert "Traceback" not in trusted.stderr
    assert (
        "no SSH answer" in trusted.stderr or "did not answer like an SSH server" in trusted.stderr
    )


def test_unreadable_known_hosts_and_unwritable_home_are_sentences(
    tk_home: AppPaths, client_key: Path, jumphost: Jumphost, echo: TcpServer
) -> None:
    add_profile(jumphost, echo.port)
    tk_home.known_hosts_file.write_bytes(b"\xff\xfe not utf-8")
    broken = tk("run", "db")
    assert broken.returncode == 2
    assert "known_hosts could not be read" in broken.stderr and "Traceback" not in broken.stderr
    assert tk_home.known_hosts_file.read_bytes() == b"\xff\xfe not utf-8"

    env = {**os.environ, "TUNNELKEEPER_HOME": "/proc/self/no-such-home"}
    nowhere = subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "add",
            "x",
            "--jumphost",
            "h",
            "--user",
            "u",
            "--remote-port",
            "1",
            "--target",
            "db:1",
            "--key",
            str(client_key),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert nowhere.returncode == 1
    assert nowhere.stderr.startswith("tunnelkeeper: cannot use")
    assert "Traceback" not in nowhere.stderr


SEED_SSH = (
    "ssh -NR 58115:localhost:3306 sshtunnel@virginia-tunnel.flydata.app -i {key} -p 50683 "
    '-o "ExitOnForwardFailure yes" -o ServerAliveInterval=10 -o ServerAliveCountMax=1 -v'
)


def test_add_from_the_vendors_ssh_command(tk_home: AppPaths, client_key: Path) -> None:
    result = tk("add", "wh", "--from", SEED_SSH.format(key=client_key))
    assert result.returncode == 0, result.stderr
    assert "Found (ssh command)" in result.stdout
    shown = json.loads(tk("show", "wh", "--json").stdout)
    assert (shown["jumphost"], shown["ssh_port"], shown["user"]) == (
        "virginia-tunnel.flydata.app",
        50683,
        "sshtunnel",
    )
    assert (shown["remote_port"], shown["target_host"], shown["target_port"]) == (
        58115,
        "localhost",
        3306,
    )
    assert (shown["keepalive_interval"], shown["keepalive_count_max"]) == (10, 1)
    assert shown["key_path"] == str(client_key.resolve())


def test_add_from_stdin_reports_placeholders_and_flags_fill_them(
    tk_home: AppPaths, client_key: Path
) -> None:
    hightouch = (
        f"ssh -i {client_key} -R 0.0.0.0:56000:$HOST:$PORT tunnel.hightouch.io -p 49100"
        " -o StrictHostKeyChecking=no"
    )
    partial = tk("add", "ht", "--from", "-", input=hightouch)
    assert partial.returncode == 2
    assert "Still a placeholder: target_host ($HOST)" in partial.stdout
    assert "always verifies host keys" in partial.stdout
    assert "still missing: user, target_host, target_port" in partial.stderr
    assert not tk_home.profiles_file.exists()
    done = tk(
        "add",
        "ht",
        "--from",
        "-",
        "--user",
        "tunnel",
        "--target",
        "db.internal:5432",
        input=hightouch,
    )
    assert done.returncode == 0, done.stderr
    shown = json.loads(tk("show", "ht", "--json").stdout)
    assert shown["remote_bind"] == "0.0.0.0" and shown["remote_port"] == 56000
    assert shown["target_host"] == "db.internal" and shown["user"] == "tunnel"


def test_add_from_garbage_names_the_problem(tk_home: AppPaths) -> None:
    result = tk("add", "x", "--from", "ssh -NR 70000:localhost:3306 u@h")
    assert result.returncode == 2
    assert "70000" in result.stderr and "Traceback" not in result.stderr


def test_a_windowed_build_without_stdout_writes_version_and_self_test_to_a_file(
    tk_home: AppPaths,
) -> None:
    # A windowed Windows exe starts with sys.stdout and sys.stderr set to None.
    code = (
        "import sys; sys.stdout = sys.stderr = None\n"
        "from app.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "main(['--self-test'])\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == result.stderr == ""
    from app import __version__

    console = (tk_home.log_dir / "console.log").read_text()
    assert console.startswith(f"tunnelkeeper {__version__}\n")
    assert "self-test passed" in console
