"""One app per user (and per TUNNELKEEPER_HOME): a second launch wakes the first and exits."""

from __future__ import annotations

import getpass
import hashlib

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

CONNECT_MS = 1000
SHOW = b"show\n"


def server_name(scope: str) -> str:
    """A local-socket name private to this user and this set of files."""
    digest = hashlib.sha256(f"{getpass.getuser()}\0{scope}".encode()).hexdigest()[:16]
    return f"tunnelkeeper-{digest}"


class SingleInstance(QObject):
    """``claim()`` is True for the first instance; later ones have told it to show itself."""

    show_requested = Signal()

    def __init__(self, scope: str) -> None:
        super().__init__()
        self.name = server_name(scope)
        self._server: QLocalServer | None = None
        self._peers: list[QLocalSocket] = []

    def claim(self) -> bool:
        if self._tell_running():
            return False
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.name):
            # a socket file left by a crashed instance: nobody answered, so it is stale
            QLocalServer.removeServer(self.name)
            if not server.listen(self.name):
                return not self._tell_running()
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

    def _tell_running(self) -> bool:
        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if not socket.waitForConnected(CONNECT_MS):
            return False
        socket.write(SHOW)
        socket.waitForBytesWritten(CONNECT_MS)
        socket.disconnectFromServer()
        return True

    def _arrived(self) -> None:
        server = self._server
        if server is None:
            return
        while server.hasPendingConnections():
            peer = server.nextPendingConnection()
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
