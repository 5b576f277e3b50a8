"""Read tunnel details pasted from a vendor's instructions into profile fields (pure logic)."""

from __future__ import annotations

import contextlib
import re
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from app.core.profile import (
    FIELDS,
    parse_hostport,
    validate_bind,
    validate_host,
    validate_keepalive_count,
    validate_keepalive_interval,
    validate_port,
    validate_user,
)
from app.errors import InvalidField, PasteError

REQUIRED = ("jumphost", "ssh_port", "user", "remote_port", "target_host", "target_port", "key_path")

# Far more than any set of instructions (a long how-to page is a few hundred lines); beyond
# either the text is refused before any work. Under both, the slowest input (thousands of
# short ssh commands) is read in about half a second: each line costs up to ~50 us.
MAX_PASTE_CHARS = 256 * 1024
MAX_PASTE_LINES = 5_000
# A longer (joined) line is not read as a command, an assignment or an endpoint.
MAX_LINE_CHARS = 16_384

_LABELS = {
    "jumphost": "the jumphost",
    "ssh_port": "the SSH port",
    "user": "the user",
    "remote_bind": "the remote bind address",
    "remote_port": "the remote port",
    "target_host": "the target host",
    "target_port": "the target port",
    "key_path": "the key",
    "keepalive_interval": "ServerAliveInterval",
    "keepalive_count_max": "ServerAliveCountMax",
    "endpoint": "the endpoint",
}


@dataclass(frozen=True)
class PasteResult:
    """What a paste said: fields found, placeholders still to fill, and what was set aside."""

    fields: dict[str, object]
    placeholders: dict[str, str]
    ignored: tuple[str, ...]
    source: str

    def missing(self, required: tuple[str, ...] = REQUIRED) -> tuple[str, ...]:
        """Required fields the paste did not give a value for (placeholders count as missing)."""
        return tuple(name for name in required if name not in self.fields)


@dataclass
class _Found:
    """What one recognised piece of the paste (a command, a block, a line) gave."""

    source: str
    fields: dict[str, object] = field(default_factory=dict)
    placeholders: dict[str, str] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    forward: str | None = None

    def put(self, name: str, value: object, source: str = "") -> None:
        """Keep the first value, as ssh does; note a later, different one."""
        if name not in self.fields:
            self.fields[name] = value
            self.placeholders.pop(name, None)
        elif self.fields[name] != value:
            self.ignored.append(
                f"{_LABELS[name]} {_show(value)} from the {source or self.source} is ignored: "
                f"{_show(self.fields[name])} was given first."
            )

    def hole(self, name: str, token: str) -> None:
        """Remember a placeholder where a value should be, unless a value is already known."""
        if name not in self.fields:
            self.placeholders.setdefault(name, token)

    def note(self, sentence: str) -> None:
        self.ignored.append(sentence)


def parse_paste(text: str) -> PasteResult:
    """Turn pasted instructions into profile fields; raises only PasteError."""
    if len(text) > MAX_PASTE_CHARS:
        raise PasteError(
            f"the pasted text is {len(text):,} characters long; tunnel details are far "
            f"shorter (at most {MAX_PASTE_CHARS:,} characters are read).",
            text[:40],
        )
    normal = _normalise(text)
    lines = normal.count("\n") + 1
    if lines > MAX_PASTE_LINES:
        raise PasteError(
            f"the pasted text has {lines:,} lines; tunnel details are far shorter "
            f"(at most {MAX_PASTE_LINES:,} lines are read).",
            text[:40],
        )
    found = _scan(_logical_lines(normal))
    if not found:
        raise PasteError(_nothing_message(normal), _first_line(normal))
    return _merge(found)


# --- text clean-up ---------------------------------------------------------------------

_CHAR_MAP: dict[str, str | None] = {
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033", '"'),
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032", "'"),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d", "-"),
    **dict.fromkeys("\u00a0\u1680\u202f\u205f\u3000\x0b\x0c", " "),
    **dict.fromkeys([chr(code) for code in range(0x2000, 0x200B)], " "),
    **dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff\u00ad", None),
    **dict.fromkeys("\u2028\u2029\x85", "\n"),
}
_TRANSLATION = str.maketrans(_CHAR_MAP)
# A continued line: bash "\", PowerShell " `" and cmd.exe " ^" at the end.
_CONTINUED_RE = re.compile(r"(?:\\|(?:^|\s)[`^])\Z")
# Secondary prompts a terminal shows on continued lines (bash "> ", PowerShell ">> ").
_CONTINUATION_PROMPT_RE = re.compile(r"\s*>>? ")


