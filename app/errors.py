"""The app's exception tree: one class per cause, each carrying a sentence for people."""

from __future__ import annotations

from app.core.textsafe import DETAIL_LIMIT, safe_text


class TunnelkeeperError(Exception):
    """Base of every error the app reports to a person; ``str()`` is that sentence."""

    def __init__(self, *args: object) -> None:
        # Sentences quote servers, files and paths: control characters are escaped and the
        # length bounded here, so no caller can put raw terminal codes in front of a person.
        super().__init__(*(safe_text(a, DETAIL_LIMIT) if isinstance(a, str) else a for a in args))


# --- configuration: the user must change something before it can work -------------


class ConfigError(TunnelkeeperError):
    """The configuration cannot be used as it stands."""


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


class CorruptConfigFile(ConfigError):
    """A file the app keeps could not be parsed; it is left untouched."""

    def __init__(
        self,
        path: str,
        detail: str,
        remedy: str = "fix it, or move it aside with `tunnelkeeper repair`.",
    ) -> None:
        super().__init__(
            f"{path} could not be read ({safe_text(detail)}). It has been left as it is; {remedy}"
        )
        self.path = path


class ConfigBusy(ConfigError):
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
    def __init__(self, path: str) -> None:
        super().__init__(f"the private key {path} is protected by a passphrase and none was given.")
        self.path = path


class KeyPassphraseWrong(ConfigError):
    def __init__(self, name: str) -> None:
        super().__init__(f"the passphrase for key {name} is wrong.")
        self.name = name


class HostKeyNotPinned(ConfigError):
    def __init__(self, name: str, host: str) -> None:
        super().__init__(
            f"the jumphost {host} has no trusted host key yet; run `tunnelkeeper trust {name}`."
        )
        self.name = name
        self.host = host


# --- connection: something outside went wrong; the engine may retry ----------------


class ConnectionTrouble(TunnelkeeperError):
    """The tunnel could not be brought up or was lost; retrying may help."""


class JumphostUnreachable(ConnectionTrouble):
    def __init__(self, host: str, port: int, detail: str) -> None:
        super().__init__(f"cannot reach the jumphost {host} port {port}: {safe_text(detail)}")


class HandshakeFailed(ConnectionTrouble):
    def __init__(self, host: str, detail: str) -> None:
        super().__init__(f"the SSH handshake with {host} failed: {safe_text(detail)}")


class HostKeyUnknown(ConnectionTrouble):
    def __init__(self, name: str, host: str, fingerprint: str) -> None:
        super().__init__(
            f"the jumphost {host} presented a host key ({fingerprint}) that is not trusted; "
            f"run `tunnelkeeper trust {name}`."
        )


class HostKeyChanged(ConnectionTrouble):
    def __init__(self, host: str, pinned: str, presented: str) -> None:
        super().__init__(
            f"the host key of {host} has CHANGED: trusted {pinned}, presented {presented}. "
            "This can mean someone is intercepting the connection; ask the vendor whether "
            "they changed it, then run `tunnelkeeper trust` again."
        )
        self.pinned = pinned
        self.presented = presented


class HostKeyRevoked(ConnectionTrouble):
    def __init__(self, host: str, fingerprint: str) -> None:
        super().__init__(
            f"the jumphost {host} presented a revoked host key ({fingerprint}); refusing it."
        )


class AuthRejected(ConnectionTrouble):
    def __init__(self, user: str, host: str, fingerprint: str) -> None:
        super().__init__(
            f"the jumphost rejected key {fingerprint} for user {user} at {host} — has its "
            "public key been added in the vendor's settings?"
        )


class ForwardRefused(ConnectionTrouble):
    def __init__(self, bind: str, port: int, host: str) -> None:
        super().__init__(
            f"the jumphost {host} refused to listen on {bind}:{port} for us; check the "
            "allocated port and bind address the vendor gave you (or the port is still "
            "held by an earlier connection)."
        )
        self.port = port


class ConnectionLost(ConnectionTrouble):
    def __init__(self, host: str, detail: str) -> None:
        super().__init__(f"the connection to {host} was lost: {safe_text(detail)}")


# --- keychain: passphrases kept in the OS keychain; without it they are asked for ---------


class KeyringUnavailable(ConfigError):
    """The OS keychain cannot keep passphrases; they are asked for instead."""

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
    """The keychain was reachable but one read, write or delete failed."""

    def __init__(self, action: str, key_name: str, detail: str) -> None:
        if action == "forget":
            remedy = (
                f"remove the entry {key_name!r} of service 'Tunnelkeeper' with your keychain app."
            )
        else:
            remedy = "the passphrase will be asked for each time Tunnelkeeper starts."
        ConfigError.__init__(
            self,
            f"the system keychain could not {action} the passphrase for key {key_name!r} "
            f"({safe_text(detail)}): {remedy}",
        )
        self.detail = detail
        self.action = action
        self.key_name = key_name
