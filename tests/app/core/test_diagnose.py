"""The diagnostics bundle's redaction and layout: no secret survives, whatever the text."""

from __future__ import annotations

import base64
import json
import textwrap
from collections import Counter
from datetime import UTC, datetime
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from app.core.diagnose import (
    CREDENTIAL,
    HOME,
    KEY_MARK,
    MARK,
    PRIVATE_KEY,
    SENSITIVE_SETTING,
    URL_LOGIN,
    URL_PATH,
    Member,
    Redactor,
    assemble,
    file_name,
    profile_view,
    public_line_fingerprint,
    redact_url,
    route_view,
)
from app.core.knownhosts import blob_fingerprint
from app.core.profile import Profile
from app.core.textsafe import safe_text

secrets = st.text(min_size=1, max_size=24)
noise = st.text(max_size=40)
# text around a URL or a key block that cannot itself hold their letters and digits
punctuation = st.text(alphabet=" \n\t.,;()[]{}\"'<>|", max_size=20)
token = st.from_regex(r"[A-Za-z0-9_-]{6,30}", fullmatch=True)
host = st.from_regex(r"[a-z][a-z0-9-]{0,12}(\.[a-z][a-z0-9-]{0,12}){1,3}", fullmatch=True)
homes = st.one_of(
    st.from_regex(r"/home/[a-z_][a-z0-9_-]{0,15}", fullmatch=True),
    st.from_regex(r"/Users/[A-Za-z][A-Za-z0-9 ._-]{0,15}[A-Za-z0-9]", fullmatch=True),
    st.from_regex(r"C:\\Users\\[A-Za-z][A-Za-z0-9 ._-]{0,15}[A-Za-z0-9]", fullmatch=True),
)


def encodings(secret: str) -> list[str]:
    """The forms a support engineer's grep would find a secret in."""
    raw = secret.encode("utf-8", "surrogatepass")
    return [
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        safe_text(secret, 10_000),
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    ]


# --- passwords and passphrases -------------------------------------------------------------


@given(
    st.lists(secrets, min_size=1, max_size=4), st.lists(noise, min_size=1, max_size=6), st.data()
)
@settings(max_examples=300)
def test_no_secret_survives_in_any_form(
    planted: list[str], pieces: list[str], data: st.DataObject
) -> None:
    forms = [form for secret in planted for form in encodings(secret)]
    text = "".join(piece + data.draw(st.sampled_from(forms)) for piece in pieces)
    out = Redactor(secrets=planted).scrub(text).text
    for secret in planted:
        for form in encodings(secret):
            assert form not in out


@given(st.lists(secrets, max_size=3), homes, noise)
def test_the_home_folder_never_survives(planted: list[str], home: str, extra: str) -> None:
    text = f"{extra}log file {home}/logs/x.log and {json.dumps(home + '/k')} {extra}"
    out = Redactor([home], planted).scrub(text).text
    assert home not in out
    assert json.dumps(home)[1:-1] not in out
    assert home.replace("\\", "/") not in out


def test_the_home_folder_becomes_a_tilde_and_the_rest_of_the_path_stays() -> None:
    scrubbed = Redactor(["/home/bob"]).scrub("key /home/bob/.ssh/id_ed25519 ok")
    assert scrubbed.text == "key ~/.ssh/id_ed25519 ok"
    assert scrubbed.found == Counter({HOME: 1})


def test_a_secret_inside_the_marker_itself_is_still_taken_out() -> None:
    for secret in ("e", "[redacted]", "dact", "~", "█"):
        out = Redactor(["/h/u"], [secret]).scrub(f"a {secret} b {MARK} /h/u c").text
        assert secret not in out


def test_the_root_folder_is_never_taken_for_a_home() -> None:
    assert Redactor(["/"]).scrub("/etc/hosts").text == "/etc/hosts"


def test_counts_say_what_was_taken_out() -> None:
    scrubbed = Redactor(["/home/u"], ["hunter22"]).scrub(
        "pw hunter22, aHVudGVyMjI= at /home/u/x, http://al:pw@proxy:3128"
    )
    assert scrubbed.found == Counter({CREDENTIAL: 2, HOME: 1, URL_LOGIN: 1})


