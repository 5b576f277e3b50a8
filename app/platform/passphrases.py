"""Key passphrases kept in the OS keychain through ``keyring``, never anywhere else."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import closing
from typing import TypeVar

import keyring
import keyring.errors
from keyring.backend import KeyringBackend
from keyring.backends import SecretService, chainer, fail, null

from app.errors import KeyringFailed, KeyringLocked, KeyringUnavailable

# SecretStorage backs the Secret Service backend; keyring installs it on Linux only.
_SS_LOCKED: tuple[type[Exception], ...] = ()
_SS_ABSENT: tuple[type[Exception], ...] = ()
try:
    import secretstorage
    from secretstorage.collection import DEFAULT_COLLECTION
    from secretstorage.exceptions import (
        ItemNotFoundException,
        LockedException,
        PromptDismissedException,
        SecretServiceNotAvailableException,
    )
except ImportError:  # pragma: no cover - macOS and Windows
    _HAVE_SECRETSTORAGE = False
else:
    _HAVE_SECRETSTORAGE = True
    _SS_LOCKED = (LockedException, PromptDismissedException)
    _SS_ABSENT = (SecretServiceNotAvailableException,)

SERVICE = "Tunnelkeeper"
# A username nobody uses: ``usable()`` reads it to see whether a backend answers at all.
_PROBE_USER = "tunnelkeeper-keychain-probe"
_MAX_DETAIL = 160

log = logging.getLogger(__name__)

T = TypeVar("T")


class PassphraseStore:
    """One keychain entry per key: service ``Tunnelkeeper``, username the key's name.

    Every call may block — on D-Bus round trips, and with ``allow_prompt=True`` on the
    desktop's unlock prompt until the person answers it — so GUI code must call these
    methods off the GUI thread (a worker ``QThread``), never from a slot on the main one.

    With the default ``allow_prompt=False`` a locked Secret Service collection is reported
    as :class:`KeyringLocked` at once instead of popping up an unlock prompt, so a
    headless ``tunnelkeeper run`` never waits on a dialog nobody can see.

    Nothing is ever written outside the keychain: when it is not usable, ``get``, ``set``
    and ``delete`` raise :class:`KeyringUnavailable` (or a subclass) and store nothing.
    No passphrase appears in any message, log line or exception.
    """

    def __init__(
        self, backend: KeyringBackend | None = None, *, allow_prompt: bool = False
    ) -> None:
        self._backend = backend
        self._allow_prompt = allow_prompt

    @property
    def backend(self) -> KeyringBackend:
        """The injected backend, else keyring's configured or detected one."""
        if self._backend is not None:
            return self._backend
        try:
            return keyring.get_keyring()
        except Exception as exc:  # detection probes every backend and may raise anything
            error = _translate(exc)
        raise error  # outside the handler: no backend exception is chained to ours

    def problem(self) -> KeyringUnavailable | None:
        """Why the keychain cannot be used right now (never prompts), or None if it can."""
        try:
            backend = self.backend
        except KeyringUnavailable as exc:
            return exc
        found = _static_problem(backend) or _locked_problem(backend)
        if found is not None or isinstance(backend, SecretService.Keyring):
            return found
        try:
            backend.get_password(SERVICE, _PROBE_USER)
        except Exception as exc:
            return _translate(exc)
        return None

    def usable(self) -> bool:
        """True when passphrases can be stored and read back without asking anyone."""
        found = self.problem()
        if found is not None:
            log.debug("the system keychain is not usable: %s", found.detail)
        return found is None

    def get(self, key_name: str) -> str | None:
        """The stored passphrase for ``key_name``, or None if none is stored."""
        return self._call("read", key_name, lambda b: b.get_password(SERVICE, key_name))

    def set(self, key_name: str, passphrase: str) -> None:
        """Store (or replace) the passphrase for ``key_name``."""
        self._call(
            "store",
            key_name,
            lambda b: b.set_password(SERVICE, key_name, passphrase),
            secret=passphrase,
        )

    def delete(self, key_name: str) -> None:
        """Forget the passphrase for ``key_name``; nothing stored is fine."""

        def forget(backend: KeyringBackend) -> None:
            try:
                backend.delete_password(SERVICE, key_name)
            except keyring.errors.PasswordDeleteError:
                # Backends say "not found" this way, but also some real failures.
                if backend.get_password(SERVICE, key_name) is not None:
                    raise

        self._call("forget", key_name, forget)

    def _call(
        self,
        action: str,
        key_name: str,
        operation: Callable[[KeyringBackend], T],
        secret: str | None = None,
    ) -> T:
        if not key_name:
            # An empty username would match every Tunnelkeeper entry in a search.
            raise ValueError("key_name must be a non-empty str")
        backend = self.backend
        found = _static_problem(backend)
        if found is None and not self._allow_prompt:
            found = _locked_problem(backend)
        if found is not None:
            raise found
        try:
            return operation(backend)
        except Exception as exc:
            error = _translate(exc, action, key_name, secret)
        raise error  # outside the handler: no backend exception is chained to ours


