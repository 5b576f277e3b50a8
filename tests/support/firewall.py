"""Black-holing loopback TCP with iptables DROP rules that are always removed again."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator

IPTABLES = shutil.which("iptables") or "/usr/sbin/iptables"


def available() -> bool:
    if os.geteuid() != 0 or not os.path.exists(IPTABLES):
        return False
    probe = subprocess.run([IPTABLES, "-w", "-S", "INPUT"], capture_output=True)
    return probe.returncode == 0


class Blackhole:
    """DROP rules on ``lo`` for one TCP port (or one connection), tagged for removal."""

    def __init__(self) -> None:
        self._rules: list[list[str]] = []
        self.tag = f"tunnelkeeper-test-{os.getpid()}"

    def _add(self, spec: list[str]) -> None:
        rule = [
            "INPUT",
            "-i",
            "lo",
            "-p",
            "tcp",
            *spec,
            "-m",
            "comment",
            "--comment",
            self.tag,
            "-j",
            "DROP",
        ]
        subprocess.run([IPTABLES, "-w", "-I", *rule], check=True)
        self._rules.append(rule)

    def port(self, port: int) -> None:
        """Drop every packet to or from ``port``: the server vanishes without a word."""
        self._add(["--dport", str(port)])
        self._add(["--sport", str(port)])

    def connection(self, client_port: int, server_port: int) -> None:
        """Drop one established connection in both directions; new ones still pass."""
        self._add(["--sport", str(client_port), "--dport", str(server_port)])
        self._add(["--sport", str(server_port), "--dport", str(client_port)])

    def clear(self) -> None:
        while self._rules:
            rule = self._rules.pop()
            subprocess.run([IPTABLES, "-w", "-D", *rule], capture_output=True)


@contextlib.contextmanager
def blackhole() -> Iterator[Blackhole]:
    hole = Blackhole()
    try:
        yield hole
    finally:
        hole.clear()
