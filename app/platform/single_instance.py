"""One app per user (and per TUNNELKEEPER_HOME): a second launch wakes the first and exits."""

from __future__ import annotations

import getpass
import hashlib
import logging
import os
from enum import Enum

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from app.platform.peers import peer_of
from app.storage.paths import AppPaths, private_dir, user_runtime_dir

log = logging.getLogger(__name__)

CONNECT_MS = 1000
SHOW = b"show\n"
SOCKET_NAME = "instance.sock"
# sun_path holds 104 bytes on macOS and 108 on Linux, the final NUL included
MAX_SOCKET_PATH = 100


def server_name(scope: str) -> str:
    """A local-socket name private to this user and this set of files (the Windows pipe)."""
    digest = hashlib.sha256(f"{getpass.getuser()}\0{scope}".encode()).hexdigest()[:16]
    return f"tunnelkeeper-{digest}"


def instance_address(paths: AppPaths) -> str:
    """Where the running app listens. On POSIX a socket in a folder only we can create
    things in (checked, made 0700 when missing; raises FolderNotPrivate otherwise), never a
    guessable name in the shared temporary folder; on Windows a named pipe, which
    ``UserAccessOption`` limits to this user."""
    if os.name != "posix":
        return server_name(str(paths.config_dir))
    path = private_dir(paths.runtime_dir) / SOCKET_NAME
    if len(os.fsencode(path)) > MAX_SOCKET_PATH:  # a deep TUNNELKEEPER_HOME: the user's own
        name = server_name(str(paths.config_dir)).replace("tunnelkeeper-", "instance-")
        path = private_dir(user_runtime_dir()) / name
    return str(path)


def peer_uid(descriptor: int) -> int | None:
    """The user id at the other end of a connected Unix socket, None when it cannot be told."""
    peer = peer_of(descriptor)
    return peer.uid if peer is not None else None


def _trusted(peer: QLocalSocket, also_root: bool) -> bool:
    """Whether the other end runs as us (or, for the server's callers, root)."""
    if os.name != "posix":
        return True  # the pipe's ACL already admits only this user
    uid = peer_uid(int(peer.socketDescriptor()))
    return uid == os.geteuid() or (also_root and uid == 0)


class Answer(Enum):
    RUNNING = "running"  # our own instance: it was told to show itself
    NOBODY = "nobody"
    STRANGER = "stranger"  # someone else's socket: told nothing


class SingleInstance(QObject):
    """``claim()`` is True for the first instance; later ones have told it to show itself."""

    show_requested = Signal()

    def __init__(self, address: str) -> None:
        super().__init__()
        self.name = address
        self._server: QLocalServer | None = None
        self._peers: list[QLocalSocket] = []

    @classmethod
    def for_paths(cls, paths: AppPaths) -> SingleInstance:
        return cls(instance_address(paths))

    def claim(self) -> bool:
        if self._tell_running() is Answer.RUNNING:
            return False
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.name):
            # a socket left by a crashed instance (or not ours): nobody of ours answered
            QLocalServer.removeServer(self.name)
            if not server.listen(self.name):
                log.warning("cannot listen on %s: %s", self.name, server.errorString())
                return self._tell_running() is not Answer.RUNNING
        server.newConnection.connect(self._arrived)
        self._server = server
        return True

    def release(self) -> None:
        for peer in self._peers:
            peer.abort()
        self._peers.clear()
        if self._server is not None:
            self._server.close()
            self._server = None

    def _tell_running(self) -> Answer:
        socket_ = QLocalSocket()
        socket_.connectToServer(self.name)
        if not socket_.waitForConnected(CONNECT_MS):
            return Answer.NOBODY
        if not _trusted(socket_, also_root=False):
            log.warning("%s is held by another user; not telling it anything", self.name)
            socket_.abort()
            return Answer.STRANGER
        socket_.write(SHOW)
        socket_.waitForBytesWritten(CONNECT_MS)
        socket_.disconnectFromServer()
        return Answer.RUNNING

    def _arrived(self) -> None:
        server = self._server
        if server is None:
            return
        while server.hasPendingConnections():
            peer = server.nextPendingConnection()
            if not _trusted(peer, also_root=True):
                log.warning("ignored a connection from another user to %s", self.name)
                peer.abort()
                continue
            self._peers.append(peer)
            peer.readyRead.connect(self._read)
            if peer.bytesAvailable():
                self._read_from(peer)

    def _read(self) -> None:
        peer = self.sender()
        if isinstance(peer, QLocalSocket):
            self._read_from(peer)

    def _read_from(self, peer: QLocalSocket) -> None:
        if bytes(peer.readAll().data()).startswith(SHOW.strip()):
            self.show_requested.emit()
        peer.disconnectFromServer()
