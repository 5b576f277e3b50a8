"""The contenders: `tunnelkeeper run`, and OpenSSH's `ssh -N -R` with its own algorithms and
with the cipher Tunnelkeeper negotiates; and what each one negotiated with the sshd."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.traffic import Target
from tests.support.net import port_is_listening, wait_until
from tests.support.sshd import Sshd

ROOT = Path(__file__).resolve().parents[1]

# (seconds from process start to the forward granted, the client's process id)
Started = tuple[float, int]


@dataclass
class Setup:
    sshd: Sshd
    key: Path
    remote_port: int
    target: Target
    home: Path


@dataclass(frozen=True)
class Client:
    """One contender. ``cipher`` and ``mac`` are OpenSSH's `-c` and `-m` (None: its defaults)."""

    key: str  # its name in the results
    label: str
    openssh: bool
    cipher: str | None = None
    mac: str | None = None

    def start(
        self, setup: Setup, debug_log: Path | None = None
    ) -> contextlib.AbstractContextManager[Started]:
        """The client, running with its forward granted; ``debug_log`` (OpenSSH only) gets
        `ssh -v`'s output."""
        if self.openssh:
            return openssh(setup, self.cipher, self.mac, debug_log)
        return tunnelkeeper(setup)


TUNNELKEEPER = Client("tunnelkeeper", "Tunnelkeeper", openssh=False)
OPENSSH_DEFAULT = Client("openssh_default", "OpenSSH default", openssh=True)


def openssh_same(cipher: str, mac: str | None) -> Client:
    return Client("openssh_same", "OpenSSH same cipher", True, cipher, mac)


def _drain(stream: Iterator[str]) -> None:
    for _ in stream:  # later events must not fill the pipe and block the process
        pass


@contextlib.contextmanager
def tunnelkeeper(setup: Setup) -> Iterator[Started]:
    """`tunnelkeeper run` as users run it."""
    env = {**os.environ, "TUNNELKEEPER_HOME": str(setup.home)}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "run", "bench", "--events", "json"],
        cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        for _ in range(10):
            event = json.loads(proc.stdout.readline())
            if event["state"] == "connected":
                break
        else:
            raise RuntimeError("tunnelkeeper did not connect")
        ready = time.perf_counter() - started
        threading.Thread(target=_drain, args=(proc.stdout,), daemon=True).start()
        yield ready, proc.pid
    finally:
        proc.terminate()
        proc.wait(10)
        wait_until(lambda: not port_is_listening(setup.remote_port), 10)


@contextlib.contextmanager
def openssh(
    setup: Setup, cipher: str | None, mac: str | None, debug_log: Path | None
) -> Iterator[Started]:
    """OpenSSH's client with the same key, port and pinned host key."""
    chosen = [*(["-c", cipher] if cipher else []), *(["-m", mac] if mac else [])]
    verbose = ["-v"] if debug_log else []
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        err = stack.enter_context(debug_log.open("w")) if debug_log else subprocess.DEVNULL
        proc = subprocess.Popen(
            ["ssh", *verbose, *chosen, "-N",
             "-R", f"localhost:{setup.remote_port}:127.0.0.1:{setup.target.port}",
             "-i", str(setup.key), "-p", str(setup.sshd.port),
             "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes",
             "-o", f"UserKnownHostsFile={setup.home / 'known_hosts'}",
             "-o", "StrictHostKeyChecking=yes", "-o", "ServerAliveInterval=10",
             "-o", "ServerAliveCountMax=1", f"{setup.sshd.user}@127.0.0.1"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
        try:
            if not wait_until(lambda: port_is_listening(setup.remote_port), 30, interval=0.005):
                raise RuntimeError("ssh -R did not get its forward")
            yield time.perf_counter() - started, proc.pid
        finally:
            proc.terminate()
            proc.wait(10)
            wait_until(lambda: not port_is_listening(setup.remote_port), 10)


# --- what was negotiated -----------------------------------------------------------------

_KEX = re.compile(
    r"remote software version (?P<peer>\S+)"
    r"|kex: algorithm: (?P<kex>\S+)"
    r"|kex: host key algorithm: (?P<host_key>\S+)"
    r"|kex: (?P<way>client->server|server->client) cipher: (?P<cipher>\S+) MAC: (?P<mac>\S+)"
)


def key_exchanges(log: str) -> list[dict[str, str]]:
    """Each connection's agreed algorithms in an sshd DEBUG1 log or `ssh -v` output, in
    order. ``peer`` is the other side's software (the client in sshd's log, the server in
    ssh's); a cipher's ``*_mac`` is ``<implicit>`` for AEAD ciphers."""
    found: list[dict[str, str]] = []
    for match in _KEX.finditer(log):
        if match["peer"] or not found:
            found.append({"peer": match["peer"] or "unknown"})
        if match["kex"]:
            found[-1]["kex"] = match["kex"]
        elif match["host_key"]:
            found[-1]["host_key"] = match["host_key"]
        elif match["way"]:
            way = "to_server" if match["way"] == "client->server" else "from_server"
            found[-1][f"{way}_cipher"] = match["cipher"]
            found[-1][f"{way}_mac"] = match["mac"]
    return [kex for kex in found if "kex" in kex or "to_server_cipher" in kex]


def probe(setup: Setup, client: Client, workdir: Path) -> dict[str, dict[str, str]]:
    """Start and stop ``client`` once (also a warm-up); what it negotiated, as sshd's log
    says and, for OpenSSH, as `ssh -v` says."""
    offset = len(setup.sshd.log())
    debug_log = workdir / f"{client.key}-ssh-v.log" if client.openssh else None
    with client.start(setup, debug_log):
        pass
    views = {"sshd_log": _last(key_exchanges(setup.sshd.log()[offset:]))}
    if debug_log is not None:
        views["ssh_v"] = _last(key_exchanges(debug_log.read_text(errors="replace")))
    return views


def _last(exchanges: list[dict[str, str]]) -> dict[str, str]:
    return exchanges[-1] if exchanges else {}


def same_cipher(agreed: dict[str, str]) -> tuple[str, str | None]:
    """OpenSSH's `-c` and `-m` for the cipher (and MAC, unless implicit) Tunnelkeeper agreed
    towards the server."""
    cipher = agreed.get("to_server_cipher")
    if not cipher:
        raise RuntimeError("sshd's log does not say which cipher Tunnelkeeper negotiated")
    mac = agreed.get("to_server_mac")
    return cipher, None if mac in (None, "<implicit>") else mac


def describe(agreed: dict[str, str]) -> str:
    """One line: kex, host key, cipher (MAC) each way."""
    if not agreed:
        return "not seen"

    def way(name: str) -> str:
        mac = agreed.get(f"{name}_mac", "?")
        cipher = agreed.get(f"{name}_cipher", "?")
        return cipher if mac == "<implicit>" else f"{cipher} + {mac}"

    to, back = way("to_server"), way("from_server")
    ciphers = f"{to} both ways" if to == back else f"{to} client→server, {back} server→client"
    return f"{agreed.get('kex', '?')}, host key {agreed.get('host_key', '?')}, {ciphers}"
