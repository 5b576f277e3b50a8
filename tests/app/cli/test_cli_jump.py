"""``--jump`` on add and edit (``none`` clears it), shown by show and list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli.parser import build_parser
from app.storage.paths import AppPaths
from tests.support.cli import tk


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


def test_add_edit_and_trust_take_the_jump_flags() -> None:
    parser = build_parser()
    assert parser.parse_args(["add", "db", "--jump", "a@b"]).jump == "a@b"
    assert parser.parse_args(["edit", "db", "--jump", "none"]).jump == "none"
    trust = parser.parse_args(["trust", "db", "--fingerprint", "SHA256:a", "--fingerprint", "b"])
    assert trust.fingerprint == ["SHA256:a", "b"]


@pytest.mark.usefixtures("tk_home")
def test_jump_hosts_are_kept_shown_listed_and_cleared(client_key: Path, tk_home: AppPaths) -> None:
    added = tk(*add_args("db", client_key, "--jump", "alice@bastion.corp,ssh://bob@[::1]:2222"))
    assert added.returncode == 0, added.stderr
    assert 'jump = "alice@bastion.corp:22,bob@[::1]:2222"' in tk_home.profiles_file.read_text()
    shown = tk("show", "db")
    assert "jump: alice@bastion.corp:22,bob@[::1]:2222" in shown.stdout
    listed = tk("list").stdout
    assert "JUMP" in listed and "alice@bastion.corp:22,bob@[::1]:2222" in listed
    assert json.loads(tk("show", "db", "--json").stdout)["jump"].startswith("alice@")

    cleared = tk("edit", "db", "--jump", "none")
    assert cleared.returncode == 0, cleared.stderr
    assert "jump =" not in tk_home.profiles_file.read_text()
    assert json.loads(tk("show", "db", "--json").stdout)["jump"] is None
    assert tk("list").stdout.split("\n")[0].split()[-1] == "PROXY"


@pytest.mark.usefixtures("tk_home")
def test_a_malformed_jump_host_is_refused_with_a_sentence(client_key: Path) -> None:
    refused = tk(*add_args("db", client_key, "--jump", "alice@bad_host!:22"))
    assert refused.returncode != 0
    assert "is not a jump host" in refused.stderr and "Traceback" not in refused.stderr
