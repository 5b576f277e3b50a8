"""Private keys others can read, and a keys folder others can write, are refused (as OpenSSH
refuses such keys) with the command that fixes them; private ones work as before."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from app.errors import FolderNotPrivate, KeyUnprotected
from app.storage import keyperms
from app.storage.paths import AppPaths
from tests.support.cli import tk as run_tk

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX modes")

NO_KEYRING = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
JUMPHOST = "127.0.0.1"
SSH_PORT = "2222"


def tk(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_tk(*args, input=stdin, env={**os.environ, **NO_KEYRING})


def make_key(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


def add(name: str, key: str) -> subprocess.CompletedProcess[str]:
    return tk(
        "add", name,
        "--jumphost", JUMPHOST,
        "--ssh-port", SSH_PORT,
        "--user", "u",
        "--remote-port", "5000",
        "--target", "127.0.0.1:9",
        "--key", key,
    )  # fmt: skip


def assert_refused(result: subprocess.CompletedProcess[str], key: Path, mode: int) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    said = result.stderr + result.stdout
    assert f"the private key {key} can be" in said
    assert f"mode {mode:04o}" in said and f"chmod 600 {key}" in said


@pytest.mark.parametrize("mode", [0o644, 0o666, 0o640])
def test_keys_others_can_read_are_refused_by_add_test_import_and_run(
    tk_home: AppPaths, tmp_path: Path, mode: int
) -> None:
    key = make_key(tmp_path / "id_vendor")
    assert add("db", str(key)).returncode == 0  # private: accepted as before
    pub = Path(f"{key}.pub").read_text().split()
    tk_home.known_hosts_file.write_text(f"[{JUMPHOST}]:{SSH_PORT} {pub[0]} {pub[1]}\n")
    key.chmod(mode)
    # OpenSSH itself will not use it
    openssh = subprocess.run(["ssh-keygen", "-y", "-f", str(key)], capture_output=True, text=True)
    assert openssh.returncode != 0 and "UNPROTECTED PRIVATE KEY FILE" in openssh.stderr

    assert_refused(add("other", str(key)), key, mode)
    assert_refused(tk("import-key", "imported", str(key)), key, mode)
    assert not (tk_home.keys_dir / "imported").exists()
    tested = tk("test", "db")
    assert tested.returncode == 1 and "[FAIL] 1." in tested.stdout
    assert f"chmod 600 {key}" in tested.stdout and f"mode {mode:04o}" in tested.stdout
    assert_refused(tk("run", "db"), key, mode)
    assert [p["name"] for p in json.loads(tk("list", "--json").stdout)] == ["db"]

    key.chmod(0o600)  # the remedy works
    assert add("other", str(key)).returncode == 0
    assert tk("import-key", "imported", str(key)).returncode == 0


@pytest.fixture
def open_folder(tmp_path: Path) -> Path:
    """A folder anyone can write to (like /tmp, sticky bit and all)."""
    folder = tmp_path / "open"
    folder.mkdir()
    folder.chmod(0o1777)
    return folder


def test_a_keys_folder_linked_to_a_folder_others_can_write_is_refused(
    tk_home: AppPaths, tmp_path: Path, open_folder: Path
) -> None:
    tk_home.keys_dir.symlink_to(open_folder)
    made = tk("keygen", "k", "--no-passphrase")
    assert made.returncode == 2 and "Traceback" not in made.stderr
    assert f"the folder {tk_home.keys_dir} is a link to {open_folder}" in made.stderr
    assert "other users can write to" in made.stderr
    assert list(open_folder.iterdir()) == []
    source = make_key(tmp_path / "theirs")
    imported = tk("import-key", "k", str(source))
    assert imported.returncode == 2 and "other users can write to" in imported.stderr
    assert list(open_folder.iterdir()) == []
    # a key found there (planted, or left from before) is not used either
    make_key(open_folder / "planted")
    added = add("db", "planted")
    assert added.returncode == 2 and "other users can write to" in added.stderr
    # a link to a folder of our own is fine
    tk_home.keys_dir.unlink()
    private = tmp_path / "private-keys"
    private.mkdir(mode=0o700)
    tk_home.keys_dir.symlink_to(private)
    assert tk("keygen", "k", "--no-passphrase").returncode == 0
    assert add("db", "k").returncode == 0


def test_a_keys_folder_others_can_write_is_refused_before_anything_is_written(
    tk_home: AppPaths,
) -> None:
    tk_home.keys_dir.mkdir(parents=True)
    tk_home.keys_dir.chmod(0o777)
    made = tk("keygen", "k", "--no-passphrase")
    assert made.returncode == 2 and "can be written to by other users" in made.stderr
    assert list(tk_home.keys_dir.iterdir()) == []


def test_check_private_key(tmp_path: Path) -> None:
    key = make_key(tmp_path / "k")
    for fine in (0o600, 0o400, 0o700):
        key.chmod(fine)
        keyperms.check_private_key(key)
    key.chmod(0o604)
    with pytest.raises(KeyUnprotected, match=r"can be read by other users \(mode 0604\)"):
        keyperms.check_private_key(key)
    key.chmod(0o620)
    with pytest.raises(KeyUnprotected, match="can be changed by other users"):
        keyperms.check_private_key(key)
    keyperms.check_private_key(tmp_path / "missing")  # the loader says it does not exist
    key.chmod(0o600)
    loose = tmp_path / "loose"  # others could swap the key: refused even at mode 0600
    loose.mkdir()
    loose.chmod(0o777)
    (loose / "k").write_bytes(key.read_bytes())
    (loose / "k").chmod(0o600)
    with pytest.raises(FolderNotPrivate, match="can be written to by other users"):
        keyperms.check_private_key(loose / "k")
    loose.chmod(0o1777)  # sticky, as /tmp: others cannot replace our file
    keyperms.check_private_key(loose / "k")
    assert stat.S_IMODE((loose / "k").stat().st_mode) == 0o600


def test_windows_acls_are_read_from_sddl() -> None:
    owner_only = "O:S-1-5-21-1-2-3-1001G:S-1-5-21-1-2-3-513D:PAI(A;;FA;;;S-1-5-21-1-2-3-1001)"
    assert not keyperms.sddl_is_open(owner_only)
    assert not keyperms.sddl_is_open(owner_only + "(A;;FA;;;SY)(A;;FA;;;BA)")
    for broad in ("WD", "AU", "BU", "S-1-1-0", "S-1-5-11", "S-1-5-32-545"):
        assert keyperms.sddl_is_open(owner_only + f"(A;ID;0x1200a9;;;{broad})"), broad
    assert not keyperms.sddl_is_open(owner_only + "(D;;FA;;;WD)")  # a deny is no opening
