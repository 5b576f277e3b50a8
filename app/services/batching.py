"""What the history recorder and the alert watcher share: taking queued events in batches,
and knowing when their host has closed and gone quiet."""

from __future__ import annotations

import contextlib
import queue
import time
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from app.services.host import TunnelHost

Item = TypeVar("Item")


def take(waiting: queue.Queue[Item], wait: float, limit: int) -> list[Item]:
    """The items waiting in ``waiting`` (up to ``limit``), after up to ``wait`` s for the
    first; empty when none came."""
    try:
        items = [waiting.get(timeout=wait) if wait > 0 else waiting.get_nowait()]
    except queue.Empty:
        return []
    with contextlib.suppress(queue.Empty):
        while len(items) < limit:
            items.append(waiting.get_nowait())
    return items


def gone_quiet(host: TunnelHost, heard: float, linger: float) -> bool:
    """True once ``host`` is closing, hosts nothing and nothing was heard for ``linger`` s
    since ``heard`` (monotonic)."""
    return host.closing and not host.names() and time.monotonic() - heard > linger
