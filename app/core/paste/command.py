"""A shell line that runs ssh, autossh or ssh-keyscan, behind wrappers, cron or systemd."""

from __future__ import annotations

import re
import shlex

from app.core.paste.keyscan import keyscan_unit
from app.core.paste.result import Found, short
from app.core.paste.ssh_command import ssh_unit
from app.core.paste.text import shell_ready
from app.errors import PasteError

_PROGRAMS = frozenset({"ssh", "autossh", "ssh-keyscan"})
_WRAPPERS = frozenset(
    {"sudo", "doas", "nohup", "exec", "env", "command", "time", "nice", "setsid", "&", "start"}
)
_ASSIGNMENT_TOKEN_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*", re.DOTALL)
# systemd's ExecStart=/usr/bin/autossh (with its optional -@+!: prefixes).
_EXEC_TOKEN_RE = re.compile(r"Exec[A-Za-z]*=[-@+!:]*(.*)", re.DOTALL)
_CRON_FIELD_RE = re.compile(r"@[a-z]+|[0-9*/,-]+")
_REDIRECT_RE = re.compile(r"[0-9]?(?:>>?|<)|&>>?")
_REDIRECT_TO_RE = re.compile(r"(?:[0-9]?>>?|&>>?)[^<]*|[0-9]?>&[0-9-]")
_SHELL_ENDS = frozenset({"|", "||", "&&", ";", "&", ";;", "|&"})
_MAX_PREFIX_TOKENS = 16


def _command_name(token: str) -> str | None:
    base = re.split(r"[\\/]", token)[-1]
    if base[-4:].lower() == ".exe":
        base = base[:-4]
    return base if base in _PROGRAMS else None


def _command_start(tokens: list[str]) -> tuple[str, list[str]] | None:
    """Find ssh/autossh/ssh-keyscan after env assignments, cron fields, sudo, ExecStart=."""
    wrapped = skip_next = False
    for index, token in enumerate(tokens[:_MAX_PREFIX_TOKENS]):
        if skip_next:
            skip_next = False
            continue
        systemd = _EXEC_TOKEN_RE.fullmatch(token)
        name = _command_name(systemd.group(1) if systemd else token)
        if name is not None:
            return name, tokens[index + 1 :]
        if systemd:
            return None
        if _ASSIGNMENT_TOKEN_RE.fullmatch(token):
            continue
        if token in _WRAPPERS:
            wrapped = True
        elif wrapped and token[:1] in ("-", "/"):
            skip_next = token in ("-u", "-g", "-n")
        elif not _CRON_FIELD_RE.fullmatch(token):
            return None
    return None


def _shell_words(args: list[str]) -> list[str]:
    """The command's own words: stop at | && ; &, drop redirections like >> known_hosts."""
    words: list[str] = []
    skip = False
    for token in args:
        if skip:
            skip = False
        elif token in _SHELL_ENDS:
            break
        elif _REDIRECT_RE.fullmatch(token):
            skip = True
        elif not _REDIRECT_TO_RE.fullmatch(token):
            if len(token) > 1 and token.endswith(";"):
                words.append(token[:-1])
                break
            words.append(token)
    return words


def command_unit(text: str, aliases: set[str]) -> Found | None:
    try:
        tokens = shlex.split(shell_ready(text))
    except ValueError as exc:
        if _command_start(text.split()) is None:
            return None
        raise PasteError(
            f"`{short(text)}` has an unbalanced quote ({exc}); copy the whole command again.",
            text,
        ) from exc
    start = _command_start(tokens)
    if start is None:
        return None
    program, args = start
    words = _shell_words(args)
    if program == "ssh-keyscan":
        return keyscan_unit(words)
    return ssh_unit(program, words, aliases)
