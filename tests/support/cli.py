"""Running the `tunnelkeeper` command as users do: a separate process."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.conftest import Jumphost

ROOT = Path(__file__).resolve().parents[2]
# How the tests start the app: this interpreter on the checkout (tests/build swaps in the
# frozen executable).
APP: tuple[str, ...] = (sys.executable, "-m", "app")


def tk(
    *args: str,
    input: str | None = None,
    timeout: float = 60,
    env: dict[str, str] | None = None,
    app: Sequence[str] = APP,
) -> subprocess.CompletedProcess[str]:
    """Run one command to completion (no terminal: stdin is empty unless ``input``)."""
    return subprocess.run(
        [*app, *args],
        capture_output=True,
        text=True,
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        timeout=timeout,
        cwd=ROOT,
        env=os.environ.copy() if env is None else env,
    )


def add_profile(
    host: Jumphost,
    target_port: int,
    name: str = "db",
    key: str | Path | None = None,
    env: dict[str, str] | None = None,
    app: Sequence[str] = APP,
) -> None:
    """`tunnelkeeper add` for a tunnel through ``host`` to 127.0.0.1:``target_port``."""
    result = tk(
        "add", name,
        "--jumphost", "127.0.0.1",
        "--ssh-port", str(host.port),
        "--user", host.sshd.user,
        "--remote-port", str(host.remote_port),
        "--target", f"127.0.0.1:{target_port}",
        "--key", str(key if key is not None else host.key),
        env=env,
        app=app,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def spawn_run(
    *names: str,
    env: dict[str, str] | None = None,
    stderr: int = subprocess.PIPE,
    app: Sequence[str] = APP,
) -> subprocess.Popen[str]:
    """`tunnelkeeper run NAMES --events json` in the background."""
    return subprocess.Popen(
        [*app, "run", *names, "--events", "json"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        cwd=ROOT,
        env=os.environ.copy() if env is None else env,
    )


def next_event(proc: subprocess.Popen[str]) -> dict[str, object]:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, "the process ended without another event"
    event: dict[str, object] = json.loads(line)
    return event


def stop(proc: subprocess.Popen[str], timeout: float = 10) -> tuple[str, str]:
    """SIGTERM (continuing it first if stopped) and collect its output; kill as a last resort."""
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGCONT)
        proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    return out or "", err or ""


def status_json() -> list[dict[str, object]]:
    """`tunnelkeeper status --json`: every hosted tunnel, from whichever process hosts it."""
    result = tk("status", "--json")
    assert result.returncode == 0, result.stderr
    listed: list[dict[str, object]] = json.loads(result.stdout)
    return listed


def tunnel_state(name: str) -> object:
    """Tunnel ``name``'s state as `status` shows it, or None when nothing hosts it."""
    return next((t["state"] for t in status_json() if t["tunnel"] == name), None)
