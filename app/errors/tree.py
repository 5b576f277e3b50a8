"""The exception tree's root, and the errors of configuration, host keys and the keychain."""

from __future__ import annotations

from enum import StrEnum

from app.core.textsafe import DETAIL_LIMIT, safe_text


class Then(StrEnum):
    """What an error means for the job that met it (a tunnel, a test, a command)."""

    RETRY = "retry"  # something outside went wrong: trying again later may work unaided
    WAIT_FOR_USER = "wait_for_user"  # the person must act (trust, passphrase, fix a file)
    STOP = "stop"  # the request cannot succeed as made: the job ends (a tunnel waits in ERROR)


class Action(StrEnum):
    """The remedy a front end can offer its own way (the CLI a command, the GUI a button)."""

    TRUST = "trust"  # trust the jumphost's (new) host key, once checked with the vendor
    REPAIR = "repair"  # move a file the app cannot read aside
    PASSPHRASE = "passphrase"  # noqa: S105 - enter the key's passphrase (again)
    EDIT = "edit"  # change the tunnel's settings (another key, host, port)


class TunnelkeeperError(Exception):
    """Base of every error the app reports to a person; ``str()`` is that sentence: the fact
    and the remedy in words every front end can show. ``then`` and ``action`` are set per
    class (per instance only by an error that stands for another, a host's reply); errors
    whose remedy needs the tunnel carry its ``name``."""

    then: Then = Then.STOP
    action: Action | None = None
    remedy: str = ""  # the sentence's remedy on its own, where a class keeps it apart

    def __init__(self, *args: object) -> None:
        # Sentences quote servers, files and paths: control characters are escaped and the
        # length bounded here, so no caller can put raw terminal codes in front of a person.
        super().__init__(*(safe_text(a, DETAIL_LIMIT) if isinstance(a, str) else a for a in args))

    @property
    def fact(self) -> str:
        """The sentence without its ``remedy`` (all of it, unless a class keeps that apart)."""
        return str(self).removesuffix(f"; {self.remedy}") if self.remedy else str(self)


# --- configuration: the user must change something before it can work -------------


class ConfigError(TunnelkeeperError):
    """The configuration cannot be used as it stands (``then``: STOP, unless a subclass
    says otherwise)."""


