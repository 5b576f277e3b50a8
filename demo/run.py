"""`make demo`: a local vendor (OpenSSH sshd on loopback) and a target, then the app's wizard."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.platform.autostart import XdgAutostart  # noqa: E402
from app.storage.paths import HOME_ENV, app_paths  # noqa: E402
from app.ui.application import run  # noqa: E402
from app.ui.wizard import WizardPrefill  # noqa: E402
from tests.support.net import echo_handler, free_port, tcp_server  # noqa: E402
from tests.support.sshd import Sshd  # noqa: E402

WATCH_EVERY = 0.5  # seconds between looks for new public keys


class DemoVendor:
    """Plays the vendor: a restricted jumphost that accepts every key made in the demo home,
    as if the user had pasted it into the vendor's web page."""

    def __init__(self, workdir: Path, keys_dir: Path) -> None:
        self.sshd = Sshd(workdir / "jumphost")
        self.remote_port = free_port()
        self.keys_dir = keys_dir
        self._seen: set[Path] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="demo-vendor", daemon=True)

    def start(self) -> None:
        self.sshd.start()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2.0)
        self.sshd.stop()

    def authorize_new_keys(self) -> None:
        for public in sorted(self.keys_dir.glob("*.pub")):
            if public not in self._seen:
                self._seen.add(public)
                self.sshd.authorize_tunnel(public.with_suffix(""), f"localhost:{self.remote_port}")
                print(f"demo vendor: accepted the public key {public.name}", flush=True)

    def _watch(self) -> None:
        while not self._stop.wait(WATCH_EVERY):
            with contextlib.suppress(OSError):
                self.authorize_new_keys()

    def command(self, target_port: int) -> str:
        """What the vendor's page would show the user."""
        return (
            f"ssh -R {self.remote_port}:127.0.0.1:{target_port} "
            f"{self.sshd.user}@127.0.0.1 -p {self.sshd.port}"
        )


@contextlib.contextmanager
def demo_home(keep: str | None) -> Iterator[Path]:
    if keep:
        path = Path(keep).expanduser().resolve()
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="tunnelkeeper-demo-") as tmp:
        yield Path(tmp)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--home", help="keep the demo's files here (default: a temporary folder)")
    args = parser.parse_args(argv)
    with demo_home(args.home) as home, tcp_server(echo_handler) as target:
        app_home = home / "tunnelkeeper"
        os.environ[HOME_ENV] = str(app_home)  # anything reading the environment agrees
        paths = app_paths({HOME_ENV: str(app_home)})
        vendor = DemoVendor(home, paths.keys_dir)
        vendor.start()
        try:
            print(f"demo vendor: jumphost 127.0.0.1:{vendor.sshd.port}", flush=True)
            print(f"demo target: echo server on 127.0.0.1:{target.port}", flush=True)
            print(f"demo files:  {app_home} (your own settings are not touched)", flush=True)
            prefill = WizardPrefill(
                paste=vendor.command(target.port),
                target_host="127.0.0.1",
                target_port=target.port,
                name="demo",
            )
            # start-at-login entries go into the demo folder, not your session
            return run(prefill=prefill, paths=paths, autostart=XdgAutostart(home))
        finally:
            vendor.stop()


if __name__ == "__main__":
    sys.exit(main())
