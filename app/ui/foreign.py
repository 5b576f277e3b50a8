"""The rows the app shows: the user's tunnels (here, in another process of ours, or stopped)
and those the user has no profile for, whose host listed their settings (the system
service's, after a move): shown and controlled like the user's own, never edited here."""

from __future__ import annotations

import os
from collections.abc import Callable, Container, Mapping

from app.core.control import HostKind
from app.core.events import TunnelStatus
from app.core.profile import Profile
from app.services.host import TunnelHost
from app.ui.remote import RemoteTunnels
from app.ui.rows import Row, process_words, stopped_status

# Why each action on the settings or the key is off for such a tunnel (its tooltip).
WHAT_IS_OFF = {
    "edit": "its settings cannot be edited here",
    "remove": "it cannot be removed here",
    "test": "the connection test needs its key, which stays with its host",
    "copy key": "its public key cannot be copied here",
}


def keeper_words(host: str, pid: int) -> str:
    """Who keeps a tunnel's settings, in words: "the service", "tunnelkeeper run
    (process 4711)"."""
    return "the service" if host == HostKind.SERVICE else process_words(host, pid)


def why_off(row: Row, action: str) -> str:
    """The tooltip of a disabled action (``WHAT_IS_OFF``'s keys) of a row that is not the
    user's own."""
    return (
        f"This tunnel's settings and key are kept by {row.keeper}, not in your profiles: "
        f"{WHAT_IS_OFF[action]}."
    )


def own_rows(
    profiles: Mapping[str, Profile],
    host: TunnelHost,
    remote: RemoteTunnels,
    last: Mapping[str, TunnelStatus],
    stopping: Container[str],
    here: Callable[[str], bool],
) -> list[Row]:
    """A row for each of the user's ``profiles``: hosted by this process (``host``), by
    another of ours (``remote``), or stopped (``last`` said how it ended; ``stopping``
    are being stopped; ``here`` says this app runs, starts or stops it)."""
    out = []
    own = os.getpid()
    app = HostKind.APP.value
    for name, profile in profiles.items():
        live = host.status(name) if name not in stopping else None
        elsewhere = remote.get(name) if not here(name) else None
        if live is not None:
            out.append(Row(profile, live, True, app, own, here=True))
        elif elsewhere is not None:
            status = remote.shown(name) or elsewhere.status
            out.append(Row(profile, status, True, elsewhere.host, elsewhere.pid))
        else:
            status = last.get(name) or stopped_status(profile, "not connected.")
            if name in stopping:
                status = stopped_status(profile, "disconnecting…")
            ours = here(name)  # loading its key, or stopping
            where, pid = (app, own) if ours else ("", 0)
            out.append(Row(profile, status, ours, where, pid, ours))
    return out


def foreign_rows(
    remote: RemoteTunnels, own: Container[str], last: Mapping[str, TunnelStatus]
) -> list[Row]:
    """A row for each tunnel another host listed settings for that is not among ``own``
    (the user's profiles): running there, or stopped (``last`` said how it ended)."""
    rows = []
    for name, known in remote.known.items():
        if name in own or known.profile is None:
            continue
        keeper = keeper_words(known.host, known.pid)
        hosted = remote.get(name)
        shown = remote.shown(name)
        if hosted is not None:
            status = shown or hosted.status
            row = Row(known.profile, status, True, hosted.host, hosted.pid, keeper=keeper)
        else:
            status = shown or last.get(name) or stopped_status(known.profile, "not connected.")
            row = Row(known.profile, status, False, keeper=keeper)
        rows.append(row)
    return rows
