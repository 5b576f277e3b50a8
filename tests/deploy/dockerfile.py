"""Reading the Dockerfile and .dockerignore as Docker does, for the checks of tests/deploy."""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.cli import ROOT

DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
DEPLOY = ROOT / "docs" / "deploy"
# What the official python:*-slim images set before ours (Docker Hub's python images)
BASE_ENV = {
    "PATH": "/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
}
_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


@dataclass(frozen=True)
class Instruction:
    """One instruction: its keyword (upper case), its text, and the build stage (0, 1…)."""

    keyword: str
    text: str
    stage: int


def instructions(text: str | None = None) -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined and comments dropped."""
    source = DOCKERFILE.read_text() if text is None else text
    found: list[Instruction] = []
    stage = -1
    for line in _logical_lines(source):
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        found.append(Instruction(keyword, rest.strip(), stage))
    return found


def _logical_lines(source: str) -> Iterator[str]:
    pending = ""
    for raw in source.splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue  # a comment (also one inside a continued instruction), or a blank
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        yield (pending + stripped).strip()
        pending = ""
    if pending.strip():
        yield pending.strip()


def final_stage(found: list[Instruction]) -> list[Instruction]:
    """The instructions of the stage that becomes the image."""
    last = max(i.stage for i in found)
    return [i for i in found if i.stage == last]


def exec_form(text: str) -> list[str]:
    """A JSON (exec form) argument list; AssertionError for the shell form."""
    value = json.loads(text)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), text
    return value


def one(stage: list[Instruction], keyword: str) -> str:
    """The text of the stage's last ``keyword`` (as Docker: the last one counts)."""
    texts = [i.text for i in stage if i.keyword == keyword]
    assert texts, f"no {keyword} in the final stage"
    return texts[-1]


def image_env(stage: list[Instruction]) -> dict[str, str]:
    """The environment a container of the image starts with: the base image's, then each
    ``ENV`` (``$NAME`` and ``${NAME}`` replaced by the value so far)."""
    env = dict(BASE_ENV)
    for instruction in stage:
        if instruction.keyword != "ENV":
            continue
        for pair in shlex.split(instruction.text):
            name, sep, value = pair.partition("=")
            assert sep, f"ENV {pair!r}: use NAME=value"
            env[name] = _VARIABLE.sub(lambda m: env.get(m.group(1) or m.group(2), ""), value)
    return env


def image_user(stage: list[Instruction]) -> tuple[int, int]:
    """``USER uid:gid``, numeric (Kubernetes' runAsNonRoot can only check a number)."""
    uid, _, gid = one(stage, "USER").partition(":")
    return int(uid), int(gid or uid)


def healthcheck(stage: list[Instruction]) -> tuple[dict[str, str], list[str]]:
    """``HEALTHCHECK``'s options (``interval`` → ``30s``) and its command (exec form)."""
    text = one(stage, "HEALTHCHECK")
    options: dict[str, str] = {}
    while text.startswith("--"):
        option, _, text = text.partition(" ")
        name, _, value = option[2:].partition("=")
        options[name] = value
        text = text.strip()
    keyword, _, command = text.partition(" ")
    assert keyword.upper() == "CMD", text
    return options, exec_form(command.strip())


def command(stage: list[Instruction]) -> list[str]:
    """What a container runs with no arguments: ENTRYPOINT followed by CMD."""
    return exec_form(one(stage, "ENTRYPOINT")) + exec_form(one(stage, "CMD"))


# --- the build context --------------------------------------------------------------------


def _pattern(text: str) -> re.Pattern[str]:
    """A .dockerignore pattern (Go's filepath.Match, plus ``**``) as a regular expression."""
    path = os.path.normpath(text.strip().lstrip("/"))
    out = ""
    i = 0
    while i < len(path):
        if path.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif path.startswith("**", i):
            out += ".*"
            i += 2
        elif path[i] == "*":
            out += "[^/]*"
            i += 1
        elif path[i] == "?":
            out += "[^/]"
            i += 1
        elif path[i] == "[":
            end = path.index("]", i)
            out += path[i : end + 1]
            i = end + 1
        else:
            out += re.escape(path[i])
            i += 1
    return re.compile(out)


def ignore_rules(text: str | None = None) -> list[tuple[bool, re.Pattern[str], str]]:
    """(is an exception ``!``, pattern, its text) for each line of .dockerignore."""
    source = DOCKERIGNORE.read_text() if text is None else text
    rules = []
    for raw in source.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        body = line[1:] if negated else line
        rules.append((negated, _pattern(body), body))
    return rules


def in_context(relative: str, rules: list[tuple[bool, re.Pattern[str], str]]) -> bool:
    """Whether ``relative`` (a path in the checkout, with ``/``) reaches the build: the last
    rule matching it, or one of the folders above it, decides."""
    parts = relative.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    included = True
    for negated, pattern, _ in rules:
        if any(pattern.fullmatch(p) for p in prefixes):
            included = negated
    return included


def context_files(root: Path = ROOT) -> set[str]:
    """Every file of ``root`` that .dockerignore lets into the build context."""
    rules = ignore_rules()
    exceptions = [body.strip("/") for negated, _, body in rules if negated]
    found: set[str] = set()
    for folder, dirs, files in os.walk(root):
        here = Path(folder).relative_to(root).as_posix()
        here = "" if here == "." else here + "/"
        # only walk into a left-out folder when an exception names something inside it
        dirs[:] = [
            d
            for d in dirs
            if in_context(here + d, rules)
            or any(e == here + d or e.startswith(here + d + "/") for e in exceptions)
        ]
        found |= {here + f for f in files if in_context(here + f, rules)}
    return found