def _normalise(text: str) -> str:
    """Undo what web pages do to commands: smart quotes, odd spaces and dashes, CR LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n").translate(_TRANSLATION)


def _logical_lines(text: str) -> list[str]:
    """Split into lines, joining the ones continued with a trailing \\, ` or ^."""
    lines: list[str] = []
    pending: list[str] = []
    for raw in text.split("\n"):
        line = raw
        prompt = _CONTINUATION_PROMPT_RE.match(line) if pending else None
        if prompt:
            line = line[prompt.end() :]
        body = line.rstrip()
        if len(body) <= MAX_LINE_CHARS and _CONTINUED_RE.search(body):
            pending.append(body[:-1])
            continue
        pending.append(line)
        lines.append(" ".join(pending))
        pending = []
    if pending:
        lines.append(" ".join(pending))
    return lines


_PROMPT_RES = (
    re.compile(r"PS(?: (?:[^>\s]|\s(?!-)){0,300})?> ?"),
    re.compile(r"[A-Za-z]:\\(?:[^>\s]|\s(?!-)){0,300}> ?"),
    re.compile(r"\[[^\]]{0,200}\][$#%] ?"),
    re.compile(r"[\w.-]{1,100}@[\w.-]{1,100}(?::[^\s$#%]{0,300})?[$#%] "),
    re.compile(r"\([\w.-]{1,100}\) "),
    re.compile(r"[\w.-]{0,100}[$#%>\u276f\u279c\u03bb] "),
)


def _strip_prompt(line: str) -> str:
    """Drop shell prompts copied with a command: "$ ", "# ", "PS C:\\>", "me@box:~$ "."""
    text = line.strip()
    if text.startswith("`") and text.endswith("`"):
        text = text.strip("`").strip()
    for _ in range(3):
        for prompt in _PROMPT_RES:
            match = prompt.match(text)
            if match and ".exe" not in match.group().lower():
                text = text[match.end() :].lstrip()
                break
        else:
            return text
    return text


_KEEP_BACKSLASH_RE = re.compile(r"[A-Za-z0-9._-]")


def _shell_ready(text: str) -> str:
    """Prepare a line for shlex: keep Windows path backslashes and drop a # comment."""
    out: list[str] = []
    quote = ""
    index = 0
    while index < len(text):
        char = text[index]
        pair = text[index : index + 2]
        index += 1
        if quote:
            if char == "\\" and quote == '"':
                out.append(pair)
                index += len(pair) - 1
                continue
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 1 or text[index - 2] in " \t"):
            break
        elif char == "\\":
            if _KEEP_BACKSLASH_RE.match(pair[1:]) or len(pair) == 1:
                out.append("\\\\")
                continue
            out.append(pair)
            index += 1
            continue
        out.append(char)
    return "".join(out)


def _words(text: str, context: str) -> list[str]:
    """shlex.split (POSIX) that reports unbalanced quotes as a PasteError."""
    try:
        return shlex.split(_shell_ready(text))
    except ValueError as exc:
        raise PasteError(
            f"`{_short(context)}` has an unbalanced quote ({exc}); copy the whole line again.",
            context,
        ) from exc


# --- scanning the lines ----------------------------------------------------------------


@dataclass
class _Block:
    """An ssh config ``Host`` block being read (or a ``Match`` block being skipped)."""

    found: _Found
    alias: str | None
    skip: bool = False
    used: bool = False


def _scan(lines: Iterable[str]) -> list[_Found]:
    """Recognise each line as a command, a config block line, an assignment or an endpoint."""
    results: list[_Found] = []
    aliases: set[str] = set()
    block: _Block | None = None
    for raw in lines:
        line = raw.strip() if len(raw) <= MAX_LINE_CHARS else ""
        if block is not None:
            if _block_line(block, line):
                continue
            _keep(results, _finish_block(block, aliases))
            block = None
        block = _block_start(line)
        if block is None:
            _keep(results, _line_unit(line, aliases))
    if block is not None:
        _keep(results, _finish_block(block, aliases))
    return results


def _keep(results: list[_Found], found: _Found | None) -> None:
    if found is not None:
        results.append(found)


def _line_unit(line: str, aliases: set[str]) -> _Found | None:
    text = _strip_prompt(line)
    if not text:
        return None
    if "ssh" in text:
        found = _command_unit(text, aliases)
        if found is not None:
            return found
    return _assignment_unit(text) or _endpoint_unit(text)


def _merge(units: list[_Found]) -> PasteResult:
    total = _Found(source="")
    sources: list[str] = []
    for unit in units:
        if unit.source not in sources:
            sources.append(unit.source)
        for name, value in unit.fields.items():
            total.put(name, value, unit.source)
        for name, token in unit.placeholders.items():
            total.hole(name, token)
        total.ignored.extend(unit.ignored)
    return PasteResult(
        fields={name: total.fields[name] for name in FIELDS if name in total.fields},
        placeholders={
            name: total.placeholders[name] for name in FIELDS if name in total.placeholders
        },
        ignored=tuple(dict.fromkeys(total.ignored)),
        source=", ".join(sources),
    )


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.split("\n") if line.strip()), "")


def _nothing_message(text: str) -> str:
    first = _first_line(text)
    if not first:
        return "nothing in this text looks like tunnel details: the text is empty."
    return (
        f"nothing in this text looks like tunnel details: {_short(first, 60)!r} is not an "
        "ssh, autossh or ssh-keyscan command, a HOST:PORT tunnel endpoint, an ssh config "
        "Host block or SSH_HOST=... lines."
    )


# --- values ----------------------------------------------------------------------------

