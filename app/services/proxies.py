"""Proxy passwords: in the keychain (or the service's systemd credentials), never in a file."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from app.core.profile import Profile
from app.core.proxy import parse_proxy, proxy_secret_name
from app.errors import InvalidField, TunnelkeeperError
from app.platform.keychain import Keychain
from app.services.keys import Remembered

MAX_PASSWORD = 4096  # what a systemd credential of ours holds (app.platform.credentials)


def secret_name(profile: Profile) -> str | None:
    """The keychain entry of ``profile``'s proxy password; None when its proxy names no user
    (``none``, ``system`` and a proxy URL without ``user@`` have no password of ours)."""
    return setting_secret_name(profile.proxy)


def setting_secret_name(proxy: str) -> str | None:
    """As :func:`secret_name`, for a proxy setting (a profile's ``proxy``); InvalidField."""
    setting = parse_proxy(proxy)
    if setting.kind != "url" or setting.user is None:
        return None
    return proxy_secret_name(setting)


def check_password(password: str) -> str:
    """``password`` if it can be kept; raises InvalidField (never quoting it)."""
    if not password:
        raise InvalidField("proxy", "the proxy password is empty.")
    if len(password) > MAX_PASSWORD:
        raise InvalidField("proxy", f"the proxy password is over {MAX_PASSWORD} characters.")
    if "\n" in password or "\r" in password or "\x00" in password:
        raise InvalidField("proxy", "the proxy password holds a line break or a NUL character.")
    return password


class ProxyService:
    """The password of each tunnel's proxy user, one keychain entry per proxy and user
    (``proxy_secret_name``): tunnels behind the same proxy as the same user share it.

    ``keychain`` is called (once, lazily, by the caller's factory) when a password is
    needed; for the system service it is its credentials folder (read-only), so a password
    moved there by ``service install --move`` is read the same way.
    """

    def __init__(self, keychain: Callable[[], Keychain]) -> None:
        self._keychain = keychain

    def wants_password(self, profile: Profile) -> bool:
        """True when ``profile``'s proxy names a user, whose password would be looked up."""
        return secret_name(profile) is not None

    def password(self, profile: Profile) -> str | None:
        """The stored password of ``profile``'s proxy user; None when its proxy names no
        user, none is stored, or the keychain cannot answer. May block on the keychain."""
        return self.setting_password(profile.proxy)

    def setting_password(self, proxy: str) -> str | None:
        """As :meth:`password`, for a proxy setting (a tunnel not saved yet: the wizard's)."""
        try:
            name = setting_secret_name(proxy)
        except InvalidField:
            return None
        if name is None:
            return None
        try:
            return self._keychain().get(name)
        except TunnelkeeperError:
            return None

    def remember(self, profile: Profile, password: str) -> Remembered:
        """Keep ``password`` for ``profile``'s proxy user in the keychain, never anywhere
        else. Raises InvalidField when the proxy names no user or the password is unusable."""
        name = secret_name(profile)
        if name is None:
            raise InvalidField(
                "proxy",
                "a proxy password needs a proxy user: give the proxy as "
                "http://USER@HOST:PORT (or socks5://USER@HOST:PORT).",
            )
        check_password(password)
        try:
            self._keychain().set(name, password)
        except TunnelkeeperError as exc:
            return Remembered(False, str(exc))
        return Remembered(True)

    def forget(self, profile: Profile) -> None:
        """Remove the password of ``profile``'s proxy user; a failure is not an error here."""
        name = secret_name(profile)
        if name is None:
            return
        try:
            self._keychain().delete(name)
        except TunnelkeeperError:
            return

    def forget_unless_used(self, profile: Profile, others: Iterable[Profile]) -> bool:
        """Forget ``profile``'s proxy password when none of ``others`` uses the same proxy
        user; True when it was forgotten (or there was none to forget)."""
        name = secret_name(profile)
        if name is None:
            return True
        if any(_safe_secret_name(other) == name for other in others):
            return False
        self.forget(profile)
        return True


def _safe_secret_name(profile: Profile) -> str | None:
    try:
        return secret_name(profile)
    except InvalidField:
        return None
