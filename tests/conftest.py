"""Shared fixtures: a throwaway app home, client keys and a real OpenSSH jumphost."""

from __future__ import annotations

import os
import queue
import shutil
import socket
import tempfile
import threading
import time
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# Qt widgets are tested offscreen (pytest-qt); CLI subprocesses strip it where it matters.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app import ssh
from app.core import knownhosts
from app.core.backoff import Backoff
from app.core.events import State, TunnelEvent
from app.core.profile import Profile
from app.engine.tunnel import Tunnel
from app.storage.paths import AppPaths, app_paths
from tests.support.mariadb import MariaDB, mariadb_available, running_mariadb
from tests.support.net import TcpServer, echo_handler, free_port, tcp_server
from tests.support.sshd import Sshd, ssh_keygen


@pytest.fixture
def tk_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppPaths]:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("TUNNELKEEPER_HOME", str(home))
    # A runtime folder of the test's own (0700, short enough for socket paths): a deep
    # TUNNELKEEPER_HOME puts its control sockets in the user's, which would keep a folder
    # per test in the real home (app/control/addresses.py control_dir).
    runtime = Path(tempfile.mkdtemp(prefix="tk-run-"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    try:
        yield app_paths()
    finally:
        shutil.rmtree(runtime, ignore_errors=True)


@pytest.fixture
def client_key(tmp_path: Path) -> Path:
    return ssh_keygen(tmp_path / "id_tunnel", comment="tunnelkeeper-test")


@dataclass
class Jumphost:
    """A started sshd plus the tunnel port the vendor 'allocated' for our key."""

    sshd: Sshd
    remote_port: int
    key: Path

    @property
    def port(self) -> int:
        return self.sshd.port

    def pin(self, paths: AppPaths) -> None:
        """Write the jumphost's real host key into the app's known_hosts."""
        pub = Path(f"{self.sshd.host_key}.pub").read_text().split()
        pattern = knownhosts.host_pattern("127.0.0.1", self.port)
        paths.known_hosts_file.parent.mkdir(parents=True, exist_ok=True)
        paths.known_hosts_file.write_text(f"{pattern} {pub[0]} {pub[1]}\n")

    def permit_end_to_end(self) -> None:
        """Also let the key connect to its own forwarded port (permitopen), as a few vendors
        do, so the connection test's end-to-end check can run; restarts sshd."""
        self.sshd.authorized_keys.write_text("")
        self.sshd.authorize(
            self.key,
            f'restrict,port-forwarding,permitlisten="localhost:{self.remote_port}",'
            f'permitopen="localhost:{self.remote_port}"',
        )
        config = self.sshd.config.read_text()
        self.sshd.config.write_text(
            config.replace("AllowTcpForwarding remote", "AllowTcpForwarding yes")
        )
        self.sshd.restart()

    def profile(self, target_port: int, name: str = "t1", **overrides: object) -> Profile:
        fields: dict[str, object] = {
            "name": name,
            "jumphost": "127.0.0.1",
            "ssh_port": self.port,
            "user": self.sshd.user,
            "remote_port": self.remote_port,
            "target_host": "127.0.0.1",
            "target_port": target_port,
            "key_path": str(self.key),
        }
        fields.update(overrides)
        return Profile(**fields)  # type: ignore[arg-type]


def start_jumphost(workdir: Path, key: Path, extra_config: str = "") -> Jumphost:
    sshd = Sshd(workdir, extra_config=extra_config)
    remote_port = free_port()
    sshd.authorize_tunnel(key, f"localhost:{remote_port}")
    sshd.start()
    return Jumphost(sshd, remote_port, key)


@pytest.fixture
def jumphost(tmp_path: Path, client_key: Path) -> Iterator[Jumphost]:
    host = start_jumphost(tmp_path / "jumphost", client_key)
    try:
        yield host
    finally:
        host.sshd.stop()


@dataclass
class EventLog:
    """Collects tunnel events from worker threads; waits for states with a deadline."""

    events: list[TunnelEvent] = field(default_factory=list)
    _queue: queue.Queue[TunnelEvent] = field(default_factory=queue.Queue)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, event: TunnelEvent) -> None:
        with self._lock:
            self.events.append(event)
        self._queue.put(event)

    def wait_for(self, state: State, timeout: float = 30.0) -> TunnelEvent:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = [(e.state.value, e.detail) for e in self.events]
                raise AssertionError(f"no {state.value!r} event within {timeout} s; saw {seen}")
            try:
                event = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if event.state is state:
                return event

    def states(self) -> list[State]:
        with self._lock:
            return [e.state for e in self.events]


@pytest.fixture
def echo() -> Iterator[TcpServer]:
    """A real TCP echo server on 127.0.0.1: the tunnel's target in most tests."""
    with tcp_server(echo_handler) as server:
        yield server


@pytest.fixture
def events() -> EventLog:
    return EventLog()


def start_tunnel(
    host: Jumphost,
    paths: AppPaths,
    events: EventLog,
    target_port: int,
    *,
    pin: bool = True,
    backoff: Backoff | None = None,
    **kw: object,
) -> Tunnel:
    """Start an in-process tunnel to 127.0.0.1:``target_port`` (``kw`` overrides profile
    fields); ``pin=False`` leaves known_hosts as the test arranged it."""
    if pin:
        host.pin(paths)
    profile = host.profile(target_port, **kw)
    key = ssh.load_private_key(profile.key_path)
    tunnel = Tunnel(profile, key, paths.known_hosts_file, events, backoff=backoff)
    tunnel.start()
    return tunnel


@pytest.fixture
def socket_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """Two connected real sockets, closed after the test."""
    ours, theirs = socket.socketpair()
    with ours, theirs:
        yield ours, theirs


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    """A real MariaDB server on loopback for the whole session (make test installs it)."""
    if not mariadb_available():
        pytest.skip("MariaDB (mariadbd, mariadb-install-db) is not installed")
    with running_mariadb(tmp_path_factory.mktemp("mariadb")) as server:
        yield server


# --- The `integration` marker ----------------------------------------------------------
# A test is `integration` when it needs something real beyond this Python process: an
# OpenSSH sshd, MariaDB, a private Secret Service, the app run as a subprocess, a paramiko
# jumphost on a socket, iptables, a second Unix user, or a built app. Everything else is a
# unit test, so `pytest -m "not integration"` runs in seconds. Modules whose tests are all
# integration also say so with `pytestmark`; the hook below finds the rest by following
# each test and its fixtures, through helper functions under tests/, to the starters
# below or to `sys.executable` (a Python subprocess: `python -m app`, `python -c`).

TESTS = Path(__file__).resolve().parent
INTEGRATION_FOLDERS = (TESTS / "build",)  # the frozen app, the wheel, the packages
INTEGRATION_MODULES = frozenset(  # every function or class in these starts something real
    {
        "tests.support.cli",
        "tests.support.fake_jumphost",
        "tests.support.firewall",
        "tests.support.flood",
        "tests.support.mariadb",
        "tests.support.secret_service",
        "tests.support.users",
    }
)
INTEGRATION_HELPERS: tuple[object, ...] = (Sshd, start_jumphost, start_tunnel)


def _starts_something_real(obj: object, seen: dict[int, bool]) -> bool:
    """Whether ``obj`` (a test, fixture or helper) reaches an integration helper."""
    obj = getattr(obj, "__func__", obj)
    if id(obj) in seen:
        return seen[id(obj)]
    seen[id(obj)] = False  # breaks cycles
    found = False
    if any(obj is helper for helper in INTEGRATION_HELPERS):
        found = True
    elif isinstance(obj, type):
        if obj.__module__ in INTEGRATION_MODULES:
            found = True
        elif _ours(obj.__module__):
            found = any(_starts_something_real(v, seen) for v in vars(obj).values())
    elif hasattr(obj, "__code__") and hasattr(obj, "__globals__"):
        module = getattr(obj, "__module__", None) or ""
        if module in INTEGRATION_MODULES:
            found = True
        elif _ours(module):
            found = _runs_python(obj.__code__) or any(
                _refers_to_something_real(obj.__globals__.get(name), seen)
                for name in set(_names(obj.__code__))
            )
    seen[id(obj)] = found
    return found


def _ours(module: str) -> bool:
    return module.partition(".")[0] == "tests"


def _refers_to_something_real(target: object, seen: dict[int, bool]) -> bool:
    if isinstance(target, types.ModuleType):
        return target.__name__ in INTEGRATION_MODULES
    return target is not None and _starts_something_real(target, seen)


def _runs_python(code: types.CodeType) -> bool:
    """Whether ``code`` starts this interpreter as a process (`sys.executable`: `python -m
    app`, `python -c`)."""
    names = set(_names(code, locals_too=True))
    return "sys" in names and "executable" in names


def _names(code: types.CodeType, locals_too: bool = False) -> Iterator[str]:
    """Global (and attribute) names used by ``code`` and the functions nested in it."""
    yield from code.co_names
    if locals_too:
        yield from code.co_varnames
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _names(const, locals_too)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    seen: dict[int, bool] = {}
    for item in items:
        if item.get_closest_marker("integration") is not None:
            continue
        if any(item.path.is_relative_to(folder) for folder in INTEGRATION_FOLDERS):
            item.add_marker(pytest.mark.integration)
            continue
        fixtures = getattr(item, "_fixtureinfo", None)
        fixture_funcs = [
            definition.func
            for definitions in (fixtures.name2fixturedefs.values() if fixtures else ())
            for definition in definitions
        ]
        if any(
            _starts_something_real(func, seen)
            for func in [getattr(item, "obj", None), *fixture_funcs]
        ):
            item.add_marker(pytest.mark.integration)