_PLACEHOLDER_RE = re.compile(
    r"<[^<>]{1,100}>"
    r"|\$\{[^{}]{1,100}\}"
    r"|\$(?:env:)?[A-Za-z_][A-Za-z0-9_]{0,100}"
    r"|%[A-Za-z_][A-Za-z0-9_]{0,100}%"
    r"|\{\{[^{}]{1,100}\}\}"
    r"|\{[A-Za-z_][A-Za-z0-9_ -]{0,100}\}"
    r"|\[[A-Za-z_][A-Za-z0-9_ -]{0,100}\]"
    r"|(?:your|Your|YOUR)[-_]?[A-Za-z0-9_-]{1,100}"
    r"|[A-Z][A-Z0-9]{0,100}(?:_[A-Z0-9]{1,100}){1,10}"
    r"|HOST|HOSTNAME|PORT|USER|USERNAME|JUMPHOST|KEY|IP"
    r"|[xX]{2,100}(?:\.[xX]{1,3}){0,3}"
    r"|\.\.\.|\u2026"
)
_EMBEDDED_PLACEHOLDER_RE = re.compile(
    r"<[^<>\s]{1,100}>|\$\{[^{}]{1,100}\}|\$(?:env:)?[A-Za-z_]"
    r"|%[A-Za-z_][A-Za-z0-9_]{0,100}%|\{\{[^{}]{1,100}\}\}"
)
# A word in a port's place that cannot be a number was meant to be filled in ("PORT", "xxxx").
_WORD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,100}")
_HOME_RE = re.compile(
    r"(?:\$HOME|\$\{HOME\}|\$env:USERPROFILE|\$env:HOME|%USERPROFILE%)(?=[\\/])", re.IGNORECASE
)
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_TIME_RE = re.compile(r"(?:[0-9]+[smhdwSMHDW])*[0-9]+[smhdwSMHDW]?")
_TIME_PART_RE = re.compile(r"([0-9]+)([smhdwSMHDW]?)")
_TIME_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SERVICE_PORTS = {"ssh": 22}


def is_placeholder(text: str) -> bool:
    """True for text that stands for a value still to be filled in (<port>, $HOST, ...)."""
    return bool(_PLACEHOLDER_RE.fullmatch(text) or _EMBEDDED_PLACEHOLDER_RE.search(text))


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _show(value: object) -> str:
    return '""' if value == "" else str(value)


def _bad(context: str, exc: InvalidField, token: str) -> PasteError:
    label = _LABELS.get(exc.field, exc.field.replace("_", " "))
    joiner = " " if exc.message[:1] in "'\"0123456789" else ": "
    message = f"`{_short(context)}`: {label}{joiner}{exc.message}"
    return PasteError(message + _non_ascii_hint(token), token)


def _non_ascii_hint(token: str) -> str:
    """Point at a look-alike letter or digit (Cyrillic i, fullwidth 5) pasted from a web page."""
    odd = next((char for char in token if not char.isascii()), None)
    if odd is None:
        return ""
    return f" It contains {odd!r} (U+{ord(odd):04X}), which is not plain ASCII; type it again."


def _port(found: _Found, name: str, text: str, context: str) -> None:
    if text in _SERVICE_PORTS:
        found.put(name, _SERVICE_PORTS[text])
        return
    if _WORD_RE.fullmatch(text) and text != "localhost":
        found.hole(name, text)  # a word where a port belongs: a placeholder of some kind
        return
    _checked(found, name, text, context, lambda value: validate_port(value, name))


def _checked(
    found: _Found, name: str, text: str, context: str, check: Callable[[str], object]
) -> None:
    """A placeholder leaves a hole; anything else must pass ``check``, whose complaint
    becomes a PasteError naming the token."""
    if is_placeholder(text):
        found.hole(name, text)
        return
    try:
        found.put(name, check(text))
    except InvalidField as exc:
        raise _bad(context, exc, text) from exc


def _host(found: _Found, name: str, text: str, context: str) -> None:
    _checked(found, name, text, context, lambda value: validate_host(value, name))


def _user(found: _Found, text: str, context: str) -> None:
    _checked(found, "user", text, context, validate_user)


def _key(found: _Found, text: str, context: str) -> None:
    path = text.strip()
    home = _HOME_RE.match(path)
    if home:
        path = "~" + path[home.end() :]
    if not path:
        raise PasteError(f"`{_short(context)}` gives an empty key file path.", text)
    if is_placeholder(path):
        found.hole("key_path", path)
        return
    if _CONTROL_RE.search(path):
        raise PasteError(
            f"`{_short(context)}`: the key file path contains a control character.", text
        )
    found.put("key_path", path)


def _bind(found: _Found, text: str, context: str) -> None:
    if text in ("", "*"):
        found.put("remote_bind", "")
        return
    _checked(found, "remote_bind", text, context, validate_bind)


def _seconds(text: str) -> int | None:
    """ssh's time format: 10, 10s, 1m30s."""
    if len(text) > 20 or not _TIME_RE.fullmatch(text):
        return None
    return sum(
        int(number) * _TIME_UNITS[unit.lower()] for number, unit in _TIME_PART_RE.findall(text)
    )


def _keepalive_interval(found: _Found, text: str, context: str) -> None:
    if is_placeholder(text):
        found.hole("keepalive_interval", text)
        return
    seconds = _seconds(text)
    if seconds is None:
        raise PasteError(
            f"`{_short(context)}`: ServerAliveInterval {text!r} is not a number of seconds.", text
        )
    if seconds == 0:
        found.note(
            "ServerAliveInterval=0 is ignored: Tunnelkeeper always sends keepalives "
            "(every 10 s unless you choose otherwise)."
        )
        return
    try:
        found.put("keepalive_interval", validate_keepalive_interval(seconds))
    except InvalidField as exc:
        raise _bad(context, exc, text) from exc


def _keepalive_count(found: _Found, text: str, context: str) -> None:
    if is_placeholder(text):
        found.hole("keepalive_count_max", text)
        return
    if not re.fullmatch(r"[0-9]{1,9}", text):
        raise PasteError(
            f"`{_short(context)}`: ServerAliveCountMax {text!r} is not a whole number.", text
        )
    try:
        count = validate_keepalive_count(int(text))
    except InvalidField as exc:
        raise _bad(context, exc, text) from exc
    found.put("keepalive_count_max", count)


