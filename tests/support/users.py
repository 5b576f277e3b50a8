"""A second, throwaway local Unix user (created with useradd, removed with userdel -r)."""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# The stranger runs the system interpreter: ours may live in a home only root can enter.
SYSTEM_PYTHON = Path("/usr/bin/python3")


@dataclass(frozen=True)
class LocalUser:
    """Another local account; ``python`` runs code as it (started by us, as root)."""

    name: str
    uid: int
    gid: int
    home: Path
    started: list[subprocess.Popen[str]] = field(default_factory=list)

    def python(self, code: str, *args: str) -> subprocess.Popen[str]:
        """``python3 -c code args`` as this user, stdout piped (stdlib only)."""
        proc = subprocess.Popen(
            [str(SYSTEM_PYTHON), "-c", code, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            user=self.uid,
            group=self.gid,
            extra_groups=[],
            cwd="/",
            env={"PATH": "/usr/bin:/bin", "HOME": str(self.home), "LC_ALL": "C.UTF-8"},
        )
        self.started.append(proc)
        return proc

    def stop_all(self) -> None:
        """Kill what we started as this user (by PID), so that userdel can remove it."""
        for proc in self.started:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()


def _why_no_users() -> str | None:
    if not sys.platform.startswith("linux"):
        return "a second local user is created with useradd, which is Linux-only here"
    if os.geteuid() != 0:
        return "creating a second local user (useradd) needs root"
    if shutil.which("useradd") is None or shutil.which("userdel") is None:
        return "useradd/userdel are not installed"
    if not SYSTEM_PYTHON.exists():
        return f"{SYSTEM_PYTHON} is missing, so the second user cannot run Python"
    return None


@contextmanager
def local_user() -> Iterator[LocalUser]:
    """A fresh user for one test; removed afterwards, even when the test fails."""
    reason = _why_no_users()
    if reason is not None:
        pytest.skip(reason)
    name = f"tkx{secrets.token_hex(4)}"
    made = subprocess.run(
        ["useradd", "--create-home", "--shell", "/bin/sh", "--user-group", name],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if made.returncode != 0:
        pytest.skip(f"useradd could not create a user here: {made.stderr.strip()}")
    try:
        entry = pwd.getpwnam(name)
        user = LocalUser(name, entry.pw_uid, entry.pw_gid, Path(entry.pw_dir))
        try:
            yield user
        finally:
            user.stop_all()
    finally:
        subprocess.run(["userdel", "-r", name], capture_output=True, timeout=60)


@contextmanager
def shared_temp() -> Iterator[Path]:
    """A private stand-in for /tmp (mode 1777), so what a test plants there stays out of the
    real /tmp other processes on this machine use."""
    folder = Path(tempfile.mkdtemp(prefix="tk-shared-", dir="/tmp"))
    try:
        folder.chmod(0o1777)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# Run by the second user: plant folders (mode 0777) and, unless the socket path is "-", bind
# a Unix socket there and note every connection (and what it said) in the ``heard`` file.
SQUATTER = r"""
import os, socket, sys
sock_path, heard, *folders = sys.argv[1:]
for folder in folders:
    os.makedirs(folder, exist_ok=True)
    os.chmod(folder, 0o777)
if sock_path == "-":
    print("ready", flush=True)
    sys.exit(0)
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(sock_path)
os.chmod(sock_path, 0o777)
server.listen(16)
print("ready", flush=True)
while True:
    conn, _ = server.accept()
    conn.settimeout(2)
    try:
        data = conn.recv(1024)
    except OSError:
        data = b""
    with open(heard, "ab") as note:
        note.write(b"connection: " + data + b"\n")
    conn.close()
"""
