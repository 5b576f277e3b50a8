"""The profiles file: atomic TOML rewrites, loud refusal of broken files, nothing lost."""

from __future__ import annotations

import dataclasses
import os
import stat
import tomllib
from pathlib import Path
from typing import Any

import pytest

from app.core.profile import Profile, profile_from_dict
from app.errors import CorruptConfigFile, ProfileExists, UnknownProfile
from app.storage.store import ProfileStore
from tests.support.cli import ROOT

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def make(name: str = "t1", **overrides: Any) -> Profile:
    data: dict[str, Any] = {
        "jumphost": "jump.vendor.example",
        "user": "acme",
        "remote_port": 40001,
        "target_host": "127.0.0.1",
        "target_port": 3306,
        "key_path": "/home/me/.ssh/id_tunnel",
    }
    data.update(overrides)
    return profile_from_dict(name, data)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "config" / "profiles.toml"


@pytest.fixture
def store(path: Path) -> ProfileStore:
    return ProfileStore(path)


def leftovers(folder: Path) -> list[str]:
    # the lock file stays by design (removing it would race another process taking it)
    return sorted(
        p.name for p in folder.iterdir() if p.name not in ("profiles.toml", "profiles.toml.lock")
    )


# --- round trips ---------------------------------------------------------------------------


def test_missing_file_is_an_empty_store(store: ProfileStore, path: Path) -> None:
    assert store.load() == {}
    with pytest.raises(UnknownProfile) as info:
        store.get("t1")
    assert info.value.name == "t1"
    assert "'t1'" in str(info.value)
    assert not path.exists()


def test_add_get_list_remove_round_trip(store: ProfileStore, path: Path) -> None:
    first = make("t1")
    second = make("vendor-db", jumphost="::1", ssh_port=2222, remote_bind="*")
    store.add(first)
    store.add(second)
    assert store.get("t1") == first
    assert store.get("vendor-db") == second
    assert store.get("vendor-db").remote_bind == "*"
    assert store.get("t1").remote_bind is None
    assert list(store.load()) == ["t1", "vendor-db"]

    # a second store object reads what the first wrote
    assert ProfileStore(path).load() == {"t1": first, "vendor-db": second}

    assert store.remove("t1") == first
    assert list(store.load()) == ["vendor-db"]
    with pytest.raises(UnknownProfile):
        store.get("t1")
    assert store.remove("vendor-db") == second
    assert store.load() == {}


def test_written_file_is_plain_toml_with_a_header(store: ProfileStore, path: Path) -> None:
    store.add(make("t1", ssh_port=2200))
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Tunnelkeeper tunnel profiles.")
    data = tomllib.loads(text)
    assert data == {
        "schema": 1,
        "tunnels": {
            "t1": {
                "jumphost": "jump.vendor.example",
                "user": "acme",
                "remote_port": 40001,
                "target_host": "127.0.0.1",
                "target_port": 3306,
                "key_path": "/home/me/.ssh/id_tunnel",
                "ssh_port": 2200,
                "keepalive_interval": 10,
                "keepalive_count_max": 1,
                "proxy": "system",
            }
        },
    }
    store.add(make("t2"))
    assert path.read_text(encoding="utf-8").count("# Tunnelkeeper") == 1


def test_add_refuses_an_existing_name_unless_replacing(store: ProfileStore, path: Path) -> None:
    store.add(make("t1"))
    before = path.read_bytes()
    with pytest.raises(ProfileExists) as info:
        store.add(make("t1", remote_port=40002))
    assert info.value.name == "t1"
    assert "already exists" in str(info.value)
    assert path.read_bytes() == before

    store.add(make("t1", remote_port=40002), replace=True)
    assert store.get("t1").remote_port == 40002


def test_remove_unknown_name(store: ProfileStore, path: Path) -> None:
    store.add(make("t1"))
    before = path.read_bytes()
    with pytest.raises(UnknownProfile):
        store.remove("t2")
    assert path.read_bytes() == before


def test_replacing_can_clear_the_bind_address(store: ProfileStore) -> None:
    store.add(make("t1", remote_bind="0.0.0.0"))
    store.add(dataclasses.replace(store.get("t1"), remote_bind=None), replace=True)
    assert store.get("t1").remote_bind is None


# --- preserving what we do not understand --------------------------------------------------

HAND_WRITTEN = """\
# my notes
schema = 1

[ui]
theme = "dark"

[tunnels.keep]
jumphost = "jump.vendor.example"
user = "acme"
remote_port = 40001
target_host = "db.internal"
target_port = 3306
key_path = "/k"
color = "blue"
labels = ["prod", "eu"]

[tunnels.keep.future]
retries = 3
"""


