"""What a paste leaves out, and why (gaps); placeholders for the target; host:port typed."""

from __future__ import annotations

import shlex
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.paste import parse_paste
from app.core.paste.endpoint import typed_jumphost
from app.core.paste.result import short
from app.errors import InvalidField
from tests.app.core.test_paste import bracketed, hostnames, hosts, keys, ports

HIGHTOUCH = (
    "ssh -i path/to/key.pem -R 0.0.0.0:56000:$SERVICE_HOST:$SERVICE_PORT tunnel.hightouch.io "
    "-p 49100 -o ExitOnForwardFailure=yes"
)


def test_the_hightouch_command_says_the_user_is_missing_and_why() -> None:
    result = parse_paste(HIGHTOUCH)
    assert result.fields == {
        "jumphost": "tunnel.hightouch.io",
        "ssh_port": 49100,
        "remote_bind": "0.0.0.0",  # kept as the remote bind, as the vendor wrote it
        "remote_port": 56000,
        "key_path": "path/to/key.pem",
    }
    assert result.placeholders == {"target_host": "$SERVICE_HOST", "target_port": "$SERVICE_PORT"}
    assert result.gaps == {"user": "the vendor's command has no user@ before tunnel.hightouch.io"}
    assert result.missing() == ("user", "target_host", "target_port")


@pytest.mark.parametrize(
    ("text", "gaps"),
    [
        (
            "autossh -M 0 -N -R 5000:db:5432 jump.example",
            {"user": "the vendor's autossh command has no user@ before jump.example"},
        ),
        (
            "ssh -N me@jump.example",
            {
                "remote_port": "the vendor's command has no -R forward giving the allocated port",
                "target_host": "the vendor's command has no -R forward naming the target",
                "target_port": "the vendor's command has no -R forward naming the target",
            },
        ),
        (
            "Host vendor\n  HostName jump.example\n  RemoteForward 5000 db:5432\n",
            {"user": "the vendor's Host block has no User line"},
        ),
        (
            "jump.example:58115",
            {"user": "a tunnel endpoint (jump.example:58115) does not name the user"},
        ),
        ("ssh -R 5000:db:5432 -l me jump.example", {}),
        ("ssh -R 5000:db:5432 -o User=me jump.example", {}),
        ("ssh -R 5000:db:5432 <user>@jump.example", {}),  # a placeholder says it already
        ("ssh -R 5000:db:5432 jump.example\nSSH_USER=me", {}),  # filled by a later line
        ("ssh-keyscan -p 2222 jump.example", {}),  # about host keys: nothing is expected
    ],
)
def test_each_grammar_says_what_it_leaves_out(text: str, gaps: dict[str, str]) -> None:
    assert parse_paste(text).gaps == gaps


def test_the_first_piece_that_explains_a_gap_wins() -> None:
    result = parse_paste("ssh-keyscan jump.example\nssh -R 5000:db:5432 jump.example")
    assert result.gaps == {"user": "the vendor's command has no user@ before jump.example"}


# --- generated: commands without a user, targets left as placeholders -----------------------

_names = st.from_regex(r"[A-Z][A-Z0-9]{0,7}_[A-Z0-9]{1,8}", fullmatch=True)
placeholders = st.one_of(
    _names.map(lambda name: f"${name}"),
    _names.map(lambda name: f"${{{name}}}"),
    _names.map(lambda name: f"%{name}%"),
    _names.map(lambda name: f"<{name.lower().replace('_', '-')}>"),
    _names.map(lambda name: f"{{{{{name.lower()}}}}}"),
)
binds = st.sampled_from([None, "0.0.0.0", "127.0.0.1", "*"])


@st.composite
def userless_commands(draw: st.DrawFn) -> tuple[str, dict[str, Any], dict[str, str]]:
    """An ssh command as Hightouch writes it: no user, the target as placeholders, options
    in any order; with the fields and placeholders it means."""
    host, ssh_port, remote_port, key = draw(hostnames), draw(ports), draw(ports), draw(keys)
    target_host, target_port = draw(placeholders), draw(placeholders)
    bind = draw(binds)
    want: dict[str, Any] = {
        "jumphost": host,
        "ssh_port": ssh_port,
        "remote_port": remote_port,
        "key_path": key,
    }
    if bind is not None:
        want["remote_bind"] = "" if bind == "*" else bind
    forward = f"{'' if bind is None else bind + ':'}{remote_port}:{target_host}:{target_port}"
    pieces = [
        ["-i", key],
        draw(st.sampled_from([["-R", forward], [f"-R{forward}"], ["-NR", forward]])),
        draw(
            st.sampled_from([["-p", str(ssh_port)], [f"-p{ssh_port}"], ["-oPort=" + str(ssh_port)]])
        ),
        draw(st.sampled_from([[], ["-o", "ExitOnForwardFailure=yes"], ["-N"], ["-T"]])),
        [host],
    ]
    words = [word for piece in draw(st.permutations(pieces)) for word in piece]
    holes = {"target_host": target_host, "target_port": target_port}
    return "ssh " + " ".join(shlex.quote(word) for word in words), want, holes


@settings(max_examples=300, deadline=None)
@given(userless_commands())
def test_a_command_without_a_user_names_the_gap_and_keeps_the_rest(
    case: tuple[str, dict[str, Any], dict[str, str]],
) -> None:
    command, want, holes = case
    result = parse_paste(command)
    assert result.fields == want
    assert result.placeholders == holes  # never taken literally as a host or a port
    host = short(want["jumphost"], 60)  # a long name is cut short in the sentence
    assert result.gaps == {"user": f"the vendor's command has no user@ before {host}"}
    assert result.missing() == ("user", "target_host", "target_port")


@settings(max_examples=200, deadline=None)
@given(hosts, ports, st.sampled_from(["me@{h}", "-l me {h}", "-o User=me {h}", "{h}"]))
def test_a_gap_for_the_user_exactly_when_no_user_is_given(
    host: str, port: int, destination: str
) -> None:
    where = destination.format(h=host)
    result = parse_paste(f"ssh -R {port}:db:5432 {where}")
    if destination == "{h}":
        said = short(host, 60)
        assert result.gaps == {"user": f"the vendor's command has no user@ before {said}"}
    else:
        assert result.gaps == {}
        assert result.fields["user"] == "me"


# --- a jumphost typed with its port -----------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(hosts, st.none() | ports, st.booleans())
def test_a_jumphost_typed_with_a_port_gives_the_ssh_port(
    host: str, port: int | None, brackets: bool
) -> None:
    shown = bracketed(host) if brackets or port is not None else host
    text = shown if port is None else f"{shown}:{port}"
    assert typed_jumphost(f" {text} ") == (host, port)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("jump.example:ssh", "'ssh' is not a port number. A port typed with the jumphost"),
        ("jump.example:70000", "70000 is out of range"),
        ("[::1]:", "'' is not a port number."),
        ("[jump.example]:22", "is not an IPv6 address"),
        ("bad host!", "is not a valid host name"),
        ("", "a host name or IP address is required."),
    ],
)
def test_a_wrong_jumphost_says_why(text: str, message: str) -> None:
    with pytest.raises(InvalidField) as caught:
        typed_jumphost(text)
    assert caught.value.field == "jumphost"
    assert message in caught.value.message
