"""Key files: keygen, import-key and pubkey, checked against OpenSSH's own ssh-keygen."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
from pathlib import Path

import pytest

from app.core import keyformat
from app.storage.paths import AppPaths
from tests.support.cli import add_profile
from tests.support.cli import tk as run_tk

NO_KEYRING = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}


def tk(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The command with no usable keyring (keyring's fail backend)."""
    return run_tk(*args, input=stdin, env={**os.environ, **NO_KEYRING})


def ssh_keygen(*args: str) -> str:
    return subprocess.run(
        ["ssh-keygen", *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_keygen_without_passphrase(tk_home: AppPaths) -> None:
    result = tk("keygen", "warehouse", "--no-passphrase")
    assert result.returncode == 0, result.stderr
    private = tk_home.keys_dir / "warehouse"
    public = tk_home.keys_dir / "warehouse.pub"
    assert mode(private) == 0o600 and mode(public) == 0o644
    line = public.read_text().strip()
    host = socket.gethostname().split(".")[0]
    assert line.startswith("ssh-ed25519 AAAA")
    assert line.endswith(f" tunnelkeeper-warehouse@{host}")
    assert line in result.stdout
    # OpenSSH reads the private key back and derives the same public key
    assert ssh_keygen("-y", "-f", str(private)).split()[:2] == line.split()[:2]
    assert private.read_text().startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    fingerprint = ssh_keygen("-lf", str(public)).split()[1]
    assert fingerprint in result.stdout
    assert tk("pubkey", "warehouse").stdout.strip() == line


def test_keygen_never_overwrites_without_force(tk_home: AppPaths) -> None:
    assert tk("keygen", "k", "--no-passphrase").returncode == 0
    before = (tk_home.keys_dir / "k").read_bytes()
    again = tk("keygen", "k", "--no-passphrase")
    assert again.returncode == 2
    assert "already exists" in again.stderr and "--force" in again.stderr
    assert (tk_home.keys_dir / "k").read_bytes() == before
    assert tk("keygen", "k", "--no-passphrase", "--force").returncode == 0
    assert (tk_home.keys_dir / "k").read_bytes() != before


def test_keygen_with_a_passphrase_from_stdin(tk_home: AppPaths) -> None:
    result = tk("keygen", "locked", "--passphrase-stdin", stdin="s3cret words\n")
    assert result.returncode == 0, result.stderr
    private = tk_home.keys_dir / "locked"
    assert ssh_keygen("-y", "-P", "s3cret words", "-f", str(private)).startswith("ssh-ed25519 ")
    wrong = subprocess.run(
        ["ssh-keygen", "-y", "-P", "nope", "-f", str(private)], capture_output=True, text=True
    )
    assert wrong.returncode != 0
    # no usable keyring here (fail backend): said plainly, and the secret is never echoed
    assert "was not stored" in result.stdout
    assert "s3cret" not in result.stdout + result.stderr


def test_keygen_needs_a_choice_without_a_terminal(tk_home: AppPaths) -> None:
    result = tk("keygen", "k")
    assert result.returncode == 2
    assert "--passphrase-stdin or --no-passphrase" in result.stderr


def make_key(path: Path, key_type: str, passphrase: str = "", *extra: str) -> Path:
    subprocess.run(
        [
            "ssh-keygen",
            "-q",
            "-t",
            key_type,
            "-N",
            passphrase,
            "-C",
            "theirs",
            "-f",
            str(path),
            *extra,
        ],
        check=True,
    )
    return path


@pytest.mark.parametrize(
    ("key_type", "extra"),
    [("ed25519", ()), ("ecdsa", ()), ("rsa", ("-b", "2048")), ("rsa", ("-b", "3072", "-m", "PEM"))],
    ids=["ed25519", "ecdsa", "rsa-2048", "rsa-pem"],
)
@pytest.mark.parametrize("passphrase", ["", "pass phrase"], ids=["plain", "encrypted"])
def test_import_key(
    tk_home: AppPaths, tmp_path: Path, key_type: str, extra: tuple[str, ...], passphrase: str
) -> None:
    source = make_key(tmp_path / "theirs", key_type, passphrase, *extra)
    result = tk(
        "import-key", "imported", str(source), "--passphrase-stdin", stdin=passphrase + "\n"
    )
    assert result.returncode == 0, result.stderr
    private = tk_home.keys_dir / "imported"
    assert private.read_bytes() == source.read_bytes()  # verbatim, encryption kept
    assert mode(private) == 0o600
    expected_fp = ssh_keygen("-lf", f"{source}.pub").split()[1]
    assert expected_fp in result.stdout
    line = tk("pubkey", "imported").stdout.strip()
    assert line.split()[:2] == Path(f"{source}.pub").read_text().split()[:2]
    if passphrase:
        assert passphrase not in result.stdout + result.stderr


def test_import_refuses_short_rsa_dsa_and_unreadable_ciphers(
    tk_home: AppPaths, tmp_path: Path
) -> None:
    short = make_key(tmp_path / "short", "rsa", "", "-b", "1024")
    result = tk("import-key", "short", str(short))
    assert result.returncode == 2
    assert "1024-bit RSA key" in result.stderr and "2048" in result.stderr

    chacha = make_key(tmp_path / "chacha", "ed25519", "pw", "-Z", "chacha20-poly1305@openssh.com")
    result = tk("import-key", "chacha", str(chacha), "--passphrase-stdin", stdin="pw\n")
    assert result.returncode == 2
    assert "encrypted with chacha20-poly1305@openssh.com" in result.stderr
    assert "ssh-keygen -p -Z aes256-ctr" in result.stderr
    assert not (tk_home.keys_dir / "chacha").exists()

    wrong = make_key(tmp_path / "wrong", "ed25519", "right")
    result = tk("import-key", "wrong", str(wrong), "--passphrase-stdin", stdin="left\n")
    assert result.returncode == 2
    assert "the passphrase for key wrong is wrong" in result.stderr
    assert "Traceback" not in result.stderr


def test_openssh_cipher_names() -> None:
    assert keyformat.openssh_cipher(b"not a key") is None
    assert keyformat.openssh_cipher(b"-----BEGIN OPENSSH PRIVATE KEY-----\n!!!\n") is None


def test_add_accepts_a_managed_key_by_name(tk_home: AppPaths) -> None:
    assert tk("keygen", "db-key", "--no-passphrase").returncode == 0
    added = tk(
        "add",
        "db",
        "--jumphost",
        "h.example",
        "--user",
        "u",
        "--remote-port",
        "5000",
        "--target",
        "localhost:5432",
        "--key",
        "db-key",
    )
    assert added.returncode == 0, added.stderr
    import json

    shown = json.loads(tk("show", "db", "--json").stdout)
    assert shown["key_path"] == str(tk_home.keys_dir / "db-key")
    assert tk("pubkey", "db").stdout.strip() == tk("pubkey", "db-key").stdout.strip()


def test_trust_imports_from_an_openssh_known_hosts_file(
    tk_home: AppPaths, tmp_path: Path, client_key: Path
) -> None:
    from tests.conftest import start_jumphost

    host = start_jumphost(tmp_path / "jh", client_key)
    try:
        scanned = subprocess.run(
            ["ssh-keyscan", "-p", str(host.port), "-t", "ed25519", "127.0.0.1"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        theirs = tmp_path / "known_hosts"
        theirs.write_text(
            "@cert-authority *.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA==\n" + scanned
        )
        subprocess.run(["ssh-keygen", "-H", "-f", str(theirs)], capture_output=True, check=True)
        assert "|1|" in theirs.read_text()  # hashed, as Debian's ssh does by default
        add_profile(host, 1, env={**os.environ, **NO_KEYRING})
        result = tk("trust", "db", "--import-known-hosts", str(theirs))
        assert result.returncode == 0, result.stderr
        expected = ssh_keygen("-lf", f"{host.sshd.host_key}.pub").split()[1]
        assert expected in result.stdout
        assert tk("test", "db", "--json").returncode == 1  # target down, but check 3 passes
        import json

        checks = json.loads(tk("test", "db", "--json").stdout)["checks"]
        assert checks[2]["status"] == "pass"
        missing = tk("trust", "db", "--import-known-hosts", str(tmp_path / "nope"))
        assert missing.returncode == 2
    finally:
        host.sshd.stop()


def test_repair_moves_a_broken_file_aside_only_with_consent(tk_home: AppPaths) -> None:
    tk_home.profiles_file.write_text("[tunnels.x\n")
    refused = tk("repair")
    assert refused.returncode == 1
    assert "line 1" in refused.stdout and "Nothing was changed" in refused.stdout
    assert tk_home.profiles_file.exists()
    moved = tk("repair", "--move-aside")
    assert moved.returncode == 0
    assert not tk_home.profiles_file.exists()
    aside = list(tk_home.config_dir.glob("profiles.toml.broken-*"))
    assert len(aside) == 1 and aside[0].read_text() == "[tunnels.x\n"
    assert "is fine (0 tunnels)" in tk("repair").stdout
