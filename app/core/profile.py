"""Tunnel profiles: the fields, their validation and the text forms users type (pure logic)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import asdict, dataclass, field
from pathlib import PurePath
from typing import Any

from app.errors import InvalidField

# All patterns are used with fullmatch(): "$" alone would also accept a trailing newline.
NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
# RFC 1123 labels; a trailing dot (fully qualified) is allowed.
_LABEL_RE = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_USER_RE = re.compile(r"[A-Za-z0-9._][A-Za-z0-9._@-]{0,63}")
# ASCII digits only: int() alone would also take "+80", "8_0" and non-ASCII digits.
_PORT_TEXT_RE = re.compile(r"[0-9]{1,5}")
# An IPv6 zone is an interface name or index; ipaddress would take any text (spaces, "]").
_ZONE_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")

DEFAULT_SSH_PORT = 22
DEFAULT_KEEPALIVE_INTERVAL = 10
DEFAULT_KEEPALIVE_COUNT_MAX = 1
# What the user's other programs use: HTTPS_PROXY / ALL_PROXY / NO_PROXY (app.core.proxy).
DEFAULT_PROXY = "system"
# ``single``: the only machine for this tunnel (a refused forward is a stale listener);
# ``redundant``: other machines run it too, one holds the port, the others stand by.
ROLES = ("single", "redundant")
DEFAULT_ROLE = "single"
# redundant: release the port when the target has not answered for this many seconds
DEFAULT_FENCE_AFTER = 30
FENCE_AFTER_RANGE = (3, 3600)


@dataclass(frozen=True)
class Profile:
    """One reverse tunnel: where to dial out, what to ask for, where to send arrivals."""

    name: str
    jumphost: str
    user: str
    remote_port: int
    target_host: str
    target_port: int
    key_path: str
    ssh_port: int = DEFAULT_SSH_PORT
    # None means "as ssh -R with no bind address" (OpenSSH sends "localhost").
    remote_bind: str | None = None
    keepalive_interval: int = DEFAULT_KEEPALIVE_INTERVAL
    keepalive_count_max: int = DEFAULT_KEEPALIVE_COUNT_MAX
    # "none", "system" or a proxy URL with at most a user (its password is in the keychain)
    proxy: str = DEFAULT_PROXY
    # jump hosts (OpenSSH's ProxyJump): "user@host:port[,user@host:port…]"; None: none
    jump: str | None = None
    role: str = DEFAULT_ROLE
    fence_after: int = DEFAULT_FENCE_AFTER
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def redundant(self) -> bool:
        """Other machines run this tunnel too (active / standby)."""
        return self.role == "redundant"

    @property
    def forward_bind(self) -> str:
        """The bind address string sent in ``tcpip-forward``, exactly as ``ssh -R`` sends it."""
        return forward_bind_address(self.remote_bind)

    @property
    def target(self) -> str:
        return format_hostport(self.target_host, self.target_port)

    @property
    def endpoint(self) -> str:
        return format_hostport(self.jumphost, self.ssh_port)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("extra")
        if data["remote_bind"] is None:
            data.pop("remote_bind")
        if data["jump"] is None:
            data.pop("jump")
        if data["role"] == DEFAULT_ROLE and data["fence_after"] == DEFAULT_FENCE_AFTER:
            data.pop("role")  # a single machine's file reads as it did before roles
            data.pop("fence_after")
        return data


def forward_bind_address(remote_bind: str | None) -> str:
    """Map the user's bind setting to the wire string (``ssh -R`` semantics)."""
    if remote_bind is None:
        return "localhost"
    if remote_bind in ("", "*"):
        return ""
    return remote_bind


# Names that Windows reserves for devices: a key file called "CON" cannot exist there.
RESERVED_NAMES = frozenset(
    {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(10)} | {f"lpt{i}" for i in range(10)}
)


def validate_name(name: str) -> str:
    if not NAME_RE.fullmatch(name):
        raise InvalidField(
            "name",
            f"{name!r} is not a valid tunnel name; use 1–64 letters, digits, '-' or '_'.",  # noqa: RUF001
        )
    if name.lower() in RESERVED_NAMES:
        raise InvalidField("name", f"{name!r} is a name Windows reserves; choose another.")
    return name


