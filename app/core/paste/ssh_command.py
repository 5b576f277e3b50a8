"""The words of an ssh or autossh command: options, destination, remote command."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.core.paste.forward import read_forward
from app.core.paste.jump import read_jump
from app.core.paste.options import dash_o
from app.core.paste.result import Found, short
from app.core.paste.values import PLACEHOLDER_RE, read_host, read_key, read_port, read_user
from app.errors import PasteError

_SOURCES = {
    "ssh": "ssh command",
    "autossh": "autossh command",
}
_SSH_WITH_VALUE = frozenset("BbcDEeFIiJLlmOoPpQRSWw")
_SSH_BARE = frozenset("1246AaCfGgKkMNnqsTtVvXxYy")
_AUTOSSH_WITH_VALUE = _SSH_WITH_VALUE | {"M"}
_AUTOSSH_BARE = _SSH_BARE - {"M"}


@dataclass
class _Ssh:
    """An ssh or autossh command line being read."""

    found: Found
    program: str
    host: str | None = None
    destination: str = ""
    saw_option: bool = False
    saw_destination: bool = False
    user_in_destination: bool = False
    command: list[str] = field(default_factory=list)


def ssh_unit(program: str, args: list[str], aliases: set[str]) -> Found | None:
    state = _Ssh(Found(_SOURCES[program]), program)
    _walk_ssh(state, args)
    # "autossh to establish the tunnel" is prose that starts with a command name.
    prose = state.command or not state.saw_destination
    if prose and not state.saw_option and not state.user_in_destination:
        return None
    found = state.found
    host = state.host
    from_option = "jumphost" in found.fields or "jumphost" in found.placeholders
    if host is not None and host not in aliases and not from_option:
        read_host(found, "jumphost", host, state.destination)
    if state.command:
        found.note(
            f"the remote command {short(' '.join(state.command))!r} is ignored: "
            "Tunnelkeeper runs no command on the jumphost."
        )
    _gaps(state)
    return found


def _gaps(state: _Ssh) -> None:
    """Say what the command leaves out, for the person to ask the vendor or type it."""
    found = state.found
    command = "the vendor's command" if state.program == "ssh" else "the vendor's autossh command"
    if state.host:
        found.gap("user", f"{command} has no user@ before {short(state.host, 60)}")
    if found.forward is None:
        found.gap("remote_port", f"{command} has no -R forward giving the allocated port")
        for name in ("target_host", "target_port"):
            found.gap(name, f"{command} has no -R forward naming the target")


def _walk_ssh(state: _Ssh, args: list[str]) -> None:
    """Options, then the destination, then options again, then the remote command."""
    index = 0
    terminated = False
    while index < len(args):
        word = args[index]
        if word == "--" and not terminated:
            terminated = True
            index += 1
        elif len(word) > 1 and word.startswith("-") and not terminated:
            index = _ssh_cluster(state, args, index)
        elif not state.saw_destination:
            _destination(state, word)
            index += 1
            if terminated:
                state.command = args[index:]
                return
        else:
            state.command = args[index:]
            return


def _ssh_cluster(state: _Ssh, args: list[str], index: int) -> int:
    """Read one option word such as -NR5000:h:1, -p 22 or -oKey=value; return the next index."""
    token = args[index]
    autossh = state.program == "autossh"
    with_value = _AUTOSSH_WITH_VALUE if autossh else _SSH_WITH_VALUE
    bare = _AUTOSSH_BARE if autossh else _SSH_BARE
    state.saw_option = True
    for position in range(1, len(token)):
        letter = token[position]
        if letter in bare:
            continue
        if letter not in with_value:
            raise PasteError(
                f"`{short(token)}`: -{letter} is not an {state.program} option.", token
            )
        value = token[position + 1 :]
        if not value:
            if index + 1 >= len(args):
                raise PasteError(f"`{short(token)}` is missing the value -{letter} needs.", token)
            index += 1
            value = args[index]
        _ssh_option(state.found, letter, value)
        break
    return index + 1


def _ssh_option(found: Found, letter: str, value: str) -> None:
    context = f"-{letter} {value}"
    if letter == "R":
        read_forward(found, value, context)
    elif letter == "p":
        read_port(found, "ssh_port", value, context)
    elif letter == "i":
        read_key(found, value, context)
    elif letter == "l":
        read_user(found, value, context)
    elif letter == "o":
        dash_o(found, value)
    elif letter == "J":
        read_jump(found, value, context)
    else:
        _ssh_note(found, letter, context)


_SSH_NOTES = {
    "L": "Tunnelkeeper keeps a remote (-R) forward open; a local forward is not what it does.",
    "D": "Tunnelkeeper keeps a remote (-R) forward open; a SOCKS proxy is not what it does.",
    "W": "Tunnelkeeper keeps a remote (-R) forward open; stdio forwarding is not what it does.",
    "F": "Tunnelkeeper reads no ssh config files; paste the Host block instead.",
}


def _ssh_note(found: Found, letter: str, context: str) -> None:
    """Options that change nothing for us pass silently; the ones that matter are noted."""
    if letter in _SSH_NOTES:
        found.note(f"{short(context)} is ignored: {_SSH_NOTES[letter]}")


_URI_RE = re.compile(r"ssh://(?:([^@/]*)@)?(\[[^\]/]*\]|[^:/\[]*)(?::([^/]*))?/?")


def _destination(state: _Ssh, token: str) -> None:
    """``[user@]host`` or ``ssh://[user@]host[:port]``; the host is applied at the end."""
    state.saw_destination = True
    state.destination = token
    uri = _URI_RE.fullmatch(token)
    if uri:
        user, host, port = uri.groups()
        if port:
            read_port(state.found, "ssh_port", port, token)
    elif PLACEHOLDER_RE.fullmatch(token):
        user, host = None, token
    else:
        user, at, host = token.rpartition("@")
        user = user if at else None
    if user is not None:
        if not user:
            raise PasteError(f"`{short(token)}` has nothing before the '@'.", token)
        state.user_in_destination = True
        read_user(state.found, user, token)
    state.host = host
