"""``--role`` and ``--fence-after`` on add and edit, shown by show; bad values refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.storage.paths import AppPaths
from tests.app.cli.test_cli_jump import add_args
from tests.support.cli import tk


@pytest.mark.usefixtures("tk_home")
def test_a_redundant_tunnel_is_kept_shown_and_set_back_to_single(
    client_key: Path, tk_home: AppPaths
) -> None:
    added = tk(*add_args("db", client_key, "--role", "redundant", "--fence-after", "1m"))
    assert added.returncode == 0, added.stderr
    text = tk_home.profiles_file.read_text()
    assert 'role = "redundant"' in text and "fence_after = 60" in text
    shown = json.loads(tk("show", "db", "--json").stdout)
    assert (shown["role"], shown["fence_after"]) == ("redundant", 60)
    assert "role: redundant" in tk("show", "db").stdout

    single = tk("edit", "db", "--role", "single", "--fence-after", "30s")
    assert single.returncode == 0, single.stderr
    assert "role" not in tk_home.profiles_file.read_text()  # the file reads as before roles


@pytest.mark.usefixtures("tk_home")
@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (("--role", "both"), "invalid choice: 'both'"),
        (("--fence-after", "soon"), "fence_after: 'soon' is not a length of time"),
        (("--fence-after", "2s"), "fence_after: 2 must be between 3 and 3600"),
        (("--fence-after", "2h"), "fence_after: 7200 must be between 3 and 3600"),
    ],
)
def test_bad_role_settings_are_refused_with_a_sentence(
    client_key: Path, flags: tuple[str, ...], words: str
) -> None:
    refused = tk(*add_args("db", client_key, *flags))
    assert refused.returncode != 0
    assert words in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr
