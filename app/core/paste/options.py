"""ssh options and ssh_config keywords, as in ``-o Keyword=value`` or a config block."""

from __future__ import annotations

import re
from collections.abc import Callable

from app.core.paste.forward import read_forward
from app.core.paste.jump import read_jump
from app.core.paste.proxy_command import read_proxy_command
from app.core.paste.result import Found, short
from app.core.paste.text import split_words
from app.core.paste.values import (
    read_host,
    read_keepalive_count,
    read_keepalive_interval,
    read_key,
    read_port,
    read_user,
)
from app.errors import PasteError

KEYWORD_RE = re.compile(r"([A-Za-z][A-Za-z0-9]{0,60})(?:\s*=\s*|\s+)(.*)")
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


def _kw_hostname(found: Found, values: list[str], context: str) -> None:
    read_host(found, "jumphost", _first(values), context)


def _kw_user(found: Found, values: list[str], context: str) -> None:
    read_user(found, _first(values), context)


def _kw_port(found: Found, values: list[str], context: str) -> None:
    read_port(found, "ssh_port", _first(values), context)


def _kw_identity(found: Found, values: list[str], context: str) -> None:
    read_key(found, _first(values), context)


def _kw_remote_forward(found: Found, values: list[str], context: str) -> None:
    read_forward(found, ":".join(values[:2]), context)


def _kw_interval(found: Found, values: list[str], context: str) -> None:
    read_keepalive_interval(found, _first(values), context)


def _kw_count(found: Found, values: list[str], context: str) -> None:
    read_keepalive_count(found, _first(values), context)


def _kw_local_forward(found: Found, values: list[str], context: str) -> None:
    found.note(
        f"{short(context)} is ignored: Tunnelkeeper keeps a remote (-R) forward open; "
        "a local or dynamic forward is not what it does."
    )


def _kw_strict(found: Found, values: list[str], context: str) -> None:
    if _first(values).lower() not in ("yes", "ask", "true"):
        found.note(f"StrictHostKeyChecking={short(_first(values))} is ignored: {_NOT_TRUSTING}.")


def _kw_include(found: Found, values: list[str], context: str) -> None:
    found.note(f"{short(context)} is ignored: Tunnelkeeper reads only the text pasted.")


_Handler = Callable[[Found, list[str], str], None]


def _ignoring(keyword: str, reason: str) -> _Handler:
    """A handler that notes ``Keyword=value is ignored: reason``."""

    def note(found: Found, values: list[str], context: str) -> None:
        found.note(f"{keyword}={short(' '.join(values))} is ignored: {reason}")

    return note


_KNOWN_HOSTS_REASON = f"{_NOT_TRUSTING} against its own known_hosts (see `tunnelkeeper trust`)."


def _kw_proxy_command(found: Found, values: list[str], context: str) -> None:
    if values != ["none"]:  # "none": no ProxyCommand, as ssh reads it
        read_proxy_command(found, values, context)


def _kw_proxy_jump(found: Found, values: list[str], context: str) -> None:
    read_jump(found, _first(values), context)


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
    "proxyjump": _kw_proxy_jump,
    "proxycommand": _kw_proxy_command,
    "include": _kw_include,
}
KNOWN_KEYWORDS = frozenset(_KEYWORD_HANDLERS) | _QUIET_KEYWORDS
# Lines that start a config block even without a "Host" line above them.
BLOCK_OPENERS = frozenset({"hostname", "remoteforward", "identityfile"})


def apply_keyword(found: Found, keyword: str, rest: str, context: str) -> bool:
    """Apply one ssh option; False when the keyword is not an ssh option at all."""
    name = keyword.lower()
    handler = _KEYWORD_HANDLERS.get(name)
    if handler is None:
        return name in _QUIET_KEYWORDS
    values = split_words(rest, context)
    if not values:
        raise PasteError(f"`{short(context)}` gives {keyword} no value.", context)
    handler(found, values, context)
    return True


def dash_o(found: Found, value: str) -> None:
    context = f"-o {value}"
    match = KEYWORD_RE.fullmatch(value.strip())
    if not match:
        raise PasteError(
            f"`{short(context)}` is not of the form -o Keyword=value or -o 'Keyword value'.",
            value,
        )
    if not apply_keyword(found, match.group(1), match.group(2), context):
        found.note(f"{short(context)} is ignored: it is not an ssh option Tunnelkeeper knows.")
