"""The personal CA, the signing certificate, key files and the key token."""

from __future__ import annotations

import datetime as dt
import re
import stat
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1])
)  # importlib mode: find tests.core_helpers
from myself_i2i._internal.keyfile import KeyProtection, protection
from myself_i2i.errors import IdentityError
from myself_i2i.identity import (
    IdentityStore,
    find_tokens,
    normalize_token,
    token_for_cert,
)
from myself_i2i.report import Verdict
from myself_i2i.verify import VerifyOptions, verify_image
from tests.core_helpers import picture, sign_t2i

TOKEN_RE = re.compile(r"^mi2i:[A-Z2-7]{4}(-[A-Z2-7]{4}){4}$")


def _years(cert: x509.Certificate) -> float:
    return (cert.not_valid_after_utc - cert.not_valid_before_utc).days / 365.25


def test_ca_and_leaf_profile() -> None:
    ident = IdentityStore.default().create("alice")
    ca, leaf = ident.ca_cert, ident.leaf_cert
    bc = ca.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert bc.ca is True and bc.path_length == 0
    assert 9.9 < _years(ca) < 10.1
    assert ca.issuer == ca.subject
    lbc = leaf.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert lbc.ca is False
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in eku
    ku = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and not ku.key_cert_sign
    aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ca_ski.digest
    leaf.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert 1.9 < _years(leaf) < 2.1
    assert leaf.issuer == ca.subject
    leaf.verify_directly_issued_by(ca)
    now = dt.datetime.now(dt.timezone.utc)
    assert leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc


def test_key_files_are_private(home: Path) -> None:
    IdentityStore.default().create("alice")
    d = home / "identity"
    for name in ("ca.key.pem", "signer.key.pem"):
        assert stat.S_IMODE((d / name).stat().st_mode) == 0o600
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    assert not list(d.glob("*.tmp"))


def test_token_format_and_stability() -> None:
    store = IdentityStore.default()
    ident = store.create("alice")
    assert TOKEN_RE.match(ident.token)
    assert len(ident.token.removeprefix("mi2i:").replace("-", "")) * 5 == 100
    assert token_for_cert(ident.ca_cert) == ident.token
    assert store.load().token == ident.token
    assert ident.profile_line() == f"#Myself_i2i {ident.token}"
    assert normalize_token(ident.token.lower().replace("-", "")) == ident.token
    assert find_tokens(f"hi {ident.token} and {ident.token}") == [ident.token]
    assert normalize_token("mi2i:ABCD") is None


def test_passphrase_wrong_and_missing() -> None:
    store = IdentityStore.default()
    store.create("alice", passphrase="correct horse")
    assert store.encrypted
    assert store.load("correct horse").name == "alice"
    with pytest.raises(IdentityError, match="wrong passphrase"):
        store.load("wrong")
    with pytest.raises(IdentityError, match="protected by a passphrase"):
        store.load(None)


def test_passphrase_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    store = IdentityStore.default()
    store.create("alice", passphrase="pw")
    monkeypatch.setenv("MYSELF_I2I_PASSPHRASE", "pw")
    assert store.load().name == "alice"


def test_no_identity_is_a_clear_error() -> None:
    store = IdentityStore.default()
    assert not store.exists()
    with pytest.raises(IdentityError, match="no identity yet") as e:
        store.load()
    assert "myself-i2i init" in e.value.message("ja")
    with pytest.raises(IdentityError):
        store.renew()


def test_create_twice_refused_unless_forced() -> None:
    store = IdentityStore.default()
    first = store.create("alice")
    with pytest.raises(IdentityError, match="already exists"):
        store.create("alice")
    second = store.create("alice", force=True)
    assert second.token != first.token


def test_damaged_files(home: Path) -> None:
    store = IdentityStore.default()
    store.create("alice")
    (home / "identity" / "signer.key.pem").write_text("garbage")
    with pytest.raises(IdentityError, match="damaged"):
        store.load()
    store.meta_path.write_text("{not json")
    with pytest.raises(IdentityError, match="damaged"):
        store.load()


def test_renew_keeps_token_and_still_validates(tmp_path: Path) -> None:
    store = IdentityStore.default()
    first = store.create("alice", passphrase="pw")
    renewed = store.renew("pw")
    assert renewed.token == first.token
    assert renewed.leaf_cert.serial_number != first.leaf_cert.serial_number
    assert renewed.leaf_cert.public_key() != first.leaf_cert.public_key()
    loaded = store.load("pw")
    assert loaded.leaf_cert == renewed.leaf_cert
    signed = sign_t2i(picture(tmp_path / "a.png"), loaded).output
    rep = verify_image(signed, VerifyOptions(key_token=first.token))
    assert rep.verdict is Verdict.VERIFIED
    assert rep.validation_codes["failure"] == []