# --- -R forwards -----------------------------------------------------------------------


def _spec_parts(spec: str, context: str) -> list[str]:
    """Split a forward on ':' outside [IPv6] brackets, <placeholders> and ${VARS}."""
    if ":" not in spec and "/" in spec and not spec.startswith(("/", ".", "~")):
        return spec.split("/")
    parts: list[str] = []
    depth = start = 0
    for index, char in enumerate(spec):
        if char in "[<{":
            depth += 1
        elif char in "]>}":
            depth -= 1
        elif char == ":" and depth == 0:
            parts.append(spec[start:index])
            start = index + 1
        if depth < 0:
            break
    if depth != 0:
        raise PasteError(f"`{_short(context)}` has an unbalanced bracket.", spec)
    parts.append(spec[start:])
    return parts


def _forward(found: _Found, spec: str, context: str) -> None:
    """Read ``[bind:]port:host:hostport`` (ssh -R / RemoteForward) into the forward fields."""
    if found.forward is not None:
        found.note(
            f"{_short(context)} is ignored: a tunnel carries one forward, and the first "
            f"({found.forward}) is used."
        )
        return
    found.forward = _short(context)
    parts = _spec_parts(spec, context)
    if any("/" in part and not is_placeholder(part) for part in parts):
        found.note(
            f"{_short(context)} is ignored: Tunnelkeeper forwards TCP ports, not Unix sockets."
        )
        return
    if len(parts) > 4:
        raise PasteError(
            f"`{_short(context)}` has too many ':'; write an IPv6 address in brackets, "
            "as [BIND:]PORT:[ADDR]:PORT.",
            spec,
        )
    if len(parts) < 3:
        raise PasteError(
            f"`{_short(context)}` names no target; Tunnelkeeper needs a forward of the form "
            "[BIND:]PORT:HOST:PORT.",
            spec,
        )
    if len(parts) == 4:
        _bind(found, parts.pop(0), context)
    _port(found, "remote_port", parts[0], context)
    _host(found, "target_host", parts[1], context)
    _port(found, "target_port", parts[2], context)


# --- ssh options and ssh_config keywords ---------------------------------------------------

_KEYWORD_RE = re.compile(r"([A-Za-z][A-Za-z0-9]{0,60})(?:\s*=\s*|\s+)(.*)")
_NOT_TRUSTING = "Tunnelkeeper always verifies host keys"


def _names(text: str) -> list[str]:
    return text.split()


_QUIET_KEYWORDS = frozenset(
    _names(
        """addkeystoagent addressfamily batchmode bindaddress bindinterface canonicaldomains
    canonicalizefallbacklocal canonicalizehostname canonicalizemaxdots
    canonicalizepermittedcnames casignaturealgorithms certificatefile
    challengeresponseauthentication checkhostip ciphers clearallforwardings compression
    connectionattempts connecttimeout controlmaster controlpath controlpersist
    enableescapecommandline enablesshkeysign escapechar exitonforwardfailure
    fingerprinthash forkafterauthentication forwardagent forwardx11 forwardx11timeout
    forwardx11trusted gatewayports gssapiauthentication gssapidelegatecredentials
    hashknownhosts hostbasedacceptedalgorithms hostbasedauthentication hostkeyalgorithms
    hostkeyalias identitiesonly identityagent ignoreunknown ipqos kbdinteractiveauthentication
    kbdinteractivedevices kexalgorithms knownhostscommand localcommand loglevel logverbose
    macs nohostauthenticationforlocalhost numberofpasswordprompts obscurekeystroketiming
    passwordauthentication permitlocalcommand permitremoteopen pkcs11provider
    preferredauthentications protocol pubkeyacceptedalgorithms pubkeyacceptedkeytypes
    pubkeyauthentication rekeylimit requesttty requiredrsasize revokedhostkeys
    securitykeyprovider sendenv sessiontype setenv stdinnull streamlocalbindmask
    streamlocalbindunlink syslogfacility tag tcpkeepalive tunnel tunneldevice updatehostkeys
    usekeychain useprivilegedport verifyhostkeydns visualhostkey warnweakcrypto
    xauthlocation"""
    )
)


def _first(values: list[str]) -> str:
    return values[0]


def _kw_hostname(found: _Found, values: list[str], context: str) -> None:
    _host(found, "jumphost", _first(values), context)


def _kw_user(found: _Found, values: list[str], context: str) -> None:
    _user(found, _first(values), context)


def _kw_port(found: _Found, values: list[str], context: str) -> None:
    _port(found, "ssh_port", _first(values), context)


def _kw_identity(found: _Found, values: list[str], context: str) -> None:
    _key(found, _first(values), context)


def _kw_remote_forward(found: _Found, values: list[str], context: str) -> None:
    _forward(found, ":".join(values[:2]), context)


def _kw_interval(found: _Found, values: list[str], context: str) -> None:
    _keepalive_interval(found, _first(values), context)


def _kw_count(found: _Found, values: list[str], context: str) -> None:
    _keepalive_count(found, _first(values), context)


def _kw_local_forward(found: _Found, values: list[str], context: str) -> None:
    found.note(
        f"{_short(context)} is ignored: Tunnelkeeper keeps a remote (-R) forward open; "
        "a local or dynamic forward is not what it does."
    )


