"""Key work the wizard runs on worker threads: create, import, reuse, remember, forget (no Qt)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

from app.core.profile import Profile, validate_name
from app.errors import InvalidField
from app.services.keys import KeyService
from app.ssh import keys
from app.ui.wizard.draft import DEFAULT_NAME, Draft

log = logging.getLogger(__name__)

STORED_NOTE = "The passphrase is stored in the system keychain."


class Choice(IntEnum):
    """The Key page's three ways to a key."""

    CURRENT = 0  # editing: keep the profile's key where it is
    NEW = 1
    EXISTING = 2


@dataclass(frozen=True)
class KeyReady:
    """A key the tunnel can use, and what to tell the person about it."""

    path: str  # absolute path of the private key
    name: str  # its name in the keys folder ("" when it is kept elsewhere)
    public_line: str
    fingerprint: str
    created: keys.KeyFiles | None = None  # written by this step
    stored: bool = False  # its passphrase went into the keychain
    note: str = ""  # about the keychain; "" when there is nothing to say


def free_key_name(keys_dir: Path, wanted: str) -> str:
    """``wanted`` (else ``tunnel``), then ``wanted-2``, ``wanted-3``… whichever is unused."""
    try:
        base = validate_name(wanted)[:56]
    except InvalidField:
        base = DEFAULT_NAME
    number = 1
    while True:
        name = base if number == 1 else f"{base}-{number}"
        files = keys.key_files(keys_dir, name)
        if not files.private.exists() and not files.public.exists():
            return name
        number += 1


def remember(service: KeyService, key_path: str, passphrase: str) -> tuple[bool, str]:
    """Store the passphrase in the keychain if it is usable; (stored, note for the person)."""
    try:
        problem = service.keychain_problem()
        if problem:
            return False, problem
        kept = service.remember(key_path, passphrase)
    except Exception as exc:  # the key exists either way; say so rather than lose it
        log.warning("storing a passphrase failed: %s", type(exc).__name__)
        return False, f"the passphrase was not stored ({type(exc).__name__})."
    return (True, STORED_NOTE) if kept.stored else (False, kept.reason)


def keychain_problem(service: KeyService) -> str:
    """Why the keychain cannot keep passphrases now ("" when it can)."""
    return service.keychain_problem()


NO_KEYCHAIN_TIP = (
    "No system keychain is available on this computer, so the passphrase cannot be remembered"
)


@dataclass(frozen=True)
class RememberBox:
    """How the Key page shows "Remember the passphrase in the system keychain"."""

    usable: bool  # False: unticked and disabled, for no keychain can keep a passphrase
    tooltip: str
    note: str  # the warning beneath it; "" when there is nothing to warn about


def remember_box(problem: str | None, passphrase: str) -> RememberBox:
    """The box for the keychain's ``problem`` (None while it is being asked, "" when it
    works) and the ``passphrase`` typed so far: "asked for each time" is said only of a key
    that has a passphrase."""
    if not problem:
        return RememberBox(True, "", "")
    return RememberBox(False, f"{NO_KEYCHAIN_TIP}: {problem}", problem if passphrase else "")


def _ready(
    path: Path,
    name: str,
    line: str,
    fingerprint: str,
    service: KeyService,
    passphrase: str | None,
    keep: bool,
    created: keys.KeyFiles | None = None,
) -> KeyReady:
    stored, note = remember(service, str(path), passphrase) if passphrase and keep else (False, "")
    return KeyReady(str(path), name, line, fingerprint, created, stored, note)


def create_key(
    keys_dir: Path, wanted: str, passphrase: str | None, keep: bool, service: KeyService
) -> KeyReady:
    """A new ed25519 key in the keys folder, as ``tunnelkeeper keygen`` makes it."""
    name = free_key_name(keys_dir, wanted)
    files = keys.key_files(keys_dir, name)
    made = service.create(name, passphrase, remember=False)
    path = files.private.absolute()
    return _ready(path, name, made.public_line, made.fingerprint, service, passphrase, keep, files)


def import_key(
    keys_dir: Path,
    wanted: str,
    source: Path,
    passphrase: str | None,
    keep: bool,
    service: KeyService,
) -> KeyReady:
    """Copy an existing key in, as ``tunnelkeeper import-key`` does; raises
    KeyPassphraseNeeded when it is encrypted and no passphrase was given."""
    name = free_key_name(keys_dir, wanted)
    typed = passphrase or None
    ask = None if typed is None else (lambda _request: typed)
    files = keys.key_files(keys_dir, name)
    made = service.import_key(name, str(source), ask, remember=False)
    path = files.private.absolute()
    return _ready(path, name, made.public_line, made.fingerprint, service, passphrase, keep, files)


def current_key(
    path: str, passphrase: str | None, keep: bool, service: KeyService, name: str
) -> KeyReady:
    """The edited profile's key, left where it is; a passphrase comes from the argument,
    else from the keychain; raises KeyPassphraseNeeded when neither has it."""
    typed = passphrase or None
    loaded = service.open_key(path, name, typed)
    line = service.public_line_of(loaded)
    return _ready(Path(path), "", line, loaded.fingerprint, service, typed, keep)


def key_job(
    choice: Choice, draft: Draft, typed: str | None, keep: bool, source: Path
) -> Callable[[Any], KeyReady]:
    """The work for ``choice``, with every value it needs taken now (on the GUI thread), so
    the worker touches nothing the page may change meanwhile."""
    keys_dir, wanted, keychain = draft.paths.keys_dir, draft.suggested_name(), draft.services.keys
    if choice is Choice.NEW:
        return lambda _progress: create_key(keys_dir, wanted, typed, keep, keychain)
    if choice is Choice.EXISTING:
        return lambda _progress: import_key(keys_dir, wanted, source, typed, keep, keychain)
    if draft.editing is None:
        raise ValueError("there is no current key when a new tunnel is set up")
    path, name = draft.editing.key_path, draft.editing.name
    return lambda _progress: current_key(path, typed, keep, keychain, name)


def stored_passphrase(service: KeyService, key_path: str) -> str | None:
    return service.stored(key_path)


def load_key(path: str, passphrase: str | None, service: KeyService, name: str) -> Any:
    """Load a private key: unencrypted, else with ``passphrase``, else the keychain's."""
    return service.open_key(path, name, passphrase).key


def key_loader(
    passphrase: str | None,
    service: KeyService,
    held: Callable[[str], Any] = lambda path: None,
) -> Callable[[Profile], Any]:
    """What ConnectionTest calls (on its worker thread) to get the profile's key: without a
    passphrase typed in this run, the key the app ``held`` opened (the tunnel's, when only
    another part of it is changed), else the file (with the keychain's passphrase)."""

    def load(profile: Profile) -> Any:
        if passphrase is None:
            key = held(profile.key_path)
            if key is not None:
                return key
        return load_key(profile.key_path, passphrase, service, profile.name)

    return load


def forget(files: list[keys.KeyFiles], remembered: list[str], service: KeyService) -> None:
    """Delete keys made in a run that was cancelled, and any passphrase it stored."""
    for made in files:
        for path in (made.private, made.public):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    for key_path in remembered:
        service.forget(key_path)