def validate_port(value: object, field_name: str) -> int:
    if isinstance(value, bool):
        raise InvalidField(field_name, f"{value!r} is not a port number.")
    if isinstance(value, int):
        port = value
    else:
        text = str(value).strip()
        if not _PORT_TEXT_RE.fullmatch(text):
            raise InvalidField(field_name, f"{value!r} is not a port number.")
        port = int(text)
    if not 1 <= port <= 65535:
        raise InvalidField(field_name, f"{port} is out of range; a port is 1–65535.")  # noqa: RUF001
    return port


def is_ip_address(text: str) -> bool:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    zone = getattr(address, "scope_id", None)
    return zone is None or _ZONE_RE.fullmatch(zone) is not None


def validate_host(value: str, field_name: str) -> str:
    host = value.strip()
    bracketed = host.startswith("[") and host.endswith("]")
    if bracketed:
        host = host[1:-1]
    if not host:
        raise InvalidField(field_name, "a host name or IP address is required.")
    if bracketed and not (":" in host and is_ip_address(host)):
        raise InvalidField(field_name, f"{value!r}: only an IPv6 address goes in brackets.")
    if is_ip_address(host):
        return host
    if ":" in host:
        raise InvalidField(
            field_name,
            f"{value!r} is not a valid IP address or host name (put the port in its own field).",
        )
    name = host[:-1] if host.endswith(".") else host
    if len(name) > 253 or not all(_LABEL_RE.fullmatch(label) for label in name.split(".")):
        raise InvalidField(field_name, f"{value!r} is not a valid host name or IP address.")
    if name.replace(".", "").isdigit():
        raise InvalidField(field_name, f"{value!r} is not a valid IPv4 address.")
    return host


