"""Logging set-up shared by the CLI and the app: console, rotating file, quiet paramiko."""

from __future__ import annotations

import logging
import logging.handlers
import sys

from app.paths import AppPaths, ensure_private_dir

log = logging.getLogger("tunnelkeeper")

MAX_BYTES = 1_000_000
BACKUPS = 3
FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(paths: AppPaths, verbose: bool, console: bool = True) -> None:
    """Log to stderr (if ``console``) and to a file in the log folder that rotates at 1 MB."""
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    if console:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
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
        file_handler.setFormatter(logging.Formatter(FILE_FORMAT))
        root.addHandler(file_handler)
    # paramiko's own log is chatty and can quote server messages; keep it to warnings.
    logging.getLogger("paramiko").setLevel(logging.DEBUG if verbose else logging.CRITICAL)
