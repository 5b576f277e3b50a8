"""Process limits the tunnel needs: enough file descriptors for every forwarded socket."""

from __future__ import annotations

import contextlib
import sys

from app.engine.forward import MAX_CHANNELS


def raise_open_file_limit() -> None:
    """Each forwarded connection holds two sockets (up to MAX_CHANNELS of them); a soft limit
    of 1,024 would refuse them long before that, so lift it towards the hard limit."""
    if sys.platform == "win32":
        return
    import resource  # noqa: PLC0415 - POSIX only

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 2 * MAX_CHANNELS + 256
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    if soft != resource.RLIM_INFINITY and soft < want:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
