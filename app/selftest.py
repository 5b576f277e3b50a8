"""``--self-test``: does this installation have every part it needs to run?"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from app import __version__
from app.storage.paths import resources_dir

# The keyring backend each OS's keychain needs (names from keyring's entry points).
NATIVE_KEYRING = {"linux": "SecretService", "darwin": "macOS", "win32": "Windows"}
_MAX_DETAIL = 300
# Encrypts a key that exists for a second in a temporary folder (exercises bcrypt's KDF).
_THROWAWAY_PASSPHRASE = "self-test passphrase"  # noqa: S105


@dataclass(frozen=True)
class Outcome:
    """One check's result: its name, whether it passed, and a sentence about it."""

    name: str
    ok: bool
    detail: str


def format_line(outcome: Outcome) -> str:
    return f"{'ok' if outcome.ok else 'FAIL':<6}{outcome.name:<9}{outcome.detail}"


# --- checks ------------------------------------------------------------------------------

_qt_app: Any = None  # the QApplication the Qt check made; the icon check draws with it


def qt_platforms(environ: dict[str, str] | os._Environ[str], platform: str) -> str | None:
    """The QT_QPA_PLATFORM value to start with: the desktop's own platform first, the
    offscreen one as the fallback (None: leave Qt's default, which is always present)."""
    if environ.get("QT_QPA_PLATFORM"):
        return None
    if not platform.startswith("linux"):
        return None
    order = []
    if environ.get("WAYLAND_DISPLAY"):
        order.append("wayland")
    if environ.get("DISPLAY"):
        order.append("xcb")
    return ";".join([*order, "offscreen"])


def check_qt() -> Outcome:
    """Qt's modules (and the tray app's, qasync's) load and an application starts on the
    best platform available."""
    global _qt_app  # noqa: PLW0603 - one application per process, kept for the icon check
    chosen = qt_platforms(os.environ, sys.platform)
    if chosen is not None:
        os.environ["QT_QPA_PLATFORM"] = chosen
    import PySide6
    from PySide6 import QtNetwork  # noqa: F401 - the single-instance socket needs it
    from PySide6.QtCore import qVersion
    from PySide6.QtWidgets import QApplication

    _qt_app = QApplication.instance() or QApplication(["tunnelkeeper", "--self-test"])
    from app.ui import application  # noqa: F401 - the tray app's modules and qasync load

    platform = _qt_app.platformName()
    detail = f"PySide6 {PySide6.__version__}, Qt {qVersion()}, platform {platform}"
    wanted = (chosen or "").split(";")[0]
    if wanted and wanted != "offscreen" and platform == "offscreen":
        return Outcome(
            "Qt",
            False,
            f"{detail}: a display is set but Qt's {wanted} platform plugin did not load "
            "(QT_DEBUG_PLUGINS=1 shows which system library it misses)",
        )
    return Outcome("Qt", True, detail)


def check_keyring() -> Outcome:
    """keyring finds its backends (entry-point metadata bundled) including this OS's."""
    from importlib.metadata import entry_points

    from app.platform.passphrases import PassphraseStore

    points = {ep.name: ep for ep in entry_points(group="keyring.backends")}
    names = sorted(points)
    native = next((v for k, v in NATIVE_KEYRING.items() if sys.platform.startswith(k)), None)
    if not names:
        return Outcome("keyring", False, "no keyring backends registered (metadata missing)")
    if native is not None:
        if native not in points:
            return Outcome("keyring", False, f"the {native} backend is not registered")
        points[native].load()  # imports the backend's module, as keyring itself does
    problem = PassphraseStore().problem()
    found = f"{native or 'no native'} backend loaded ({len(names)} registered)"
    if problem is None:
        return Outcome("keyring", True, f"{found}; the keychain answers")
    return Outcome("keyring", True, f"{found}; keychain not usable in this session: {problem}")