class InvalidField(ConfigError):
    """One profile field has a bad value."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = safe_text(message, DETAIL_LIMIT)  # shown on its own beside the field


class PasteError(ConfigError):
    """Pasted text could not be read as tunnel details; ``token`` is the part at fault."""

    def __init__(self, message: str, token: str = "") -> None:
        super().__init__(message)
        self.token = token


REPAIR_REMEDY = "fix it, or move it aside with `tunnelkeeper repair`."


class CorruptConfigFile(ConfigError):
    """A file the app keeps could not be parsed; it is left untouched until someone fixes
    or moves it (``action`` is REPAIR unless another ``remedy`` is given)."""

    then = Then.WAIT_FOR_USER

    def __init__(self, path: str, detail: str, remedy: str = REPAIR_REMEDY) -> None:
        super().__init__(
            f"{path} could not be read ({safe_text(detail)}). It has been left as it is; {remedy}"
        )
        self.path = path
        self.action = Action.REPAIR if remedy == REPAIR_REMEDY else None


class ConfigBusy(ConfigError):
    then = Then.RETRY

    def __init__(self, path: str) -> None:
        super().__init__(
            f"another Tunnelkeeper is changing {path} right now; try again in a moment."
        )
        self.path = path


class UnknownProfile(ConfigError):
    def __init__(self, name: str) -> None:
        super().__init__(f"there is no tunnel named {name!r} (see `tunnelkeeper list`).")
        self.name = name


class ProfileExists(ConfigError):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"a tunnel named {name!r} already exists; remove it first or choose another name."
        )
        self.name = name


class KeyUnreadable(ConfigError):
    def __init__(self, path: str, detail: str) -> None:
        super().__init__(f"the private key {path} cannot be used: {safe_text(detail)}")
        self.path = path


class KeyUnprotected(ConfigError):
    """A private key others can read or change: OpenSSH refuses it, and so do we."""

    def __init__(self, path: str, detail: str, remedy: str) -> None:
        super().__init__(
            f"the private key {path} {detail}, so it is not private (OpenSSH refuses such a "
            f"key too); {remedy}"
        )
        self.path = path


class FolderNotPrivate(ConfigError):
    """A folder we keep keys, sockets or run state in is not ours alone."""

    def __init__(self, path: str, problem: str, remedy: str) -> None:
        super().__init__(f"the folder {path} {problem}, so Tunnelkeeper will not use it; {remedy}")
        self.path = path
        self.problem = problem


class KeyExists(ConfigError):
    def __init__(self, path: str) -> None:
        super().__init__(f"a key already exists at {path}; use --force to replace it.")
        self.path = path


class KeyUnsuitable(ConfigError):
    def __init__(self, path: str, detail: str) -> None:
        super().__init__(f"the key {path} cannot be used: {safe_text(detail)}")
        self.path = path


class KeyUnsupportedEncryption(ConfigError):
    def __init__(self, path: str, cipher: str) -> None:
        super().__init__(
            f"the key {path} is encrypted with {cipher}, which Tunnelkeeper cannot read. "
            f"Re-encrypt it with `ssh-keygen -p -Z aes256-ctr -f {path}` and import it again."
        )
        self.path = path
        self.cipher = cipher


class KeyPassphraseNeeded(ConfigError):
    then = Then.WAIT_FOR_USER
    action = Action.PASSPHRASE

    def __init__(self, path: str) -> None:
        super().__init__(f"the private key {path} is protected by a passphrase and none was given.")
        self.path = path


class KeyPassphraseWrong(ConfigError):
    then = Then.WAIT_FOR_USER
    action = Action.PASSPHRASE

    def __init__(self, name: str) -> None:
        super().__init__(f"the passphrase for key {name} is wrong.")
        self.name = name


class StoredPassphraseWrong(ConfigError):
    """The keychain's passphrase for a key is wrong and nobody could be asked for another:
    the job stops (no failed check) for each front end to ask for the passphrase its way."""

    then = Then.WAIT_FOR_USER
    action = Action.PASSPHRASE

    def __init__(self, name: str, key_path: str) -> None:
        super().__init__(f"the passphrase for key {name} stored in the system keychain is wrong")
        self.name = name
        self.key_path = key_path


class NoKeyOrTunnel(ConfigError):
    """Neither a managed key nor a tunnel has this name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"there is no key or tunnel named {name!r}.")
        self.name = name


class KnownHostsMissing(ConfigError):
    """A known_hosts file to import from does not exist."""

    def __init__(self, path: str) -> None:
        super().__init__(f"{path} does not exist.")
        self.path = path


class NoKeyForHost(TunnelkeeperError):
    """A known_hosts file to import from has no usable key for the jumphost."""

    def __init__(self, path: str, pattern: str) -> None:
        super().__init__(f"{path} has no key for {pattern}")
        self.path = path
        self.pattern = pattern


# --- host keys: the jumphost's key is not (or no longer) trusted; the person decides --------

TRUST_FIRST = "trust its key once its fingerprint matches the one the vendor shows."
TRUST_NEW = "ask the vendor whether they changed it, and only then trust the jumphost's new key."
# A jump host is usually the customer's own (a bastion), not the vendor's.
TRUST_FIRST_JUMP = "trust its key once its fingerprint matches the one its administrator shows."
TRUST_NEW_JUMP = (
    "ask whoever runs the jump host (often your network team) whether they changed it, "
    "and only then trust its new key."
)


