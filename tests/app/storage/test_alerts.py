"""The alerts file: IDs never given twice, owner-only, a broken file reported and kept."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from app.core.alert_rules import email_rule, webhook_rule
from app.errors import BadWebhookUrl, CorruptConfigFile, UnknownAlert
from app.storage.alerts import AlertStore

URL = "https://hooks.example.com/services/T/B/secret"


def test_rules_are_added_with_new_ids_and_removed(tmp_path: Path) -> None:
    store = AlertStore(tmp_path / "config" / "alerts.toml")
    assert store.load() == [] and store.stamp() is None
    first = store.add(lambda i: webhook_rule(i, URL, "db", "3s"))
    second = store.add(lambda i: email_rule(i, "ops@example.com", "smtp.example.com:587"))
    assert (first.id, second.id) == ("1", "2")
    assert store.load() == [first, second] and store.get("2") == second
    assert store.remove("2") == second
    third = store.add(lambda i: webhook_rule(i, URL, None, 60))
    assert third.id == "3"  # never an ID given before
    assert [r.id for r in store.load()] == ["1", "3"]
    with pytest.raises(UnknownAlert) as caught:
        store.remove("2")
    assert "there is no alert with ID '2' (see `tunnelkeeper alerts list`)" in str(caught.value)


def test_the_file_is_the_owners_alone(tmp_path: Path) -> None:
    store = AlertStore(tmp_path / "alerts.toml")
    store.add(lambda i: webhook_rule(i, URL, None, 60))
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    text = store.path.read_text()
    assert text.startswith("# Tunnelkeeper alerts.") and "[alerts.1]" in text


def test_a_rule_that_fails_its_checks_writes_nothing(tmp_path: Path) -> None:
    store = AlertStore(tmp_path / "alerts.toml")
    store.add(lambda i: webhook_rule(i, URL, None, 60))
    before = store.path.read_bytes()
    with pytest.raises(BadWebhookUrl):
        store.add(lambda i: webhook_rule(i, "ftp://x", None, 60))
    assert store.path.read_bytes() == before


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("alerts = [", "alerts.toml could not be read"),
        ("[alerts.1]\nkind = 'webhook'\nurl = 'gopher://x'\n", "alert 1: the webhook address"),
        ("alerts = 3\n", "'alerts' must hold one table per alert"),
        ("schema = 9\n", "written by a newer Tunnelkeeper"),
    ],
)
def test_a_broken_file_is_reported_and_left_alone(tmp_path: Path, text: str, said: str) -> None:
    store = AlertStore(tmp_path / "alerts.toml")
    store.path.write_text(text)
    with pytest.raises(CorruptConfigFile) as caught:
        store.load()
    assert said in str(caught.value)
    assert "move it aside and add the alerts again" in str(caught.value)
    with pytest.raises(CorruptConfigFile):
        store.add(lambda i: webhook_rule(i, URL, None, 60))
    assert store.path.read_text() == text
    moved = store.move_aside()
    assert moved.read_text() == text and store.load() == []


def test_the_stamp_changes_with_the_file(tmp_path: Path) -> None:
    store = AlertStore(tmp_path / "alerts.toml")
    store.add(lambda i: webhook_rule(i, URL, None, 60))
    stamp = store.stamp()
    store.add(lambda i: webhook_rule(i, URL, None, 60))
    assert store.stamp() not in (None, stamp)