def check_crypto() -> Outcome:
    """An encrypted ed25519 key is made, read back by the SSH layer, signs, and verifies."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from app import ssh
    from app.ssh import keys
    from app.ssh.about import library_version, signs_and_verifies

    with tempfile.TemporaryDirectory(prefix="tunnelkeeper-selftest-") as tmp:
        files = keys.key_files(Path(tmp), "self-test")
        keys.generate(files, "self-test", passphrase=_THROWAWAY_PASSPHRASE)
        key = ssh.load_private_key(files.private, _THROWAWAY_PASSPHRASE, name="self-test")
    data = b"tunnelkeeper self-test"
    if not signs_and_verifies(key, data):
        return Outcome("crypto", False, "an ed25519 signature did not verify")
    aead = AESGCM(bytes(16))
    if aead.decrypt(bytes(12), aead.encrypt(bytes(12), data, None), None) != data:
        return Outcome("crypto", False, "AES-GCM did not round-trip")
    return Outcome(
        "crypto",
        True,
        f"{library_version()}: encrypted ed25519 key made, read, signed, verified; AES-GCM works",
    )


def check_icons() -> Outcome:
    """Every bundled icon renders (the SVG icon engine is bundled with Qt)."""
    if _qt_app is None:
        return Outcome("icons", False, "skipped: Qt did not start")
    from PySide6.QtGui import QIcon

    folder = resources_dir() / "icons"
    files = sorted(folder.glob("*.svg"))
    if not files:
        return Outcome("icons", False, f"no icons in {folder}")
    broken = [f.name for f in files if QIcon(str(f)).pixmap(32, 32).isNull()]
    if broken:
        return Outcome(
            "icons", False, f"cannot draw {', '.join(broken)} (Qt's SVG plugins missing?)"
        )
    return Outcome("icons", True, f"{len(files)} icons drawn from {folder}")


def check_history() -> Outcome:
    """The tunnel history file (SQLite) is written and read back."""
    import time

    from app.core.events import State
    from app.core.history import Transition
    from app.storage.history import Batch, read, write_now

    with tempfile.TemporaryDirectory(prefix="tunnelkeeper-selftest-") as tmp:
        path = Path(tmp) / "history.sqlite3"
        now = time.time()
        batch = Batch(transitions=[("self-test", Transition(now, State.CONNECTED), True)])
        write_now(path, [batch], now)
        found = read(path, "self-test", now - 60, now - 60)
    if [t.state for t in found.transitions] != [State.CONNECTED]:
        return Outcome("history", False, "a transition written was not read back")
    import sqlite3

    return Outcome("history", True, f"SQLite {sqlite3.sqlite_version}: written and read back")


def check_network_parts() -> Outcome:
    """The parts strict networks and monitoring need load: TLS to a proxy (the system's
    trusted authorities), NTLM sign-in (pyspnego) and the metrics page (prometheus_client)."""
    import ssl

    import spnego
    from prometheus_client import generate_latest

    from app.core.events import State, TunnelStatus
    from app.services.metrics import metrics_registry

    context = ssl.create_default_context()
    authorities = len(context.get_ca_certs()) or "the system's"
    token = spnego.client("self-test", "x", hostname="proxy", protocol="ntlm").step()
    if not token or not token.startswith(b"NTLMSSP"):
        return Outcome("network", False, "pyspnego gave no NTLM negotiate message")
    page = generate_latest(metrics_registry(lambda: [TunnelStatus("t", State.CONNECTED, "")]))
    if b'tunnelkeeper_tunnel_up{tunnel="t"} 1.0' not in page:
        return Outcome("network", False, "the metrics page lacks tunnelkeeper_tunnel_up")
    return Outcome(
        "network",
        True,
        f"TLS with {authorities} authorities; NTLM messages; metrics page ({len(page)} bytes)",
    )


CHECKS: tuple[tuple[str, Callable[[], Outcome]], ...] = (
    ("Qt", check_qt),
    ("keyring", check_keyring),
    ("crypto", check_crypto),
    ("icons", check_icons),
    ("history", check_history),
    ("network", check_network_parts),
)


def run(out: TextIO) -> int:
    """Run every check, one line each; 0 when all pass, 1 otherwise."""
    frozen = " (frozen)" if getattr(sys, "frozen", False) else ""
    print(f"tunnelkeeper {__version__}{frozen} self-test", file=out, flush=True)
    outcomes = []
    for name, check in CHECKS:
        try:
            outcome = check()
        except Exception as exc:  # a broken build fails in any way; report it, go on
            text = " ".join(f"{type(exc).__name__}: {exc}".split())
            outcome = Outcome(name, False, text[:_MAX_DETAIL])
        outcomes.append(outcome)
        print(format_line(outcome), file=out, flush=True)
    failed = [o.name for o in outcomes if not o.ok]
    if failed:
        print(f"self-test failed: {', '.join(failed)}", file=out, flush=True)
        return 1
    print(f"self-test passed ({len(outcomes)} checks)", file=out, flush=True)
    return 0
