"""One host per tunnel: a port claimed by one process is refused to every other."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from app.core.profile import Profile
from app.storage.claims import Claims, Holder


def profile(name: str = "warehouse", port: int = 20001) -> Profile:
    return Profile(name, "Jump.example", "sshtunnel", port, "db", 5432, "/k")


def test_a_claim_is_refused_to_another_holder_and_named(tmp_path: Path) -> None:
    app, run = Claims(tmp_path / "claims", "app"), Claims(tmp_path / "claims", "run")
    assert app.claim(profile()) is None
    assert app.claim(profile()) is None  # ours already
    holder = run.claim(profile("other-name"))  # the same port under another name
    assert holder is not None and (holder.tunnel, holder.kind) == ("warehouse", "app")
    assert run.holder(profile()) == holder
    assert run.claim(profile(port=20002)) is None  # another port is free
    app.release("warehouse")
    assert run.holder(profile()) is None and run.claim(profile()) is None
    assert (tmp_path / "claims").stat().st_mode & 0o777 == 0o700


def test_a_claim_ends_with_its_process(tmp_path: Path) -> None:
    folder = tmp_path / "claims"
    code = (
        "import sys; from app.core.profile import Profile; from app.storage.claims import Claims;"
        "c = Claims(__import__('pathlib').Path(sys.argv[1]), 'run');"
        "p = Profile('warehouse', 'Jump.example', 'sshtunnel', 20001, 'db', 5432, '/k');"
        "assert c.claim(p) is None;"
        "print('held', flush=True); sys.stdin.read()"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(folder)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        mine = Claims(folder, "app")
        assert mine.holder(profile()) == Holder("warehouse", "run", holder.pid)
    finally:
        holder.kill()
        holder.wait(10)
        for stream in (holder.stdin, holder.stdout):
            if stream is not None:
                stream.close()
    assert mine.claim(profile()) is None  # the killed process's claim went with it
