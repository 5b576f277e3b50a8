"""Whether a window can open here at all (checked before Qt is imported)."""

from __future__ import annotations

import os
import sys


def display_problem() -> str | None:
    """Why no window can open here (a server without a screen), if that is the case."""
    if sys.platform.startswith("linux") and not os.environ.get("QT_QPA_PLATFORM"):
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            return (
                "no graphical display here (DISPLAY and WAYLAND_DISPLAY are unset). "
                "On a server, use the commands below: `tunnelkeeper add`, `trust` and `run`."
            )
    return None