def _kw_strict(found: _Found, values: list[str], context: str) -> None:
    if _first(values).lower() not in ("yes", "ask", "true"):
        found.note(f"StrictHostKeyChecking={_short(_first(values))} is ignored: {_NOT_TRUSTING}.")


def _kw_include(found: _Found, values: list[str], context: str) -> None:
    found.note(f"{_short(context)} is ignored: Tunnelkeeper reads only the text pasted.")


_Handler = Callable[[_Found, list[str], str], None]


def _ignoring(keyword: str, reason: str) -> _Handler:
    """A handler that notes ``Keyword=value is ignored: reason``."""

    def note(found: _Found, values: list[str], context: str) -> None:
        found.note(f"{keyword}={_short(' '.join(values))} is ignored: {reason}")

    return note


_KNOWN_HOSTS_REASON = f"{_NOT_TRUSTING} against its own known_hosts (see `tunnelkeeper trust`)."
_PROXY_REASON = "Tunnelkeeper connects to the jumphost directly."
_KEYWORD_HANDLERS: dict[str, _Handler] = {
    "hostname": _kw_hostname,
    "user": _kw_user,
    "port": _kw_port,
    "identityfile": _kw_identity,
    "remoteforward": _kw_remote_forward,
    "serveraliveinterval": _kw_interval,
    "serveralivecountmax": _kw_count,
    "localforward": _kw_local_forward,
    "dynamicforward": _kw_local_forward,
    "stricthostkeychecking": _kw_strict,
    "userknownhostsfile": _ignoring("UserKnownHostsFile", _KNOWN_HOSTS_REASON),
    "globalknownhostsfile": _ignoring("GlobalKnownHostsFile", _KNOWN_HOSTS_REASON),
    "proxyjump": _ignoring("ProxyJump", _PROXY_REASON),
    "proxycommand": _ignoring("ProxyCommand", _PROXY_REASON),
    "include": _kw_include,
}
_KNOWN_KEYWORDS = frozenset(_KEYWORD_HANDLERS) | _QUIET_KEYWORDS
# Lines that start a config block even without a "Host" line above them.
_BLOCK_OPENERS = frozenset({"hostname", "remoteforward", "identityfile"})


def _apply_keyword(found: _Found, keyword: str, rest: str, context: str) -> bool:
    """Apply one ssh option; False when the keyword is not an ssh option at all."""
    name = keyword.lower()
    handler = _KEYWORD_HANDLERS.get(name)
    if handler is None:
        return name in _QUIET_KEYWORDS
    values = _words(rest, context)
    if not values:
        raise PasteError(f"`{_short(context)}` gives {keyword} no value.", context)
    handler(found, values, context)
    return True


def _dash_o(found: _Found, value: str) -> None:
    context = f"-o {value}"
    match = _KEYWORD_RE.fullmatch(value.strip())
    if not match:
        raise PasteError(
            f"`{_short(context)}` is not of the form -o Keyword=value or -o 'Keyword value'.",
            value,
        )
    if not _apply_keyword(found, match.group(1), match.group(2), context):
        found.note(f"{_short(context)} is ignored: it is not an ssh option Tunnelkeeper knows.")


# --- ssh / autossh command lines ---------------------------------------------------------

_SOURCES = {
    "ssh": "ssh command",
    "autossh": "autossh command",
    "ssh-keyscan": "ssh-keyscan command",
}
_SSH_WITH_VALUE = frozenset("BbcDEeFIiJLlmOoPpQRSWw")
_SSH_BARE = frozenset("1246AaCfGgKkMNnqsTtVvXxYy")
_AUTOSSH_WITH_VALUE = _SSH_WITH_VALUE | {"M"}
_AUTOSSH_BARE = _SSH_BARE - {"M"}
_KEYSCAN_WITH_VALUE = frozenset("fOpTt")
_KEYSCAN_BARE = frozenset("46cDHqv")
_WRAPPERS = frozenset(
    {"sudo", "doas", "nohup", "exec", "env", "command", "time", "nice", "setsid", "&", "start"}
)
_ASSIGNMENT_TOKEN_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*", re.DOTALL)
# systemd's ExecStart=/usr/bin/autossh (with its optional -@+!: prefixes).
_EXEC_TOKEN_RE = re.compile(r"Exec[A-Za-z]*=[-@+!:]*(.*)", re.DOTALL)
_CRON_FIELD_RE = re.compile(r"@[a-z]+|[0-9*/,-]+")
_REDIRECT_RE = re.compile(r"[0-9]?(?:>>?|<)|&>>?")
_REDIRECT_TO_RE = re.compile(r"(?:[0-9]?>>?|&>>?)[^<]*|[0-9]?>&[0-9-]")
_SHELL_ENDS = frozenset({"|", "||", "&&", ";", "&", ";;", "|&"})
_MAX_PREFIX_TOKENS = 16


@dataclass
class _Ssh:
    """An ssh or autossh command line being read."""

    found: _Found
    program: str
    host: str | None = None
    destination: str = ""
    saw_option: bool = False
    saw_destination: bool = False
    user_in_destination: bool = False
    command: list[str] = field(default_factory=list)


def _command_name(token: str) -> str | None:
    base = re.split(r"[\\/]", token)[-1]
    if base[-4:].lower() == ".exe":
        base = base[:-4]
    return base if base in _SOURCES else None


