"""A real, private Secret Service: our own session D-Bus and an unlocked gnome-keyring-daemon."""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO
from xml.sax.saxutils import escape

import pytest
import secretstorage
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import DBusConnection, open_dbus_connection
from secretstorage.collection import DEFAULT_COLLECTION
from secretstorage.exceptions import SecretStorageException

DBUS_DAEMON = shutil.which("dbus-daemon") or "/usr/bin/dbus-daemon"
GNOME_KEYRING = shutil.which("gnome-keyring-daemon") or "/usr/bin/gnome-keyring-daemon"
SECRETS_BUS_NAME = "org.freedesktop.secrets"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
APT_PACKAGES = "dbus-daemon gnome-keyring"

# No <servicedir>: nothing is ever bus-activated, so every process on this bus is one we
# started, and no unlock prompt can appear (gnome-keyring dismisses prompts at once).
_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def secret_service_available() -> bool:
    """True when both daemons are installed (``make test`` installs them)."""
    return os.access(DBUS_DAEMON, os.X_OK) and os.access(GNOME_KEYRING, os.X_OK)


class PrivateSecretService:
    """A session bus plus gnome-keyring in a throwaway HOME; stopped by the PIDs we started."""

    password = "tk-test-login-keyring"  # unlocks the throwaway login keyring only

    def __init__(self) -> None:
        # Short, private root: a unix socket path must stay under 108 bytes.
        self.root = Path(tempfile.mkdtemp(prefix="tk-ss-"))
        self.home = self.root / "home"
        self.data_home = self.root / "data"
        self.config_home = self.root / "config"
        self.cache_home = self.root / "cache"
        self.runtime_dir = self.root / "run"
        for folder in (self.home, self.data_home, self.config_home, self.cache_home):
            folder.mkdir(mode=0o700)
        self.runtime_dir.mkdir(mode=0o700)
        self.bus_config = self.root / "bus.conf"
        self.bus_config.write_text(_BUS_CONFIG.format(socket=escape(str(self.runtime_dir / "bus"))))
        self.keyring_log = self.root / "gnome-keyring.log"
        self.bus_log = self.root / "dbus-daemon.log"
        self.address = ""
        self.bus: subprocess.Popen[bytes] | None = None
        self.keyring: subprocess.Popen[bytes] | None = None

    # --- lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        try:
            self._start_bus()
            self._start_keyring()
        except BaseException:
            self.stop()
            raise

    def _start_bus(self) -> None:
        with self.bus_log.open("wb") as log:
            self.bus = subprocess.Popen(
                [
                    DBUS_DAEMON,
                    f"--config-file={self.bus_config}",
                    "--nofork",
                    "--nopidfile",
                    "--print-address=1",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                env=self._env(),
            )
        assert self.bus.stdout is not None
        self.address = _read_line(self.bus.stdout, START_TIMEOUT)
        if not self.address.startswith("unix:"):
            raise RuntimeError(
                f"dbus-daemon did not print its address (got {self.address!r}):\n"
                + self.bus_log.read_text(errors="replace")
            )

    def _start_keyring(self) -> None:
        with self.keyring_log.open("wb") as log:
            self.keyring = subprocess.Popen(
                [
                    GNOME_KEYRING,
                    "--foreground",
                    "--unlock",
                    "--components=secrets",
                    f"--control-directory={self.runtime_dir / 'keyring'}",
                ],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=log,
                env=self._env(),
            )
        assert self.keyring.stdin is not None
        # --unlock reads the login keyring's password from stdin up to EOF; a fresh
        # XDG_DATA_HOME means it creates that keyring, unlocked, with this password.
        self.keyring.stdin.write(self.password.encode())
        self.keyring.stdin.close()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._ready():
            if self.keyring.poll() is not None:
                raise RuntimeError(
                    f"gnome-keyring-daemon exited with {self.keyring.returncode}:\n{self.log()}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"gnome-keyring-daemon did not serve an unlocked default collection "
                    f"within {START_TIMEOUT} s:\n{self.log()}"
                )
            time.sleep(0.05)

    def _ready(self) -> bool:
        """The secrets name is owned and the default (login) collection is unlocked."""
        try:
            with self.connection() as conn:
                reply = conn.send_and_get_reply(message_bus.NameHasOwner(SECRETS_BUS_NAME))
                if not reply.body[0]:
                    return False
                return not secretstorage.Collection(conn, DEFAULT_COLLECTION).is_locked()
        except (OSError, SecretStorageException):
            return False

    def _env(self) -> dict[str, str]:
        """A minimal environment: nothing of the real desktop session leaks in."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "XDG_DATA_HOME": str(self.data_home),
            "XDG_CONFIG_HOME": str(self.config_home),
            "XDG_CACHE_HOME": str(self.cache_home),
            "XDG_RUNTIME_DIR": str(self.runtime_dir),
            "LANG": "C.UTF-8",
        }
        if self.address:
            env["DBUS_SESSION_BUS_ADDRESS"] = self.address
        return env

    def stop_keyring(self) -> None:
        """Stop gnome-keyring only: the bus stays, the Secret Service is gone."""
        _stop(self.keyring)

    def stop(self) -> None:
        """Stop both daemons by the PIDs we started and remove the throwaway folders."""
        _stop(self.keyring)
        _stop(self.bus)
        if self.bus is not None and self.bus.stdout is not None:
            self.bus.stdout.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        try:
            return self.keyring_log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # --- looking inside -------------------------------------------------------------

    @contextlib.contextmanager
    def connection(self) -> Iterator[DBusConnection]:
        """A D-Bus connection to this private bus (whatever the environment says)."""
        conn = open_dbus_connection(bus=self.address)
        try:
            yield conn
        finally:
            conn.close()

    def lock_default_collection(self) -> None:
        with self.connection() as conn:
            collection = secretstorage.Collection(conn, DEFAULT_COLLECTION)
            collection.lock()
            if not collection.is_locked():
                raise RuntimeError("the default collection did not lock")

    def default_collection_locked(self) -> bool:
        with self.connection() as conn:
            return secretstorage.Collection(conn, DEFAULT_COLLECTION).is_locked()

    def items(self, attributes: dict[str, str]) -> list[dict[str, str]]:
        """Attributes of every item in any collection matching ``attributes`` (no secrets)."""
        with self.connection() as conn:
            return [item.get_attributes() for item in secretstorage.search_items(conn, attributes)]

    def secret_of(self, attributes: dict[str, str]) -> str | None:
        """The secret of the one item matching ``attributes`` in the default collection."""
        with self.connection() as conn:
            collection = secretstorage.Collection(conn, DEFAULT_COLLECTION)
            found = list(collection.search_items(attributes))
            if not found:
                return None
            assert len(found) == 1, f"{len(found)} items match {attributes}"
            return found[0].get_secret().decode("utf-8")


def _read_line(stream: IO[bytes], timeout: float) -> str:
    """The first line a child prints, waiting at most ``timeout`` seconds for it."""
    fd = stream.fileno()
    data = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in data:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace").split("\n", 1)[0].strip()


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(STOP_TIMEOUT)


@contextlib.contextmanager
def running_secret_service(monkeypatch: pytest.MonkeyPatch) -> Iterator[PrivateSecretService]:
    """Start the pair, point this process's D-Bus clients at it, and undo it all after."""
    if not secret_service_available():
        pytest.skip(f"a Secret Service needs dbus-daemon and gnome-keyring ({APT_PACKAGES})")
    service = PrivateSecretService()
    service.start()
    try:
        with monkeypatch.context() as patch:
            patch.setenv("DBUS_SESSION_BUS_ADDRESS", service.address)
            yield service
    finally:
        service.stop()


@pytest.fixture(name="secret_service")
def secret_service_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[PrivateSecretService]:
    """A private, unlocked Secret Service for one test; DBUS_SESSION_BUS_ADDRESS points at it."""
    with running_secret_service(monkeypatch) as service:
        yield service
