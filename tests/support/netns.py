"""Three machines made of network namespaces and veth pairs: the jumphost's and two agents'."""

from __future__ import annotations

import contextlib
import ctypes
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from tests.support.net import TcpServer, echo_handler, free_port, recv_exact
from tests.support.sshd import Sshd

T = TypeVar("T")
CLONE_NEWNET = 0x40000000
IP = "ip"
# Private addresses inside the namespaces only: 10.213.0.1 is the jumphost machine (sshd
# and the target), 10.213.N.0/24 the link from agent N to it.
JUMP_ADDRESS = "10.213.0.1"
_libc = ctypes.CDLL(None, use_errno=True)


def refused_reason() -> str | None:
    """Why network namespaces cannot be made here (None: they can)."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    probe = f"tkprobe{os.getpid()}"
    made = subprocess.run([IP, "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"the kernel refuses network namespaces here: {made.stderr.strip()}"
    subprocess.run([IP, "netns", "del", probe], capture_output=True)
    return None


def run_in(name: str, fn: Callable[[], T]) -> T:
    """Call ``fn`` on a thread that entered namespace ``name``: sockets it makes stay
    there (a namespace is per thread, the sockets are per namespace)."""
    result: dict[str, Any] = {}

    def body() -> None:
        try:
            fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns into {name} failed")
            finally:
                os.close(fd)
            result["value"] = fn()
        except BaseException as exc:  # handed to the caller
            result["error"] = exc

    thread = threading.Thread(target=body, name=f"in-{name}", daemon=True)
    thread.start()
    thread.join(60)
    if "error" in result:
        raise result["error"]
    if "value" not in result:
        raise TimeoutError(f"nothing came back from namespace {name}")
    value: T = result["value"]
    return value


class Netns:
    """One namespace, deleted (with its end of every veth pair) by ``delete``."""

    def __init__(self, name: str) -> None:
        self.name = name
        subprocess.run([IP, "netns", "add", name], check=True, capture_output=True)
        self.sh(IP, "link", "set", "lo", "up")

    def sh(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [IP, "netns", "exec", self.name, *cmd], check=check, capture_output=True, text=True
        )

    @property
    def prefix(self) -> tuple[str, ...]:
        return (IP, "netns", "exec", self.name)

    def delete(self) -> None:
        subprocess.run([IP, "netns", "del", self.name], capture_output=True)


@dataclass
class Agent:
    """Agent ``index``'s machine: its namespace, its end of the link, its address."""

    ns: Netns
    index: int
    device: str

    @property
    def address(self) -> str:
        return f"10.213.{self.index}.2"

    def cut(self) -> None:
        """Pull its cable: nothing passes, nobody is told."""
        self.ns.sh(IP, "link", "set", self.device, "down")

    def mend(self) -> None:
        self.ns.sh(IP, "link", "set", self.device, "up")
        self.ns.sh(IP, "route", "replace", "default", "via", f"10.213.{self.index}.1")

    def block_target(self, port: int) -> None:
        """The target stops answering this machine (its packets dropped on the way)."""
        self.ns.sh(*_target_rule("-A", port))

    def unblock_target(self, port: int) -> None:
        self.ns.sh(*_target_rule("-D", port), check=False)


def _target_rule(action: str, port: int) -> tuple[str, ...]:
    return (
        "iptables", "-w", action, "OUTPUT", "-d", JUMP_ADDRESS, "-p", "tcp",
        "--dport", str(port), "-j", "DROP",
    )  # fmt: skip


@dataclass
class Lab:
    """The jumphost machine J (sshd and the target on 10.213.0.1) and agents A and B, each
    linked to J by a veth pair. Everything is undone by ``close``."""

    jump: Netns
    agents: list[Agent]
    sshd: Sshd | None = None
    target: TcpServer | None = None
    remote_port: int = 0  # the port the vendor allocated
    _extra: list[Callable[[], None]] = field(default_factory=list)

    def start_target(self) -> TcpServer:
        self.target = run_in(self.jump.name, lambda: TcpServer(echo_handler, host=JUMP_ADDRESS))
        return self.target

    def start_sshd(self, workdir: Path, key: Path, extra_config: str = "") -> Sshd:
        """The jumphost, restricted like a vendor's: ``key`` may only have it listen on
        localhost:``remote_port`` (one port, which one machine at a time can hold)."""
        sshd = Sshd(workdir, extra_config=extra_config)
        self.remote_port = free_port()
        sshd.authorize_tunnel(key, f"localhost:{self.remote_port}")
        sshd.listen = JUMP_ADDRESS
        sshd.prefix = self.jump.prefix
        sshd.write_config()
        sshd._ready = lambda: self._sshd_ready(sshd)  # type: ignore[method-assign]
        self.sshd = sshd
        sshd.start()
        return sshd

    def _sshd_ready(self, sshd: Sshd) -> bool:
        if sshd.proc is None or sshd.proc.poll() is not None:
            return False

        def greet() -> bool:
            with socket.create_connection((JUMP_ADDRESS, sshd.port), timeout=1) as sock:
                return sock.recv(4).startswith(b"SSH-")

        try:
            return run_in(self.jump.name, greet)
        except OSError:
            return False

    def vendor_echo(self, port: int, payload: bytes = b"ping", timeout: float = 5) -> bool:
        """A vendor's connection to the jumphost's allocated port (inside J): True if
        ``payload`` came back from the target."""

        def once() -> bool:
            with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
                sock.settimeout(timeout)
                sock.sendall(payload)
                return recv_exact(sock, len(payload)) == payload

        try:
            return run_in(self.jump.name, once)
        except OSError:
            return False

    def close(self) -> None:
        for undo in reversed(self._extra):
            with contextlib.suppress(Exception):
                undo()
        if self.target is not None:
            self.target.stop()
        if self.sshd is not None:
            self.sshd.stop()
        for agent in self.agents:
            agent.ns.delete()
        self.jump.delete()


def make_lab(count: int = 2) -> Lab:
    tag = f"tk{os.getpid() % 100000}{int(time.monotonic() * 1000) % 1000}"
    jump = Netns(f"{tag}j")
    agents: list[Agent] = []
    lab = Lab(jump, agents)
    try:
        jump.sh(IP, "addr", "add", f"{JUMP_ADDRESS}/32", "dev", "lo")
        for index in range(1, count + 1):
            ns = Netns(f"{tag}a{index}")
            agents.append(Agent(ns, index, f"tkv{index}"))
            subprocess.run(
                [
                    IP, "link", "add", f"tkv{index}", "netns", ns.name, "type", "veth",
                    "peer", "name", f"tkj{index}", "netns", jump.name,
                ],
                check=True,
                capture_output=True,
            )  # fmt: skip
            jump.sh(IP, "addr", "add", f"10.213.{index}.1/24", "dev", f"tkj{index}")
            jump.sh(IP, "link", "set", f"tkj{index}", "up")
            ns.sh(IP, "addr", "add", f"10.213.{index}.2/24", "dev", f"tkv{index}")
            ns.sh(IP, "link", "set", f"tkv{index}", "up")
            ns.sh(IP, "route", "add", "default", "via", f"10.213.{index}.1")
    except BaseException:
        lab.close()
        raise
    return lab


@contextlib.contextmanager
def lab(count: int = 2) -> Iterator[Lab]:
    made = make_lab(count)
    try:
        yield made
    finally:
        made.close()