def _command_start(tokens: list[str]) -> tuple[str, list[str]] | None:
    """Find ssh/autossh/ssh-keyscan after env assignments, cron fields, sudo, ExecStart=."""
    wrapped = skip_next = False
    for index, token in enumerate(tokens[:_MAX_PREFIX_TOKENS]):
        if skip_next:
            skip_next = False
            continue
        systemd = _EXEC_TOKEN_RE.fullmatch(token)
        name = _command_name(systemd.group(1) if systemd else token)
        if name is not None:
            return name, tokens[index + 1 :]
        if systemd:
            return None
        if _ASSIGNMENT_TOKEN_RE.fullmatch(token):
            continue
        if token in _WRAPPERS:
            wrapped = True
        elif wrapped and token[:1] in ("-", "/"):
            skip_next = token in ("-u", "-g", "-n")
        elif not _CRON_FIELD_RE.fullmatch(token):
            return None
    return None


def _shell_words(args: list[str]) -> list[str]:
    """The command's own words: stop at | && ; &, drop redirections like >> known_hosts."""
    words: list[str] = []
    skip = False
    for token in args:
        if skip:
            skip = False
        elif token in _SHELL_ENDS:
            break
        elif _REDIRECT_RE.fullmatch(token):
            skip = True
        elif not _REDIRECT_TO_RE.fullmatch(token):
            if len(token) > 1 and token.endswith(";"):
                words.append(token[:-1])
                break
            words.append(token)
    return words


def _command_unit(text: str, aliases: set[str]) -> _Found | None:
    try:
        tokens = shlex.split(_shell_ready(text))
    except ValueError as exc:
        if _command_start(text.split()) is None:
            return None
        raise PasteError(
            f"`{_short(text)}` has an unbalanced quote ({exc}); copy the whole command again.",
            text,
        ) from exc
    start = _command_start(tokens)
    if start is None:
        return None
    program, args = start
    words = _shell_words(args)
    if program == "ssh-keyscan":
        return _keyscan_unit(words)
    return _ssh_unit(program, words, aliases)


def _ssh_unit(program: str, args: list[str], aliases: set[str]) -> _Found | None:
    state = _Ssh(_Found(_SOURCES[program]), program)
    _walk_ssh(state, args)
    # "autossh to establish the tunnel" is prose that starts with a command name.
    prose = state.command or not state.saw_destination
    if prose and not state.saw_option and not state.user_in_destination:
        return None
    found = state.found
    host = state.host
    from_option = "jumphost" in found.fields or "jumphost" in found.placeholders
    if host is not None and host not in aliases and not from_option:
        _host(found, "jumphost", host, state.destination)
    if state.command:
        found.note(
            f"the remote command {_short(' '.join(state.command))!r} is ignored: "
            "Tunnelkeeper runs no command on the jumphost."
        )
    return found


def _walk_ssh(state: _Ssh, args: list[str]) -> None:
    """Options, then the destination, then options again, then the remote command."""
    index = 0
    terminated = False
    while index < len(args):
        word = args[index]
        if word == "--" and not terminated:
            terminated = True
            index += 1
        elif len(word) > 1 and word.startswith("-") and not terminated:
            index = _ssh_cluster(state, args, index)
        elif not state.saw_destination:
            _destination(state, word)
            index += 1
            if terminated:
                state.command = args[index:]
                return
        else:
            state.command = args[index:]
            return


def _ssh_cluster(state: _Ssh, args: list[str], index: int) -> int:
    """Read one option word such as -NR5000:h:1, -p 22 or -oKey=value; return the next index."""
    token = args[index]
    autossh = state.program == "autossh"
    with_value = _AUTOSSH_WITH_VALUE if autossh else _SSH_WITH_VALUE
    bare = _AUTOSSH_BARE if autossh else _SSH_BARE
    state.saw_option = True
    for position in range(1, len(token)):
        letter = token[position]
        if letter in bare:
            continue
        if letter not in with_value:
            raise PasteError(
                f"`{_short(token)}`: -{letter} is not an {state.program} option.", token
            )
        value = token[position + 1 :]
        if not value:
            if index + 1 >= len(args):
                raise PasteError(f"`{_short(token)}` is missing the value -{letter} needs.", token)
            index += 1
            value = args[index]
        _ssh_option(state.found, letter, value)
        break
    return index + 1


def _ssh_option(found: _Found, letter: str, value: str) -> None:
    context = f"-{letter} {value}"
    if letter == "R":
        _forward(found, value, context)
    elif letter == "p":
        _port(found, "ssh_port", value, context)
    elif letter == "i":
        _key(found, value, context)
    elif letter == "l":
        _user(found, value, context)
    elif letter == "o":
        _dash_o(found, value)
    else:
        _ssh_note(found, letter, context)


_SSH_NOTES = {
    "L": "Tunnelkeeper keeps a remote (-R) forward open; a local forward is not what it does.",
    "D": "Tunnelkeeper keeps a remote (-R) forward open; a SOCKS proxy is not what it does.",
    "W": "Tunnelkeeper keeps a remote (-R) forward open; stdio forwarding is not what it does.",
    "J": _PROXY_REASON,
    "F": "Tunnelkeeper reads no ssh config files; paste the Host block instead.",
}


def _ssh_note(found: _Found, letter: str, context: str) -> None:
    """Options that change nothing for us pass silently; the ones that matter are noted."""
    if letter in _SSH_NOTES:
        found.note(f"{_short(context)} is ignored: {_SSH_NOTES[letter]}")


