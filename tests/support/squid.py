"""A real Squid (Debian's `squid`) on a loopback port: Basic auth, CONNECT rules, access log."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.net import free_port, port_is_listening, wait_until
from tests.support.processes import terminate

SQUID = Path("/usr/sbin/squid")
NCSA_AUTH = Path("/usr/lib/squid/basic_ncsa_auth")
# Squid's NTLM helper that takes any user and password: it proves the message exchange
# (negotiate, challenge, authenticate on one connection), not a domain's password check.
NTLM_FAKE_AUTH = Path("/usr/lib/squid/ntlm_fake_auth")
RUN_AS = "proxy"  # the user Debian's package creates; Squid drops to it when started as root


def available() -> str | None:
    """Why Squid cannot run here, or None."""
    if not SQUID.exists() or not NCSA_AUTH.exists():
        return "squid is not installed (make prereqs installs it)"
    if shutil.which("openssl") is None:
        return "openssl (to hash the proxy password) is not installed"
    return None


class Squid:
    """One Squid in the foreground (``-N``), from its own folder; stopped by its PID.

    ``ssl_ports_only`` adds Squid's default rule ``http_access deny CONNECT !SSL_ports``
    (CONNECT only to port 443); without it CONNECT may go to ``allow_ports`` only.
    ``auth`` is "basic" (user and password checked) or "ntlm" (``NTLM_FAKE_AUTH``);
    ``tls`` makes it listen with TLS (``https_port``, a certificate for 127.0.0.1 in
    ``ca_file``) instead of plain HTTP.
    """

    def __init__(
        self,
        user: str = "alice",
        password: str = "wonderland",
        allow_ports: tuple[int, ...] = (),
        ssl_ports_only: bool = False,
        port: int | None = None,
        auth: str = "basic",
        tls: bool = False,
    ) -> None:
        # Squid's helpers run as RUN_AS and must read the folder: pytest's tmp_path is
        # root's alone, so the folder is one of ours in /tmp, removed by ``remove``.
        self.dir = Path(tempfile.mkdtemp(prefix="tk-squid-", dir="/tmp"))
        self.dir.chmod(0o755)
        self.port = port or free_port()
        self.user, self.password = user, password
        self.access_log = self.dir / "access.log"
        self.cache_log = self.dir / "cache.log"
        self.config = self.dir / "squid.conf"
        self.proc: subprocess.Popen[bytes] | None = None
        self.tls = tls
        self.ca_file = self.dir / "cert.pem"
        listen = f"http_port 127.0.0.1:{self.port}"
        if tls:
            self._make_certificate()
            key = self.dir / "key.pem"
            listen = f"https_port 127.0.0.1:{self.port} tls-cert={self.ca_file} tls-key={key}"
        passwd = self.dir / "passwd"
        hashed = (
            subprocess.run(
                ["openssl", "passwd", "-apr1", "-stdin"],
                input=password.encode(),
                capture_output=True,
                check=True,
            )
            .stdout.decode()
            .strip()
        )
        passwd.write_text(f"{user}:{hashed}\n")
        ports = " ".join(str(p) for p in allow_ports) or "1"
        rule = (
            "http_access deny CONNECT !SSL_ports"
            if ssl_ports_only
            else "http_access deny CONNECT !allowed_ports"
        )
        helper = (
            f"auth_param ntlm program {NTLM_FAKE_AUTH}\nauth_param ntlm children 2 startup=1"
            if auth == "ntlm"
            else f"auth_param basic program {NCSA_AUTH} {passwd}\n"
            "auth_param basic children 2 startup=1\nauth_param basic realm tunnelkeeper-test"
        )
        self.config.write_text(
            f"""{listen}
pid_filename {self.dir}/squid.pid
cache_effective_user {RUN_AS}
cache deny all
cache_mem 4 MB
access_log stdio:{self.access_log}
cache_log {self.cache_log}
cache_store_log none
coredump_dir {self.dir}
logfile_rotate 0
netdb_filename none
pinger_enable off
shutdown_lifetime 0 seconds
dns_v4_first on
{helper}
acl authed proxy_auth REQUIRED
acl SSL_ports port 443
acl allowed_ports port {ports}
{rule}
http_access allow authed
http_access deny all
"""
        )
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(RUN_AS)
            if os.geteuid() == 0:
                for path in self.dir.iterdir():
                    os.chown(path, entry.pw_uid, entry.pw_gid)
                os.chown(self.dir, entry.pw_uid, entry.pw_gid)

    def _make_certificate(self) -> None:
        """A self-signed certificate for 127.0.0.1 (its own CA) and its key, for Squid."""
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "ec",
                "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", str(self.dir / "key.pem"), "-out", str(self.ca_file),
                "-days", "2", "-subj", "/CN=127.0.0.1",
                "-addext", "subjectAltName=IP:127.0.0.1",
            ],
            capture_output=True,
            check=True,
        )  # fmt: skip

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.user}@127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        stderr = (self.dir / "stderr.log").open("ab")
        self.proc = subprocess.Popen(
            [str(SQUID), "-N", "-f", str(self.config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        stderr.close()  # the child has its own copy
        if not wait_until(self._up, timeout, interval=0.1):
            self.stop()
            log = self.cache_log.read_text() if self.cache_log.exists() else ""
            raise RuntimeError(f"squid did not start on port {self.port}: {log[-2000:]}")

    def _up(self) -> bool:
        if self.proc is None or self.proc.poll() is not None:
            return False
        return port_is_listening(self.port)

    def kill(self) -> None:
        """SIGKILL by PID: the proxy vanishes at once, its connections reset."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is None:
            return
        terminate(self.proc)
        self.proc = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def connects(self) -> list[str]:
        """The access log's CONNECT lines (Squid writes one when a tunnel ends)."""
        if not self.access_log.exists():
            return []
        return [line for line in self.access_log.read_text().splitlines() if " CONNECT " in line]


@contextlib.contextmanager
def running_squid(**options: object) -> Iterator[Squid]:
    why = available()
    if why is not None:
        pytest.skip(why)
    squid = Squid(**options)  # type: ignore[arg-type]
    try:
        squid.start()
        yield squid
    finally:
        squid.remove()
