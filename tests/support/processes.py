"""Stopping a process the tests started: by its PID, SIGTERM first, SIGKILL as a last resort."""

from __future__ import annotations

import subprocess
from typing import Any


def terminate(proc: subprocess.Popen[Any], timeout: float = 10) -> None:
    """SIGTERM ``proc`` and wait up to ``timeout`` s; then SIGKILL it and wait again."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)
