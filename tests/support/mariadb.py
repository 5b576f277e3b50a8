"""A throwaway MariaDB server on loopback, started from Debian's mariadbd and stopped by its PID."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymysql

from tests.support.net import free_port

MARIADBD = shutil.which("mariadbd", path="/usr/sbin:/usr/local/sbin") or "/usr/sbin/mariadbd"
INSTALL_DB = shutil.which("mariadb-install-db") or "/usr/bin/mariadb-install-db"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
# sun_path is 108 bytes on Linux; leave room for the terminating NUL and some slack.
_MAX_SOCKET_PATH = 100


def mariadb_available() -> bool:
    """True when both the server and the datadir bootstrapper are installed."""
    return os.access(MARIADBD, os.X_OK) and os.access(INSTALL_DB, os.X_OK)


class MariaDB:
    """A mariadbd with its own datadir, socket and port; nothing read from /etc/mysql."""

    user = "tunnelkeeper"
    password = "tk-test-password"  # a throwaway server on loopback only

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.datadir = self.dir / "data"
        self.tmpdir = self.dir / "tmp"
        self.log_file = self.dir / "mariadbd.err"
        self.pid_file = self.dir / "mariadbd.pid"
        self._socket_dir: Path | None = None
        socket_path = self.dir / "mariadbd.sock"
        if len(str(socket_path)) > _MAX_SOCKET_PATH:
            self._socket_dir = Path(tempfile.mkdtemp(prefix="tk-mdb-"))
            socket_path = self._socket_dir / "mariadbd.sock"
        self.socket = socket_path
        self.proc: subprocess.Popen[bytes] | None = None

    def _user_args(self) -> list[str]:
        # mariadbd refuses to run as root unless told to; as anyone else --user is moot.
        return ["--user=root"] if os.geteuid() == 0 else []

    def install(self) -> None:
        """Create the system tables in a fresh datadir (the account comes from --init-file)."""
        result = subprocess.run(
            [
                INSTALL_DB,
                "--no-defaults",
                f"--datadir={self.datadir}",
                "--auth-root-authentication-method=socket",
                "--skip-test-db",
                "--skip-name-resolve",
                *self._user_args(),
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            output = f"{result.stdout}\n{result.stderr}"
            raise RuntimeError(f"mariadb-install-db failed ({result.returncode}):\n{output}")

    def start(self, timeout: float = START_TIMEOUT) -> None:
        self.install()
        self.tmpdir.mkdir(exist_ok=True)
        # Bootstrap runs with --skip-grant-tables, so the account is made at first start.
        init = self.dir / "init.sql"
        init.write_text(
            f"CREATE USER IF NOT EXISTS '{self.user}'@'%' IDENTIFIED BY '{self.password}';\n"
            f"GRANT ALL PRIVILEGES ON *.* TO '{self.user}'@'%';\n"
        )
        self.proc = subprocess.Popen(
            [
                MARIADBD,
                "--no-defaults",  # must stay first: never read /etc/mysql
                f"--datadir={self.datadir}",
                f"--socket={self.socket}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                "--skip-networking=0",
                "--skip-name-resolve",
                f"--pid-file={self.pid_file}",
                f"--log-error={self.log_file}",
                f"--tmpdir={self.tmpdir}",
                f"--init-file={init}",
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_bin",
                "--innodb-buffer-pool-size=64M",
                "--innodb-flush-log-at-trx-commit=2",
                "--max-allowed-packet=64M",
                *self._user_args(),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_error = "not tried"
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                code = None if self.proc is None else self.proc.returncode
                raise RuntimeError(f"mariadbd exited ({code}) while starting; log:\n{self.log()}")
            try:
                with self.connect(connect_timeout=2) as conn, conn.cursor() as cursor:
                    cursor.execute("SELECT 1")
                    if cursor.fetchone() == (1,):
                        return
            except pymysql.err.MySQLError as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            time.sleep(0.1)
        raise RuntimeError(
            f"mariadbd did not accept connections on 127.0.0.1:{self.port} within {timeout:g} s "
            f"(last error: {last_error}); log:\n{self.log()}"
        )

    def connect(self, port: int | None = None, **options: Any) -> pymysql.connections.Connection:
        """A PyMySQL connection over TCP to ``port`` (default: the server's own port)."""
        settings: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.port if port is None else port,
            "user": self.user,
            "password": self.password,
            "charset": "utf8mb4",
            "connect_timeout": 10,
            "read_timeout": 120,
            "write_timeout": 120,
            "autocommit": False,
        }
        settings.update(options)
        return pymysql.connect(**settings)

    def stop(self) -> None:
        """Shut down the mariadbd we started (SIGTERM, then SIGKILL) and wait for it."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None

    def log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""


@contextlib.contextmanager
def running_mariadb(workdir: Path) -> Iterator[MariaDB]:
    """Start a MariaDB in ``workdir`` and stop it again, whatever happens meanwhile."""
    server = MariaDB(workdir)
    try:
        server.start()
        yield server
    finally:
        server.stop()