def _static_problem(backend: KeyringBackend) -> KeyringUnavailable | None:
    """Backends that can never keep a passphrase, recognised without calling them."""
    if isinstance(backend, fail.Keyring):
        return KeyringUnavailable("no keychain backend is installed or running")
    if isinstance(backend, null.Keyring):
        return KeyringUnavailable("keychain use is switched off by the keyring settings")
    if isinstance(backend, chainer.ChainerBackend):
        try:
            members = backend.backends
        except Exception as exc:  # keyring raises while probing a member that is gone
            return _translate(exc)
        problems = [_static_problem(member) for member in members]
        if not problems:
            return KeyringUnavailable("no keychain backend is installed or running")
        if all(problems):
            return problems[0]
    return None


def _locked_problem(backend: KeyringBackend) -> KeyringUnavailable | None:
    """For the Secret Service: absent or locked, asked without triggering a prompt."""
    if not isinstance(backend, SecretService.Keyring):
        return None
    if not _HAVE_SECRETSTORAGE:
        return KeyringUnavailable("the SecretStorage package is not installed")
    try:
        with closing(secretstorage.dbus_init()) as connection:
            if not secretstorage.check_service_availability(connection):
                return KeyringUnavailable(
                    "no Secret Service, such as GNOME Keyring or KWallet, is running"
                )
            path = getattr(backend, "preferred_collection", None) or DEFAULT_COLLECTION
            if secretstorage.Collection(connection, path).is_locked():
                return KeyringLocked()
    except ItemNotFoundException:
        return KeyringUnavailable("the keychain has no default collection to store in")
    except Exception as exc:
        return _translate(exc)
    return None


def _translate(
    exc: Exception, action: str = "", key_name: str = "", secret: str | None = None
) -> KeyringUnavailable:
    """Our exception for whatever a backend raised; its text is scrubbed of ``secret``.

    Without an ``action`` (probes, detection) every failure means "not available".
    """
    if isinstance(exc, KeyringUnavailable):
        return exc
    if isinstance(exc, (keyring.errors.KeyringLocked, *_SS_LOCKED)):
        return KeyringLocked()
    if isinstance(exc, OSError):  # the session bus (or another transport) cannot be reached
        return KeyringUnavailable(f"cannot talk to it: {exc.strerror or _detail(exc, secret)}")
    detail = _detail(exc, secret)
    absent: tuple[type[Exception], ...] = (
        keyring.errors.InitError,
        keyring.errors.NoKeyringError,
        *_SS_ABSENT,
    )
    if not action or isinstance(exc, absent):
        return KeyringUnavailable(detail)
    return KeyringFailed(action, key_name, detail)


def _detail(exc: Exception, secret: str | None) -> str:
    """One short line from a backend's exception, never containing ``secret``."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if secret:
        text = text.replace(secret, "[hidden]")
    if len(text) > _MAX_DETAIL:
        text = text[: _MAX_DETAIL - 1] + "…"
    if secret and secret in text:  # "[hidden]" and its neighbours spelled it anew
        return type(exc).__name__
    return text.rstrip(".")