def test_unknown_keys_survive_rewrites(store: ProfileStore, path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_text(HAND_WRITTEN, encoding="utf-8")
    keep = store.get("keep")
    assert keep.extra == {"color": "blue", "labels": ["prod", "eu"], "future": {"retries": 3}}

    store.add(make("new"))
    store.remove("new")
    store.add(dataclasses.replace(keep, target_port=3307), replace=True)

    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert data["schema"] == 1
    assert data["ui"] == {"theme": "dark"}
    table = data["tunnels"]["keep"]
    assert table["color"] == "blue"
    assert table["labels"] == ["prod", "eu"]
    assert table["future"] == {"retries": 3}
    assert table["target_port"] == 3307
    assert store.get("keep").extra == keep.extra


# --- atomic writing ------------------------------------------------------------------------


@posix_only
def test_profiles_file_is_private(store: ProfileStore, path: Path) -> None:
    store.add(make())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    store.add(make("t2"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("broken", ["replace", "fsync"])
def test_failed_write_keeps_the_old_file_and_no_temp_files(
    store: ProfileStore, path: Path, monkeypatch: pytest.MonkeyPatch, broken: str
) -> None:
    store.add(make("t1"))
    before = path.read_bytes()

    def fail(*_args: object, **_kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, broken, fail)
    with pytest.raises(OSError, match="No space left"):
        store.add(make("t2"))
    with pytest.raises(OSError, match="No space left"):
        store.remove("t1")
    monkeypatch.undo()

    assert path.read_bytes() == before
    assert leftovers(path.parent) == []
    assert list(store.load()) == ["t1"]


def test_interrupted_write_keeps_the_old_file(
    store: ProfileStore, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.add(make("t1"))
    before = path.read_bytes()

    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        store.add(make("t2"))
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert leftovers(path.parent) == []


# --- broken files are reported and never overwritten -------------------------------------

BAD_TOML = """\
[tunnels.t1]
jumphost = "jump.vendor.example"
user = acme
"""


def write_raw(path: Path, text: str | bytes) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8") if isinstance(text, str) else text
    path.write_bytes(data)
    return data


def test_malformed_toml_names_the_line_and_is_never_overwritten(
    store: ProfileStore, path: Path
) -> None:
    before = write_raw(path, BAD_TOML)
    for attempt in (
        store.load,
        lambda: store.get("t1"),
        lambda: store.add(make("t2")),
        lambda: store.add(make("t1"), replace=True),
        lambda: store.remove("t1"),
    ):
        with pytest.raises(CorruptConfigFile) as info:
            attempt()
        message = str(info.value)
        assert str(path) in message
        assert "line 3" in message
        assert "left as it is" in message
        assert info.value.path == str(path)
    assert path.read_bytes() == before
    assert leftovers(path.parent) == []


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        (b"\xff\xfe[tunnels]\n", "not UTF-8"),
        ("tunnels = 3\n", "one table per tunnel"),
        ("[tunnels]\nt1 = 'x'\n", "one table per tunnel"),
        ("[tunnels.t1]\n[tunnels.t1]\n", "line 2"),
    ],
)
def test_other_unreadable_files_are_refused_untouched(
    store: ProfileStore, path: Path, text: str | bytes, detail: str
) -> None:
    before = write_raw(path, text)
    for attempt in (store.load, lambda: store.add(make("t9")), lambda: store.remove("t1")):
        with pytest.raises(CorruptConfigFile, match=detail):
            attempt()
    assert path.read_bytes() == before


def test_a_folder_in_place_of_the_file_is_reported(store: ProfileStore, path: Path) -> None:
    path.mkdir(parents=True)
    with pytest.raises(CorruptConfigFile):
        store.load()


INVALID_ENTRY = """\
[tunnels.good]
jumphost = "jump.vendor.example"
user = "acme"
remote_port = 40001
target_host = "127.0.0.1"
target_port = 3306
key_path = "/k"

[tunnels.bad]
jumphost = "jump.vendor.example"
user = "acme"
remote_port = 0
target_host = "127.0.0.1"
target_port = 3306
key_path = "/k"
"""


def test_invalid_entry_names_tunnel_field_and_line(store: ProfileStore, path: Path) -> None:
    before = write_raw(path, INVALID_ENTRY)
    with pytest.raises(CorruptConfigFile) as info:
        store.load()
    message = str(info.value)
    assert "line 12" in message
    assert "tunnel 'bad'" in message
    assert "remote_port" in message
    assert "out of range" in message

    for attempt in (
        lambda: store.get("good"),
        lambda: store.add(make("t2")),
        lambda: store.remove("good"),
    ):
        with pytest.raises(CorruptConfigFile, match="tunnel 'bad'"):
            attempt()
    assert path.read_bytes() == before

    # the broken entry itself can be removed by name; the good one survives
    assert store.remove("bad") is None
    assert list(store.load()) == ["good"]


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        # a missing field points at the table's header
        ('\n\n[tunnels.x]\njumphost = "j"\n', "line 3", "user"),
        # a quoted table name and an indented, quoted key
        (
            '[tunnels."x"]\njumphost = "j"\nuser = "u"\nremote_port = 1\n'
            'target_host = "t"\ntarget_port = 1\n  "key_path" = 7\n',
            "line 7",
            "key_path",
        ),
        # a bad name: the header is found even though the key is quoted
        ('[tunnels."bad name"]\njumphost = "j"\n', "line 1", "name"),
    ],
)
def test_invalid_entry_line_numbers(
    store: ProfileStore, path: Path, text: str, line: str, field: str
) -> None:
    write_raw(path, text)
    with pytest.raises(CorruptConfigFile) as info:
        store.load()
    assert line in str(info.value)
    assert f"{field}:" in str(info.value)


