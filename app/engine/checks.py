"""The connection test: seven checks from configuration to end-to-end delivery."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app import ssh
from app.core.greeting import POSTGRES_SSL_REQUEST, identify_greeting, identify_postgres_reply
from app.core.profile import Profile
from app.engine.check_results import NAMES, CheckResult, Outcome, Report
from app.engine.forward import Counters, Forwarder
from app.engine.probes import read_channel, read_some, wait_for
from app.errors import (
    AuthRejected,
    ForwardRefused,
    HostKeyChanged,
    HostKeyRevoked,
    HostKeyUnknown,
    TunnelkeeperError,
)
from app.storage.hostkeys import read as read_known_hosts

__all__ = [
    "CHECK_TIMEOUT",
    "GREETING_WAIT",
    "NAMES",
    "CheckResult",
    "ConnectionTest",
    "KeyLoader",
    "Outcome",
    "Report",
    "RunningLookup",
]

GREETING_WAIT = 1.5
CHECK_TIMEOUT = 10.0


KeyLoader = Callable[[Profile], Any]
RunningLookup = Callable[[str], int | None]  # tunnel name -> pid of a run holding it


class _Stop(Exception):
    """Later checks cannot run."""


class ConnectionTest:
    """Runs the checks in order; ``report`` is called as each one finishes."""

    def __init__(
        self,
        profile: Profile,
        known_hosts: Path,
        load_key: KeyLoader,
        running: RunningLookup,
        report: Report | None = None,
        timeout: float = CHECK_TIMEOUT,
    ) -> None:
        self.profile = profile
        self._known_hosts = known_hosts
        self._load_key = load_key
        self._running = running
        self._report = report or (lambda result: None)
        self._timeout = timeout
        self.results: list[CheckResult] = []
        self._session: ssh.Session | None = None
        self._target_service: str | None = None
        self._target_ok = False
        self._held_by: int | None = None
        self._forwarder: Forwarder | None = None

    @property
    def passed(self) -> bool:
        return all(r.status is not Outcome.FAIL for r in self.results)

    def _record(
        self, number: int, status: Outcome, detail: str, remedy: str = "", started: float = 0.0
    ) -> CheckResult:
        seconds = time.monotonic() - started if started else 0.0
        result = CheckResult(number, NAMES[number], status, detail, remedy, seconds)
        self.results.append(result)
        self._report(result)
        return result

    def run(self) -> list[CheckResult]:
        steps: list[Callable[[], None]] = [
            self._configuration,
            self._reachable,
            self._host_key,
            self._authentication,
            self._forward,
        ]
        try:
            for step in steps:
                step()
        except _Stop:
            for number in range(len(self.results) + 1, 6):
                self._record(number, Outcome.SKIPPED, "not run: an earlier check failed.")
        finally:
            target_started = time.monotonic()
            try:
                self._target(target_started)
                self._end_to_end()
            finally:
                self._close()
        return self.results

    # --- 1 ------------------------------------------------------------------------------

    def _configuration(self) -> None:
        started = time.monotonic()
        try:
            self._key = self._load_key(self.profile)
        except TunnelkeeperError as exc:
            self._record(
                1,
                Outcome.FAIL,
                str(exc),
                "fix the key file or choose another with `tunnelkeeper add NAME --replace`.",
                started,
            )
            raise _Stop from None
        self._record(
            1,
            Outcome.PASS,
            f"profile is valid; key {ssh.display_type(self._key.get_name())} "
            f"{ssh.fingerprint(self._key)} loads.",
            started=started,
        )

    # --- 2 ------------------------------------------------------------------------------

    def _reachable(self) -> None:
        endpoint = ssh.Endpoint(self.profile.jumphost, self.profile.ssh_port)
        started = time.monotonic()
        try:
            infos = socket.getaddrinfo(endpoint.host, endpoint.port, type=socket.SOCK_STREAM)
        except OSError as exc:
            self._record(
                2,
                Outcome.FAIL,
                f"the name {endpoint.host} does not resolve ({exc}).",
                "check the jumphost name the vendor gave you and this machine's DNS.",
                started,
            )
            raise _Stop from None
        resolved = time.monotonic()
        address = infos[0][4][0]
        session = ssh.Session(endpoint, self._timeout, request_timeout=self._timeout)
        try:
            session.dial()
        except TunnelkeeperError as exc:
            self._record(
                2,
                Outcome.FAIL,
                str(exc),
                f"check the SSH port ({endpoint.port}) and that your firewall lets this "
                "machine open outbound TCP connections to it.",
                started,
            )
            raise _Stop from None
        connected = time.monotonic()
        self._session = session
        lookup = (
            ""
            if address == endpoint.host
            else f"{endpoint.host} is {address} (resolved in "
            f"{(resolved - started) * 1000:.0f} ms); "
        )
        self._record(
            2,
            Outcome.PASS,
            f"{lookup}TCP port {endpoint.port} of {address} answered in "
            f"{(connected - resolved) * 1000:.0f} ms.",
            started=started,
        )

    # --- 3 ------------------------------------------------------------------------------

    def _host_key(self) -> None:
        started = time.monotonic()
        try:
            parsed = read_known_hosts(self._known_hosts)
        except TunnelkeeperError as exc:
            self._fail_stop(3, str(exc), "fix or move the file, then trust again.", started)
        session = self._session
        assert session is not None
        try:
            session.handshake(parsed)
            key = session.verify_host_key(parsed, self.profile.name)
        except HostKeyUnknown as exc:
            self._fail_stop(3, str(exc), f"run `tunnelkeeper trust {self.profile.name}`.", started)
        except (HostKeyChanged, HostKeyRevoked) as exc:
            self._fail_stop(
                3,
                str(exc),
                "ask the vendor whether the jumphost's key changed before trusting it again.",
                started,
            )
        except TunnelkeeperError as exc:
            self._fail_stop(3, str(exc), "the jumphost did not complete an SSH handshake.", started)
        self._record(
            3,
            Outcome.PASS,
            f"{ssh.display_type(key.get_name())} {ssh.fingerprint(key)} matches the pinned key.",
            started=started,
        )

    def _fail_stop(self, number: int, detail: str, remedy: str, started: float) -> None:
        self._record(number, Outcome.FAIL, detail, remedy, started)
        raise _Stop

    # --- 4 ------------------------------------------------------------------------------

    def _authentication(self) -> None:
        session = self._session
        assert session is not None
        started = time.monotonic()
        try:
            session.authenticate(self.profile.user, self._key)
        except AuthRejected as exc:
            self._fail_stop(
                4,
                str(exc),
                "paste the public key into the vendor's SSH public key field, and check the "
                "user name.",
                started,
            )
        except TunnelkeeperError as exc:
            self._fail_stop(4, str(exc), "try again; the connection dropped.", started)
        self._record(
            4,
            Outcome.PASS,
            f"user {self.profile.user} accepted with key {ssh.fingerprint(self._key)}.",
            started=started,
        )

    # --- 5 ------------------------------------------------------------------------------

    def _forward(self) -> None:
        profile = self.profile
        session = self._session
        assert session is not None
        started = time.monotonic()
        bind_label = f"{profile.forward_bind or '*'}:{profile.remote_port}"
        holder = self._running(profile.name)
        if holder is not None:
            self._held_by = holder
            self._record(
                5,
                Outcome.PASS,
                f"{bind_label} is held by this tunnel, running now (process {holder}).",
                started=started,
            )
            return
        forwarder = Forwarder(
            profile.forward_bind,
            profile.remote_port,
            (profile.target_host, profile.target_port),
            lambda detail: None,
            counters=Counters(),
        )
        session.install_gate(forwarder)
        forwarder.arm()
        try:
            session.request_forward(profile.forward_bind, profile.remote_port)
        except ForwardRefused:
            self._fail_stop(
                5,
                f"the jumphost refused to listen on {bind_label}.",
                "check the allocated port (and bind address) the vendor shows; if a tunnel "
                "with this key runs on another machine, stop it first.",
                started,
            )
        except TunnelkeeperError as exc:
            self._fail_stop(5, str(exc), "try again; the connection dropped.", started)
        self._forwarder = forwarder
        self._record(5, Outcome.PASS, f"the jumphost granted {bind_label}.", started=started)

    # --- 6 ------------------------------------------------------------------------------

    def _target(self, started: float) -> None:
        host, port = self.profile.target_host, self.profile.target_port
        label = self.profile.target
        try:
            sock = socket.create_connection((host, port), timeout=self._timeout)
        except OSError as exc:
            reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
            self._record(
                6,
                Outcome.FAIL,
                f"{label} did not accept a TCP connection from this machine ({reason}).",
                "start the database (or service), or fix the target host and port.",
                started,
            )
            return
        connect_ms = (time.monotonic() - started) * 1000
        with sock:
            greeting = read_some(sock, GREETING_WAIT)
            service = identify_greeting(greeting) if greeting else None
            if not greeting:
                with contextlib.suppress(OSError):
                    sock.sendall(POSTGRES_SSL_REQUEST)
                    service = identify_postgres_reply(read_some(sock, GREETING_WAIT)[:1])
        self._target_ok = True
        self._target_service = service
        what = service or "a service that did not identify itself"
        self._record(
            6,
            Outcome.PASS,
            f"{label} accepted TCP in {connect_ms:.0f} ms: {what}.",
            started=started,
        )

    # --- 7 ------------------------------------------------------------------------------

    def _end_to_end(self) -> None:
        started = time.monotonic()
        session = self._session
        if session is None or not session.authenticated:
            self._record(7, Outcome.SKIPPED, "not run: an earlier check failed.")
            return
        if not self._target_ok:
            self._record(7, Outcome.SKIPPED, "not run: the target is not reachable.")
            return
        if self._forwarder is None and self._held_by is None:
            self._record(7, Outcome.SKIPPED, "not run: the forward was not granted.")
            return
        bind = self.profile.forward_bind or "localhost"
        try:
            channel = session.open_direct(
                (bind, self.profile.remote_port), ("127.0.0.1", 0), self._timeout
            )
        except Exception:
            self._record(
                7,
                Outcome.SKIPPED,
                "the jumphost does not let this key connect to its own ports (vendors "
                "usually forbid it), so delivery could not be tried from here.",
                "use the vendor's own 'test connection' button.",
                started,
            )
            return
        try:
            channel.settimeout(self._timeout)
            counters = self._forwarder.counters if self._forwarder else None
            arrived = wait_for(lambda: counters is None or counters.total > 0, self._timeout)
            greeting = b""
            if self._target_service and not self._target_service.startswith("PostgreSQL"):
                greeting = read_channel(channel, GREETING_WAIT)
        finally:
            channel.close()
        service = identify_greeting(greeting) if greeting else None
        if not arrived:
            self._record(
                7,
                Outcome.FAIL,
                "a connection to the allocated port never came back through the tunnel.",
                "check the allocated port and bind address.",
                started,
            )
            return
        if (
            self._target_service
            and service is None
            and greeting == b""
            and (not self._target_service.startswith("PostgreSQL"))
        ):
            self._record(
                7,
                Outcome.FAIL,
                f"the connection came back but {self.profile.target} sent nothing through it.",
                "check the target host and port.",
                started,
            )
            return
        via = f" and {service} answered" if service else ""
        self._record(
            7,
            Outcome.PASS,
            f"a connection to the jumphost's port {self.profile.remote_port} reached "
            f"{self.profile.target}{via}.",
            started=started,
        )

    def _close(self) -> None:
        session = self._session
        if session is not None:
            session.cancel_forward()
        if self._forwarder is not None:
            self._forwarder.close_all(1.5)
        if session is not None:
            session.close()