class HostKeyTrouble(TunnelkeeperError):
    """The jumphost's host key cannot be trusted as things stand: nothing is sent until the
    person has checked it with the vendor. ``fact`` and ``remedy`` are the two halves of the
    sentence; ``name`` is the tunnel's."""

    then = Then.WAIT_FOR_USER
    action: Action | None = Action.TRUST

    def __init__(self, name: str, host: str, fact: str, remedy: str) -> None:
        super().__init__(f"{fact}; {remedy}")
        self.name = name
        self.host = host
        self.remedy = remedy


class HostKeyNotPinned(HostKeyTrouble, ConfigError):
    """No host key is pinned for the tunnel's jumphost yet (found before connecting)."""

    def __init__(self, name: str, host: str) -> None:
        fact = f"the jumphost {host} of tunnel {name!r} has no trusted host key yet"
        super().__init__(name, host, fact, TRUST_FIRST)


class HostKeyUnknown(HostKeyTrouble):
    def __init__(self, name: str, host: str, fingerprint: str, role: str = "jumphost") -> None:
        fact = f"the {role} {host} presented a host key ({fingerprint}) that is not trusted"
        super().__init__(name, host, fact, TRUST_FIRST if role == "jumphost" else TRUST_FIRST_JUMP)
        self.fingerprint = fingerprint


class HostKeyChanged(HostKeyTrouble):
    def __init__(
        self, name: str, host: str, pinned: str, presented: str, role: str = "jumphost"
    ) -> None:
        super().__init__(
            name,
            host,
            f"the host key of the {role} {host} has CHANGED: trusted {pinned}, presented "
            f"{presented}. This can mean someone is intercepting the connection",
            TRUST_NEW if role == "jumphost" else TRUST_NEW_JUMP,
        )
        self.pinned = pinned
        self.presented = presented


class HostKeyRevoked(HostKeyTrouble):
    action = None  # a revoked key is never trusted again: the vendor must name the new one

    def __init__(self, name: str, host: str, fingerprint: str, role: str = "jumphost") -> None:
        fact = f"the {role} {host} presented a revoked host key ({fingerprint}), so it is refused"
        remedy = (
            "ask the vendor for the jumphost's current key."
            if role == "jumphost"
            else "ask whoever runs the jump host for its current key."
        )
        super().__init__(name, host, fact, remedy)
        self.fingerprint = fingerprint


# --- hosting: which process runs a tunnel -------------------------------------------------


# --- keychain: passphrases kept in the OS keychain; without it they are asked for ---------


class KeyringUnavailable(ConfigError):
    """The OS keychain cannot keep passphrases; they are asked for instead."""

    then = Then.WAIT_FOR_USER
    action: Action | None = Action.PASSPHRASE

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"the system keychain is not available ({safe_text(detail)}): the passphrase will be "
            "asked for each time Tunnelkeeper starts."
        )
        self.detail = detail


class KeyringLocked(KeyringUnavailable):
    """The keychain is there but locked, and was not unlocked."""

    def __init__(self) -> None:
        ConfigError.__init__(
            self,
            "the system keychain is locked: unlock it (for example with your desktop's "
            "Passwords and Keys app, or by logging in again), or the passphrase will be "
            "asked for each time Tunnelkeeper starts.",
        )
        self.detail = "locked"


class KeyringFailed(KeyringUnavailable):
    """The keychain was reachable but one read, write or delete failed (``operation``)."""

    then = Then.STOP
    action = None

    def __init__(self, operation: str, key_name: str, detail: str) -> None:
        remedy = "the passphrase will be asked for each time Tunnelkeeper starts."
        if operation == "forget":
            remedy = (
                f"remove the entry {key_name!r} of service 'Tunnelkeeper' with your keychain app."
            )
        ConfigError.__init__(
            self,
            f"the system keychain could not {operation} the passphrase for key {key_name!r} "
            f"({safe_text(detail)}): {remedy}",
        )
        self.detail = detail
        self.operation = operation
        self.key_name = key_name
