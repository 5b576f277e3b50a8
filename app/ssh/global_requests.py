"""Global requests with a deadline: the remote forward and its cancel, keepalives."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from paramiko.ssh_exception import SSHException

from app.errors import ConnectionLost, ForwardRefused
from app.ssh.dialing import Endpoint

GLOBAL_REQUEST_TIMEOUT = 15.0
CANCEL_TIMEOUT = 1.5


class GlobalRequests:
    """Serialises global requests on one transport and enforces a deadline on each.

    paramiko's ``Transport.global_request`` waits forever and shares one completion
    event between callers, so two at once would confuse each other's replies.
    """

    def __init__(self, transport: Any, timeout: float = GLOBAL_REQUEST_TIMEOUT) -> None:
        self._transport = transport
        self._timeout = timeout
        self._lock = threading.Lock()

    def request(
        self, kind: str, data: tuple[Any, ...] | None, timeout: float | None = None
    ) -> Any | None:
        """Send and wait for the reply; ``None`` if denied. Closes the link on timeout."""
        deadline = self._timeout if timeout is None else timeout
        if not self._lock.acquire(timeout=deadline):
            raise TimeoutError(f"another global request is still waiting; {kind} not sent")
        try:
            return self._request_locked(kind, data, deadline)
        finally:
            self._lock.release()

    def _request_locked(self, kind: str, data: tuple[Any, ...] | None, deadline: float) -> Any:
        result: list[Any] = []
        done = threading.Event()

        def worker() -> None:
            try:
                result.append(self._transport.global_request(kind, data, wait=True))
            except Exception as exc:  # reported to the caller below
                result.append(exc)
            finally:
                done.set()

        thread = threading.Thread(target=worker, name=f"global-request-{kind}", daemon=True)
        thread.start()
        if not done.wait(deadline):
            # No reply: the link is dead or the server misbehaves; drop the connection,
            # which also ends the worker (global_request returns when inactive).
            self._transport.close()
            thread.join(2.0)
            raise TimeoutError(f"no reply to {kind} within {deadline:g} s")
        thread.join()
        outcome = result[0]
        if isinstance(outcome, Exception):
            raise outcome
        if not self._transport.is_active():
            raise EOFError("the connection closed while waiting for a reply")
        return outcome


def request_forward(requests: GlobalRequests, bind: str, port: int, endpoint: Endpoint) -> None:
    """Ask the jumphost to listen on ``bind:port`` (the exact ``ssh -R`` wire form)."""
    try:
        reply = requests.request("tcpip-forward", (bind, port))
    except (TimeoutError, EOFError, SSHException, OSError) as exc:
        raise ConnectionLost(endpoint.label, f"while requesting the forward: {exc}") from None
    if reply is None:
        raise ForwardRefused(bind or "*", port, endpoint.label)


def cancel_forward(requests: GlobalRequests, bind: str, port: int) -> None:
    with contextlib.suppress(Exception):
        requests.request("cancel-tcpip-forward", (bind, port), timeout=CANCEL_TIMEOUT)
