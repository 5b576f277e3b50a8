"""The wizard's working data: what each page has gathered so far (no Qt)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.core.paste import PasteResult
from app.core.profile import Profile, profile_from_dict, validate_name
from app.errors import InvalidField
from app.services.api import Services
from app.services.hostkeys import HostKey
from app.ssh.keys import KeyFiles
from app.storage.paths import AppPaths

DEFAULT_NAME = "tunnel"
# What a paste may say about a tunnel besides the endpoint fields and the target.
_CARRIED_FROM_PASTE = ("keepalive_interval", "keepalive_count_max", "proxy", "jump")
# What the Endpoint page sets.
ENDPOINT_FIELDS = (
    "jumphost",
    "ssh_port",
    "user",
    "remote_port",
    "remote_bind",
    "proxy",
    "jump",
)


@dataclass(frozen=True)
class WizardPrefill:
    """What ``make demo`` (and tests) can pre-fill."""

    paste: str = ""  # text for the endpoint paste box
    target_host: str = ""
    target_port: int | None = None
    name: str = ""  # suggested tunnel name


@dataclass(frozen=True)
class Finished:
    """What Finish saved, for the app to apply."""

    name: str
    old_name: str | None  # the edited tunnel's name; None for a new one
    connect_now: bool
    at_login: bool
    # the fields whose change drops the edited tunnel's connection ("host_key" when its
    # jumphost's key was trusted anew); empty: it may go on as it is, only renamed
    changes: frozenset[str] = frozenset()
    key_path: str = ""
    # the key as the wizard opened it with the passphrase typed twice, so the first start
    # does not ask for it again (None when nothing was typed)
    key: Any = field(default=None, repr=False)
    # the proxy user's password typed in this run (None: none typed), kept in the keychain
    # by then: the edited tunnel signs in with it from its next connection on
    proxy_password: str | None = field(default=None, repr=False)


@dataclass
class Draft:
    """Shared by every page; each page writes its part when the user moves on."""

    paths: AppPaths
    services: Services  # its keychain is opened on first use, on a worker thread
    editing: Profile | None = None
    prefill: WizardPrefill = field(default_factory=WizardPrefill)
    key_path: str = ""  # absolute path of the private key the tunnel will use
    key_name: str = ""  # its name in the keys folder ("" for a key kept elsewhere)
    public_line: str = ""
    # Typed in this run for key_path; held in memory for the test page only.
    passphrase: str | None = field(default=None, repr=False)
    # The proxy user's password typed on the Endpoint page: for the host-key fetch and
    # the test, and into the keychain on Finish (never into the profile).
    proxy_password: str | None = field(default=None, repr=False)
    created: list[KeyFiles] = field(default_factory=list)  # key files written in this run
    remembered: list[str] = field(default_factory=list)  # keys whose passphrase we stored
    endpoint: dict[str, Any] = field(default_factory=dict)  # jumphost … proxy
    pasted: dict[str, Any] = field(default_factory=dict)  # every field the last paste gave
    paste: PasteResult | None = None  # the last paste read: placeholders, gaps, key file
    target: tuple[str, int] | None = None
    # The Target page's "another machine runs this tunnel too": "redundant" or "single"
    # (None until that page is left: the edited tunnel's role stands).
    role: str | None = None
    # The host keys the person trusted on its page (the jump hosts' first, the jumphost's
    # last): pinned only on Finish (until then the test runs against a copy of
    # known_hosts), so Cancel leaves the old pins and tunnel be.
    pending_pins: list[HostKey] = field(default_factory=list)
    # The test found the key not accepted yet (the vendor adds it after it is pasted) and the
    # person chose to save anyway: the tunnel retries until the vendor adds it.
    keep_trying: bool = False

    def suggested_name(self) -> str:
        """The profile's own name when editing, else the prefill's, else ``tunnel``."""
        if self.editing is not None:
            return self.editing.name
        try:
            return validate_name(self.prefill.name.strip())
        except InvalidField:
            return DEFAULT_NAME

    def as_saved(self) -> None:
        """Changing one part of the edited tunnel: the pages not shown hold what it has now."""
        editing = self.editing
        if editing is None:
            return
        self.key_path = editing.key_path
        self.endpoint = {name: getattr(editing, name) for name in ENDPOINT_FIELDS}
        self.target = (editing.target_host, editing.target_port)

    def new_jumphost(self) -> bool:
        """The edited tunnel would dial another jumphost (or SSH port, or go through other
        jump hosts) than it does now: host keys to trust anew."""
        editing, fields = self.editing, self.fields()
        if editing is None:
            return False
        return (fields.get("jumphost"), fields.get("ssh_port"), fields.get("jump")) != (
            editing.jumphost,
            editing.ssh_port,
            editing.jump,
        )

    def fields(self) -> dict[str, Any]:
        """Every stored field of the profile as the pages now describe it."""
        data: dict[str, Any] = {}
        if self.editing is not None:
            data.update(self.editing.extra)
            data.update(self.editing.to_dict())
            data.pop("name", None)
        data.update({k: self.pasted[k] for k in _CARRIED_FROM_PASTE if k in self.pasted})
        data.update(self.endpoint)  # remote_bind None means "as ssh -R": localhost
        if self.target is not None:
            data["target_host"], data["target_port"] = self.target
        if self.role is not None:
            data["role"] = self.role
        if self.key_path:
            data["key_path"] = self.key_path
        return data

    def profile(self, name: str) -> Profile:
        """The profile to test or save; raises InvalidField if a page left a gap."""
        return profile_from_dict(name, self.fields())