# --- URLs: webhook tokens, passwords ---------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://hooks.slack.com/services/T0123ABCD/B0123ABCD/abcdefghijKLMNOP1234",
            "https://hooks.slack.com/…",
        ),
        ("https://example.webhook.office.com/webhookb2/aa-bb@cc/IncomingWebhook/dd/ee", None),
        ("https://discord.com/api/webhooks/123456/tok-en_", "https://discord.com/…"),
        ("https://ntfy.example.org:8443/topic?auth=xyz", "https://ntfy.example.org:8443/…"),
        ("https://api.example.com?token=abc", "https://api.example.com/…"),
        ("http://alice:s3cret@10.0.0.5:3128", "http://alice@10.0.0.5:3128"),
        ("http://alice@10.0.0.5:3128", "http://alice@10.0.0.5:3128"),
        ("https://example.com/", "https://example.com/"),
        ("https://example.com", "https://example.com"),
        ("socks5h://[::1]:1080", "socks5h://[::1]:1080"),
    ],
)
def test_redact_url(url: str, shown: str | None) -> None:
    assert redact_url(url) == (shown or "https://example.webhook.office.com/…")


@given(
    st.sampled_from(["https", "http"]),
    host,
    st.lists(token, min_size=1, max_size=4),
    st.one_of(st.none(), token),
    punctuation,
    punctuation,
)
def test_a_webhook_url_in_text_keeps_only_its_host(
    scheme: str,
    hostname: str,
    path: list[str],
    query: str | None,
    before: str,
    after: str,
) -> None:
    url = f"{scheme}://{hostname}/{'/'.join(path)}" + (f"?token={query}" if query else "")
    assume(all(secret not in hostname for secret in [*path, query or "?"]))
    scrubbed = Redactor().scrub(f"{before}{url}{after}")
    assert f"{scheme}://{hostname}/…" in scrubbed.text
    for secret in [*path, *([query] if query else [])]:
        assert secret not in scrubbed.text
    assert scrubbed.found[URL_PATH] == 1


def test_punctuation_after_a_url_is_the_sentence_s() -> None:
    text = "posted to https://hooks.slack.com/services/T1/B2/C3. (see https://x.org/a/b)"
    out = Redactor().scrub(text).text
    assert out == "posted to https://hooks.slack.com/…. (see https://x.org/…)"


# --- private keys ----------------------------------------------------------------------------


