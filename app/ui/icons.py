"""The tray and window icons, loaded from the bundled resources folder."""

from __future__ import annotations

import sys

from PySide6.QtGui import QIcon

from app.storage.paths import resources_dir
from app.ui.summary import Light


def icon_file(name: str) -> str:
    return str(resources_dir() / "icons" / f"{name}.svg")


def app_icon() -> QIcon:
    return QIcon(icon_file("tunnelkeeper"))


def tray_icon(light: Light) -> QIcon:
    """One icon per colour; on macOS a monochrome template while all is well (up, standing
    by or off: the menu bar tints it), the colour only when something needs a look."""
    if sys.platform == "darwin" and light in (Light.GREEN, Light.BLUE, Light.GREY):
        icon = QIcon(icon_file("tunnelkeeper-template"))
        icon.setIsMask(True)
        return icon
    return QIcon(icon_file(f"tunnelkeeper-{light.value}"))
