"""``--metrics HOST:PORT`` for ``run`` and ``service install``: the flags, checked, then served."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    from app.core.events import TunnelStatus
    from app.core.listen_address import ListenAddress
    from app.services.metrics import MetricsEndpoint

ALLOW_FLAG = "--metrics-allow-remote"
P = TypeVar("P", bound=argparse.ArgumentParser)


def metrics_flags_parent(whose: str, kind: type[P]) -> P:
    """The flags as a parent parser of class ``kind`` (``add_parser(parents=[...])``)."""
    parent = kind(add_help=False)
    add_metrics_flags(parent, whose)
    return parent


def add_metrics_flags(command: argparse.ArgumentParser, whose: str) -> None:
    """``--metrics`` and ``--metrics-allow-remote``, for ``whose`` tunnels."""
    command.add_argument(
        "--metrics",
        metavar="HOST:PORT",
        help=f"serve Prometheus metrics of {whose} at http://HOST:PORT/metrics (such as "
        "127.0.0.1:9464; a bare PORT listens on 127.0.0.1)",
    )
    command.add_argument(
        ALLOW_FLAG,
        action="store_true",
        help="let --metrics listen on an address other machines can reach (no sign-in)",
    )


def metrics_address(args: argparse.Namespace) -> ListenAddress | None:
    """The ``--metrics`` address, checked (None without the flag); a line on standard error
    when it reaches beyond this machine. Raises BadListenAddress, MetricsNotLoopback."""
    if args.metrics is None:
        if args.metrics_allow_remote:
            print(
                f"tunnelkeeper: warning: {ALLOW_FLAG} does nothing without --metrics.",
                file=sys.stderr,
            )
        return None
    from app.services.metrics import metrics_address as checked
    from app.services.metrics import remote_warning

    address = checked(args.metrics, args.metrics_allow_remote, ALLOW_FLAG)
    if not address.loopback:
        print(f"tunnelkeeper: warning: {remote_warning(address)}", file=sys.stderr)
    return address


def metrics_flags(args: argparse.Namespace) -> tuple[str, ...]:
    """The flags that give a ``run`` started elsewhere (the service) the same endpoint."""
    if metrics_address(args) is None:
        return ()
    return ("--metrics", args.metrics, *([ALLOW_FLAG] if args.metrics_allow_remote else []))


class Endpoint(Protocol):
    """What `run` starts and closes: its control endpoint."""

    def start(self) -> None: ...

    def close(self) -> None: ...


class WithMetrics:
    """A run's control endpoint and, when ``address`` is given, its ``/metrics`` endpoint:
    started and closed together."""

    def __init__(
        self,
        control: Callable[[], Endpoint],
        statuses: Callable[[], list[TunnelStatus]],
        address: ListenAddress | None,
    ) -> None:
        self._make_control = control
        self._control: Endpoint | None = None
        self._statuses = statuses
        self._address = address
        self.metrics: MetricsEndpoint | None = None

    def start(self) -> None:
        """Start both, metrics first: MetricsUnavailable when its address cannot be listened
        on, and then the control endpoint is not even made."""
        if self._address is not None:
            from app.services.metrics import MetricsEndpoint

            endpoint = MetricsEndpoint(self._statuses, self._address)
            endpoint.start()  # logs the URL it serves
            self.metrics = endpoint
        self._control = self._make_control()
        self._control.start()

    def close(self) -> None:
        if self.metrics is not None:
            self.metrics.close()
        if self._control is not None:
            self._control.close()
