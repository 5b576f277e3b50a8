"""The diagnostics bundle's pure parts: redaction, the profile as support sees it, the layout."""

from __future__ import annotations

import base64
import json
import re
import textwrap
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, quote_plus

from app.core.events import TunnelEvent
from app.core.knownhosts import blob_fingerprint
from app.core.profile import Profile
from app.core.textsafe import DETAIL_LIMIT, LOG_LIMIT, safe_text, safe_value

MARK = "[redacted]"
KEY_MARK = "[private key removed]"
HOME_MARK = "~"
ELLIPSIS = "…"
# Markers of the last resort, when a secret is part of MARK or "~": one character no secret
# holds cannot begin a new occurrence of any of them.
_SPARE_MARKS = "█•*#_"

# What was taken out, as the manifest names it.
CREDENTIAL = "password or passphrase"
HOME = "home folder path"
URL_PATH = "URL path or query"
URL_LOGIN = "password in a URL"
PRIVATE_KEY = "private key"
SENSITIVE_SETTING = "secret setting"

# A setting whose value is a secret whatever it holds (alerts' SMTP password, a token…).
_SECRET_KEY = re.compile(
    r"(^|[_-])pass($|[_-])|password|passphrase|passwd|secret|token|credential|api[_-]?key",
    re.IGNORECASE,
)
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]{0,15}://[^\s\"'<>\\`]+")
_URL_TRAIL = ".,;:!?)]}"
# A PEM private key block, also cut short (a log line's length limit) or on one log line
# (its line breaks escaped as \n); an OpenSSH key's body alone, by its fixed start.
_PEM = re.compile(
    r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY-----"
    r"(?:[A-Za-z0-9+/=\s]|\\[nr]|(?:Proc-Type|DEK-Info):[^\n\\]*)*"
    r"(?:-----END [A-Z0-9 ]{0,40}PRIVATE KEY-----)?"
)
_OPENSSH_BODY = re.compile(r"b3BlbnNzaC1rZXktdjE[A-Za-z0-9+/=]*")  # "openssh-key-v1\0"
_HOST_NAME = re.compile(r"[^A-Za-z0-9.-]+")


def _split_url(url: str) -> tuple[str, str | None, str | None, str, str]:
    """``scheme://user:password@host:port/path?query`` as its scheme, user (None: none),
    password (None: none), host and port, and the rest from the first "/", "?" or "#"."""
    scheme, _, rest = url.partition("://")
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    userinfo, at, hostport = rest[:cut].rpartition("@")
    user, colon, password = userinfo.partition(":")
    return scheme, user if at else None, password if colon else None, hostport, rest[cut:]


def redact_url(url: str) -> str:
    """``url`` without what may be a secret: its password, and its path and query (a
    webhook's tokens) shown as "…": ``https://hooks.slack.com/…``. The scheme, user, host
    and port stay; a URL with no path (or just "/") keeps it."""
    if "://" not in url:
        return url
    scheme, user, _, hostport, tail = _split_url(url)
    shown = f"{scheme}://{hostport}" if user is None else f"{scheme}://{user}@{hostport}"
    return shown + tail if tail in ("", "/") else f"{shown}/{ELLIPSIS}"


def _secret_forms(secret: str) -> set[str]:
    """The ways ``secret`` can be written in text: as it is, URL-encoded, escaped as JSON
    and as our logs escape, and in base64 (with and without padding)."""
    forms = {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        safe_text(secret, len(secret) * 10 + 20),
    }
    raw = secret.encode("utf-8", "surrogatepass")
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = encoded.decode("ascii")
        forms |= {text, text.rstrip("=")}
    return {form for form in forms if form}


def _home_forms(home: str) -> set[str]:
    forms = {
        home,
        home.replace("\\", "/"),
        json.dumps(home)[1:-1],
        safe_text(home, len(home) * 10 + 20),
        quote(home),
    }
    return {form for form in forms if form}


@dataclass(frozen=True)
class Scrubbed:
    """Redacted text, and how many of each kind (``CREDENTIAL``, ``HOME``…) were taken out."""

    text: str
    found: Counter[str]


