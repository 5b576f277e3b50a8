"""Files as a container's mounts hold them: owned and moded as Docker or the kubelet leaves
them, and a snapshot to show they were left alone."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def write(path: Path, data: bytes, mode: int, uid: int = 0, gid: int = 0) -> Path:
    """``data`` into ``path`` (folders made), owned by ``uid:gid`` with ``mode``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.chown(path, uid, gid)
    path.chmod(mode)
    return path


def kubelet_volume(folder: Path, files: dict[str, bytes], mode: int, gid: int) -> Path:
    """A ConfigMap or Secret volume as the kubelet lays it out: the files in a timestamped
    folder, ``..data`` linked to it, each name a link through ``..data``; root's, the group
    the pod's fsGroup with read access added (so 0400 becomes 0440)."""
    stamped = folder / "..2026_01_01_00_00_00.000000001"
    stamped.mkdir(parents=True)
    for name, data in files.items():
        write(stamped / name, data, mode | 0o440, 0, gid)
        (folder / name).symlink_to(f"..data/{name}")
    (folder / "..data").symlink_to(stamped.name)
    return folder


def empty_dir(folder: Path, gid: int) -> Path:
    """An emptyDir as the kubelet makes it: root's, everyone may write, the fsGroup's."""
    folder.mkdir(parents=True)
    os.chown(folder, 0, gid)
    folder.chmod(0o2777)
    return folder


def snapshot(*folders: Path) -> dict[str, tuple[int, int, int, bytes]]:
    """Every entry under ``folders``: mode, owner, mtime and contents (links as their text)."""
    found = {}
    for folder in folders:
        for path in [folder, *folder.rglob("*")]:
            info = path.lstat()
            data = os.readlink(path).encode() if path.is_symlink() else b""
            if stat.S_ISREG(info.st_mode):
                data = path.read_bytes()
            found[str(path)] = (info.st_mode, info.st_uid, info.st_mtime_ns, data)
    return found
