"""One host per tunnel on a machine: a lock file per allocated port, held while hosting."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from app.core.profile import Profile
from app.core.textsafe import safe_text
from app.storage.paths import private_dir

MAX_CLAIM = 4096


@dataclass(frozen=True)
class Holder:
    """Who holds a claim: the tunnel's name there, the kind of host and its process."""

    tunnel: str
    kind: str  # "app", "run" or "service"
    pid: int


def claim_key(profile: Profile) -> str:
    """What two tunnels must not share: the same port on the same jumphost."""
    where = f"{profile.jumphost.lower()}\0{profile.ssh_port}\0{profile.remote_port}"
    return hashlib.sha256(where.encode()).hexdigest()[:24]


class Claims:
    """Claims of this user (``folder`` is private to us), kept by kind ``kind`` of host in
    this process. A claim is an OS lock on an open file: it ends when the process does,
    however it ends."""

    def __init__(self, folder: Path, kind: str) -> None:
        self._folder = folder
        self._kind = kind
        self._held: dict[str, IO[bytes]] = {}  # tunnel name -> its locked file

    def holder(self, profile: Profile) -> Holder | None:
        """Who else holds ``profile``'s port now, or None (free, or held by us)."""
        if profile.name in self._held:
            return None
        path = self._path(profile)
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            return None
        with handle:
            if _try_lock(handle):
                _unlock(handle)
                return None
            return _read_holder(handle)

    def claim(self, profile: Profile) -> Holder | None:
        """Take ``profile``'s port for this process; returns the other holder when it is
        taken (nothing changed), None on success (or when this process holds it)."""
        if profile.name in self._held:
            return None
        path = self._path(profile)
        handle = open(path, "a+b")  # noqa: SIM115 - kept open while the claim lasts
        if not _try_lock(handle):
            try:
                return _read_holder(handle) or Holder(profile.name, "unknown", 0)
            finally:
                handle.close()
        mine = {"tunnel": profile.name, "kind": self._kind, "pid": os.getpid()}
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(mine).encode())
        handle.flush()
        self._held[profile.name] = handle
        return None

    def release(self, name: str) -> None:
        handle = self._held.pop(name, None)
        if handle is not None:
            with contextlib.suppress(OSError):
                handle.seek(0)
                handle.truncate()
            _unlock(handle)
            handle.close()

    def rename(self, old: str, new: str) -> None:
        """The tunnel holding a claim as ``old`` is called ``new`` now."""
        handle = self._held.pop(old, None)
        if handle is not None:
            self._held[new] = handle
            mine = {"tunnel": new, "kind": self._kind, "pid": os.getpid()}
            with contextlib.suppress(OSError):
                handle.seek(0)
                handle.truncate()
                handle.write(json.dumps(mine).encode())
                handle.flush()

    def release_all(self) -> None:
        for name in list(self._held):
            self.release(name)

    def _path(self, profile: Profile) -> Path:
        return private_dir(self._folder) / f"{claim_key(profile)}.lock"


def _read_holder(handle: IO[bytes]) -> Holder | None:
    handle.seek(0)
    try:
        data = json.loads(handle.read(MAX_CLAIM) or b"null")
        return Holder(safe_text(str(data["tunnel"]), 200), str(data["kind"]), int(data["pid"]))
    except (ValueError, TypeError, KeyError, OSError):
        return None


if os.name == "posix":
    import fcntl

    def _try_lock(handle: IO[bytes]) -> bool:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(handle: IO[bytes]) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

else:  # Windows
    import msvcrt

    def _try_lock(handle: IO[bytes]) -> bool:
        handle.seek(0)
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True

    def _unlock(handle: IO[bytes]) -> None:
        handle.seek(0)
        with contextlib.suppress(OSError):
            msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