_URI_RE = re.compile(r"ssh://(?:([^@/]*)@)?(\[[^\]/]*\]|[^:/\[]*)(?::([^/]*))?/?")


def _destination(state: _Ssh, token: str) -> None:
    """``[user@]host`` or ``ssh://[user@]host[:port]``; the host is applied at the end."""
    state.saw_destination = True
    state.destination = token
    uri = _URI_RE.fullmatch(token)
    if uri:
        user, host, port = uri.groups()
        if port:
            _port(state.found, "ssh_port", port, token)
    elif _PLACEHOLDER_RE.fullmatch(token):
        user, host = None, token
    else:
        user, at, host = token.rpartition("@")
        user = user if at else None
    if user is not None:
        if not user:
            raise PasteError(f"`{_short(token)}` has nothing before the '@'.", token)
        state.user_in_destination = True
        _user(state.found, user, token)
    state.host = host


def _keyscan_unit(args: list[str]) -> _Found | None:
    found = _Found(_SOURCES["ssh-keyscan"])
    hosts: list[str] = []
    saw_option = False
    index = 0
    while index < len(args):
        token = args[index]
        if len(token) > 1 and token.startswith("-"):
            saw_option = True
            index = _keyscan_cluster(found, args, index)
            continue
        hosts.extend(name for name in token.split(",") if name)
        index += 1
    if not hosts and not saw_option:
        return None
    if not saw_option and len(args) > 1:
        return None
    if hosts:
        _host(found, "jumphost", hosts[0], hosts[0])
    for other in hosts[1:]:
        found.note(f"ssh-keyscan also names {_short(other)!r}; only the first host is used.")
    return found


def _keyscan_cluster(found: _Found, args: list[str], index: int) -> int:
    token = args[index]
    for position in range(1, len(token)):
        letter = token[position]
        if letter in _KEYSCAN_BARE:
            continue
        if letter not in _KEYSCAN_WITH_VALUE:
            raise PasteError(f"`{_short(token)}`: -{letter} is not an ssh-keyscan option.", token)
        value = token[position + 1 :]
        if not value:
            if index + 1 >= len(args):
                raise PasteError(f"`{_short(token)}` is missing the value -{letter} needs.", token)
            index += 1
            value = args[index]
        if letter == "p":
            _port(found, "ssh_port", value, f"-p {value}")
        break
    return index + 1


# --- ssh config blocks -------------------------------------------------------------------

_HOST_LINE_RE = re.compile(r"(host|match)(?:\s*=\s*|\s+)(.+)", re.IGNORECASE)
_CONFIG_SOURCE = "ssh config Host block"


def _block_start(line: str) -> _Block | None:
    head = _HOST_LINE_RE.fullmatch(line)
    if head:
        if head.group(1).lower() == "match":
            return _Block(_Found(_CONFIG_SOURCE), None, skip=True)
        patterns = head.group(2).split()
        single = len(patterns) == 1 and not any(c in patterns[0] for c in "*?!,")
        return _Block(_Found(_CONFIG_SOURCE), patterns[0] if single else None)
    keyword = _KEYWORD_RE.fullmatch(line)
    if keyword and keyword.group(1).lower() in _BLOCK_OPENERS:
        block = _Block(_Found(_CONFIG_SOURCE), None)
        _block_line(block, line)
        return block
    return None


def _block_line(block: _Block, line: str) -> bool:
    """Apply one line of a block; False when the line does not belong to the block."""
    if not line or line.startswith("#"):
        return True
    match = _KEYWORD_RE.fullmatch(line)
    if not match:
        return False
    name = match.group(1).lower()
    if name in ("host", "match") or name not in _KNOWN_KEYWORDS:
        return False
    block.used = True
    if not block.skip:
        _apply_keyword(block.found, match.group(1), match.group(2), line)
    return True


def _finish_block(block: _Block, aliases: set[str]) -> _Found | None:
    if not block.used:
        return None
    found = block.found
    if block.skip:
        found.note("a Match block is ignored: paste the Host block of the jumphost instead.")
        return found
    alias = block.alias
    if alias is not None:
        aliases.add(alias)
        if "jumphost" not in found.fields and "jumphost" not in found.placeholders:
            with contextlib.suppress(InvalidField):
                found.put("jumphost", validate_host(alias, "jumphost"))
    return found


# --- SSH_HOST=... lines and "SSH Host: ..." labels ---------------------------------------