def validate_bind(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip()
    if text == "" and value != "":
        raise InvalidField(
            "remote_bind",
            "only spaces given; leave it out for localhost, or use '*' for every address.",
        )
    if text in ("", "*", "localhost"):
        return text
    return validate_host(text, "remote_bind")


def validate_user(value: str) -> str:
    if not _USER_RE.fullmatch(value):
        raise InvalidField("user", f"{value!r} is not a valid SSH user name.")
    return value


def validate_interval(value: object, field_name: str, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidField(field_name, f"{value!r} is not a whole number.")
    if not minimum <= value <= maximum:
        raise InvalidField(field_name, f"{value} must be between {minimum} and {maximum}.")
    return value


def validate_keepalive_interval(value: object) -> int:
    return validate_interval(value, "keepalive_interval", *KEEPALIVE_INTERVAL_RANGE)


def validate_keepalive_count(value: object) -> int:
    return validate_interval(value, "keepalive_count_max", *KEEPALIVE_COUNT_RANGE)


def validate_proxy(value: object) -> str:
    """The proxy setting in its canonical form (``none``, ``system`` or a URL with at most a
    user). Raises InvalidField, also for a password in it: passwords belong in the keychain."""
    # app.core.proxy checks hosts and ports with this module's functions
    from app.core.proxy import parse_proxy, split_password  # noqa: PLC0415

    if not isinstance(value, str):
        raise InvalidField("proxy", f"{value!r} must be text.")
    spec, password = split_password(value)
    if password is not None:
        raise InvalidField(
            "proxy",
            "the proxy URL holds a password; a tunnel's settings never keep one. Give the "
            "proxy as scheme://user@host:port and the password to `tunnelkeeper add/edit` "
            "(it goes into the keychain).",
        )
    return parse_proxy(spec).text


def validate_jump(value: object) -> str | None:
    """The jump hosts in their canonical form; None for none. Raises InvalidField."""
    # app.core.jump checks hosts, ports and users with this module's functions
    from app.core.jump import validate_jump as checked  # noqa: PLC0415

    return checked(value)


def validate_role(value: object) -> str:
    if value not in ROLES:
        raise InvalidField(
            "role",
            f"{value!r} is not a role; use 'single' (this machine only) or 'redundant' "
            "(other machines run this tunnel too).",
        )
    return str(value)


def validate_fence_after(value: object) -> int:
    return validate_interval(value, "fence_after", *FENCE_AFTER_RANGE)


def parse_hostport(text: str, field_name: str = "target") -> tuple[str, int]:
    """Parse ``host:port`` or ``[ipv6]:port`` into a validated pair."""
    raw = text.strip()
    if raw.startswith("["):
        close = raw.find("]")
        if close < 0 or raw[close + 1 : close + 2] != ":":
            raise InvalidField(field_name, f"{text!r} is not of the form [IPv6]:PORT.")
        host, port_text = raw[1:close], raw[close + 2 :]
        if not is_ip_address(host) or ":" not in host:
            raise InvalidField(field_name, f"{host!r} in brackets is not an IPv6 address.")
    else:
        host, sep, port_text = raw.rpartition(":")
        if not sep or not host:
            raise InvalidField(field_name, f"{text!r} is not of the form HOST:PORT.")
        if ":" in host:
            raise InvalidField(
                field_name, f"{text!r}: write an IPv6 address in brackets, as [ADDR]:PORT."
            )
    return validate_host(host, field_name), validate_port(port_text, field_name)


def format_hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# Every stored field of a profile, in the order people read them.
FIELDS = (
    "jumphost",
    "ssh_port",
    "user",
    "remote_bind",
    "remote_port",
    "target_host",
    "target_port",
    "key_path",
    "keepalive_interval",
    "keepalive_count_max",
    "proxy",
    "jump",
    "role",
    "fence_after",
)
# Every stored field is read by the live connection (where to dial, what to ask for, where
# to send arrivals, how to watch the link): changing one means connecting anew. The name
# and fields kept aside (``extra``) are not.
CONNECTION_FIELDS = FIELDS
KEEPALIVE_INTERVAL_RANGE = (1, 3600)
KEEPALIVE_COUNT_RANGE = (1, 100)
_REQUIRED = ("jumphost", "user", "remote_port", "target_host", "target_port", "key_path")


def profile_from_dict(name: str, data: dict[str, Any]) -> Profile:
    """Build and validate a profile from stored fields (unknown fields are kept aside)."""
    validate_name(name)
    for key in _REQUIRED:
        if key not in data:
            raise InvalidField(key, "is missing.")
    for key in ("jumphost", "user", "target_host", "key_path"):
        if not isinstance(data[key], str):
            raise InvalidField(key, f"{data[key]!r} must be text.")
    bind = data.get("remote_bind")
    if bind is not None and not isinstance(bind, str):
        raise InvalidField("remote_bind", f"{bind!r} must be text.")
    key_path = data["key_path"].strip()
    if not key_path:
        raise InvalidField("key_path", "a private key file is required.")
    return Profile(
        name=name,
        jumphost=validate_host(data["jumphost"], "jumphost"),
        ssh_port=validate_port(data.get("ssh_port", DEFAULT_SSH_PORT), "ssh_port"),
        user=validate_user(data["user"]),
        remote_bind=validate_bind(bind),
        remote_port=validate_port(data["remote_port"], "remote_port"),
        target_host=validate_host(data["target_host"], "target_host"),
        target_port=validate_port(data["target_port"], "target_port"),
        key_path=key_path,
        keepalive_interval=validate_keepalive_interval(
            data.get("keepalive_interval", DEFAULT_KEEPALIVE_INTERVAL)
        ),
        keepalive_count_max=validate_keepalive_count(
            data.get("keepalive_count_max", DEFAULT_KEEPALIVE_COUNT_MAX)
        ),
        proxy=validate_proxy(data.get("proxy", DEFAULT_PROXY)),
        jump=validate_jump(data.get("jump")),
        role=validate_role(data.get("role", DEFAULT_ROLE)),
        fence_after=validate_fence_after(data.get("fence_after", DEFAULT_FENCE_AFTER)),
        extra={k: v for k, v in data.items() if k not in FIELDS},
    )


def _as_connected(profile: Profile, name: str) -> object:
    """A field as the connection uses it: two spellings of one setting are one value."""
    if name == "remote_bind":
        return profile.forward_bind  # None and "localhost" send the same bind address
    if name == "key_path":
        return PurePath(profile.key_path)  # "a/./b" and "a/b" are one file
    return getattr(profile, name)


def connection_changes(old: Profile, new: Profile) -> set[str]:
    """The fields (of ``CONNECTION_FIELDS``) in which ``new`` connects differently from
    ``old``; empty when only the name or fields kept aside changed, so the running tunnel
    can be renamed in place without dropping its connections."""
    return {
        name for name in CONNECTION_FIELDS if _as_connected(old, name) != _as_connected(new, name)
    }
