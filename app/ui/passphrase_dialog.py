"""Asks for a key's passphrase when the keychain has none (or a wrong one)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.ui.icons import app_icon


class PassphraseDialog(QDialog):
    """Open it with ``open()``; the answer comes back as ``entered`` or ``declined``."""

    entered = Signal(str, str, bool)  # tunnel name, passphrase, remember in the keychain
    declined = Signal(str)

    def __init__(
        self, name: str, key_path: str, wrong: bool, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.name = name
        self.setWindowTitle(f"Passphrase for {name}")
        self.setWindowIcon(app_icon())
        self.setMinimumWidth(440)
        intro = QLabel(
            f"The key of tunnel <b>{name}</b> is protected by a passphrase.<br>"
            f"<span style='color:#5f6368'>{key_path}</span>"
        )
        intro.setWordWrap(True)
        self.field = QLineEdit()
        self.field.setEchoMode(QLineEdit.EchoMode.Password)
        self.field.setPlaceholderText("Passphrase")
        self.problem = QLabel("That passphrase was not right; try again." if wrong else "")
        self.problem.setStyleSheet("color: #c5221f")
        self.problem.setVisible(wrong)
        self.remember = QCheckBox("&Remember in the system keychain")
        self.remember.setChecked(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("&Connect")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.field)
        layout.addWidget(self.problem)
        layout.addWidget(self.remember)
        layout.addWidget(buttons)
        self.field.setFocus()

    def accept(self) -> None:
        if not self.field.text():
            self.problem.setText("Type the passphrase, or Cancel to leave the tunnel off.")
            self.problem.show()
            return
        passphrase = self.field.text()
        self.field.clear()  # not kept in the widget once handed over
        super().accept()
        self.entered.emit(self.name, passphrase, self.remember.isChecked())

    def reject(self) -> None:
        self.field.clear()
        super().reject()
        self.declined.emit(self.name)
