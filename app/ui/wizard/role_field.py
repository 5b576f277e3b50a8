"""The Target page's "Another machine runs this tunnel too" (role redundant), and its words."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QStyle, QVBoxLayout, QWidget

from app.core.profile import DEFAULT_ROLE, Profile
from app.ui.wizard.widgets import GREY, Note

REDUNDANT = "redundant"
LABEL = "Another machine runs this tunnel &too"
NOTE = (
    "This machine stands by while the other one holds the vendor's port, and takes over "
    "when it stops. Both need the same allocated port and target."
)


def role_line(role: object) -> str:
    """The Finish summary's line for the role: "" for a single machine."""
    return f"Role: {REDUNDANT} — another machine runs this tunnel too" if role == REDUNDANT else ""


def role_text(profile: Profile) -> str:
    """The detail pane's Role row for a redundant tunnel ("" for a single machine)."""
    if profile.role != REDUNDANT:
        return ""
    return f"{REDUNDANT}: another machine runs this tunnel too; one holds the port, one stands by"


def role_tip(profile: Profile) -> str:
    """The Role row's tooltip: what standing by and taking over mean for this tunnel."""
    return (
        "The machine holding the vendor's port is active; the other stands by and takes "
        "over when it stops. This machine gives the port up when its target has not "
        f"answered for {profile.fence_after} s, so that a machine that reaches it can take over."
    )


class RoleField(QWidget):
    """A check box and, beneath it, what ticking it means; ``role()`` is the profile's."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.box = QCheckBox(LABEL)
        self.box.setObjectName("role")
        self.box.setAccessibleDescription(NOTE)
        self.note = Note(GREY)
        self.note.say(NOTE)
        # the note under the box's text, not under its indicator
        style, metric = self.box.style(), QStyle.PixelMetric
        indent = style.pixelMetric(metric.PM_IndicatorWidth, None, self.box)
        indent += style.pixelMetric(metric.PM_CheckBoxLabelSpacing, None, self.box)
        under = QHBoxLayout()
        under.setContentsMargins(indent, 0, 0, 0)
        under.addWidget(self.note)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.box)
        layout.addLayout(under)

    def set_role(self, role: str) -> None:
        self.box.setChecked(role == REDUNDANT)

    def role(self) -> str:
        return REDUNDANT if self.box.isChecked() else DEFAULT_ROLE
