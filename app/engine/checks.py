"""The connection test: seven checks from configuration to end-to-end delivery."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from app import ssh
from app.core.jump import Hop, route_label
from app.core.portclash import listen_label, same_port
from app.core.profile import Profile
from app.core.proxy import Route
from app.engine.check_results import NAMES, CheckResult, NotPassed, Outcome, Report
from app.engine.delivery import GREETING_WAIT, check_delivery, check_target
from app.engine.forward import Counters, Forwarder
from app.engine.route import hops_of, route_for
from app.errors import (
    Action,
    AuthRejected,
    ForwardRefused,
    ProxyAuthFailed,
    ProxyNoAnswer,
    ProxyRefused,
    ProxyTrouble,
    StoredPassphraseWrong,
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

CHECK_TIMEOUT = 10.0
DROPPED = "try again; the connection dropped."
PORT_REFUSED = (
    "check the allocated port (and bind address) the vendor shows; if a tunnel with this key "
    "runs on another machine, stop it first."
)

KeyLoader = Callable[[Profile], Any]
RunningLookup = Callable[[str], int | None]  # tunnel name -> pid of a run holding it
Step = Callable[[], str]  # one check: its detail when it passes; raises NotPassed


class ConnectionTest:
    """Runs the checks in order; ``report`` is called as each one finishes.

    Checks 1-5 each need the one before; the target (6) is checked whatever they found.
    A stored passphrase that is wrong (``StoredPassphraseWrong``) is no failed check: it
    ends the test and is raised, for the front end to ask the person for the passphrase.
    ``neighbours`` are the other tunnels on this computer: a refused port names the one
    that asks the same jumphost for it.
    """

    def __init__(
        self,
        profile: Profile,
        known_hosts: Path,
        load_key: KeyLoader,
        running: RunningLookup,
        report: Report | None = None,
        timeout: float = CHECK_TIMEOUT,
        neighbours: Sequence[Profile] = (),
        proxy_password: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.profile = profile
        self._proxy_password = proxy_password  # for the proxy's user, if the route has one
        self._env = env  # for a `system` proxy; None: this process's environment
        self._neighbours = [n for n in neighbours if n.name != profile.name]
        self._known_hosts = known_hosts
        self._load_key = load_key
        self._running = running
        self._report = report or (lambda result: None)
        self._timeout = timeout
        self.results: list[CheckResult] = []
        self._key: Any = None
        self._session: ssh.Session | None = None
        # what the SSH handshake agreed (check 3), for diagnostics; empty before it
        self.negotiated: dict[str, str] = {}
        self._target_service: str | None = None
        self._target_ok = False
        self._held_by: int | None = None
        self._forwarder: Forwarder | None = None

    @property
    def passed(self) -> bool:
        return all(r.status is not Outcome.FAIL for r in self.results)

    def run(self) -> list[CheckResult]:
        steps: list[Step] = [
            self._configuration,
            self._reachable,
            self._host_key,
            self._authentication,
            self._forward,
        ]
        try:
            for number, step in enumerate(steps, 1):
                if not self._check(number, step):
                    for later in range(number + 1, len(steps) + 1):
                        self._record(later, Outcome.SKIPPED, "not run: an earlier check failed.")
                    break
            self._check(6, self._target)
            self._check(7, self._end_to_end)
        finally:
            self._close()
        return self.results

    def _check(self, number: int, step: Step) -> bool:
        """Run one check and record it; True if it passed."""
        started = time.monotonic()
        try:
            detail = step()
        except NotPassed as why:
            self._record(number, why.status, why.detail, why.remedy, started, why.action)
            return False
        self._record(number, Outcome.PASS, detail, started=started)
        return True

    def _record(
        self,
        number: int,
        status: Outcome,
        detail: str,
        remedy: str = "",
        started: float = 0.0,
        action: Action | None = None,
    ) -> None:
        seconds = time.monotonic() - started if started else 0.0
        result = CheckResult(number, NAMES[number], status, detail, remedy, seconds, action)
        self.results.append(result)
        self._report(result)

    def _live_session(self) -> ssh.Session:
        session = self._session
        assert session is not None  # the check before opened it
        return session

    # --- 1-5: this machine to the jumphost ------------------------------------------------

    def _configuration(self) -> str:
        try:
            self._key = self._load_key(self.profile)
        except StoredPassphraseWrong:
            raise  # no failed check: the person is asked for the passphrase again
        except TunnelkeeperError as exc:
            remedy = "fix the key file, or choose another key for this tunnel."
            raise NotPassed.of(exc, remedy, Action.EDIT) from None
        key = self._key
        return (
            f"profile is valid; key {ssh.display_type(key.get_name())} "
            f"{ssh.fingerprint(key)} loads."
        )

    def _reachable(self) -> str:
        endpoint = ssh.Endpoint(self.profile.jumphost, self.profile.ssh_port)
        try:
            route = route_for(self.profile, self._env)
        except TunnelkeeperError as exc:
            raise NotPassed.of(exc, "fix the proxy setting or the proxy variables.") from None
        hops = hops_of(self.profile)
        if hops:
            return self._through_jumps(endpoint, route, hops)
        if route.proxy is not None:
            return self._through_proxy(endpoint, route)
        started = time.monotonic()
        try:
            infos = socket.getaddrinfo(endpoint.host, endpoint.port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise NotPassed(
                f"the name {endpoint.host} does not resolve ({exc}).",
                "check the jumphost name the vendor gave you and this machine's DNS.",
            ) from None
        resolved = time.monotonic()
        address = infos[0][4][0]
        session = ssh.Session(endpoint, self._timeout, request_timeout=self._timeout)
        try:
            session.dial()
        except TunnelkeeperError as exc:
            raise NotPassed.of(
                exc,
                f"check the SSH port ({endpoint.port}) and that your firewall lets this "
                "machine open outbound TCP connections to it.",
            ) from None
        connected = time.monotonic()
        self._session = session
        lookup = (
            ""
            if address == endpoint.host
            else f"{endpoint.host} is {address} (resolved in "
            f"{(resolved - started) * 1000:.0f} ms); "
        )
        return (
            f"{route.why}; {lookup}TCP port {endpoint.port} of {address} answered in "
            f"{(connected - resolved) * 1000:.0f} ms."
        )

    def _through_proxy(self, endpoint: ssh.Endpoint, route: Route) -> str:
        """Check 2 through a proxy: the jumphost's name is the proxy's to resolve (and this
        machine may not be able to), so only the whole way is timed."""
        started = time.monotonic()
        session = ssh.Session(
            endpoint,
            self._timeout,
            request_timeout=self._timeout,
            route=route,
            proxy_password=self._proxy_password,
        )
        try:
            session.dial()
        except TunnelkeeperError as exc:
            raise NotPassed.of(exc, _proxy_remedy(exc, endpoint), Action.EDIT) from None
        self._session = session
        return (
            f"{route.why}: the proxy connected to {endpoint.label} in "
            f"{(time.monotonic() - started) * 1000:.0f} ms."
        )

    def _through_jumps(self, endpoint: ssh.Endpoint, route: Route, hops: tuple[Hop, ...]) -> str:
        """Check 2 through jump hosts: each hop's key checked as the jumphost's is and a
        login to it with the tunnel's key, then a channel to the jumphost's port."""
        try:
            parsed = read_known_hosts(self._known_hosts)
        except TunnelkeeperError as exc:
            raise NotPassed.of(exc, "fix or move the file, then trust the keys again.") from None
        started = time.monotonic()
        session = ssh.Session(
            endpoint,
            self._timeout,
            request_timeout=self._timeout,
            route=route,
            proxy_password=self._proxy_password,
            hops=hops,
        )
        jumps = ssh.JumpPlan(hops, self.profile.user, self._key, parsed, self.profile.name)
        try:
            session.dial(jumps)
        except TunnelkeeperError as exc:
            session.close()
            remedy = (
                _proxy_remedy(exc, endpoint)
                if isinstance(exc, ProxyTrouble)
                else (f"check that the jump hosts let this key through to {endpoint.label}.")
            )
            raise NotPassed.of(exc, remedy, Action.EDIT) from None
        self._session = session
        first = "" if route.proxy is None else f" ({route.why})"
        return (
            f"{route_label(hops)}{first}: connected to {endpoint.label} in "
            f"{(time.monotonic() - started) * 1000:.0f} ms."
        )

    def _host_key(self) -> str:
        try:
            parsed = read_known_hosts(self._known_hosts)
        except TunnelkeeperError as exc:
            raise NotPassed.of(exc, "fix or move the file, then trust the key again.") from None
        session = self._live_session()
        try:
            session.handshake(parsed)
            self.negotiated = session.negotiated()
            key = session.verify_host_key(parsed, self.profile.name)
        except TunnelkeeperError as exc:
            # a host key to look at brings its own remedy (and action); anything else is
            # connection trouble
            raise NotPassed.of(exc, "the jumphost did not complete an SSH handshake.") from None
        return f"{ssh.display_type(key.get_name())} {ssh.fingerprint(key)} matches the pinned key."

    def _authentication(self) -> str:
        try:
            self._live_session().authenticate(self.profile.user, self._key)
        except AuthRejected as exc:
            raise NotPassed.of(
                exc,
                "paste the public key into the vendor's SSH public key field, and check the "
                "user name.",
            ) from None
        except TunnelkeeperError as exc:
            raise NotPassed.of(exc, DROPPED) from None
        return f"user {self.profile.user} accepted with key {ssh.fingerprint(self._key)}."

    def _forward(self) -> str:
        profile = self.profile
        session = self._live_session()
        bind_label = f"{profile.forward_bind or '*'}:{profile.remote_port}"
        holder = self._running(profile.name)
        if holder is not None:
            self._held_by = holder
            return f"{bind_label} is held by this tunnel, running now (process {holder})."
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
            if profile.redundant:  # another machine of the pair holds it: as it should
                return (
                    f"the jumphost refused {bind_label}: another machine holds it. This "
                    "tunnel runs on other machines too, so this one will stand by and take "
                    "over when the port is free."
                )
            raise NotPassed(
                f"the jumphost refused to listen on {bind_label}.", self._refused_remedy()
            ) from None
        except TunnelkeeperError as exc:
            raise NotPassed.of(exc, DROPPED) from None
        self._forwarder = forwarder
        return f"the jumphost granted {bind_label}."

    def _refused_remedy(self) -> str:
        """Name a tunnel of this computer that wants the same port, before other machines."""
        profile = self.profile
        clashes = same_port(
            profile.jumphost,
            profile.ssh_port,
            profile.remote_port,
            profile.remote_bind,
            self._neighbours,
        )
        if not clashes:
            return PORT_REFUSED
        other = clashes[0]
        where = f"{listen_label(other)} on this jumphost"
        holder = self._running(other.name)
        if holder is not None:
            return (
                f"tunnel {other.name!r} on this computer uses {where} and is running now "
                f"(process {holder}): the vendor allocates one port per tunnel, so stop "
                f"{other.name!r} first, or ask the vendor for another port for this tunnel."
            )
        return (
            f"tunnel {other.name!r} on this computer is set up for {where} too: the vendor "
            f"allocates one port per tunnel, so if {other.name!r} runs (here, as a system "
            "service, or on another machine) stop it first, or ask the vendor for another "
            "port for this tunnel. Otherwise check the allocated port the vendor shows."
        )

    # --- 6-7: the target, here and through the jumphost -------------------------------------

    def _target(self) -> str:
        detail, self._target_service = check_target(self.profile, self._timeout)
        self._target_ok = True
        return detail

    def _end_to_end(self) -> str:
        session = self._session
        if session is None or not session.authenticated:
            raise NotPassed("not run: an earlier check failed.", status=Outcome.SKIPPED)
        if not self._target_ok:
            raise NotPassed("not run: the target is not reachable.", status=Outcome.SKIPPED)
        if self._forwarder is None and self._held_by is None:
            raise NotPassed("not run: the forward was not granted.", status=Outcome.SKIPPED)
        counters = self._forwarder.counters if self._forwarder else None
        return check_delivery(session, self.profile, counters, self._target_service, self._timeout)

    def _close(self) -> None:
        session = self._session
        if session is not None:
            session.cancel_forward()
        if self._forwarder is not None:
            self._forwarder.close_all(1.5)
        if session is not None:
            session.close()


def _proxy_remedy(exc: TunnelkeeperError, endpoint: ssh.Endpoint) -> str:
    if isinstance(exc, ProxyAuthFailed):
        return exc.remedy
    if isinstance(exc, ProxyRefused):
        return f"ask your network team to let the proxy connect to {endpoint.label}."
    if isinstance(exc, ProxyNoAnswer):
        return "check the proxy's host and port, and that it runs."
    return f"check that the jumphost {endpoint.label} is up and that the proxy can reach it."