def test_entry_without_a_header_line_is_still_named(store: ProfileStore, path: Path) -> None:
    write_raw(path, 'tunnels = { x = { jumphost = "j" } }\n')
    with pytest.raises(CorruptConfigFile) as info:
        store.load()
    assert "(tunnel 'x': user: is missing." in str(info.value)  # no "line N, " prefix


def test_a_file_saved_with_a_byte_order_mark_is_read(store: ProfileStore, path: Path) -> None:
    store.add(make("t1"))
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # as Notepad saves it
    assert list(store.load()) == ["t1"]


def test_a_bind_address_of_only_spaces_is_refused() -> None:
    from app.errors import InvalidField

    with pytest.raises(InvalidField, match="only spaces"):
        make(remote_bind="   ")
    assert make(remote_bind="").forward_bind == ""
    assert make(remote_bind="*").forward_bind == ""


def test_a_newer_schema_is_refused_untouched(store: ProfileStore, path: Path) -> None:
    before = write_raw(path, "schema = 7\n[tunnels]\n")
    with pytest.raises(CorruptConfigFile, match="newer Tunnelkeeper"):
        store.load()
    with pytest.raises(CorruptConfigFile):
        store.add(make("t1"))
    assert path.read_bytes() == before


def test_files_without_a_schema_are_read_as_version_1(store: ProfileStore, path: Path) -> None:
    write_raw(
        path,
        '[tunnels.old]\njumphost = "h"\nuser = "u"\nremote_port = 1\n'
        'target_host = "db"\ntarget_port = 2\nkey_path = "/k"\n',
    )
    assert list(store.load()) == ["old"]
    store.add(make("new"))
    assert tomllib.loads(path.read_text())["schema"] == 1


def test_moving_a_broken_file_aside_keeps_it(store: ProfileStore, path: Path) -> None:
    before = write_raw(path, "this is = = not toml\n")
    moved = store.move_aside()
    assert moved.read_bytes() == before
    assert moved.name.startswith("profiles.toml.broken-")
    assert not path.exists()
    store.add(make("t1"))
    assert list(store.load()) == ["t1"]


def test_two_processes_adding_at_once_lose_nothing(path: Path) -> None:
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from app.core.profile import profile_from_dict\n"
        "from app.storage.store import ProfileStore\n"
        "store = ProfileStore(Path(sys.argv[1]))\n"
        "for i in range(25):\n"
        "    store.add(profile_from_dict(f'{sys.argv[2]}{i}', {'jumphost': 'h', 'user': 'u',\n"
        "        'remote_port': 1, 'target_host': 'db', 'target_port': 2, 'key_path': '/k'}))\n"
    )
    root = ROOT
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(path), prefix], cwd=root)
        for prefix in ("a", "b", "c")
    ]
    for proc in procs:
        assert proc.wait(120) == 0
    assert len(ProfileStore(path).load()) == 75


def test_reserved_and_path_like_names_are_refused() -> None:
    from app.errors import InvalidField

    for name in ("CON", "nul", "Com1", "lpt9", "../x", "a/b", "a\\b", ".", ".."):
        with pytest.raises(InvalidField):
            make(name)