@given(
    st.binary(min_size=64, max_size=600),
    st.sampled_from(["OPENSSH ", "RSA ", "EC ", "ENCRYPTED ", ""]),
    st.sampled_from(["\n", "\\n", "\r\n"]),
    st.booleans(),
    punctuation,
)
def test_a_private_key_block_is_removed_whole(
    body: bytes, kind: str, newline: str, cut: bool, before: str
) -> None:
    lines = textwrap.wrap(base64.b64encode(body).decode(), 70)
    block = newline.join(
        [f"-----BEGIN {kind}PRIVATE KEY-----", *lines, f"-----END {kind}PRIVATE KEY-----"]
    )
    if cut:  # a log line's length limit cut it short
        block = block[: len(block) // 2]
    scrubbed = Redactor().scrub(f"{before}{block}{newline}after")
    assert scrubbed.text.startswith(before + KEY_MARK)
    assert "PRIVATE KEY-----" not in scrubbed.text
    for line in lines:
        if len(line) >= 16:
            assert line not in scrubbed.text
    assert scrubbed.found[PRIVATE_KEY] >= 1


def test_an_openssh_key_body_without_its_header_is_removed() -> None:
    body = base64.b64encode(b"openssh-key-v1\x00" + bytes(range(80))).decode()
    assert Redactor().scrub(f"leaked {body} here").text == f"leaked {KEY_MARK} here"


# --- data: settings named as secrets ---------------------------------------------------------


def test_settings_named_as_secrets_are_replaced_and_the_rest_scrubbed() -> None:
    data = {
        "alerts": {
            "1": {"kind": "email", "smtp": "mail:587", "user": "ops", "password": "x"},
            "2": {"url": "https://hooks.slack.com/services/T/B/C", "api_key": "k"},
        },
        "checks": [{"status": "pass", "passed": True, "detail": "in /home/u"}],
        "token": None,
    }
    out, found = Redactor(["/home/u"]).value(data)
    assert out["alerts"]["1"] == {
        "kind": "email",
        "smtp": "mail:587",
        "user": "ops",
        "password": MARK,
    }
    assert out["alerts"]["2"] == {"url": "https://hooks.slack.com/…", "api_key": MARK}
    assert out["checks"] == [{"status": "pass", "passed": True, "detail": "in ~"}]
    assert out["token"] is None
    assert found == Counter({SENSITIVE_SETTING: 2, URL_PATH: 1, HOME: 1})


# --- the profile, the route, the bundle's layout ---------------------------------------------


def test_profile_view_names_the_key_but_not_its_path() -> None:
    profile = Profile("db", "jump.example", "t", 2201, "127.0.0.1", 5432, "/home/u/.ssh/id_x")
    view = profile_view(profile)
    assert "key_path" not in view and view["key_file"] == "id_x"
    assert "/home/u" not in json.dumps(view)
    assert view["forward"] == f"{profile.forward_bind or '*'}:2201"


def test_public_line_fingerprint() -> None:
    blob = b"\x00\x00\x00\x0bssh-ed25519" + bytes(36)
    line = f"ssh-ed25519 {base64.b64encode(blob).decode()} me@laptop"
    assert public_line_fingerprint(line) == ("ssh-ed25519", blob_fingerprint(blob))
    assert public_line_fingerprint("not a key") is None
    assert public_line_fingerprint("ssh-ed25519 !!!") is None


def test_route_view_kinds() -> None:
    assert route_view(None, "direct: no proxy set", [])["kind"] == "direct"
    assert route_view("HTTP proxy p:3128", "via", [])["kind"] == "proxy"
    assert route_view(None, "direct", ["u@bastion:22"])["kind"] == "jump"
    both = route_view("HTTP proxy p:3128", "via", ["u@b:22"])
    assert both == {
        "kind": "proxy+jump",
        "proxy": "HTTP proxy p:3128",
        "jump_hosts": ["u@b:22"],
        "why": "via",
    }


def test_file_name_is_host_and_utc_time() -> None:
    when = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert file_name("lab-pc", when) == "tunnelkeeper-diagnostics-lab-pc-20250304T050607Z.zip"
    assert file_name("a b/../c", when).startswith("tunnelkeeper-diagnostics-a-b-..-c-")
    assert file_name("", when).startswith("tunnelkeeper-diagnostics-host-")


def test_assemble_lists_every_file_and_what_was_taken_out_of_it() -> None:
    redactor = Redactor(["/home/u"], ["hunter22"])
    members = [
        Member("versions.json", "versions", {"python": "3.11"}),
        Member("tunnels/db/profile.json", "the profile", {"proxy_password": "hunter22"}),
        Member("log-tail.txt", "the log", "hunter22 in /home/u/x\n"),
    ]
    files, total = assemble(members, redactor, ["Tunnelkeeper diagnostics", "for db at /home/u"])
    names = [name for name, _ in files]
    assert names == ["README.txt", "versions.json", "tunnels/db/profile.json", "log-tail.txt"]
    readme = files[0][1].decode()
    assert readme.startswith("Tunnelkeeper diagnostics\nfor db at ~\n")
    for member in members:
        assert member.name in readme and member.about in readme
    assert "(nothing redacted)" in readme
    assert f"(redacted: {SENSITIVE_SETTING}: 1)" in readme
    assert f"(redacted: {HOME}: 1, {CREDENTIAL}: 1)" in readme
    assert json.loads(files[2][1]) == {"proxy_password": MARK}
    assert files[3][1] == b"[redacted] in ~/x\n"
    assert total == Counter({SENSITIVE_SETTING: 1, HOME: 1, CREDENTIAL: 1})
    assert all(b"hunter22" not in data and b"/home/u" not in data for _, data in files)
