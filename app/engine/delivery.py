"""Checks 6 and 7 of the connection test: the target answers here, and through the jumphost."""

from __future__ import annotations

import contextlib
import socket
import time

from app import ssh
from app.core.greeting import POSTGRES_SSL_REQUEST, identify_greeting, identify_postgres_reply
from app.core.profile import Profile
from app.engine.check_results import NotPassed, Outcome
from app.engine.forward import Counters
from app.engine.probes import read_channel, read_some, wait_for
from app.errors import os_reason

GREETING_WAIT = 1.5  # seconds a service that speaks first has to say hello


def _speaks_first(service: str | None) -> bool:
    """PostgreSQL waits for the client; the services we identify otherwise greet first."""
    return bool(service) and not str(service).startswith("PostgreSQL")


def check_target(profile: Profile, timeout: float) -> tuple[str, str | None]:
    """Check 6: the target accepts TCP from this machine. Returns the check's detail and
    the service the target identified itself as (None: it did not say); raises NotPassed."""
    label = profile.target
    started = time.monotonic()
    try:
        sock = socket.create_connection((profile.target_host, profile.target_port), timeout)
    except OSError as exc:
        reason = os_reason(exc)
        raise NotPassed(
            f"{label} did not accept a TCP connection from this machine ({reason}).",
            "start the database (or service), or fix the target host and port.",
        ) from None
    connect_ms = (time.monotonic() - started) * 1000
    with sock:
        greeting = read_some(sock, GREETING_WAIT)
        service = identify_greeting(greeting) if greeting else None
        if not greeting:
            with contextlib.suppress(OSError):
                sock.sendall(POSTGRES_SSL_REQUEST)
                service = identify_postgres_reply(read_some(sock, GREETING_WAIT)[:1])
    what = service or "a service that did not identify itself"
    return f"{label} accepted TCP in {connect_ms:.0f} ms: {what}.", service


def check_delivery(
    session: ssh.Session,
    profile: Profile,
    counters: Counters | None,
    service: str | None,
    timeout: float,
) -> str:
    """Check 7: a connection to the jumphost's allocated port reaches the target. The
    forward is ours (``counters`` see the connection arrive) or a running tunnel's (None);
    ``service`` is what check 6 found. Returns the check's detail; raises NotPassed."""
    bind = profile.forward_bind or "localhost"
    try:
        channel = session.open_direct((bind, profile.remote_port), ("127.0.0.1", 0), timeout)
    except Exception:
        raise NotPassed(
            "the jumphost does not let this key connect to its own ports (vendors usually "
            "forbid it), so delivery could not be tried from here.",
            "use the vendor's own 'test connection' button.",
            status=Outcome.SKIPPED,
        ) from None
    try:
        channel.settimeout(timeout)
        arrived = wait_for(lambda: counters is None or counters.total > 0, timeout)
        greeting = read_channel(channel, GREETING_WAIT) if _speaks_first(service) else b""
    finally:
        channel.close()
    if not arrived:
        raise NotPassed(
            "a connection to the allocated port never came back through the tunnel.",
            "check the allocated port and bind address.",
        )
    answered = identify_greeting(greeting) if greeting else None
    if _speaks_first(service) and not greeting:
        raise NotPassed(
            f"the connection came back but {profile.target} sent nothing through it.",
            "check the target host and port.",
        )
    via = f" and {answered} answered" if answered else ""
    return (
        f"a connection to the jumphost's port {profile.remote_port} reached {profile.target}{via}."
    )
