"""A real SOCKS5 server (Debian's `dante-server`) on a loopback port, with or without users."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.net import free_port, port_is_listening, wait_until
from tests.support.processes import terminate

DANTED = Path("/usr/sbin/danted")


def available() -> str | None:
    if not DANTED.exists():
        return "dante-server is not installed (make prereqs installs it)"
    return None


class Dante:
    """One danted in the foreground from its own folder; stopped by its PID.

    ``username``: clients must log in with a local Unix user's name and password (dante
    checks them against the system's password database, hence root)."""

    def __init__(self, username: bool = False, port: int | None = None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="tk-dante-", dir="/tmp"))
        self.port = port or free_port()
        self.log = self.dir / "danted.log"
        self.config = self.dir / "danted.conf"
        self.proc: subprocess.Popen[bytes] | None = None
        method = "username" if username else "none"
        self.config.write_text(
            f"""logoutput: {self.log}
internal: 127.0.0.1 port = {self.port}
external: 127.0.0.1
clientmethod: none
socksmethod: {method}
user.privileged: root
user.unprivileged: nobody
client pass {{
    from: 127.0.0.0/8 to: 0.0.0.0/0
    log: error connect disconnect
}}
socks pass {{
    from: 127.0.0.0/8 to: 0.0.0.0/0
    command: connect
    log: error connect disconnect
}}
"""
        )

    def start(self, timeout: float = 30.0) -> None:
        stderr = (self.dir / "stderr.log").open("ab")
        self.proc = subprocess.Popen(
            [str(DANTED), "-f", str(self.config), "-p", str(self.dir / "danted.pid")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        stderr.close()  # the child has its own copy
        if not wait_until(self._up, timeout, interval=0.1):
            self.stop()
            raise RuntimeError(f"danted did not start: {self.log_text()[-2000:]}")

    def _up(self) -> bool:
        return self.proc is not None and self.proc.poll() is None and port_is_listening(self.port)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        if self.proc is None:
            return
        terminate(self.proc)
        self.proc = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def running_dante(username: bool = False) -> Iterator[Dante]:
    why = available()
    if why is not None:
        pytest.skip(why)
    dante = Dante(username=username)
    try:
        dante.start()
        yield dante
    finally:
        dante.remove()


def set_password(user: str, password: str) -> None:
    """Give a throwaway local user (tests.support.users.local_user) a password."""
    subprocess.run(["chpasswd"], input=f"{user}:{password}\n".encode(), check=True, timeout=30)
