"""How fast the control API acts (issue 15): `disconnect` until the jumphost's port closes,
and a profile added under `run --all` until it is connected. Real sshd on loopback.

    .venv/bin/python bench/control.py [--rounds 5]

Prints the median and the spread of each, in seconds, measured from outside (the CLI as a
user runs it, the port as the vendor sees it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import start_jumphost  # noqa: E402
from tests.support.cli import APP, add_profile, stop, tk  # noqa: E402
from tests.support.net import echo_handler, port_is_listening, tcp_server  # noqa: E402
from tests.support.sshd import ssh_keygen  # noqa: E402

POLL = 0.01


def until(predicate: Callable[[], bool], timeout: float = 60.0) -> float:
    """Seconds until ``predicate()`` holds (polled every 10 ms)."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise TimeoutError("not within a minute")
        time.sleep(POLL)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    work = Path(tempfile.mkdtemp(prefix="tk-bench-control-"))
    os.environ["TUNNELKEEPER_HOME"] = str(work / "home")
    key = ssh_keygen(work / "id_tunnel")
    jump = start_jumphost(work / "jump", key)
    port = jump.remote_port
    disconnects, adds = [], []
    with tcp_server(echo_handler) as echo:
        runner = subprocess.Popen(
            [*APP, "run", "--all"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            until(lambda: tk("status", "--json").returncode == 0)
            for _ in range(rounds):
                started = time.monotonic()
                add_profile(jump, echo.port)
                assert tk("trust", "db", "--yes").returncode == 0
                until(lambda: port_is_listening(port))
                adds.append(time.monotonic() - started)
                started = time.monotonic()
                subprocess.Popen([*APP, "disconnect", "db"], cwd=ROOT, stdout=subprocess.DEVNULL)
                until(lambda: not port_is_listening(port))
                disconnects.append(time.monotonic() - started)
                assert tk("remove", "db").returncode == 0
                time.sleep(2.0)  # the follower notices the removal
        finally:
            stop(runner)
            jump.sshd.stop()
    for label, values in (
        ("`disconnect NAME` until the jumphost's port is closed", disconnects),
        ("profile added (`add` + `trust`) until the port listens, under `run --all`", adds),
    ):
        print(
            f"| {label} | {statistics.median(values):.2f} s | "
            f"{min(values):.2f} to {max(values):.2f} s | {len(values)} |"
        )


if __name__ == "__main__":
    main()
