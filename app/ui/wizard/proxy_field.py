"""The Endpoint page's proxy: system settings, none, or an HTTP(S) or SOCKS5 proxy of its own."""

from __future__ import annotations

from enum import StrEnum
from urllib.parse import quote

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.core.profile import format_hostport, validate_port
from app.core.proxy import parse_proxy
from app.errors import InvalidField
from app.services.proxies import check_password


class Choice(StrEnum):
    SYSTEM = "system"
    NONE = "none"
    HTTP = "http"
    SOCKS5 = "socks5"


TEXTS = {
    Choice.SYSTEM: "System settings",
    Choice.NONE: "No proxy",
    Choice.HTTP: "HTTP proxy…",
    Choice.SOCKS5: "SOCKS5 proxy…",
}
_OWN = (Choice.HTTP, Choice.SOCKS5)


def detected_text(label: str | None) -> str:
    """The first choice's text: "System settings (detected: HTTP proxy 10.0.0.5:3128)";
    ``label`` None while asking, "" when the settings name no proxy."""
    if label is None:
        return f"{TEXTS[Choice.SYSTEM]} (detecting…)"
    return f"{TEXTS[Choice.SYSTEM]} (detected: {label or 'none, direct'})"


class ProxyField(QWidget):
    """A combo box, and for a proxy of the tunnel's own its host, port, user and password.

    ``value()`` gives the profile's ``proxy`` text and the password typed (never part of
    that text: it goes to the keychain on Finish). ``changed`` is emitted on every edit.
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.setObjectName("proxy")
        for choice in Choice:
            self.combo.addItem(TEXTS[choice], choice.value)
        self.host = QLineEdit()
        self.host.setPlaceholderText("proxy.example.com or 10.0.0.5")
        self.port = QLineEdit()
        self.port.setPlaceholderText("3128")
        self.user = QLineEdit()
        self.user.setPlaceholderText("only if the proxy asks for one (NTLM: DOMAIN\\user)")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("kept in the keychain, never in the settings file")
        self.tls = QCheckBox("Connect to the proxy with T&LS (https://)")
        self.tls.setObjectName("proxy_tls")
        self.tls.setToolTip(
            "For a proxy that takes connections only over TLS; its certificate is checked "
            "against this computer's trusted authorities."
        )
        self.details = QWidget()
        form = QFormLayout(self.details)
        form.setContentsMargins(16, 0, 0, 0)
        form.addRow("Proxy &host:", self.host)
        form.addRow("Proxy po&rt:", self.port)
        form.addRow("Proxy us&er:", self.user)
        form.addRow("Proxy pass&word:", self.password)
        form.addRow("", self.tls)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.combo)
        layout.addWidget(self.details)
        self._scheme = {Choice.HTTP: "http", Choice.SOCKS5: "socks5"}  # https / socks5h kept
        self.combo.currentIndexChanged.connect(self._chosen)
        for edit in (self.host, self.port, self.user, self.password):
            edit.textChanged.connect(self.changed)
        self.tls.toggled.connect(self._tls_toggled)
        self.setFocusProxy(self.combo)
        self._chosen()

    @property
    def choice(self) -> Choice:
        return Choice(self.combo.currentData())

    def choose(self, choice: Choice) -> None:
        self.combo.setCurrentIndex(self.combo.findData(choice.value))

    def set_detected(self, label: str | None) -> None:
        """What the system settings name now (see ``detected_text``)."""
        self.combo.setItemText(self.combo.findData(Choice.SYSTEM.value), detected_text(label))

    def set_spec(self, spec: str) -> None:
        """Show a profile's ``proxy`` (pasted, or the edited tunnel's); one that cannot be
        read shows as the system settings."""
        try:
            setting = parse_proxy(spec)
        except InvalidField:
            self.choose(Choice.SYSTEM)
            return
        if setting.kind != "url":
            self.choose(Choice(setting.kind))
            return
        scheme = setting.scheme or "http"
        choice = Choice.SOCKS5 if scheme.startswith("socks") else Choice.HTTP
        self._scheme[choice] = scheme
        self.tls.setChecked(scheme == "https")
        self.host.setText(setting.host or "")
        self.port.setText(str(setting.port or ""))
        self.user.setText(setting.user or "")
        self.password.clear()
        self.choose(choice)

    def spec(self) -> str:
        """The profile's ``proxy`` as chosen; raises InvalidField("proxy", …)."""
        choice = self.choice
        if choice not in _OWN:
            return choice.value
        host = self.host.text().strip()
        if not host:
            raise InvalidField("proxy", "give the proxy's host name or address.")
        if not self.port.text().strip():
            raise InvalidField("proxy", "give the proxy's port.")
        port = validate_port(self.port.text().strip(), "proxy")
        user = self.user.text().strip()
        userinfo = f"{quote(user, safe='')}@" if user else ""
        text = f"{self._scheme[choice]}://{userinfo}{format_hostport(host, port)}"
        return parse_proxy(text).text

    def value(self) -> tuple[str, str | None]:
        """The proxy text and the password typed (None: none typed); InvalidField."""
        spec = self.spec()
        password = self.password.text() if self.choice in _OWN else ""
        if not password:
            return spec, None
        if not self.user.text().strip():
            raise InvalidField("proxy", "a proxy password needs the proxy user too.")
        return spec, check_password(password)

    def _tls_toggled(self, on: bool) -> None:
        self._scheme[Choice.HTTP] = "https" if on else "http"
        self.changed.emit()

    def _chosen(self) -> None:
        self.details.setVisible(self.choice in _OWN)
        self.tls.setVisible(self.choice is Choice.HTTP)
        if self.choice in _OWN:
            default = "1080" if self.choice is Choice.SOCKS5 else "3128"
            self.port.setPlaceholderText(default)
        self.changed.emit()
