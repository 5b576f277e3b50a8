"""The hub against a real sshd: connect, disconnect, passphrases, events on the GUI thread."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.core.events import State, TunnelEvent
from app.engine.tunnel import Tunnel
from app.services.api import Services
from app.ssh import keys
from app.storage.paths import AppPaths
from app.storage.store import ProfileStore
from app.ui.hub import TunnelHub
from tests.app.ui.conftest import DEADLINE_MS, add, no_keychain
from tests.conftest import Jumphost
from tests.support.net import TcpServer, recv_exact


def test_events_reach_the_gui_thread_and_the_tunnel_forwards(
    qtbot: QtBot, hub: TunnelHub, tk_home: AppPaths, jumphost: Jumphost, echo: TcpServer
) -> None:
    add(tk_home, jumphost, echo.port)
    hub.reload()
    threads: list[threading.Thread] = []
    seen: list[TunnelEvent] = []
    hub.tunnel_event.connect(lambda e: (threads.append(threading.current_thread()), seen.append(e)))
    hub.connect_tunnel("db")
    qtbot.waitUntil(lambda: hub.states()["db"] is State.CONNECTED, timeout=DEADLINE_MS)
    assert {t is threading.main_thread() for t in threads} == {True}
    assert [e.state for e in seen][:2] == [State.CONNECTING, State.CONNECTING]
    with socket.create_connection(("127.0.0.1", jumphost.remote_port), timeout=10) as conn:
        conn.sendall(b"through the hub")
        assert recv_exact(conn, 15) == b"through the hub"
    qtbot.waitUntil(lambda: hub.rows()[0].status["total_connections"] == 1, timeout=DEADLINE_MS)

    hub.disconnect_tunnel("db")
    assert hub.rows()[0].status["detail"] == "disconnecting…"
    qtbot.waitUntil(lambda: not hub.is_running("db"), timeout=DEADLINE_MS)
    assert hub.states()["db"] is State.STOPPED
    assert hub.rows()[0].status["detail"] == "disconnected."


def test_an_unpinned_host_key_is_an_error_the_user_sees(
    qtbot: QtBot, hub: TunnelHub, tk_home: AppPaths, jumphost: Jumphost, echo: TcpServer
) -> None:
    ProfileStore(tk_home.profiles_file).add(jumphost.profile(echo.port, name="db"))
    hub.reload()
    hub.connect_tunnel("db")
    row = hub.rows()[0]
    assert row.state is State.ERROR
    assert "host key" in row.status["detail"] and "db" in row.status["detail"]


def test_an_encrypted_key_asks_for_its_passphrase_until_it_is_right(
    qtbot: QtBot, hub: TunnelHub, tk_home: AppPaths, jumphost: Jumphost, echo: TcpServer
) -> None:
    files = keys.key_files(tk_home.keys_dir, "locked")
    keys.generate(files, "locked", "right horse")
    jumphost.sshd.authorize_tunnel(files.private, f"localhost:{jumphost.remote_port}")
    add(tk_home, jumphost, echo.port, key_path=str(files.private))
    hub.reload()
    asked: list[tuple[str, bool]] = []
    hub.passphrase_wanted.connect(lambda name, wrong: asked.append((name, wrong)))

    hub.connect_tunnel("db")
    qtbot.waitUntil(lambda: asked == [("db", False)], timeout=DEADLINE_MS)
    assert hub.states()["db"] is State.STOPPED
    hub.provide_passphrase("db", "wrong horse", remember=False)
    qtbot.waitUntil(lambda: asked[-1:] == [("db", True)], timeout=DEADLINE_MS)
    hub.provide_passphrase("db", "right horse", remember=True)  # no keychain: memory only
    qtbot.waitUntil(lambda: hub.states()["db"] is State.CONNECTED, timeout=DEADLINE_MS)

    # the key stays in memory: disconnect and connect again without being asked
    hub.disconnect_tunnel("db")
    qtbot.waitUntil(lambda: not hub.is_running("db"), timeout=DEADLINE_MS)
    hub.connect_tunnel("db")
    qtbot.waitUntil(lambda: hub.states()["db"] is State.CONNECTED, timeout=DEADLINE_MS)
    assert len(asked) == 2
    log = tk_home.log_file.read_text() if tk_home.log_file.exists() else ""
    assert "horse" not in log


def test_remove_stops_the_tunnel_and_deletes_the_profile_but_not_the_key(
    qtbot: QtBot, hub: TunnelHub, tk_home: AppPaths, jumphost: Jumphost, echo: TcpServer
) -> None:
    add(tk_home, jumphost, echo.port)
    hub.reload()
    hub.connect_tunnel("db")
    qtbot.waitUntil(lambda: hub.states().get("db") is State.CONNECTED, timeout=DEADLINE_MS)
    hub.remove("db")
    qtbot.waitUntil(lambda: "db" not in hub.profiles, timeout=DEADLINE_MS)
    assert ProfileStore(tk_home.profiles_file).load() == {}
    assert Path(jumphost.key).exists()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", jumphost.remote_port), timeout=5).close()


def test_stop_all_ends_every_tunnel_within_five_seconds(
    qtbot: QtBot, tk_home: AppPaths, jumphost: Jumphost, echo: TcpServer
) -> None:
    hub = TunnelHub(Services(tk_home, no_keychain))
    add(tk_home, jumphost, echo.port)
    hub.reload()
    hub.connect_tunnel("db")
    qtbot.waitUntil(lambda: hub.states()["db"] is State.CONNECTED, timeout=DEADLINE_MS)
    with qtbot.waitSignal(hub.stopped_all, timeout=7_000):
        hub.stop_all()
    assert not hub.is_running("db")
    hub.connect_tunnel("db")  # after Quit began nothing starts again
    assert not hub.is_running("db")


def test_a_broken_profiles_file_is_reported_and_kept(
    qtbot: QtBot, hub: TunnelHub, tk_home: AppPaths
) -> None:
    tk_home.profiles_file.parent.mkdir(parents=True, exist_ok=True)
    tk_home.profiles_file.write_text("[tunnels.db\njumphost = 'x'\n")
    hub.reload()
    assert hub.profiles == {}
    assert hub.problem is not None and "could not be read" in str(hub.problem)
    assert tk_home.profiles_file.read_text().startswith("[tunnels.db\n")


def test_rows_come_from_the_reported_statuses_never_from_the_engine(
    qtbot: QtBot,
    hub: TunnelHub,
    tk_home: AppPaths,
    jumphost: Jumphost,
    echo: TcpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def asked(self: Tunnel) -> dict[str, object]:
        raise AssertionError("the GUI asked an engine for its status")

    monkeypatch.setattr(Tunnel, "status", asked)
    add(tk_home, jumphost, echo.port)
    hub.reload()
    seen: list[TunnelEvent] = []
    hub.tunnel_event.connect(seen.append)
    hub.connect_tunnel("db")
    # the host keeps the status at once; its event reaches this thread queued, a moment later
    qtbot.waitUntil(lambda: bool(seen) and seen[-1].state is State.CONNECTED, timeout=DEADLINE_MS)
    assert hub.rows()[0].snapshot is seen[-1].status
    with socket.create_connection(("127.0.0.1", jumphost.remote_port), timeout=10) as conn:
        conn.sendall(b"live figures")
        assert recv_exact(conn, 12) == b"live figures"
    # no event for traffic: the figures come from the worker's status reports
    qtbot.waitUntil(lambda: hub.rows()[0].snapshot.bytes_to_target == 12, timeout=DEADLINE_MS)
    assert hub.connected_pid("db") is not None
    hub.disconnect_tunnel("db")
    qtbot.waitUntil(lambda: not hub.is_running("db"), timeout=DEADLINE_MS)
    assert hub.rows()[0].status["detail"] == "disconnected."
    assert hub.connected_pid("db") is None
