"""``--proxy`` on add and edit, the password moved to the keychain (and nowhere else), and no
prefix matching of flags: ``--jump`` is an error, never ``--jumphost``."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli.output import EXIT_CONFIG
from app.cli.parser import build_parser
from app.storage.paths import AppPaths
from tests.conftest import Jumphost
from tests.support.cli import add_profile, spawn_run, stop
from tests.support.cli import tk as run_tk
from tests.support.net import tcp_server, wait_until
from tests.support.proxy_recorder import ProxyRecorder
from tests.support.secret_service import (
    PrivateSecretService,
    secret_service_fixture,  # noqa: F401  (registers the `secret_service` fixture)
)

NO_KEYRING = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
SECRET = "pw-Zq81-secret"


def _parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from _parsers(child)


def test_no_parser_matches_prefixes() -> None:
    parsers = list(_parsers(build_parser()))
    assert len(parsers) > 20
    assert all(not p.allow_abbrev for p in parsers), [p.prog for p in parsers if p.allow_abbrev]


@pytest.mark.parametrize(
    ("argv", "wrong"),
    [
        (["add", "db", "--jum", "bastion.corp"], "--jum bastion.corp"),
        (["add", "db", "--jumph", "vendor.example"], "--jumph vendor.example"),
        (["edit", "db", "--prox", "none"], "--prox none"),
        (["run", "--al"], "--al"),
        (["trust", "db", "--fingerp", "SHA256:x"], "--fingerp SHA256:x"),
        (["service", "install", "--sys"], "--sys"),
    ],
)
def test_a_prefix_of_a_flag_is_an_error_never_that_flag(
    argv: list[str], wrong: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(argv)
    assert caught.value.code == EXIT_CONFIG
    err = capsys.readouterr().err
    assert f"unrecognized arguments: {wrong}" in err


def test_add_and_edit_take_the_proxy_flags() -> None:
    parser = build_parser()
    add = parser.parse_args(["add", "db", "--proxy", "none", "--proxy-password-stdin"])
    assert add.proxy == "none" and add.proxy_password_stdin
    edit = parser.parse_args(["edit", "db", "--proxy", "socks5h://h:1080", "--ssh-port", "2"])
    assert edit.command == "edit" and edit.proxy == "socks5h://h:1080" and edit.ssh_port == "2"


# --- the command, as users run it ------------------------------------------------------------


def tk(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The command on a machine without a keychain."""
    return run_tk(*args, input=stdin, env={**os.environ, **NO_KEYRING})


def add_args(name: str, key: Path, *more: str) -> list[str]:
    return [
        "add", name,
        "--jumphost", "vendor.example",
        "--user", "acme",
        "--remote-port", "15432",
        "--target", "127.0.0.1:5432",
        "--key", str(key),
        *more,
    ]  # fmt: skip


def nowhere(paths: AppPaths, *results: subprocess.CompletedProcess[str]) -> None:
    """The secret is in no output and no file of ours."""
    for result in results:
        assert SECRET not in result.stdout + result.stderr
        assert "Traceback" not in result.stderr
    for folder in (paths.profiles_file.parent, paths.log_dir, paths.data_dir):
        if folder.exists():
            for path in folder.rglob("*"):
                if path.is_file():
                    assert SECRET.encode() not in path.read_bytes(), path


@pytest.mark.integration
def test_a_password_in_proxy_goes_to_the_keychain_or_nowhere(
    tk_home: AppPaths, client_key: Path
) -> None:
    added = tk(*add_args("db", client_key, "--proxy", f"http://alice:{SECRET}@10.0.0.5:3128"))
    assert added.returncode == EXIT_CONFIG  # saved, but the password could not be kept
    assert "Added tunnel 'db'." in added.stdout
    assert "the proxy password was not stored (no usable system keychain)" in added.stderr
    assert "edit db --proxy-password-stdin" in added.stderr
    shown = tk("show", "db", "--json")
    assert json.loads(shown.stdout)["proxy"] == "http://alice@10.0.0.5:3128"
    listed = tk("list")
    assert "PROXY" in listed.stdout and "http://alice@10.0.0.5:3128" in listed.stdout
    nowhere(tk_home, added, shown, listed)


@pytest.mark.integration
def test_edit_changes_only_the_flags_given(tk_home: AppPaths, client_key: Path) -> None:
    assert tk(*add_args("db", client_key, "--ssh-port", "50683")).returncode == 0
    before = json.loads(tk("show", "db", "--json").stdout)
    assert before["proxy"] == "system"
    edited = tk("edit", "db", "--proxy", "SOCKS5H://proxy.corp:1080/")
    assert edited.returncode == 0, edited.stderr
    assert "Changed tunnel 'db': proxy." in edited.stdout
    after = json.loads(tk("show", "db", "--json").stdout)
    assert after == {**before, "proxy": "socks5h://proxy.corp:1080"}
    assert tk("edit", "db", "--remote-port", "15433", "--proxy", "none").returncode == 0
    again = json.loads(tk("show", "db", "--json").stdout)
    assert again == {**before, "proxy": "none", "remote_port": 15433, "forward": "localhost:15433"}
    shown = tk("show", "db")
    assert "proxy: none" in shown.stdout


