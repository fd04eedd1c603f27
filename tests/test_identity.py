"""The personal CA, the signing certificate, key files and the key token."""

from __future__ import annotations

import datetime as dt
import re
import stat
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1])
)  # importlib mode: find tests.core_helpers
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
