"""What the services raise besides the app's own errors: facts a front end words its own way."""

from __future__ import annotations

from app.errors import ConfigError, TunnelkeeperError


class StoredPassphraseWrong(Exception):
    """The keychain's passphrase for a key is wrong and nobody could be asked for another.

    Deliberately not a :class:`TunnelkeeperError`: it stops the job (the connection test
    does not record it as a failed check) and waits for the person, whom each front end
    tells its own way to enter the passphrase again.
    """

    def __init__(self, name: str, key_path: str) -> None:
        super().__init__(f"the passphrase for key {name} stored in the system keychain is wrong")
        self.name = name
        self.key_path = key_path


class NoKeyOrTunnel(ConfigError):
    """Neither a managed key nor a tunnel has this name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"there is no key or tunnel named {name!r}.")
        self.name = name


class HostKeyUnavailable(TunnelkeeperError):
    """The jumphost's host key could not be fetched; ``str()`` is the cause's sentence."""

    def __init__(self, cause: TunnelkeeperError) -> None:
        Exception.__init__(self, str(cause))  # already made safe to print: not again
        self.cause = cause


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
