"""Private keys and the keys folder must be ours alone, as OpenSSH insists for key files."""

from __future__ import annotations

import os
import re
import shlex
import stat
import subprocess
import tempfile
from pathlib import Path

from app.errors import FolderNotPrivate, KeyUnprotected

# Windows trustees (SDDL aliases and SIDs) that stand for other people: Everyone,
# Authenticated Users, Users, Interactive, Anonymous, Network, Guests, Domain Users.
_BROAD_TRUSTEES = frozenset(
    {
        "WD", "AU", "BU", "IU", "AN", "NU", "BG", "DU",
        "S-1-1-0", "S-1-5-11", "S-1-5-32-545", "S-1-5-4", "S-1-5-7", "S-1-5-2", "S-1-5-32-546",
    }
)  # fmt: skip
_ACE = re.compile(r"\(([^)]*)\)")


def remedy(path: Path) -> str:
    """The command that makes a key file readable by its owner only, on this system."""
    if os.name == "nt":
        return (
            f'make it private with `icacls "{path}" /inheritance:r /grant:r "%USERNAME%:R"` '
            "and try again."
        )
    return f"make it private with `chmod 600 {shlex.quote(str(path))}` and try again."


def check_private_key(path: str | Path) -> None:
    """Refuse a private key that other users can read or change (KeyUnprotected), and one
    that sits in a folder they can swap it in (FolderNotPrivate); a missing or unreadable
    file is left for the loader to report."""
    key = Path(path).expanduser()
    if os.name == "nt":  # pragma: no cover - exercised on Windows builds
        if _windows_acl_is_open(key):
            raise KeyUnprotected(str(key), "can be read by other users", remedy(key))
        return
    try:
        info = key.stat()
    except OSError:
        return
    if not stat.S_ISREG(info.st_mode):
        return
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        how = "read" if mode & 0o044 else "changed" if mode & 0o022 else "run"
        detail = f"can be {how} by other users (mode {mode:04o})"
        raise KeyUnprotected(str(key), detail, remedy(key))
    _check_key_folder(key.parent)


def _check_key_folder(folder: Path) -> None:
    """A key's folder must not be writable by everyone: at all when reached through a link
    (a keys folder pointed at /tmp, say), else unless sticky as /tmp is, so that others
    cannot replace the key."""
    try:
        linked = folder.is_symlink()
        info = folder.stat()
    except OSError:
        return
    if info.st_mode & stat.S_IWOTH and (linked or not info.st_mode & stat.S_ISVTX):
        raise FolderNotPrivate(str(folder), _folder_problem(folder, linked), _folder_remedy())


def check_keys_folder(folder: Path) -> None:
    """Refuse our keys folder when others could write in it (itself, or the folder a link
    points to) or it is not ours; a missing one is fine (it is made mode 0700)."""
    if os.name != "posix":
        return
    try:
        linked = folder.is_symlink()
        info = folder.stat()
    except FileNotFoundError:
        if folder.is_symlink():  # a dangling link: whoever can make its target decides
            raise FolderNotPrivate(
                str(folder),
                f"is a link to {os.readlink(folder)}, which does not exist",
                _folder_remedy(),
            ) from None
        return
    except OSError:
        return
    if info.st_mode & 0o022:
        raise FolderNotPrivate(str(folder), _folder_problem(folder, linked), _folder_remedy())
    if info.st_uid not in (os.geteuid(), 0):
        where = f"is a link to {folder.resolve()}, which" if linked else ""
        raise FolderNotPrivate(
            str(folder),
            f"{where} belongs to another user (uid {info.st_uid})".strip(),
            _folder_remedy(),
        )


def _folder_problem(folder: Path, linked: bool) -> str:
    if linked:
        return f"is a link to {folder.resolve()}, which other users can write to"
    return "can be written to by other users"


def _folder_remedy() -> str:
    return (
        "others could replace the keys in it. Keep keys in a folder only you can write to "
        "(`chmod 700` it, or replace the link with a folder of your own)."
    )


def sddl_is_open(sddl: str) -> bool:
    """Whether a security descriptor (SDDL) allows any access to other people: an allow
    ACE for Everyone, Users, Authenticated Users and the like."""
    dacl = sddl.split("D:", 1)[1] if "D:" in sddl else ""
    dacl = re.split(r"\b[SOG]:", dacl, maxsplit=1)[0]
    for ace in _ACE.findall(dacl):
        fields = ace.split(";")
        if len(fields) >= 6 and fields[0] in ("A", "OA") and fields[5] in _BROAD_TRUSTEES:
            return True
    return False


def _windows_acl_is_open(path: Path) -> bool:  # pragma: no cover - Windows only
    """Read the file's DACL with ``icacls /save`` (SDDL, the same in every language)."""
    with tempfile.TemporaryDirectory() as folder:
        saved = Path(folder) / "acl"
        done = subprocess.run(
            ["icacls", str(path), "/save", str(saved)], capture_output=True, check=False
        )
        if done.returncode != 0 or not saved.exists():
            return False  # cannot tell; the loader reports a missing file
        lines = saved.read_bytes().decode("utf-16", errors="replace").splitlines()
    return any(sddl_is_open(line) for line in lines[1:])
