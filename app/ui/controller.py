"""The desktop app as a host: its tunnels served to controllers (the CLI) on the qasync loop."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

from app.control.errors import NotHosted
from app.control.hosting import profile_view
from app.core.control import HostKind
from app.core.events import TunnelEvent
from app.errors import UnknownProfile
from app.ui.hub import TunnelHub


class AppController:
    """Runs on the GUI thread (the qasync loop is Qt's), so it may call the hub directly;
    nothing here blocks it: stopping and key loading run on worker threads already."""

    kind = HostKind.APP

    def __init__(self, hub: TunnelHub) -> None:
        self.hub = hub
        self.log_file = hub.paths.log_file

    def hosted(self) -> list[dict[str, Any]]:
        pid = os.getpid()
        return [
            {
                **row.status,
                "host": self.kind.value,
                "pid": pid,
                "profile": profile_view(row.profile),
            }
            for row in self.hub.rows()
            if self.hub.is_running(row.profile.name)
        ]

    async def connect(self, name: str) -> str:
        if name not in self.hub.profiles:
            self.hub.reload()  # added by the CLI since the app read the file
            if name not in self.hub.profiles:
                raise UnknownProfile(name)
        if self.hub.is_running(name):
            return f"{name} is already running in the Tunnelkeeper app."
        self.hub.connect_tunnel(name)
        return f"{name} is connecting in the Tunnelkeeper app."

    async def disconnect(self, name: str) -> str:
        if not self.hub.is_running(name):
            raise NotHosted(name)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def finished() -> None:
            if not done.done():
                done.set_result(None)

        self.hub.disconnect_tunnel(name, on_done=finished)
        await done
        return f"{name} is disconnected."

    async def reconnect(self, name: str) -> str:
        if not self.hub.host.is_hosted(name):
            raise NotHosted(name)
        self.hub.reconnect_now(name)
        return f"{name} is reconnecting."

    async def test(self, name: str) -> list[dict[str, Any]]:
        checks = self.hub.services.checks

        def run() -> list[dict[str, Any]]:
            return checks.run_test(name, None).checks

        return await asyncio.get_running_loop().run_in_executor(None, run)

    def listen(self, listener: Callable[[TunnelEvent], None]) -> Callable[[], None]:
        self.hub.tunnel_event.connect(listener)

        def unlisten() -> None:
            self.hub.tunnel_event.disconnect(listener)

        return unlisten