class Redactor:
    """Takes secrets out of text before it leaves the machine: ``homes`` (this user's home
    folder, shown as "~"), ``secrets`` (passwords, passphrases, in every form ``_secret_forms``
    knows), webhook and other URLs' paths and queries and passwords, and private key blocks.
    Whatever it is given, no secret (nor home) survives :meth:`scrub`."""

    def __init__(self, homes: Iterable[str] = (), secrets: Iterable[str] = ()) -> None:
        pairs: dict[str, tuple[str, str]] = {}
        for home in homes:
            if home.strip("/\\"):  # never "/" itself: that would be every path
                for form in _home_forms(home):
                    pairs[form] = (HOME_MARK, HOME)
        for secret in secrets:
            if secret:
                for form in _secret_forms(secret):
                    pairs[form] = (MARK, CREDENTIAL)
        # longest first, so that a form holding another is replaced whole
        self._forms = sorted(pairs.items(), key=lambda item: (-len(item[0]), item[0]))

    def scrub(self, text: str) -> Scrubbed:
        found: Counter[str] = Counter()
        text, found[PRIVATE_KEY] = _PEM.subn(KEY_MARK, text)
        text, bodies = _OPENSSH_BODY.subn(KEY_MARK, text)
        found[PRIVATE_KEY] += bodies
        text = _URL.sub(lambda match: _url_in_text(match.group(0), found), text)
        out, counted = self._replace(text, None)
        if any(form in out for form, _ in self._forms):
            out, counted = self._replace(text, self._spare_mark())
        found.update(counted)
        return Scrubbed(out, +found)

    def _replace(self, text: str, mark: str | None) -> tuple[str, Counter[str]]:
        counted: Counter[str] = Counter()
        for form, (usual, kind) in self._forms:
            hits = text.count(form)
            if hits:
                counted[kind] += hits
                text = text.replace(form, usual if mark is None else mark)
        return text, counted

    def _spare_mark(self) -> str:
        used = "".join(form for form, _ in self._forms)
        for char in _SPARE_MARKS:
            if char not in used:
                return char
        return next(chr(c) for c in range(0x2580, 0x10FFFF) if chr(c) not in used)

    def value(self, data: Any) -> tuple[Any, Counter[str]]:
        """``data`` (JSON-ready) with every string scrubbed and the value of every setting
        named like a secret (``password``, ``token``…) replaced by ``MARK``."""
        found: Counter[str] = Counter()

        def walk(item: Any) -> Any:
            if isinstance(item, str):
                scrubbed = self.scrub(item)
                found.update(scrubbed.found)
                return scrubbed.text
            if isinstance(item, Mapping):
                out: dict[str, Any] = {}
                for key, inner in item.items():
                    if _SECRET_KEY.search(str(key)) and inner not in (None, "", False):
                        found[SENSITIVE_SETTING] += 1
                        out[walk(str(key))] = MARK
                    else:
                        out[walk(str(key))] = walk(inner)
                return out
            if isinstance(item, list | tuple):
                return [walk(inner) for inner in item]
            return item

        return walk(data), found


def _url_in_text(url: str, found: Counter[str]) -> str:
    """A URL met in text, redacted (punctuation after it is the sentence's, kept)."""
    trail = ""
    while url and url[-1] in _URL_TRAIL:
        url, trail = url[:-1], url[-1] + trail
    _, _, password, _, tail = _split_url(url)
    found[URL_LOGIN] += password is not None
    found[URL_PATH] += tail not in ("", "/")
    return redact_url(url) + trail


# --- what goes in: the profile, the route, a key's fingerprint ------------------------------

# Paths say who the user is and how their disk is laid out; support needs only the key's name.
_PRIVATE_FIELDS = ("key_path",)


def profile_view(profile: Profile) -> dict[str, Any]:
    """Every field a vendor may ask about; the key is named, never its path or contents."""
    data = profile.to_dict()
    for name in _PRIVATE_FIELDS:
        data.pop(name, None)
    data["key_file"] = profile.key_path.replace("\\", "/").rsplit("/", 1)[-1]
    data["forward"] = f"{profile.forward_bind or '*'}:{profile.remote_port}"
    return data


def public_line_fingerprint(line: str) -> tuple[str, str] | None:
    """The key type and ``SHA256:…`` fingerprint of an OpenSSH public key line, or None
    when it is not one."""
    parts = line.split()
    if len(parts) < 2:
        return None
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except ValueError:
        return None
    return parts[0], blob_fingerprint(blob)


def route_view(proxy: str | None, why: str, hops: Sequence[str]) -> dict[str, Any]:
    """How a tunnel reaches its jumphost: ``kind`` direct, proxy, jump or proxy+jump; the
    proxy's label (None: none), the jump hosts (first dialled first) and the reason."""
    parts = (["proxy"] if proxy else []) + (["jump"] if hops else [])
    return {
        "kind": "+".join(parts) or "direct",
        "proxy": proxy,
        "jump_hosts": list(hops),
        "why": why,
    }


def build(
    rows: Iterable[tuple[Profile, Mapping[str, Any]]],
    events: Iterable[TunnelEvent],
    versions: Mapping[str, str],
    limit: int = 100,
) -> str:
    """The "Copy diagnostics" text: plain, ready to paste into a support ticket."""
    out = ["Tunnelkeeper diagnostics", ""]
    out += [f"{name}: {value}" for name, value in versions.items()]
    for profile, status in rows:
        out += ["", f"== tunnel {profile.name} =="]
        out.append(json.dumps(profile_view(profile), indent=2, sort_keys=True))
        shown = safe_value(dict(status), DETAIL_LIMIT)  # details quote servers
        out.append(json.dumps(shown, indent=2, sort_keys=True, default=str))
    recent = list(events)[-limit:]
    out += ["", f"== last {len(recent)} events =="]
    for event in recent:
        out.append(f"{event.to_json()}")
    return "\n".join(out) + "\n"


