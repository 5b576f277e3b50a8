"""Alert rules: where alerts go (a webhook, an email address), for which tunnels, after how long."""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from dataclasses import dataclass, replace
from typing import Any

from app.core.profile import format_hostport, parse_hostport, validate_name
from app.core.textsafe import safe_text
from app.errors import BadEmailAddress, BadWebhookUrl, InvalidField

WEBHOOK = "webhook"
EMAIL = "email"
KINDS = (WEBHOOK, EMAIL)
TLS_MODES = ("starttls", "tls", "none")
DEFAULT_AFTER = 120.0  # s a tunnel may be down before an alert goes out
MIN_AFTER = 1.0
MAX_AFTER = 7 * 24 * 3600.0
MAX_URL = 2048
MAX_ADDRESS = 254  # RFC 5321's limit on a path
_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "": 1.0}
_AFTER_PART = re.compile(r"(\d+(?:\.\d+)?)([hms]?)")
_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}")
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def parse_after(text: str | float) -> float:
    """A threshold as seconds: ``"2m"``, ``"90s"``, ``"1m30s"``, ``"1h"``, ``"45"`` (seconds),
    or a number of seconds; between 1 s and 7 days. Raises InvalidField ("after")."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        seconds = float(text)
    else:
        raw = str(text).strip().lower().replace(" ", "")
        parts = _AFTER_PART.findall(raw)
        if not raw or "".join(n + u for n, u in parts) != raw:
            raise InvalidField(
                "after",
                f"{safe_text(str(text))!r} is not a length of time; write it as 2m, 90s, 1m30s "
                "or 1h.",
            )
        seconds = sum(float(number) * _UNITS[unit] for number, unit in parts)
    if not MIN_AFTER <= seconds <= MAX_AFTER:
        raise InvalidField("after", "give a length of time between 1 s and 7 days.")
    return seconds


def after_text(seconds: float) -> str:
    """A threshold as ``parse_after`` reads it back: ``2m``, ``1m30s``, ``1h``, ``3s``."""
    whole = round(seconds)
    if whole != seconds:
        return f"{seconds:g}s"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = "".join(f"{n}{u}" for n, u in ((hours, "h"), (minutes, "m"), (secs, "s")) if n)
    return text or "0s"


def redact_url(url: str) -> str:
    """A webhook address as it may be shown and logged: scheme, host and port only, ``/…``
    standing for a path or query (Slack's and Teams' hold the hook's secret token)."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "(an unreadable address)"
    if parts.scheme and not parts.netloc:
        return safe_text(f"{parts.scheme}:…")
    if not parts.scheme:  # "hooks.example.com/…": what comes first is the host
        head = re.split(r"[/?#]", url.lstrip("/"), maxsplit=1)
        return safe_text(head[0] + ("/…" if len(head) > 1 else ""))
    shown = f"{parts.scheme}://{format_hostport(host, port) if port else _bracketed(host)}"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        shown += "/…"
    return safe_text(shown)


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def check_webhook_url(url: str) -> str:
    """``url`` when alerts can be posted to it (http:// or https://, a host, a valid port);
    raises BadWebhookUrl, quoting only the address's scheme and host."""
    url = url.strip()
    shown = redact_url(url)
    if len(url) > MAX_URL:
        raise BadWebhookUrl(shown, f"it is over {MAX_URL} characters long.")
    if not url.isprintable() or any(c.isspace() for c in url):
        raise BadWebhookUrl(shown, "it holds spaces or control characters.")
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BadWebhookUrl(shown, f"{exc}.") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise BadWebhookUrl(shown, "give an https:// (or http://) address.")
    if not parts.hostname:
        raise BadWebhookUrl(shown, "it names no host.")
    if port == 0:
        raise BadWebhookUrl(shown, "port 0 cannot be reached.")
    return url


def check_address(address: str, field: str = "address") -> str:
    """``address`` when mail can be sent to (or from) it: ``local@domain``, ASCII, no display
    name; raises BadEmailAddress."""
    address = address.strip()
    if len(address) > MAX_ADDRESS:
        raise BadEmailAddress(address, f"it is over {MAX_ADDRESS} characters long.", field)
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise BadEmailAddress(address, "write it as name@example.com.", field)
    if not _LOCAL_PART.fullmatch(local) or local.startswith(".") or ".." in local:
        raise BadEmailAddress(
            address, "the part before @ holds characters mail addresses cannot.", field
        )
    labels = domain.rstrip(".").split(".")
    if not all(_LABEL.fullmatch(label) for label in labels):
        raise BadEmailAddress(
            address, f"{safe_text(domain)!r} is not a domain name (write IDN domains as xn--…).",
            field,
        )  # fmt: skip
    return address


def default_tls(port: int) -> str:
    """How to talk to an SMTP server on ``port`` unless told: TLS from the start on 465
    (submissions), STARTTLS elsewhere."""
    return "tls" if port == 465 else "starttls"


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class AlertRule:
    """Where alerts about one tunnel (``tunnel``), or every tunnel (None), go once one has
    been down ``after`` seconds: a webhook (``target`` is its URL) or an email address
    (``target``), sent through ``smtp`` (HOST:PORT) with ``tls`` (starttls, tls or none),
    signed in as ``user`` when given (the password is in the keychain), from ``sender``."""

    id: str
    kind: str
    target: str
    tunnel: str | None = None
    after: float = DEFAULT_AFTER
    smtp: str | None = None
    user: str | None = None
    tls: str | None = None
    sender: str | None = None

    def covers(self, tunnel: str) -> bool:
        return self.tunnel is None or self.tunnel == tunnel

    @property
    def receiver(self) -> str:
        """The receiver as it may be shown and logged (no webhook token)."""
        if self.kind == WEBHOOK:
            return f"the webhook {redact_url(self.target)}"
        return f"{self.target} (through {self.smtp})"

    @property
    def secret_name(self) -> str | None:
        """The keychain entry of the SMTP user's password; None without a user."""
        if self.kind != EMAIL or not self.user:
            return None
        return f"smtp:{self.user}@{self.smtp}"

    def from_address(self, host_name: str) -> str:
        """The sender: ``sender``, else the SMTP user when it is an address, else
        tunnelkeeper@``host_name``."""
        if self.sender:
            return self.sender
        if self.user and "@" in self.user:
            return self.user
        return f"tunnelkeeper@{host_name}"

    def to_dict(self, redacted: bool = False) -> dict[str, Any]:
        """Plain data, as kept in the file (``redacted``: the webhook's token left out)."""
        fields: dict[str, Any] = {"kind": self.kind}
        if self.kind == WEBHOOK:
            fields["url"] = redact_url(self.target) if redacted else self.target
        else:
            fields["to"] = self.target
            fields["smtp"] = self.smtp
            fields["tls"] = self.tls
            optional = {"user": self.user, "from": self.sender}
            fields.update({k: v for k, v in optional.items() if v})
        if self.tunnel is not None:
            fields["tunnel"] = self.tunnel
        fields["after"] = int(self.after) if self.after == int(self.after) else self.after
        return fields


def webhook_rule(rule_id: str, url: str, tunnel: str | None, after: str | float) -> AlertRule:
    """A checked webhook rule; raises BadWebhookUrl and InvalidField."""
    return AlertRule(rule_id, WEBHOOK, check_webhook_url(url), _tunnel(tunnel), parse_after(after))


def email_rule(
    rule_id: str,
    address: str,
    smtp: str,
    *,
    user: str | None = None,
    tls: str | None = None,
    sender: str | None = None,
    tunnel: str | None = None,
    after: str | float = DEFAULT_AFTER,
) -> AlertRule:
    """A checked email rule; raises BadEmailAddress and InvalidField (a password would go
    unencrypted to a server off this machine)."""
    host, port = parse_hostport(smtp, "smtp")
    mode = (tls or default_tls(port)).lower()
    if mode not in TLS_MODES:
        raise InvalidField("smtp-tls", f"give one of {', '.join(TLS_MODES)}.")
    if user is not None and (not user.strip() or not user.isprintable() or len(user) > 254):
        raise InvalidField("user", "give the SMTP user name (printable, at most 254 characters).")
    if user and mode == "none" and not is_loopback(host):
        raise InvalidField(
            "smtp-tls",
            "a password is never sent unencrypted to another machine: use --smtp-tls "
            "starttls or tls.",
        )
    return AlertRule(
        rule_id,
        EMAIL,
        check_address(address),
        _tunnel(tunnel),
        parse_after(after),
        smtp=format_hostport(host, port),
        user=user.strip() if user else None,
        tls=mode,
        sender=check_address(sender, "from") if sender else None,
    )


def _tunnel(name: str | None) -> str | None:
    return None if name is None else validate_name(name)


def rule_from_dict(rule_id: str, fields: dict[str, Any]) -> AlertRule:
    """A rule as kept in the alerts file; raises InvalidField (or a subclass)."""
    kind = fields.get("kind")
    tunnel = fields.get("tunnel")
    after = fields.get("after", DEFAULT_AFTER)
    if tunnel is not None and not isinstance(tunnel, str):
        raise InvalidField("tunnel", "must be a tunnel's name.")
    if not isinstance(after, str | int | float) or isinstance(after, bool):
        raise InvalidField("after", "must be a length of time such as 2m.")
    if kind == WEBHOOK:
        return webhook_rule(rule_id, _text(fields, "url"), tunnel, after)
    if kind == EMAIL:
        return email_rule(
            rule_id,
            _text(fields, "to"),
            _text(fields, "smtp"),
            user=_text(fields, "user", None),
            tls=_text(fields, "tls", None),
            sender=_text(fields, "from", None),
            tunnel=tunnel,
            after=after,
        )
    raise InvalidField("kind", f"must be {' or '.join(KINDS)}.")


def _text(fields: dict[str, Any], key: str, default: Any = ...) -> Any:
    value = fields.get(key, default)
    if value is ...:
        raise InvalidField(key, "is missing.")
    if value is not None and not isinstance(value, str):
        raise InvalidField(key, "must be text.")
    return value


def with_id(rule: AlertRule, rule_id: str) -> AlertRule:
    return replace(rule, id=rule_id)