_ASSIGNMENT_RE = re.compile(
    r"(?:export\s+|set\s+|\$env:)?[\"']?([A-Za-z_][A-Za-z0-9_ .-]{0,40})[\"']?\s*([:=])\s*(.*)"
)
_ENV_WORD_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", re.DOTALL)
_KEY_MATERIAL_RE = re.compile(r"-----BEGIN|ssh-[a-z0-9]+$|ecdsa-sha2-|sk-ssh-")
_ASSIGNED_FIELDS: dict[str, str] = {
    **dict.fromkeys(
        _names(
            "SSH_HOST SSH_HOSTNAME SSH_SERVER SSH_TUNNEL_HOST TUNNEL_HOST TUNNEL_SERVER JUMPHOST "
            "JUMP_HOST JUMPHOST_HOST BASTION BASTION_HOST"
        ),
        "jumphost",
    ),
    **dict.fromkeys(_names("SSH_PORT JUMPHOST_PORT JUMP_HOST_PORT BASTION_PORT"), "ssh_port"),
    **dict.fromkeys(
        _names(
            "SSH_USER SSH_USERNAME SSH_LOGIN TUNNEL_USER TUNNEL_USERNAME JUMPHOST_USER BASTION_USER"
        ),
        "user",
    ),
    **dict.fromkeys(
        _names(
            "TUNNEL_PORT REMOTE_PORT ALLOCATED_PORT FORWARD_PORT REVERSE_PORT REMOTE_FORWARD_PORT "
            "LISTEN_PORT"
        ),
        "remote_port",
    ),
    **dict.fromkeys(_names("REMOTE_BIND REMOTE_BIND_ADDRESS BIND_ADDRESS"), "remote_bind"),
    **dict.fromkeys(
        _names("DB_HOST DB_HOSTNAME DATABASE_HOST DATABASE_HOSTNAME TARGET_HOST"), "target_host"
    ),
    **dict.fromkeys(_names("DB_PORT DATABASE_PORT TARGET_PORT"), "target_port"),
    **dict.fromkeys(
        _names(
            "SSH_KEY SSH_KEY_PATH SSH_KEY_FILE KEY_PATH KEY_FILE IDENTITY_FILE IDENTITYFILE "
            "PRIVATE_KEY_PATH PRIVATE_KEY_FILE SSH_PRIVATE_KEY_PATH SSH_PRIVATE_KEY_FILE "
            "SSH_IDENTITY_FILE"
        ),
        "key_path",
    ),
    **dict.fromkeys(_names("KEEPALIVE_INTERVAL SERVER_ALIVE_INTERVAL"), "keepalive_interval"),
    **dict.fromkeys(_names("KEEPALIVE_COUNT_MAX SERVER_ALIVE_COUNT_MAX"), "keepalive_count_max"),
    **dict.fromkeys(_names("TUNNEL_ENDPOINT SSH_ENDPOINT ENDPOINT"), "endpoint"),
}


def _assigned_key(found: _Found, value: str, context: str) -> None:
    if _KEY_MATERIAL_RE.match(value):
        found.note(
            f"{_short(context, 40)} holds key material, not a file path: save the private key "
            "to a file and choose that file."
        )
        return
    _key(found, value, context)


def _assigned_endpoint(found: _Found, value: str, context: str) -> None:
    if is_placeholder(value):
        found.hole("jumphost", value)
        return
    try:
        host, port = parse_hostport(value, "endpoint")
    except InvalidField as exc:
        raise _bad(context, exc, value) from exc
    found.put("jumphost", host)
    found.put("remote_port", port)


_ValueHandler = Callable[[_Found, str, str], None]
_ASSIGN_HANDLERS: dict[str, _ValueHandler] = {
    "jumphost": lambda found, value, context: _host(found, "jumphost", value, context),
    "ssh_port": lambda found, value, context: _port(found, "ssh_port", value, context),
    "user": _user,
    "remote_port": lambda found, value, context: _port(found, "remote_port", value, context),
    "remote_bind": _bind,
    "target_host": lambda found, value, context: _host(found, "target_host", value, context),
    "target_port": lambda found, value, context: _port(found, "target_port", value, context),
    "key_path": _assigned_key,
    "keepalive_interval": _keepalive_interval,
    "keepalive_count_max": _keepalive_count,
    "endpoint": _assigned_endpoint,
}


def _assignment_unit(text: str) -> _Found | None:
    if " " in text and "=" in text:
        several = _assignments_on_one_line(text)
        if several is not None:
            return several
    match = _ASSIGNMENT_RE.fullmatch(text)
    if not match:
        return None
    key = re.sub(r"[ .-]+", "_", match.group(1).strip()).upper().strip("_")
    target = _ASSIGNED_FIELDS.get(key)
    if target is None:
        return None
    raw = match.group(3).strip().rstrip(",;").strip()
    values = _words(raw, text) if raw else []
    if not values:
        return None
    found = _Found("environment variables" if match.group(2) == "=" else "labelled fields")
    _ASSIGN_HANDLERS[target](found, values[0], text)
    return found


def _assignments_on_one_line(text: str) -> _Found | None:
    """``SSH_HOST=a SSH_USER=b TUNNEL_PORT=c`` (or after ``export``) on a single line."""
    try:
        words = shlex.split(_shell_ready(text))
    except ValueError:
        return None
    if words[:1] == ["export"]:
        words = words[1:]
    pairs = [pair for pair in map(_ENV_WORD_RE.fullmatch, words) if pair]
    if len(pairs) < 2 or len(pairs) != len(words):
        return None
    found = _Found("environment variables")
    for pair in pairs:
        target = _ASSIGNED_FIELDS.get(pair.group(1).upper())
        if target is not None and pair.group(2):
            _ASSIGN_HANDLERS[target](found, pair.group(2), pair.group(0))
    return found if found.fields or found.placeholders or found.ignored else None


# --- a bare HOST:PORT line ---------------------------------------------------------------

_ENDPOINT_RE = re.compile(r"(\[[0-9A-Za-z:.%_-]{1,100}\]|[A-Za-z0-9._-]{1,253}):([0-9]{1,10})")


def _endpoint_unit(text: str) -> _Found | None:
    match = _ENDPOINT_RE.fullmatch(text)
    if not match or not re.search(r"[A-Za-z.\[]", match.group(1)):
        return None
    found = _Found("tunnel endpoint")
    _assigned_endpoint(found, text, text)
    return found
