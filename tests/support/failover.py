"""Redundant `tunnelkeeper run` agents in the namespace lab, and a vendor that keeps probing."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from app.core import knownhosts
from app.storage.paths import app_paths
from tests.support.cli import APP, ROOT, tk
from tests.support.netns import JUMP_ADDRESS, Agent, Lab

TUNNEL = "db"


@dataclass
class Seen:
    at: float  # monotonic
    state: str
    detail: str
    extra: dict[str, object]


class AgentRun:
    """`tunnelkeeper run db --events json` on one agent machine, from its own home."""

    def __init__(self, lab: Lab, agent: Agent, home: Path, key: Path, fence_after: str) -> None:
        self.lab, self.agent, self.home = lab, agent, home
        self.name = f"agent{agent.index}"
        home.mkdir(parents=True, exist_ok=True)
        runtime = home / "run"
        runtime.mkdir(mode=0o700, exist_ok=True)
        self.env = {
            **os.environ,
            "TUNNELKEEPER_HOME": str(home),
            "XDG_RUNTIME_DIR": str(runtime),
        }
        for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
            self.env.pop(name, None)
        sshd = lab.sshd
        assert sshd is not None and lab.target is not None
        added = tk(
            "add", TUNNEL,
            "--jumphost", JUMP_ADDRESS,
            "--ssh-port", str(sshd.port),
            "--user", sshd.user,
            "--remote-port", str(lab.remote_port),
            "--target", f"{JUMP_ADDRESS}:{lab.target.port}",
            "--key", str(key),
            "--proxy", "none",
            "--role", "redundant",
            "--fence-after", fence_after,
            env=self.env,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        shown = json.loads(tk("show", TUNNEL, "--json", env=self.env).stdout)
        assert shown["role"] == "redundant"
        pub = Path(f"{sshd.host_key}.pub").read_text().split()
        pattern = knownhosts.host_pattern(JUMP_ADDRESS, sshd.port)
        known = app_paths({"TUNNELKEEPER_HOME": str(home)}).known_hosts_file
        known.parent.mkdir(parents=True, exist_ok=True)
        known.write_text(f"{pattern} {pub[0]} {pub[1]}\n")
        self.proc: subprocess.Popen[str] | None = None
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [*self.agent.ns.prefix, *APP, "run", TUNNEL, "--events", "json"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=ROOT,
            env=self.env,
        )
        threading.Thread(target=self._read, args=(self.proc,), daemon=True).start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if not isinstance(event, dict) or event.get("tunnel") != TUNNEL:
                continue
            extra = {k: v for k, v in event.items() if k not in ("ts", "tunnel", "state")}
            seen = Seen(time.monotonic(), str(event.get("state")), str(event.get("detail")), extra)
            with self._changed:
                self.seen.append(seen)
                self._changed.notify_all()

    @property
    def state(self) -> str | None:
        with self._lock:
            return self.seen[-1].state if self.seen else None

    def wait_for(self, state: str, after: float = 0.0, timeout: float = 60.0) -> Seen:
        """The first event in ``state`` at or after ``after`` (monotonic), within ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = next((s for s in self.seen if s.state == state and s.at >= after), None)
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{self.name}: no {state!r} within {timeout} s; saw "
                        f"{[(s.state, s.detail) for s in self.seen[-8:]]}"
                    )
                self._changed.wait(min(left, 1.0))

    def states_since(self, after: float) -> list[str]:
        with self._lock:
            return [s.state for s in self.seen if s.at >= after]

    def kill(self) -> None:
        """SIGKILL the agent by the PID we started: its machine 'dies' (the kernel closes
        its TCP connection, as a crashed process's would be)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def threads(self) -> int:
        assert self.proc is not None
        return len(os.listdir(f"/proc/{self.proc.pid}/task"))

    def fds(self) -> int:
        assert self.proc is not None
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))


@dataclass
class Vendor:
    """Connects through the jumphost's allocated port every ``every`` s and echoes a
    payload; keeps the times of the successes, to measure how long forwarding was lost."""

    lab: Lab
    port: int
    every: float = 0.1
    ok: list[float] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _quiet: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Vendor:
        self._thread = threading.Thread(target=self._loop, name="vendor", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.is_set():
            if not self._quiet.is_set() and self.lab.vendor_echo(self.port, timeout=2):
                self.ok.append(time.monotonic())
            self._stop.wait(self.every)

    def pause(self) -> None:
        """No more connections until ``resume`` (one under way may still finish)."""
        self._quiet.set()
        time.sleep(2.5)

    def resume(self) -> None:
        self._quiet.clear()

    def first_success_after(self, after: float, timeout: float) -> float:
        """Seconds from ``after`` to the first echo that came back later (or raise)."""
        deadline = after + timeout
        while time.monotonic() < deadline:
            found = next((t for t in self.ok if t > after), None)
            if found is not None:
                return found - after
            time.sleep(0.05)
        raise AssertionError(f"no vendor connection got through within {timeout} s")

    def outage(self, fault: float, back: float, timeout: float) -> float:
        """How long the vendor could not get through around a fault at ``fault``, once the
        other machine took over at ``back``: the longest time between two echoes, from the
        last one before the fault to the first one after ``back``."""
        deadline = back + timeout
        while time.monotonic() < deadline:
            later = [t for t in self.ok if t > back]
            if later:
                before = [t for t in self.ok if t <= fault]
                if not before:
                    raise AssertionError("no vendor connection got through before the fault")
                points = before[-1:] + [t for t in self.ok if fault < t <= later[0]]
                return max(b - a for a, b in itertools.pairwise(points))
            time.sleep(0.05)
        raise AssertionError(f"no vendor connection got through within {timeout} s")

    def longest_gap(self, start: float, end: float) -> float:
        points = [start, *(t for t in self.ok if start < t < end), end]
        return max(b - a for a, b in itertools.pairwise(points))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