@pytest.mark.integration
@pytest.mark.parametrize(
    ("args", "stdin", "said"),
    [
        (["edit", "db"], None, "nothing to change"),
        (["edit", "nope", "--proxy", "none"], None, "nope"),
        (["edit", "db", "--proxy", "ftp://h:1"], None, "Tunnelkeeper cannot use"),
        (["edit", "db", "--proxy-password-stdin"], f"{SECRET}\n", "needs a proxy user"),
        (
            ["edit", "db", "--proxy", f"http://a:{SECRET}@h:1", "--proxy-password-stdin"],
            f"{SECRET}\n",
            "given twice",
        ),
        (["edit", "db", "--proxy", f"alice:{SECRET}@h:3128"], None, "not repeated here"),
        (["edit", "db", "--proxy", f"http://alice:{SECRET}@h:99999"], None, "out of range"),
        (["edit", "db", "--proxy", "http://alice@h:3128", "--proxy-password-stdin"], "\n", "empty"),
    ],
)
def test_bad_proxy_flags_are_refused_without_repeating_a_password(
    tk_home: AppPaths, client_key: Path, args: list[str], stdin: str | None, said: str
) -> None:
    assert tk(*add_args("db", client_key)).returncode == 0
    before = tk_home.profiles_file.read_text()
    result = tk(*args, stdin=stdin)
    assert result.returncode == EXIT_CONFIG, result.stderr
    assert said in result.stderr
    assert tk_home.profiles_file.read_text() == before  # nothing changed
    nowhere(tk_home, result)


@pytest.mark.integration
def test_add_from_stdin_and_a_password_on_stdin_are_refused(
    tk_home: AppPaths, client_key: Path
) -> None:
    result = tk(*add_args("db", client_key, "--from", "-", "--proxy-password-stdin"), stdin="x\n")
    assert result.returncode == EXIT_CONFIG
    assert "both read standard input" in result.stderr
    assert not tk_home.profiles_file.exists()


@pytest.mark.integration
def test_add_from_a_pasted_proxy_command(tk_home: AppPaths, client_key: Path) -> None:
    paste = (
        "ssh -N -R 15432:127.0.0.1:5432 "
        "-o 'ProxyCommand nc -X connect -x 10.0.0.5:3128 %h %p' acme@vendor.example"
    )
    result = tk("add", "db", "--from", paste, "--key", str(client_key))
    assert result.returncode == 0, result.stderr
    assert "proxy http://10.0.0.5:3128" in result.stdout
    assert json.loads(tk("show", "db", "--json").stdout)["proxy"] == "http://10.0.0.5:3128"


# --- with a real keychain and a real (refusing) proxy ----------------------------------------


def keyring_env() -> dict[str, str]:
    """keyring's own backend choice: the private Secret Service."""
    return {k: v for k, v in os.environ.items() if k != "PYTHON_KEYRING_BACKEND"}


def with_keychain(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_tk(*args, input=stdin, env=keyring_env())


@pytest.mark.integration
def test_every_command_that_dials_signs_in_with_the_keychain_s_password(
    secret_service: PrivateSecretService, tk_home: AppPaths, jumphost: Jumphost
) -> None:
    recorder = ProxyRecorder()
    entry = {"service": "Tunnelkeeper", "username": ""}
    with tcp_server(recorder) as proxy:
        add_profile(jumphost, 1, env=keyring_env())
        spec = f"http://alice@127.0.0.1:{proxy.port}"
        entry["username"] = f"proxy:{spec}"
        given = ("--proxy", spec, "--proxy-password-stdin")
        edited = with_keychain("edit", "db", *given, stdin=SECRET + "\n")
        assert edited.returncode == 0, edited.stderr
        assert "The proxy password is stored in the system keychain." in edited.stderr
        assert secret_service.secret_of(entry) == SECRET
        trusted = with_keychain("trust", "db", "--yes")
        assert trusted.returncode != 0 and "407" in trusted.stderr
        assert recorder.signed_in_as("alice", SECRET)
        recorder.requests.clear()
        tested = with_keychain("test", "db")
        assert tested.returncode != 0 and "407" in tested.stdout
        assert recorder.signed_in_as("alice", SECRET)
        jumphost.pin(tk_home)
        recorder.requests.clear()
        proc = spawn_run("db", env=keyring_env())
        try:
            assert wait_until(lambda: recorder.signed_in_as("alice", SECRET), 30.0)
            status = with_keychain("status")
            assert f"proxy setting: {spec}" in status.stdout, status.stdout
        finally:
            _, err = stop(proc)
        nowhere(tk_home, edited, trusted, tested, status)
        assert SECRET not in err
    # another proxy setting: the password nobody uses any more is forgotten
    assert with_keychain("edit", "db", "--proxy", "none").returncode == 0
    assert secret_service.secret_of(entry) is None