# --- passphrase encryption (issue 9 §3: a strong KDF) -----------------------------------------


def _rewrite_the_old_way(store: IdentityStore, passphrase: str) -> None:
    """Encrypt both key files as versions before scrypt did (BestAvailableEncryption)."""
    for name in ("ca.key.pem", "signer.key.pem"):
        path = store.directory / name
        key = serialization.load_pem_private_key(path.read_bytes(), passphrase.encode())
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(passphrase.encode()),
            )
        )


def test_passphrase_keys_use_scrypt(home: Path) -> None:
    store = IdentityStore.default()
    ident = store.create("alice", passphrase="pw")
    for name in ("ca.key.pem", "signer.key.pem"):
        pem = (home / "identity" / name).read_bytes()
        assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        assert protection(pem) == KeyProtection("scrypt", 2**17)
        # the standard container: cryptography reads it with no help from us
        key = serialization.load_pem_private_key(pem, b"pw")
        assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert not store.needs_reencryption()
    assert store.load("pw").leaf_cert == ident.leaf_cert
    with pytest.raises(IdentityError, match="wrong passphrase"):
        store.load("pW")


def test_keys_written_the_old_way_load_and_renew_reencrypts_them(tmp_path: Path) -> None:
    store = IdentityStore.default()
    first = store.create("alice", passphrase="pw")
    _rewrite_the_old_way(store, "pw")
    old = store.key_protection()
    assert old["ca.key.pem"] == KeyProtection("pbkdf2", 2048)
    assert not old["signer.key.pem"].strong
    assert store.needs_reencryption()
    # 1. an old key still loads and signs
    loaded = store.load("pw")
    assert loaded.private_key_pem() == first.private_key_pem()
    sign_t2i(picture(tmp_path / "a.png"), loaded)
    # 2. the next renew re-encrypts both keys with scrypt, token kept
    renewed = store.renew("pw")
    assert renewed.token == first.token
    assert store.key_protection() == {
        "ca.key.pem": KeyProtection("scrypt", 2**17),
        "signer.key.pem": KeyProtection("scrypt", 2**17),
    }
    assert not store.needs_reencryption()
    assert store.renew("pw").token == first.token  # the re-encrypted CA key loads


def test_unencrypted_keys_need_no_reencryption() -> None:
    store = IdentityStore.default()
    store.create("alice")
    assert {p.kdf for p in store.key_protection().values()} == {"none"}
    assert not store.needs_reencryption()


@pytest.mark.parametrize(
    "pem",
    [
        b"",
        b"garbage",
        b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n!!!\n-----END ENCRYPTED PRIVATE KEY-----\n",
        b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n",
    ],
)
def test_protection_of_damaged_files_never_raises(pem: bytes) -> None:
    assert protection(pem).kdf in ("none", "unknown")


# --- replacing an identity keeps a backup -----------------------------------------------------


def test_force_keeps_a_private_timestamped_backup(home: Path) -> None:
    store = IdentityStore.default()
    first = store.create("alice", passphrase="pw")
    assert store.backups() == []
    second = store.create("bob", force=True)
    assert second.token != first.token
    (backup,) = store.backups()
    assert re.fullmatch(r"identity\.backup-\d{8}T\d{6}Z", backup.name), backup.name
    assert stat.S_IMODE(backup.stat().st_mode) == 0o700
    for name in ("ca.key.pem", "signer.key.pem"):
        assert stat.S_IMODE((backup / name).stat().st_mode) == 0o600
    # the backup is a whole identity: it loads and has the old token
    assert IdentityStore(backup).load("pw").token == first.token
    assert store.load().token == second.token
    # a second replacement within the same second keeps both backups
    store.create("carol", force=True)
    assert len(store.backups()) == 2
    assert not [p for p in home.iterdir() if ".new-" in p.name]  # no staging folder left


def test_a_failed_replacement_leaves_the_old_identity(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = IdentityStore.default()
    first = store.create("alice")

    def refuse(self: IdentityStore) -> Path | None:
        raise OSError(13, "Permission denied")

    monkeypatch.setattr(IdentityStore, "back_up", refuse)
    with pytest.raises(OSError):
        store.create("bob", force=True)
    assert store.load().token == first.token
    assert sorted(p.name for p in home.iterdir()) == ["identity"]
