"""``SSH_HOST=...`` lines (export, set, $env:) and ``SSH Host: ...`` labels."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable

from app.core.paste.endpoint import read_endpoint
from app.core.paste.result import Found, short
from app.core.paste.text import shell_ready, split_words
from app.core.paste.values import (
    read_bind,
    read_host,
    read_keepalive_count,
    read_keepalive_interval,
    read_key,
    read_port,
    read_user,
)

_ASSIGNMENT_RE = re.compile(
    r"(?:export\s+|set\s+|\$env:)?[\"']?([A-Za-z_][A-Za-z0-9_ .-]{0,40})[\"']?\s*([:=])\s*(.*)"
)
_ENV_WORD_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", re.DOTALL)
_KEY_MATERIAL_RE = re.compile(r"-----BEGIN|ssh-[a-z0-9]+$|ecdsa-sha2-|sk-ssh-")


def _split(text: str) -> list[str]:
    return text.split()


_ASSIGNED_FIELDS: dict[str, str] = {
    **dict.fromkeys(
        _split(
            "SSH_HOST SSH_HOSTNAME SSH_SERVER SSH_TUNNEL_HOST TUNNEL_HOST TUNNEL_SERVER JUMPHOST "
            "JUMP_HOST JUMPHOST_HOST BASTION BASTION_HOST"
        ),
        "jumphost",
    ),
    **dict.fromkeys(_split("SSH_PORT JUMPHOST_PORT JUMP_HOST_PORT BASTION_PORT"), "ssh_port"),
    **dict.fromkeys(
        _split(
            "SSH_USER SSH_USERNAME SSH_LOGIN TUNNEL_USER TUNNEL_USERNAME JUMPHOST_USER BASTION_USER"
        ),
        "user",
    ),
    **dict.fromkeys(
        _split(
            "TUNNEL_PORT REMOTE_PORT ALLOCATED_PORT FORWARD_PORT REVERSE_PORT REMOTE_FORWARD_PORT "
            "LISTEN_PORT"
        ),
        "remote_port",
    ),
    **dict.fromkeys(_split("REMOTE_BIND REMOTE_BIND_ADDRESS BIND_ADDRESS"), "remote_bind"),
    **dict.fromkeys(
        _split("DB_HOST DB_HOSTNAME DATABASE_HOST DATABASE_HOSTNAME TARGET_HOST"), "target_host"
    ),
    **dict.fromkeys(_split("DB_PORT DATABASE_PORT TARGET_PORT"), "target_port"),
    **dict.fromkeys(
        _split(
            "SSH_KEY SSH_KEY_PATH SSH_KEY_FILE KEY_PATH KEY_FILE IDENTITY_FILE IDENTITYFILE "
            "PRIVATE_KEY_PATH PRIVATE_KEY_FILE SSH_PRIVATE_KEY_PATH SSH_PRIVATE_KEY_FILE "
            "SSH_IDENTITY_FILE"
        ),
        "key_path",
    ),
    **dict.fromkeys(_split("KEEPALIVE_INTERVAL SERVER_ALIVE_INTERVAL"), "keepalive_interval"),
    **dict.fromkeys(_split("KEEPALIVE_COUNT_MAX SERVER_ALIVE_COUNT_MAX"), "keepalive_count_max"),
    **dict.fromkeys(_split("TUNNEL_ENDPOINT SSH_ENDPOINT ENDPOINT"), "endpoint"),
}


def _assigned_key(found: Found, value: str, context: str) -> None:
    if _KEY_MATERIAL_RE.match(value):
        found.note(
            f"{short(context, 40)} holds key material, not a file path: save the private key "
            "to a file and choose that file."
        )
        return
    read_key(found, value, context)


_ValueHandler = Callable[[Found, str, str], None]
_ASSIGN_HANDLERS: dict[str, _ValueHandler] = {
    "jumphost": lambda found, value, context: read_host(found, "jumphost", value, context),
    "ssh_port": lambda found, value, context: read_port(found, "ssh_port", value, context),
    "user": read_user,
    "remote_port": lambda found, value, context: read_port(found, "remote_port", value, context),
    "remote_bind": read_bind,
    "target_host": lambda found, value, context: read_host(found, "target_host", value, context),
    "target_port": lambda found, value, context: read_port(found, "target_port", value, context),
    "key_path": _assigned_key,
    "keepalive_interval": read_keepalive_interval,
    "keepalive_count_max": read_keepalive_count,
    "endpoint": read_endpoint,
}


def assignment_unit(text: str) -> Found | None:
    if " " in text and "=" in text:
        several = _assignments_on_one_line(text)
        if several is not None:
            return several
    match = _ASSIGNMENT_RE.fullmatch(text)
    if not match:
        return None
    key = re.sub(r"[ .-]+", "_", match.group(1).strip()).upper().strip("_")
    target = _ASSIGNED_FIELDS.get(key)
    if target is None:
        return None
    raw = match.group(3).strip().rstrip(",;").strip()
    values = split_words(raw, text) if raw else []
    if not values:
        return None
    found = Found("environment variables" if match.group(2) == "=" else "labelled fields")
    _ASSIGN_HANDLERS[target](found, values[0], text)
    return found


def _assignments_on_one_line(text: str) -> Found | None:
    """``SSH_HOST=a SSH_USER=b TUNNEL_PORT=c`` (or after ``export``) on a single line."""
    try:
        words = shlex.split(shell_ready(text))
    except ValueError:
        return None
    if words[:1] == ["export"]:
        words = words[1:]
    pairs = [pair for pair in map(_ENV_WORD_RE.fullmatch, words) if pair]
    if len(pairs) < 2 or len(pairs) != len(words):
        return None
    found = Found("environment variables")
    for pair in pairs:
        target = _ASSIGNED_FIELDS.get(pair.group(1).upper())
        if target is not None and pair.group(2):
            _ASSIGN_HANDLERS[target](found, pair.group(2), pair.group(0))
    return found if found.fields or found.placeholders or found.ignored else None
