"""A second OpenSSH sshd on loopback playing a jump host: only ``direct-tcpip`` to one port."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from app.core import knownhosts
from app.storage.paths import AppPaths
from tests.support.sshd import Sshd


@dataclass
class JumpHost:
    """A started sshd that lets our key through to ``to_port`` on 127.0.0.1 and nothing else."""

    sshd: Sshd
    to_port: int

    @property
    def port(self) -> int:
        return self.sshd.port

    @property
    def spec(self) -> str:
        """The tunnel's ``jump`` setting for this host."""
        return f"{self.sshd.user}@127.0.0.1:{self.port}"

    def public_line(self) -> tuple[str, str]:
        key_type, blob = Path(f"{self.sshd.host_key}.pub").read_text().split()[:2]
        return key_type, blob

    def pin(self, paths: AppPaths) -> None:
        """Add the jump host's real host key to the app's known_hosts (kept: the jumphost's)."""
        key_type, blob = self.public_line()
        pattern = knownhosts.host_pattern("127.0.0.1", self.port)
        paths.known_hosts_file.parent.mkdir(parents=True, exist_ok=True)
        with paths.known_hosts_file.open("a") as handle:
            handle.write(f"{pattern} {key_type} {blob}\n")


def start_jump_host(workdir: Path, key: Path, to_port: int) -> JumpHost:
    """An sshd whose only use is ``direct-tcpip`` to 127.0.0.1:``to_port``: no shell, no
    remote forward, PermitOpen in the config and permitopen on the key."""
    sshd = Sshd(workdir)
    config = sshd.config.read_text().replace(
        "AllowTcpForwarding remote", "AllowTcpForwarding local"
    )
    sshd.config.write_text(
        config + f"PermitOpen 127.0.0.1:{to_port}\nPermitTTY no\nForceCommand /bin/false\n"
    )
    sshd.authorize(key, f'restrict,port-forwarding,permitopen="127.0.0.1:{to_port}"')
    sshd.start()
    return JumpHost(sshd, to_port)


@contextmanager
def running_jump_host(workdir: Path, key: Path, to_port: int) -> Iterator[JumpHost]:
    host = start_jump_host(workdir, key, to_port)
    try:
        yield host
    finally:
        host.sshd.stop()
