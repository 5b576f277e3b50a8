"""The control API's wire format: one JSON object a line, requests checked before use."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from app.core.textsafe import DETAIL_LIMIT, safe_text

MAX_LINE = 1024 * 1024  # one request or reply; a longer line ends the connection
MAX_NAME = 200
PROTOCOL = 1


class Op(StrEnum):
    """What a controller can ask a host for."""

    HELLO = "hello"  # who hosts: kind, pid, uid, version
    LIST = "list"  # the hosted tunnels' typed status
    CONNECT = "connect"
    DISCONNECT = "disconnect"
    RECONNECT = "reconnect"
    TEST = "test"  # the connection test, run by the host
    EVENTS = "events"  # a stream of events until the controller hangs up
    LOGS = "logs"  # the last lines of the host's log (``follow``: then a stream)


class HostKind(StrEnum):
    """Who hosts a tunnel (the ``host`` key of ``tunnelkeeper status --json``)."""

    APP = "app"
    RUN = "run"
    SERVICE = "service"


NAMED = {Op.CONNECT, Op.DISCONNECT, Op.RECONNECT, Op.TEST}


class BadRequest(ValueError):
    """A line that is not a request this host understands; the sentence says why."""


@dataclass(frozen=True)
class Request:
    id: int
    op: Op
    name: str = ""  # the tunnel, for the ops that act on one
    lines: int = 100  # logs: how many
    follow: bool = False  # logs: go on streaming new lines


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=True).encode() + b"\n"


def request(op: Op, req_id: int = 1, **args: Any) -> dict[str, Any]:
    return {"id": req_id, "op": op.value, "args": args}


def parse_request(line: bytes) -> Request:
    """The request on ``line``; raises BadRequest with a short, printable reason."""
    if len(line) > MAX_LINE:
        raise BadRequest("request too long")
    try:
        data = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("not JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("not a JSON object")
    req_id = data.get("id")
    if not isinstance(req_id, int) or isinstance(req_id, bool):
        raise BadRequest("id must be a whole number")
    try:
        op = Op(str(data.get("op")))
    except ValueError:
        raise BadRequest(f"unknown op {safe_text(str(data.get('op')), 40)}") from None
    args = data.get("args", {})
    if not isinstance(args, dict):
        raise BadRequest("args must be a JSON object")
    name = args.get("name", "")
    if not isinstance(name, str) or len(name) > MAX_NAME:
        raise BadRequest("name must be a short string")
    if op in NAMED and not name:
        raise BadRequest(f"{op.value} needs a tunnel name")
    lines = args.get("lines", 100)
    if not isinstance(lines, int) or isinstance(lines, bool) or not 0 <= lines <= 10_000:
        raise BadRequest("lines must be a whole number from 0 to 10000")
    follow = args.get("follow", False)
    if not isinstance(follow, bool):
        raise BadRequest("follow must be true or false")
    return Request(req_id, op, name, lines, follow)


def reply(req_id: int, result: Any) -> dict[str, Any]:
    return {"id": req_id, "ok": True, "result": result}


def failure(req_id: int, kind: str, message: str, **more: Any) -> dict[str, Any]:
    error = {"kind": kind, "message": safe_text(message, DETAIL_LIMIT), **more}
    return {"id": req_id, "ok": False, "error": error}


def parse_reply(line: bytes) -> dict[str, Any]:
    """A host's reply or streamed item; raises BadRequest when it is not one."""
    if len(line) > MAX_LINE:
        raise BadRequest("reply too long")
    try:
        data = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the host's reply is not JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("the host's reply is not a JSON object")
    return data
