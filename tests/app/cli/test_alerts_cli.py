"""``tunnelkeeper alerts`` as users run it, against real receivers on loopback; and alerts sent
by ``tunnelkeeper run`` when its jumphost goes away and comes back."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from app.storage.paths import AppPaths
from tests.conftest import Jumphost
from tests.support.cli import add_profile, next_event, spawn_run, stop
from tests.support.cli import tk as run_tk
from tests.support.net import TcpServer, free_port
from tests.support.receivers import SECRET_PATH, SmtpReceiver, WebhookReceiver

pytestmark = pytest.mark.integration

NO_KEYRING = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
PASSWORD = "smtp-Pw-93kq"


def tk(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The command on a machine without a keychain."""
    return run_tk(*args, input=stdin, env={**os.environ, **NO_KEYRING})


def test_add_list_test_remove_a_webhook(tk_home: AppPaths) -> None:
    with WebhookReceiver(200, b"ok") as hook:
        added = tk("alerts", "add", "webhook", hook.url, "--tunnel", "db", "--after", "3s")
        assert added.returncode == 0, added.stderr
        assert added.stdout.splitlines()[0] == (
            f"Alert 1 added: the webhook http://127.0.0.1:{hook.port}/…, about tunnel db once "
            "down 3s."
        )
        assert "no tunnel named db here" in added.stderr  # said, not refused
        listed = tk("alerts", "list")
        assert listed.returncode == 0
        assert listed.stdout.splitlines()[1].split() == [
            "1", "webhook", f"http://127.0.0.1:{hook.port}/…", "db", "3s", "-",
        ]  # fmt: skip
        assert SECRET_PATH not in listed.stdout  # the hook's token is not shown
        as_json = json.loads(tk("alerts", "list", "--json").stdout)
        assert as_json[0]["url"] == hook.url and as_json[0]["after"] == 3
        tested = tk("alerts", "test")
        assert tested.returncode == 0, tested.stderr
        assert tested.stdout.strip() == (
            f"Alert 1: the webhook http://127.0.0.1:{hook.port}/… answered HTTP 200 OK: ok"
        )
        (post,) = hook.wait_for(1, 5)
        assert post.body["kind"] == "test" and post.body["tunnel"] == "db"
        removed = tk("alerts", "remove", "1")
        assert removed.returncode == 0 and removed.stdout.startswith("Alert 1 removed: ")
    assert "No alerts are set up" in tk("alerts", "list").stdout
    assert json.loads(tk("alerts", "list", "--json").stdout) == []


def test_a_receiver_that_is_down_or_fails_is_a_sentence(tk_home: AppPaths) -> None:
    down_port = free_port()
    assert tk("alerts", "add", "webhook", f"http://127.0.0.1:{down_port}/x").returncode == 0
    with WebhookReceiver(500, b"internal trouble") as broken:
        assert tk("alerts", "add", "webhook", broken.url).returncode == 0
        tested = tk("alerts", "test")
        one = tk("alerts", "test", "2")
    assert tested.returncode == 1 and one.returncode == 1
    lines = tested.stderr.splitlines()
    assert lines == [
        f"tunnelkeeper: alert 1: the test did not reach the webhook http://127.0.0.1:{down_port}/…:"
        " it could not be reached: Connection refused.",
        f"tunnelkeeper: alert 2: the test did not reach the webhook http://127.0.0.1:{broken.port}/…:"
        " it answered HTTP 500 Internal Server Error: internal trouble.",
    ]
    assert one.stderr.splitlines() == lines[1:]
    assert "Traceback" not in tested.stderr
    results = json.loads(tk("alerts", "test", "1", "--json").stdout)
    assert results[0]["ok"] is False and "Connection refused" in results[0]["answer"]


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["add", "webhook", "ftp://example.com/x"],
         "the webhook address ftp://example.com/… cannot be used"),
        (["add", "webhook", "https://h.example/x", "--after", "soon"],
         "after: 'soon' is not a length of time"),
        (["add", "webhook", "https://h.example/x", "--tunnel", "a b"], "not a valid tunnel name"),
        (["add", "email", "ops", "--smtp", "h.example:25"],
         "'ops' is not an email address alerts can use"),
        (["add", "email", "o@example.com", "--smtp", "h.example"], "is not of the form HOST:PORT"),
        (["add", "email", "o@example.com", "--smtp", "h.example:25", "--user", "al", "--smtp-tls",
          "none"], "a password is never sent unencrypted"),
        (["add", "email", "o@example.com", "--smtp", "h.example:25", "--password-stdin"],
         "--password-stdin needs --user"),
        (["remove", "7"], "there is no alert with ID '7' (see `tunnelkeeper alerts list`)."),
        (["test", "7"], "there is no alert with ID '7'"),
        (["test"], "no alerts are set up"),
    ],
)  # fmt: skip
def test_mistakes_are_sentences(tk_home: AppPaths, argv: list[str], said: str) -> None:
    result = tk("alerts", *argv, stdin="")
    assert result.returncode == 2, result.stderr
    assert said in result.stderr and "Traceback" not in result.stderr
    assert not tk_home.alerts_file.exists() or "[alerts." not in tk_home.alerts_file.read_text()


