"""A real OpenSSH sshd on loopback, configured like a vendor's tunnel jumphost."""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from tests.support.net import free_port, wait_until

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


def ssh_keygen(path: Path, key_type: str = "ed25519", comment: str = "test") -> Path:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", key_type, "-N", "", "-C", comment, "-f", str(path)],
        check=True,
    )
    return path


def public_line(key_path: Path) -> str:
    return Path(f"{key_path}.pub").read_text().strip()


class Sshd:
    """An sshd started from a throwaway folder; stopped by the PID we started."""

    # where it listens, and what its command line starts with (``ip netns exec NAME``)
    listen = "127.0.0.1"
    prefix: tuple[str, ...] = ()

    def __init__(self, workdir: Path, port: int | None = None, extra_config: str = "") -> None:
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.user = getpass.getuser()
        self.host_key = ssh_keygen(self.dir / "ssh_host_ed25519_key", comment="jumphost")
        self.authorized_keys = self.dir / "authorized_keys"
        self.authorized_keys.write_text("")
        self.log_file = self.dir / "sshd.log"
        self.extra_config = extra_config
        self.proc: subprocess.Popen[bytes] | None = None
        self.config = self.dir / "sshd_config"
        self.write_config()

    def write_config(self) -> None:
        self.config.write_text(
            f"""Port {self.port}
ListenAddress {self.listen}
HostKey {self.host_key}
PidFile none
AuthorizedKeysFile {self.authorized_keys}
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
AllowUsers {self.user}
AllowTcpForwarding remote
GatewayPorts no
X11Forwarding no
AllowAgentForwarding no
PermitTunnel no
MaxStartups 1000:30:1000
MaxSessions 100
LogLevel VERBOSE
{self.extra_config}
"""
        )

    def authorize(self, key_path: Path, options: str) -> None:
        """Append an authorized_keys line for ``key_path`` with ``options``."""
        with self.authorized_keys.open("a") as handle:
            handle.write(f"{options} {public_line(key_path)}\n")

    def authorize_tunnel(self, key_path: Path, listen: str) -> None:
        """The vendor's restriction: nothing but a remote forward on ``listen``."""
        self.authorize(key_path, f'restrict,port-forwarding,permitlisten="{listen}"')

    def start(self) -> None:
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        subprocess.run([SSHD, "-t", "-f", str(self.config)], check=True)
        self.proc = subprocess.Popen(
            [*self.prefix, SSHD, "-D", "-e", "-f", str(self.config), "-E", str(self.log_file)],
            stdin=subprocess.DEVNULL,
        )
        if not wait_until(self._ready, timeout=15):
            self.stop()
            raise RuntimeError(f"sshd did not start; log:\n{self.log()}")

    def _ready(self) -> bool:
        import socket

        if self.proc is None or self.proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                return sock.recv(4).startswith(b"SSH-")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL the listener we started. Per-connection children keep running."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        """Stop the listener and every per-connection child it forked."""
        if self.proc is None:
            return
        pid = self.proc.pid
        children = _descendants(pid)
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def listening_ports(self) -> set[int]:
        """TCP ports sshd processes listen on right now (from /proc, loopback only)."""
        return _listening_ports()


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    frontier = [pid]
    deadline = time.monotonic() + 2
    while frontier and time.monotonic() < deadline:
        parent = frontier.pop()
        try:
            text = Path(f"/proc/{parent}/task/{parent}/children").read_text()
        except OSError:
            continue
        kids = [int(x) for x in text.split()]
        found.extend(kids)
        frontier.extend(kids)
    return found


def _listening_ports() -> set[int]:
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError), open(table) as handle:
            next(handle)
            for line in handle:
                fields = line.split()
                if fields[3] == "0A":  # LISTEN
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports
