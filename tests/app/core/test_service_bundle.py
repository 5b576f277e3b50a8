"""The bundle the unprivileged installer hands to the privileged one: checked field by field."""

from __future__ import annotations

import json

import pytest

from app.core.profile import Profile
from app.core.service_bundle import BadBundle, MovedTunnel, decode, encode

PROFILE = Profile("db", "jump.example", "sshtunnel", 20001, "10.0.0.5", 5432, "/k/id")


def moved(**changes: object) -> MovedTunnel:
    fields: dict[str, object] = {
        "profile": PROFILE,
        "key_file": "db-id",
        "key": b"-----BEGIN OPENSSH PRIVATE KEY-----\n",
        "pins": (("ssh-ed25519", b"\x00\x01"),),
        "passphrase": "s3cret",
    }
    fields.update(changes)
    return MovedTunnel(**fields)  # type: ignore[arg-type]


def test_round_trip() -> None:
    (back,) = decode(encode([moved()]))
    assert back == moved()


def tampered(**item: object) -> bytes:
    document = json.loads(encode([moved()]))
    document["tunnels"][0].update(item)
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (tampered(key_file="../../etc/shadow"), "has a folder in it"),
        (tampered(key_file=".hidden"), "not usable"),
        (tampered(key="not base64!"), "not base64"),
        (tampered(pins=[]), "no pinned host key"),
        (tampered(passphrase=5), "passphrase is malformed"),
        (tampered(profile={"name": "db", "jumphost": "x"}), "tunnel profile"),
        (tampered(profile={"name": "../db"}), "tunnel profile"),
        (json.dumps({"version": 2, "tunnels": []}).encode(), "not a version 1 bundle"),
        (b"x" * (1024 * 1024 + 1), "too large"),
    ],
)
def test_a_bad_bundle_says_what_is_wrong(data: bytes, why: str) -> None:
    with pytest.raises(BadBundle, match=why) as caught:
        decode(data)
    assert "nothing was changed" in str(caught.value)
