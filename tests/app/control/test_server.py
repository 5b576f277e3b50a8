"""The control server on a real Unix socket, with a controller that hosts nothing."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.control.addresses import Address
from app.control.server import ControlServer
from app.core import control
from app.core.control import HostKind, Op
from app.core.events import TunnelEvent


class QuietController:
    """Hosts no tunnel; only event listeners matter here."""

    kind = HostKind.RUN
    log_file = Path(os.devnull)

    def __init__(self) -> None:
        self.listeners: list[Callable[[TunnelEvent], None]] = []

    def hosted(self) -> list[dict[str, Any]]:
        return []

    def listen(self, listener: Callable[[TunnelEvent], None]) -> Callable[[], None]:
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener)


def _pending(coroutine: str) -> list[asyncio.Task[Any]]:
    """This loop's unfinished tasks running ``coroutine`` (a qualified name)."""
    return [
        task
        for task in asyncio.all_tasks()
        if not task.done() and coroutine in repr(task.get_coro())
    ]


def test_closing_the_server_mid_stream_leaves_no_task_behind(tmp_path: Path) -> None:
    controller = QuietController()
    address = Address(tmp_path / f"run-{os.getpid()}.sock", HostKind.RUN, os.getpid())

    async def scenario() -> tuple[str, list[asyncio.Task[Any]], int]:
        server = ControlServer(address, controller)  # type: ignore[arg-type]
        await server.start()
        reader, writer = await asyncio.open_unix_connection(str(address.path))
        writer.write(control.encode(control.request(Op.EVENTS)))
        await writer.drain()
        answer = json.loads(await asyncio.wait_for(reader.readline(), 10))["result"]
        server.close_now()  # as the host does when it stops, the stream still open
        for _ in range(100):  # bounded: the cancelled conversation winds down
            await asyncio.sleep(0.01)
            if not controller.listeners:
                break
        left = _pending("Queue.get")
        writer.close()
        return answer, left, len(controller.listeners)

    answer, left, listeners = asyncio.run(scenario())
    assert answer == "streaming"
    assert listeners == 0  # the stream stopped listening
    assert left == []  # and its wait for the next event was cancelled with it


def test_close_returns_once_every_conversation_has_ended(tmp_path: Path) -> None:
    address = Address(tmp_path / f"run-{os.getpid()}.sock", HostKind.RUN, os.getpid())

    async def scenario() -> tuple[int, list[asyncio.Task[Any]]]:
        server = ControlServer(address, QuietController())  # type: ignore[arg-type]
        await server.start()
        writers = []
        for _ in range(3):  # controllers that connected and are silent
            _, writer = await asyncio.open_unix_connection(str(address.path))
            writers.append(writer)
        for _ in range(100):  # bounded: until the server has taken all three
            if len(_pending("ControlServer._accept")) == 3:
                break
            await asyncio.sleep(0.01)
        open_before = len(_pending("ControlServer._accept"))
        await server.close()  # then the host stops its loop (BackgroundEndpoint.close)
        left = _pending("ControlServer._accept")
        for writer in writers:
            writer.close()
        return open_before, left

    open_before, left = asyncio.run(scenario())
    assert open_before == 3
    assert left == []  # none left to be destroyed pending with the loop
