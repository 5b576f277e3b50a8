"""The words of an ssh-keyscan command: the jumphost and its port."""

from __future__ import annotations

from app.core.paste.result import Found, short
from app.core.paste.values import read_host, read_port
from app.errors import PasteError

_SOURCE = "ssh-keyscan command"
_KEYSCAN_WITH_VALUE = frozenset("fOpTt")
_KEYSCAN_BARE = frozenset("46cDHqv")


def keyscan_unit(args: list[str]) -> Found | None:
    found = Found(_SOURCE)
    hosts: list[str] = []
    saw_option = False
    index = 0
    while index < len(args):
        token = args[index]
        if len(token) > 1 and token.startswith("-"):
            saw_option = True
            index = _keyscan_cluster(found, args, index)
            continue
        hosts.extend(name for name in token.split(",") if name)
        index += 1
    if not hosts and not saw_option:
        return None
    if not saw_option and len(args) > 1:
        return None
    if hosts:
        read_host(found, "jumphost", hosts[0], hosts[0])
    for other in hosts[1:]:
        found.note(f"ssh-keyscan also names {short(other)!r}; only the first host is used.")
    return found


def _keyscan_cluster(found: Found, args: list[str], index: int) -> int:
    token = args[index]
    for position in range(1, len(token)):
        letter = token[position]
        if letter in _KEYSCAN_BARE:
            continue
        if letter not in _KEYSCAN_WITH_VALUE:
            raise PasteError(f"`{short(token)}`: -{letter} is not an ssh-keyscan option.", token)
        value = token[position + 1 :]
        if not value:
            if index + 1 >= len(args):
                raise PasteError(f"`{short(token)}` is missing the value -{letter} needs.", token)
            index += 1
            value = args[index]
        if letter == "p":
            read_port(found, "ssh_port", value, f"-p {value}")
        break
    return index + 1
