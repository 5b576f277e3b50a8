"""Where control endpoints live: one socket per host process, in a folder only we can use."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from app.core.control import HostKind
from app.storage.paths import AppPaths, private_dir, user_runtime_dir

# sun_path holds 104 bytes on macOS and 108 on Linux, the final NUL included
MAX_SOCKET_PATH = 100
SYSTEM_SOCKET = Path("/run/tunnelkeeper/control.sock")  # the system service's (systemd)
SYSTEM_SOCKET_ENV = "TUNNELKEEPER_SYSTEM_SOCKET"  # another place for it (tests, macOS)
_NAME = re.compile(r"^(app|run|service)-(\d{1,10})\.sock$")


@dataclass(frozen=True)
class Address:
    """A host's control socket, and what its file name says about the host."""

    path: Path
    kind: HostKind
    pid: int
    system: bool = False  # the system service's, not this user's


def control_dir(paths: AppPaths) -> Path:
    """This user's folder of control sockets (created 0700 when missing, checked)."""
    folder = paths.runtime_dir / "control"
    if len(os.fsencode(folder)) + 24 <= MAX_SOCKET_PATH:
        return private_dir(folder)
    # a deep TUNNELKEEPER_HOME: a short name of its own in the user's runtime folder
    digest = hashlib.sha256(os.fsencode(paths.config_dir)).hexdigest()[:12]
    return private_dir(private_dir(user_runtime_dir()) / f"control-{digest}")


def own_address(paths: AppPaths, kind: HostKind, path: Path | None = None) -> Address:
    """Where this process serves: ``path`` (the system service's), else a socket named
    after its kind and pid in this user's control folder."""
    pid = os.getpid()
    if path is not None:
        return Address(path, kind, pid, system=True)
    return Address(control_dir(paths) / f"{kind.value}-{pid}.sock", kind, pid)


def system_socket_path() -> Path:
    return Path(os.environ.get(SYSTEM_SOCKET_ENV) or SYSTEM_SOCKET)


def system_address() -> Address | None:
    """The system service's socket, when there is one."""
    path = system_socket_path()
    if not path.exists():
        return None
    match = _NAME.match(path.name)
    pid = int(match.group(2)) if match else 0
    return Address(path, HostKind.SERVICE, pid, system=True)


def user_addresses(paths: AppPaths) -> list[Address]:
    """The control sockets of this user's hosts, by the names they were given."""
    found = []
    for entry in sorted(control_dir(paths).iterdir()):
        match = _NAME.match(entry.name)
        if match:
            found.append(Address(entry, HostKind(match.group(1)), int(match.group(2))))
    return found
