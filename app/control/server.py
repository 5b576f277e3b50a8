"""The control endpoint a host serves: a Unix socket only its owner (and root) may use."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from app.control.addresses import Address
from app.control.logtail import follow_lines, last_lines
from app.core import control
from app.core.control import BadRequest, HostKind, Op, Request
from app.core.events import TunnelEvent
from app.errors import TunnelkeeperError
from app.platform.peers import may_control, peer_of

log = logging.getLogger(__name__)

MAX_CLIENTS = 32  # controllers at once; more are turned away
EVENT_BACKLOG = 1000  # events waiting for a slow controller before it is cut off
IDLE_TIMEOUT = 600.0  # a controller that sends nothing for this long is hung up on
CLOSE_WAIT = 2.0  # seconds close() waits for the cancelled conversations to end


class Controller(Protocol):
    """What a host does for its controllers; the methods run on the server's loop."""

    kind: HostKind
    log_file: Path

    def hosted(self) -> list[dict[str, Any]]: ...
    async def connect(self, name: str) -> str: ...
    async def disconnect(self, name: str) -> str: ...
    async def reconnect(self, name: str) -> str: ...
    async def test(self, name: str) -> list[dict[str, Any]]: ...
    def listen(self, listener: Callable[[TunnelEvent], None]) -> Callable[[], None]: ...


class ControlServer:
    """Serves ``controller`` at ``address``: the socket file is made mode 0600 (0660 with
    ``group``, for the system service) in a folder the caller has checked, and every
    connection's peer is checked (SO_PEERCRED / getpeereid) before a byte is read."""

    def __init__(self, address: Address, controller: Controller, group: str | None = None):
        self.address = address
        self._controller = controller
        self._group = group
        self._server: asyncio.AbstractServer | None = None
        self._clients: set[asyncio.Task[None]] = set()  # admitted conversations
        self._tasks: set[asyncio.Task[None]] = set()  # every connection's, refused or not

    async def start(self) -> None:
        path = self.address.path
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # named after our pid: a leftover of a dead process of ours
        old = os.umask(0o117 if self._group else 0o177)  # never readable by others at bind
        try:
            self._server = await asyncio.start_unix_server(
                self._accept, path=str(path), limit=control.MAX_LINE + 1
            )
        finally:
            os.umask(old)
        os.chmod(path, 0o660 if self._group else 0o600)
        log.info("control endpoint at %s", path)

    async def close(self) -> None:
        """As ``close_now``, then wait (at most ``CLOSE_WAIT`` s) for the conversations
        to end: a loop stopped before they have would leave them to be destroyed pending."""
        tasks = [task for task in self._tasks if task is not asyncio.current_task()]
        self.close_now()
        if tasks:
            await asyncio.wait(tasks, timeout=CLOSE_WAIT)

    def close_now(self) -> None:
        """Stop listening, end every conversation, remove the socket file (on the loop's
        thread, or once it has stopped)."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(FileNotFoundError):
            self.address.path.unlink()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        sock: socket.socket | None = writer.get_extra_info("socket")
        peer = peer_of(sock.fileno()) if sock is not None else None
        try:
            if not may_control(peer, self._group):
                log.warning("control: refused a connection from uid %s", peer and peer.uid)
                await _send(writer, control.failure(0, "Refused", "not allowed"))
                return
            if len(self._clients) >= MAX_CLIENTS:
                await _send(writer, control.failure(0, "Busy", "too many controllers"))
                return
            if task is not None:
                self._clients.add(task)
            await self._converse(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass
        finally:
            if task is not None:
                self._clients.discard(task)
                self._tasks.discard(task)  # close() waits on the task itself
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                line = await asyncio.wait_for(reader.readline(), IDLE_TIMEOUT)
            except (asyncio.LimitOverrunError, ValueError):
                await _send(writer, control.failure(0, "BadRequest", "request too long"))
                return
            if not line:
                return
            try:
                request = control.parse_request(line)
            except BadRequest as exc:
                await _send(writer, control.failure(0, "BadRequest", str(exc)))
                return
            if request.op is Op.EVENTS:
                await self._stream_events(request, reader, writer)
                return
            if request.op is Op.LOGS and request.follow:
                await self._stream_logs(request, reader, writer)
                return
            await _send(writer, await self._answer(request))

    async def _answer(self, request: Request) -> dict[str, Any]:
        c = self._controller
        actions: dict[Op, Callable[[str], Awaitable[Any]]] = {
            Op.CONNECT: c.connect,
            Op.DISCONNECT: c.disconnect,
            Op.RECONNECT: c.reconnect,
            Op.TEST: c.test,
        }
        try:
            if request.op is Op.HELLO:
                result: Any = {
                    "kind": c.kind.value,
                    "pid": os.getpid(),
                    "uid": os.geteuid(),
                    "protocol": control.PROTOCOL,
                }
            elif request.op is Op.LIST:
                result = c.hosted()
            elif request.op is Op.LOGS:
                result = last_lines(c.log_file, request.name, request.lines)
            else:
                result = await actions[request.op](request.name)
        except TunnelkeeperError as exc:
            return control.failure(request.id, type(exc).__name__, str(exc), **_implies(exc))
        except Exception:
            log.exception("control: %s failed", request.op.value)
            return control.failure(request.id, "Internal", "the host failed; see its log")
        return control.reply(request.id, result)

    async def _stream_events(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[TunnelEvent | None] = asyncio.Queue(EVENT_BACKLOG)

        def put(event: TunnelEvent | None) -> None:  # on the loop
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
                queue.put_nowait(None)  # too slow: cut off (after what it has)
                return
            queue.put_nowait(event)

        def listener(event: TunnelEvent) -> None:  # any thread
            with contextlib.suppress(RuntimeError):  # the loop has closed
                loop.call_soon_threadsafe(put, event)

        unlisten = self._controller.listen(listener)
        hangup = asyncio.ensure_future(reader.read(1))  # anything or EOF: the end
        getter: asyncio.Future[TunnelEvent | None] | None = None
        try:
            await _send(writer, control.reply(request.id, "streaming"))
            while True:
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getter, hangup}, return_when="FIRST_COMPLETED")
                if hangup in done:
                    return
                event = getter.result()
                if event is None:
                    return
                if request.name and event.tunnel != request.name:
                    continue
                await _send(writer, {"event": json.loads(event.to_json())})
        finally:
            # cancelled too when the server closes mid-wait: a getter left pending was
            # destroyed with the loop ("Task was destroyed but it is pending")
            unlisten()
            hangup.cancel()
            if getter is not None:
                getter.cancel()

    async def _stream_logs(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        lines = last_lines(self._controller.log_file, request.name, request.lines)
        await _send(writer, control.reply(request.id, lines))
        hangup = asyncio.ensure_future(reader.read(1))
        try:
            async for line in follow_lines(self._controller.log_file, request.name, hangup):
                await _send(writer, {"line": line})
        finally:
            hangup.cancel()


def _implies(exc: TunnelkeeperError) -> dict[str, Any]:
    """What the error means for the controller: ``then`` and ``action`` when it says."""
    more: dict[str, Any] = {}
    for attribute in ("then", "action"):
        value = getattr(exc, attribute, None)
        if value is not None:
            more[attribute] = getattr(value, "value", value)
    return more


async def _send(writer: asyncio.StreamWriter, message: dict[str, Any]) -> None:
    writer.write(control.encode(message))
    await asyncio.wait_for(writer.drain(), 30.0)  # a controller that stops reading goes
