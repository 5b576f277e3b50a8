"""A proxy password travels in the bundle like a passphrase: checked, never shown."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from app.core.service_bundle import BadBundle, decode, encode
from tests.app.core.test_service_bundle import PROFILE, moved

BEHIND = replace(PROFILE, proxy="http://alice@10.0.0.5:3128")


def test_a_proxy_password_round_trips_and_is_never_in_the_repr() -> None:
    tunnel = moved(profile=BEHIND, proxy_password="proxy pw")
    (back,) = decode(encode([tunnel]))
    assert back == tunnel and back.proxy_password == "proxy pw"
    assert back.profile.proxy == "http://alice@10.0.0.5:3128"
    assert "proxy pw" not in repr(back)


def test_an_older_bundle_without_the_field_has_no_proxy_password() -> None:
    document = json.loads(encode([moved()]))
    del document["tunnels"][0]["proxy_password"]
    (back,) = decode(json.dumps(document).encode())
    assert back.proxy_password is None and back.profile.proxy == "system"


@pytest.mark.parametrize(
    ("profile", "password", "why"),
    [
        (BEHIND, 5, "proxy password is malformed"),
        (BEHIND, "x" * 5000, "proxy password is malformed"),
        (PROFILE, "pw", "proxy names no user"),
    ],
)
def test_a_bad_proxy_password_says_what_is_wrong(
    profile: object, password: object, why: str
) -> None:
    document = json.loads(encode([moved(profile=profile)]))
    document["tunnels"][0]["proxy_password"] = password
    with pytest.raises(BadBundle, match=why) as caught:
        decode(json.dumps(document).encode())
    assert "x" * 20 not in str(caught.value)


def test_a_profile_with_a_password_in_its_proxy_is_refused() -> None:
    document = json.loads(encode([moved()]))
    document["tunnels"][0]["profile"]["proxy"] = "http://alice:hunter2@10.0.0.5:3128"
    with pytest.raises(BadBundle, match="tunnel profile") as caught:
        decode(json.dumps(document).encode())
    assert "hunter2" not in str(caught.value)
