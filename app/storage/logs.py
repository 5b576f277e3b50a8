"""Logging set-up shared by the CLI and the app: console, rotating file, quiet paramiko."""

from __future__ import annotations

import logging
import logging.handlers
import sys
import traceback
from collections.abc import MutableMapping
from typing import Any

from app.core.textsafe import LOG_LIMIT, safe_text
from app.storage.paths import AppPaths, ensure_private_dir

log = logging.getLogger("tunnelkeeper")

MAX_BYTES = 1_000_000
BACKUPS = 3
FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
TRACE_LIMIT = 8_000  # a traceback keeps its last lines up to this size (where and why)


class SafeFormatter(logging.Formatter):
    """A record's message on one line of at most ``LOG_LIMIT`` characters, control characters
    escaped (a traceback keeps its line breaks, bounded too): a message quoting a server can
    neither forge log lines nor drive a terminal, nor rotate the earlier history away."""

    def format(self, record: logging.LogRecord) -> str:
        record.message = safe_text(record.getMessage(), LOG_LIMIT)
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        text = self.formatMessage(record)
        # Not the cached record.exc_text: another handler's formatter may have made it raw.
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        elif record.exc_text:
            text += "\n" + _safe_block(record.exc_text.split("\n"))
        if record.stack_info:
            text += "\n" + self.formatStack(record.stack_info)
        return text

    def formatException(self, ei: Any) -> str:
        lines: list[str] = []
        for unit in traceback.format_exception(*ei):
            if unit.startswith(_TRACE_PARTS):
                lines += unit.rstrip("\n").split("\n")  # our own frames and headings
            else:
                lines.append(unit.rstrip("\n"))  # an exception's words: one line, always
        return _safe_block(lines)

    def formatStack(self, stack_info: str) -> str:
        return _safe_block(stack_info.split("\n"))


_TRACE_PARTS = ("Traceback ", "  File ", "\nDuring handling ", "\nThe above exception ")


def _safe_block(lines: list[str]) -> str:
    """Each line made safe; the last lines kept, up to ``TRACE_LIMIT`` characters."""
    kept: list[str] = []
    size = 0
    for line in reversed(lines):
        safe = safe_text(line, LOG_LIMIT)
        if kept and size + len(safe) + 1 > TRACE_LIMIT:
            break
        kept.append(safe)
        size += len(safe) + 1
    if len(kept) < len(lines):
        kept.append(f"({len(lines) - len(kept)} earlier lines left out)")
    return "\n".join(reversed(kept))


def setup_logging(paths: AppPaths, verbose: bool, console: bool = True) -> None:
    """Log to stderr (if ``console``) and to a file in the log folder that rotates at 1 MB."""
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    if console:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(SafeFormatter("%(asctime)s %(message)s", "%H:%M:%S"))
        stream.setLevel(logging.DEBUG if verbose else logging.INFO)
        root.addHandler(stream)
    try:
        ensure_private_dir(paths.log_dir)
        file_handler = logging.handlers.RotatingFileHandler(
            paths.log_file, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
        )
    except OSError as exc:
        log.warning("cannot write the log file %s: %s", paths.log_file, exc)
    else:
        file_handler.setFormatter(SafeFormatter(FILE_FORMAT))
        root.addHandler(file_handler)
    quiet_paramiko(verbose)


Log = logging.Logger | logging.LoggerAdapter[logging.Logger]  # a logger, or one with a prefix


def quiet_paramiko(verbose: bool = False) -> None:
    """The one place paramiko's logger is set: its log is chatty, logs protocol trouble with
    tracebacks and can quote server messages; we report trouble in our own words."""
    logging.getLogger("paramiko").setLevel(logging.DEBUG if verbose else logging.CRITICAL)


def tunnel_log(logger: logging.Logger, tunnel: str | None) -> Log:
    """``logger`` with ``[tunnel] `` before every line (as it is, without a tunnel)."""
    return logger if tunnel is None else TunnelLog(logger, tunnel)


class TunnelLog(logging.LoggerAdapter[logging.Logger]):
    """A logger that starts every line with the tunnel's name: ``[warehouse] …``."""

    def __init__(self, logger: logging.Logger, tunnel: str) -> None:
        super().__init__(logger, {"tunnel": tunnel})
        self.tunnel = tunnel

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        # tunnel names are letters, digits, '-' and '_' (profile.NAME_RE): never a '%'
        return f"[{self.tunnel}] {msg}", kwargs
