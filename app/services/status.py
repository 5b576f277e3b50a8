"""Running tunnels, from every host's control endpoint (and the run-state files)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.control.client import Connection, reachable_hosts
from app.core.control import HostKind, Op
from app.core.textsafe import DETAIL_LIMIT, safe_value
from app.errors import CorruptConfigFile, TunnelkeeperError
from app.storage.paths import AppPaths
from app.storage.runstate import read_running


@dataclass(frozen=True)
class RunningTunnels:
    """Each running tunnel's last published status (a dict with ``tunnel``, ``state``,
    ``pid``…), and a sentence for each run-state file that could not be read (skipped)."""

    tunnels: list[dict[str, Any]]
    problems: list[str] = field(default_factory=list)
    answered: frozenset[int] = frozenset()  # the processes of the hosts that answered


class StatusService:
    """What the hosts on this machine (the app, `run` processes, the service) say about
    their tunnels, asked over their control endpoints; a `run` of an older version that
    only publishes a run-state file is read from that."""

    def __init__(self, paths: AppPaths) -> None:
        self._paths = paths

    def running(
        self, names: list[str] | None = None, skip_pid: int | None = None
    ) -> RunningTunnels:
        """The hosted tunnels (only ``names`` when given), each with ``host`` (app, run or
        service) and ``pid``, text escaped for printing. The host in process ``skip_pid``
        (the caller itself, which knows its own tunnels) is not asked."""
        unreadable: list[tuple[Path, str]] = []
        tunnels: list[dict[str, Any]] = []
        answered: set[int] = set()
        problems: list[str] = []
        for connection in reachable_hosts(self._paths):
            if skip_pid is not None and connection.address.pid == skip_pid:
                answered.add(skip_pid)
                connection.close()
                continue
            try:
                hello = connection.request(Op.HELLO)
                listed = connection.request(Op.LIST)
            except TunnelkeeperError as exc:
                problems.append(str(exc))
                continue
            finally:
                connection.close()
            answered.add(int(hello.get("pid", 0)))
            if isinstance(listed, list):
                tunnels.extend(t for t in listed if isinstance(t, dict))
        for tunnel in read_running(self._paths.runtime_dir, unreadable):
            if tunnel.get("pid") not in answered:
                tunnels.append({**tunnel, "host": HostKind.RUN.value})
        problems += [str(CorruptConfigFile(str(path), why)) for path, why in unreadable]
        tunnels = safe_value(_without_shadows(tunnels), DETAIL_LIMIT)
        if names:
            tunnels = [t for t in tunnels if t.get("tunnel") in names]
        return RunningTunnels(tunnels, problems, frozenset(answered))

    def connected_pid(self, name: str) -> int | None:
        """The process of ours whose tunnel ``name`` is connected now, or None."""
        for tunnel in self.running([name]).tunnels:
            if tunnel.get("state") == "connected":
                return int(tunnel["pid"])
        return None

    def host_of(self, name: str, stopped: bool = False) -> Connection | None:
        """An open connection to the host that runs tunnel ``name`` now (or, ``stopped``,
        that lists it as switched off there), or None."""
        found = None
        for connection in reachable_hosts(self._paths):
            if found is None:
                try:
                    listed = connection.request(Op.LIST)
                except TunnelkeeperError:
                    listed = []
                if any(_names(t, name, stopped) for t in listed):
                    found = connection
                    continue
            connection.close()
        return found

    def host_in(self, pid: int) -> Connection | None:
        """An open connection to the host in process ``pid`` (whether it hosts anything
        now or not), or None when no such host answers."""
        found = None
        for connection in reachable_hosts(self._paths):
            if found is None and _serves_from(connection, pid):
                found = connection
            else:
                connection.close()
        return found

    def hosts(self) -> list[Connection]:
        """Open connections to every host that answers, the desktop app's first."""
        order = {HostKind.APP: 0, HostKind.SERVICE: 1, HostKind.RUN: 2}
        return sorted(reachable_hosts(self._paths), key=lambda c: order[c.address.kind])


def _without_shadows(tunnels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``tunnels`` without those a host keeps switched off while another host runs them."""
    running = {t.get("tunnel") for t in tunnels if t.get("running", True) is not False}
    return [
        t for t in tunnels if t.get("running", True) is not False or t.get("tunnel") not in running
    ]


def _names(listed: object, name: str, stopped: bool) -> bool:
    """``listed`` (an entry of a host's LIST) is tunnel ``name``, running there (or any)."""
    if not isinstance(listed, dict) or listed.get("tunnel") != name:
        return False
    return stopped or listed.get("running", True) is not False


def _serves_from(connection: Connection, pid: int) -> bool:
    """The host at the end of ``connection`` is process ``pid`` (a socket whose name says
    no process, the system service's, is asked)."""
    if connection.address.pid:
        return connection.address.pid == pid
    try:
        hello = connection.request(Op.HELLO)
    except TunnelkeeperError:
        return False
    return isinstance(hello, dict) and hello.get("pid") == pid
