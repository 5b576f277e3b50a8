"""Loading a tunnel's key: as it is, with the keychain's passphrase, or asked for and kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import KeyPassphraseNeeded, KeyPassphraseWrong, KeyUnsuitable
from app.services.api import Services
from app.services.errors import NoKeyOrTunnel, StoredPassphraseWrong
from app.services.keys import PassphraseRequest, Remembered, private_twin, public_half
from tests.app.services.conftest import MemoryKeychain

PASSPHRASE = "open sesame"


def add_tunnel(services: Services, key: str, name: str = "db") -> str:
    services.profiles.add(
        name,
        {
            "jumphost": "vendor.example",
            "ssh_port": 22,
            "user": "acme",
            "remote_port": 15432,
            "target_host": "127.0.0.1",
            "target_port": 5432,
            "key_path": key,
        },
    )
    return str(services.profiles.show(name)["key_path"])


class Asker:
    """Answers passphrase requests from a list, and records them."""

    def __init__(self, *answers: str | None) -> None:
        self.answers = list(answers)
        self.requests: list[PassphraseRequest] = []

    def __call__(self, request: PassphraseRequest) -> str | None:
        self.requests.append(request)
        return self.answers.pop(0)


def test_an_unencrypted_key_loads_without_asking(services: Services) -> None:
    services.keys.create("plain", None)
    add_tunnel(services, "plain")
    ask = Asker()
    loaded = services.keys.load("db", ask)
    assert loaded.fingerprint.startswith("SHA256:")
    assert loaded.remembered is None and ask.requests == []


def test_keygen_keeps_the_passphrase_and_load_uses_it(
    services: Services, keychain: MemoryKeychain
) -> None:
    made = services.keys.create("vault", PASSPHRASE)
    assert made.remembered == Remembered(True)
    assert keychain.entries == {made.private_path: PASSPHRASE}
    assert made.public_line.startswith("ssh-ed25519 ")
    add_tunnel(services, "vault")
    loaded = services.keys.load("db", None)  # nobody to ask: the keychain answers
    assert loaded.key_path == made.private_path and loaded.remembered is None


def test_asked_for_then_kept(services: Services, keychain: MemoryKeychain) -> None:
    made = services.keys.create("vault", PASSPHRASE)
    keychain.entries.clear()
    add_tunnel(services, "vault")
    ask = Asker(PASSPHRASE)
    loaded = services.keys.load("db", ask)
    assert ask.requests == [PassphraseRequest("db", made.private_path, stored_was_wrong=False)]
    assert loaded.remembered == Remembered(True)
    assert keychain.entries == {made.private_path: PASSPHRASE}


def test_a_wrong_stored_passphrase_is_asked_again_or_reported(
    services: Services, keychain: MemoryKeychain
) -> None:
    made = services.keys.create("vault", PASSPHRASE)
    keychain.entries[made.private_path] = "stale"
    add_tunnel(services, "vault")
    with pytest.raises(StoredPassphraseWrong) as caught:
        services.keys.load("db", None)
    assert caught.value.name == "db" and PASSPHRASE not in str(caught.value)
    ask = Asker(PASSPHRASE)
    services.keys.load("db", ask)
    assert ask.requests[0].stored_was_wrong
    assert keychain.entries[made.private_path] == PASSPHRASE  # replaced


def test_nobody_to_ask_or_no_answer_means_passphrase_needed(services: Services) -> None:
    services.keys.create("vault", PASSPHRASE)
    services.keychain().delete(add_tunnel(services, "vault"))
    with pytest.raises(KeyPassphraseNeeded):
        services.keys.load("db", None)
    with pytest.raises(KeyPassphraseNeeded):
        services.keys.load("db", Asker(None))
    with pytest.raises(KeyPassphraseWrong):
        services.keys.load("db", Asker("not it"))


def test_without_a_keychain_nothing_is_kept_and_load_says_nothing(keyless: Services) -> None:
    made = keyless.keys.create("vault", PASSPHRASE)
    assert made.remembered == Remembered(False, "no usable system keychain")
    add_tunnel(keyless, "vault")
    loaded = keyless.keys.load("db", Asker(PASSPHRASE))
    assert loaded.remembered is None  # asked each time anyway: no note every run
    assert keyless.keys.stored(made.private_path) is None
    keyless.keys.forget(made.private_path)  # nothing to forget: fine


def test_import_asks_for_an_encrypted_key(
    services: Services, keychain: MemoryKeychain, tmp_path: Path
) -> None:
    source = services.keys.create("source", PASSPHRASE)
    with pytest.raises(KeyPassphraseNeeded):
        services.keys.import_key("copy", source.private_path, None)
    made = services.keys.import_key("copy", source.private_path, Asker(PASSPHRASE))
    assert made.source == source.private_path and made.fingerprint == source.fingerprint
    assert keychain.entries[made.private_path] == PASSPHRASE


def test_public_line_of_a_key_a_tunnel_or_neither(services: Services) -> None:
    made = services.keys.create("vault", None)
    assert services.keys.public_line("vault", None).line == made.public_line.strip()
    key_path = add_tunnel(services, "vault")
    Path(key_path + ".pub").unlink()
    public = services.keys.public_line("db", None)
    assert not public.from_file and public.line.split()[:2] == made.public_line.split()[:2]
    with pytest.raises(NoKeyOrTunnel):
        services.keys.public_line("nothing", None)


def test_importing_the_public_half_names_the_private_file_to_choose(
    services: Services, tmp_path: Path
) -> None:
    made = services.keys.create("pair", None)
    public = Path(made.private_path + ".pub")
    with pytest.raises(KeyUnsuitable) as caught:
        services.keys.import_key("copy", str(public), None)
    assert str(caught.value).endswith(
        "that is the public half (pair.pub); choose the private key file next to it (pair)."
    )
    assert "chmod" not in str(caught.value)  # not the generic "not private" complaint
    renamed = tmp_path / "no-suffix"
    renamed.write_text(public.read_text())
    with pytest.raises(KeyUnsuitable, match="no-suffix holds a public key; choose the private"):
        services.keys.import_key("copy", str(renamed), None)
    assert not (services.paths.keys_dir / "copy").exists()


def test_a_private_key_named_pub_is_still_a_private_key(services: Services, tmp_path: Path) -> None:
    made = services.keys.create("pair", None)
    odd = tmp_path / "odd.pub"
    odd.write_bytes(Path(made.private_path).read_bytes())
    odd.chmod(0o600)
    assert public_half(odd) == ""
    assert services.keys.import_key("copy", str(odd), None).fingerprint == made.fingerprint


def test_private_twin_is_the_name_without_pub() -> None:
    assert private_twin(Path("/k/id_ed25519.pub")) == Path("/k/id_ed25519")
    assert private_twin(Path("/k/id_ed25519")) is None
    assert private_twin(Path("/k/.pub")) is None