def test_email_and_a_password_that_no_keychain_keeps(tk_home: AppPaths) -> None:
    with SmtpReceiver() as smtp:
        plain = tk("alerts", "add", "email", "ops@example.com", "--smtp", smtp.address,
                   "--smtp-tls", "none", "--from", "tk@example.com")  # fmt: skip
        assert plain.returncode == 0, plain.stderr
        tested = tk("alerts", "test", "1")
        assert tested.returncode == 0, tested.stderr
        assert tested.stdout.strip() == (
            f"Alert 1: ops@example.com (through {smtp.address}) answered "
            "250 2.0.0 Ok: queued as T3ST"
        )
        ((_, sender, to, _),) = smtp.wait_for(1, 5)
        assert (sender, to) == ("tk@example.com", ["ops@example.com"])
        with_login = tk("alerts", "add", "email", "ops@example.com", "--smtp", smtp.address,
                        "--smtp-tls", "none", "--user", "alice", "--password-stdin",
                        stdin=PASSWORD + "\n")  # fmt: skip
        assert with_login.returncode == 2
        assert "the SMTP password was not stored" in with_login.stderr
        assert "Alert 2 added" in with_login.stdout
        needs = tk("alerts", "test", "2")
        assert needs.returncode == 1
        assert "no password for the SMTP user alice is stored here" in needs.stderr
    listed_json = tk("alerts", "list", "--json").stdout
    kept = tk_home.alerts_file.read_text()
    for text in (
        plain.stdout,
        with_login.stdout,
        with_login.stderr,
        needs.stderr,
        kept,
        listed_json,
    ):
        assert PASSWORD not in text
    listed = tk("alerts", "list").stdout.splitlines()
    assert listed[2].split()[-2:] == ["alice", "(none)"]


def test_run_sends_the_alerts_of_its_tunnels(
    jumphost: Jumphost, tk_home: AppPaths, echo: TcpServer
) -> None:
    add_profile(jumphost, echo.port)
    assert tk("trust", "db", "--yes").returncode == 0
    with WebhookReceiver() as hook:
        assert (
            tk("alerts", "add", "webhook", hook.url, "--tunnel", "db", "--after", "3s").returncode
            == 0
        )
        proc = spawn_run("db")
        try:
            assert next_event(proc)["state"] == "connecting"
            assert next_event(proc)["state"] == "connected"
            jumphost.sshd.stop()
            down = hook.wait_for(1, 30)[0].body
            assert (down["kind"], down["tunnel"]) == ("down", "db")
            assert "cannot reach the jumphost" in down["cause"]
            jumphost.sshd.start()
            back = hook.wait_for(2, 60)[1].body
            assert back["kind"] == "restored"
        finally:
            _, err = stop(proc)
    assert [p.body["kind"] for p in hook.posts] == ["down", "restored"]
    said = f"alert sent: down of tunnel db to the webhook http://127.0.0.1:{hook.port}/…; HTTP 200"
    assert said in err
    for text in (err, tk_home.log_file.read_text()):  # the hook's token is never logged
        assert SECRET_PATH not in text and "qs-secret" not in text