# --- the bundle: its files, redacted, and the manifest --------------------------------------


@dataclass(frozen=True)
class Member:
    """One file of the bundle before redaction: its name, what it holds (for the manifest),
    and its content: JSON-ready data (escaped and bounded here), or text (``str``, made
    safe by its source: the log tail, events)."""

    name: str
    about: str
    content: Any


NEVER = (
    "Never included: private keys, the key file's path, passphrases, proxy and SMTP "
    "passwords, webhook URLs' paths and query strings (shown as https://host/…), this "
    "account's home folder (shown as ~)."
)


def file_name(host: str, when: datetime) -> str:
    """``tunnelkeeper-diagnostics-<host>-<UTC time>.zip`` (``when``: timezone-aware)."""
    host_part = _HOST_NAME.sub("-", host).strip("-.")[:63] or "host"
    return f"tunnelkeeper-diagnostics-{host_part}-{when.astimezone(UTC):%Y%m%dT%H%M%SZ}.zip"


def _encoded(member: Member, redactor: Redactor) -> tuple[bytes, Counter[str]]:
    if isinstance(member.content, str):
        scrubbed = redactor.scrub(member.content)
        return scrubbed.text.encode("utf-8", "replace"), scrubbed.found
    data, found = redactor.value(member.content)
    data = safe_value(data, LOG_LIMIT)  # it quotes servers and files: escaped, bounded
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"
    last = redactor.scrub(text)  # what serialising may have made (escapes)
    found.update(last.found)
    return last.text.encode("utf-8", "replace"), found


def _said(found: Counter[str]) -> str:
    if not found:
        return "nothing redacted"
    return "redacted: " + ", ".join(f"{kind}: {count}" for kind, count in sorted(found.items()))


def assemble(
    members: Sequence[Member], redactor: Redactor, heading: Sequence[str]
) -> tuple[list[tuple[str, bytes]], Counter[str]]:
    """The bundle's files, each redacted, with ``README.txt`` first: ``heading`` lines,
    then every file with what it holds and what was taken out of it; and the total taken
    out of each kind."""
    files: list[tuple[str, bytes]] = []
    total: Counter[str] = Counter()
    listing: list[str] = []
    width = max((len(m.name) for m in members), default=10)
    for member in members:
        data, found = _encoded(member, redactor)
        total.update(found)
        files.append((member.name, data))
        listing.append(f"  {member.name.ljust(width)}  {member.about}")
        listing.append(f"  {' ' * width}  ({_said(found)})")
    readme = [*heading, "", "Files:", f"  {'README.txt'.ljust(width)}  this list", *listing]
    readme += ["", *textwrap.wrap(NEVER, 88), ""]
    text = redactor.scrub("\n".join(readme)).text  # the heading names tunnels and hosts
    return [("README.txt", text.encode("utf-8", "replace")), *files], total


# What each file holds, as the manifest says it.
ABOUT = {
    "versions.json": "versions of Tunnelkeeper, the OS, Python, paramiko, OpenSSL and Qt",
    "profile.json": "the tunnel's settings, its key's fingerprint (not its path), its route "
    "and its pinned host keys",
    "connection-test.json": "the connection test's checks and the SSH algorithms it negotiated",
    "status.json": "its state where it runs now",
    "history.json": "its state changes and outages of the last 7 days",
    "events.jsonl": "its recent events, one JSON object a line",
    "alerts.json": "the alert rules (webhook URLs without their secrets, no passwords)",
}


def member(name: str, content: Any, folder: str = "") -> Member:
    """Bundle file ``name`` (in ``folder``), described as ``ABOUT`` says."""
    return Member(f"{folder}/{name}" if folder else name, ABOUT[name], content)


def connection_test_summary(test: Mapping[str, Any]) -> str:
    """The connection test's outcome in a few words, for the summary."""
    if not test.get("run"):
        return "connection test not run"
    if "error" in test:
        return "connection test stopped"
    checks = test.get("checks", [])
    failed = [c for c in checks if c.get("status") == "fail"]
    if failed:
        return f"connection test failed at check {failed[0]['number']} ({failed[0]['name']})"
    skipped = sum(c.get("status") == "skipped" for c in checks)
    if skipped:
        return f"connection test passed ({len(checks) - skipped} checks, {skipped} skipped)"
    return f"connection test passed ({len(checks)} checks)"
