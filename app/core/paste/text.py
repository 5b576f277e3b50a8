"""Text clean-up: web-page characters, continued lines, shell prompts and shell words."""

from __future__ import annotations

import re
import shlex

from app.core.paste.result import short
from app.errors import PasteError

# A longer (joined) line is not read as a command, an assignment or an endpoint.
MAX_LINE_CHARS = 16_384

_CHAR_MAP: dict[str, str | None] = {
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033", '"'),
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032", "'"),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d", "-"),
    **dict.fromkeys("\u00a0\u1680\u202f\u205f\u3000\x0b\x0c", " "),
    **dict.fromkeys([chr(code) for code in range(0x2000, 0x200B)], " "),
    **dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff\u00ad", None),
    **dict.fromkeys("\u2028\u2029\x85", "\n"),
}
_TRANSLATION = str.maketrans(_CHAR_MAP)
# A continued line: bash "\", PowerShell " `" and cmd.exe " ^" at the end.
_CONTINUED_RE = re.compile(r"(?:\\|(?:^|\s)[`^])\Z")
# Secondary prompts a terminal shows on continued lines (bash "> ", PowerShell ">> ").
_CONTINUATION_PROMPT_RE = re.compile(r"\s*>>? ")


def normalise(text: str) -> str:
    """Undo what web pages do to commands: smart quotes, odd spaces and dashes, CR LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n").translate(_TRANSLATION)


def logical_lines(text: str) -> list[str]:
    """Split into lines, joining the ones continued with a trailing \\, ` or ^."""
    lines: list[str] = []
    pending: list[str] = []
    for raw in text.split("\n"):
        line = raw
        prompt = _CONTINUATION_PROMPT_RE.match(line) if pending else None
        if prompt:
            line = line[prompt.end() :]
        body = line.rstrip()
        if len(body) <= MAX_LINE_CHARS and _CONTINUED_RE.search(body):
            pending.append(body[:-1])
            continue
        pending.append(line)
        lines.append(" ".join(pending))
        pending = []
    if pending:
        lines.append(" ".join(pending))
    return lines


_PROMPT_RES = (
    re.compile(r"PS(?: (?:[^>\s]|\s(?!-)){0,300})?> ?"),
    re.compile(r"[A-Za-z]:\\(?:[^>\s]|\s(?!-)){0,300}> ?"),
    re.compile(r"\[[^\]]{0,200}\][$#%] ?"),
    re.compile(r"[\w.-]{1,100}@[\w.-]{1,100}(?::[^\s$#%]{0,300})?[$#%] "),
    re.compile(r"\([\w.-]{1,100}\) "),
    re.compile(r"[\w.-]{0,100}[$#%>\u276f\u279c\u03bb] "),
)


def strip_prompt(line: str) -> str:
    """Drop shell prompts copied with a command: "$ ", "# ", "PS C:\\>", "me@box:~$ "."""
    text = line.strip()
    if text.startswith("`") and text.endswith("`"):
        text = text.strip("`").strip()
    for _ in range(3):
        for prompt in _PROMPT_RES:
            match = prompt.match(text)
            if match and ".exe" not in match.group().lower():
                text = text[match.end() :].lstrip()
                break
        else:
            return text
    return text


_KEEP_BACKSLASH_RE = re.compile(r"[A-Za-z0-9._-]")


def shell_ready(text: str) -> str:
    """Prepare a line for shlex: keep Windows path backslashes and drop a # comment."""
    out: list[str] = []
    quote = ""
    index = 0
    while index < len(text):
        char = text[index]
        pair = text[index : index + 2]
        index += 1
        if quote:
            if char == "\\" and quote == '"':
                out.append(pair)
                index += len(pair) - 1
                continue
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 1 or text[index - 2] in " \t"):
            break
        elif char == "\\":
            if _KEEP_BACKSLASH_RE.match(pair[1:]) or len(pair) == 1:
                out.append("\\\\")
                continue
            out.append(pair)
            index += 1
            continue
        out.append(char)
    return "".join(out)


def split_words(text: str, context: str) -> list[str]:
    """shlex.split (POSIX) that reports unbalanced quotes as a PasteError."""
    try:
        return shlex.split(shell_ready(text))
    except ValueError as exc:
        raise PasteError(
            f"`{short(context)}` has an unbalanced quote ({exc}); copy the whole line again.",
            context,
        ) from exc
