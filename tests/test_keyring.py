"""The keyring of trusted creators."""

from __future__ import annotations

from pathlib import Path

import pytest

from myself_i2i.errors import KeyringError
from myself_i2i.keyring import Keyring
from myself_i2i.report import Verdict
from myself_i2i.verify import VerifyOptions, verify_image
from tests.core_helpers import new_identity, picture, sign_t2i


def test_add_by_token_and_by_ca_file(tmp_path: Path, home: Path) -> None:
    alice = new_identity("alice")
    bob = new_identity("bob", directory=tmp_path / "bob")
    ca = tmp_path / "bob.pem"
    ca.write_bytes(bob.ca_pem)
    kr = Keyring.default()
    a = kr.add(alice.token.lower().replace("-", ""), "@alice")
    assert a.token == alice.token and a.ca_pem is None
    b = kr.add(str(ca), "@Bob")
    assert b.token == bob.token and b.ca_pem and "BEGIN CERTIFICATE" in b.ca_pem
    again = Keyring(home / "keyring.json")  # persisted
    assert [t.name for t in again.entries()] == ["@alice", "@Bob"]
    assert again.get(bob.token) == b
    assert again.by_name("bob") == [b]
    assert again.remove("@alice") == 1 and again.remove(bob.token) == 1
    assert again.remove("nobody") == 0
    assert Keyring(home / "keyring.json").entries() == []


def test_bad_inputs(tmp_path: Path) -> None:
    kr = Keyring.default()
    with pytest.raises(KeyringError):
        kr.add("mi2i:NOPE", "x")
    text = tmp_path / "x.pem"
    text.write_text("not a cert")
    with pytest.raises(KeyringError):
        kr.add(str(text), "x")
    damaged = tmp_path / "k.json"
    damaged.write_text("{broken")
    with pytest.raises(KeyringError, match="damaged"):
        Keyring(damaged)


VICTIM = "mi2i:AAAA-AAAA-AAAA-AAAA-AAAA"
IMPOSTOR = "mi2i:BBBB-BBBB-BBBB-BBBB-BBBB"


@pytest.mark.parametrize(
    "name",
    [
        "@vіctim",  # Cyrillic і
        "＠victim",  # full-width at sign
        "@VICTIM",
        "@victim\u200b",  # zero-width space
        "@VlCTlM",  # small l for capital I
        "victim",
    ],
)
def test_lookalikes_finds_the_trusted_name(name: str) -> None:
    kr = Keyring.default()
    victim = kr.add(VICTIM, "@victim")
    kr.add(IMPOSTOR.replace("B", "C"), "@someone_else")
    assert kr.lookalikes(name) == [victim]


def test_attack_cyrillic_i_in_signer_name() -> None:
    """The check verify makes: a look-alike of a keyring name under another token."""
    kr = Keyring.default()
    kr.add(VICTIM, "@victim")
    signer_name, signer_token = "@vіctim", IMPOSTOR
    impostors = [t for t in kr.lookalikes(signer_name) if t.token != signer_token]
    assert [t.token for t in impostors] == [VICTIM]
    assert kr.by_name(signer_name) == []  # the exact-name lookup misses it


def test_attack_fullwidth_at_sign() -> None:
    kr = Keyring.default()
    kr.add(VICTIM, "@victim")
    assert [t.token for t in kr.lookalikes("＠victim")] == [VICTIM]


def test_attack_lookalike_name_refused_on_add(home: Path) -> None:
    kr = Keyring.default()
    kr.add(VICTIM, "@victim")
    for name in ("@vіctim", "＠victim", "@victim\u200d", "@VICTIM"):
        with pytest.raises(KeyringError, match="looks like '@victim'") as e:
            kr.add(IMPOSTOR, name)
        assert VICTIM in str(e.value) and "--force" in str(e.value)
    assert kr.get(IMPOSTOR) is None
    assert Keyring(home / "keyring.json").get(IMPOSTOR) is None  # nothing written
    # Renaming the same key is not impersonation.
    assert kr.add(VICTIM, "@Victim").name == "@Victim"
    forced = kr.add(IMPOSTOR, "@vіctim", force=True)
    assert kr.get(IMPOSTOR) == forced
    assert [t.token for t in kr.lookalikes("@victim")] == [VICTIM, IMPOSTOR]


def test_add_needs_a_name_for_a_bare_token() -> None:
    kr = Keyring.default()
    for name in (None, "", "  "):
        with pytest.raises(KeyringError) as e:
            kr.add(VICTIM.lower(), name)
        assert f"myself-i2i trust add {VICTIM} --name @handle" in str(e.value)
    assert kr.entries() == []


def test_add_by_ca_file_takes_the_name_in_the_certificate(tmp_path: Path) -> None:
    bob = new_identity("@bob", directory=tmp_path / "bob")
    ca = tmp_path / "bob.pem"
    ca.write_bytes(bob.ca_pem)
    kr = Keyring.default()
    tc = kr.add(str(ca))
    assert tc.name == "@bob" and tc.token == bob.token and tc.ca_pem
    assert kr.add(str(ca), "@bob_draws").name == "@bob_draws"  # a given name wins


@pytest.mark.parametrize("impostor_name", ["@vіctim", "＠victim", "@victim\u200b"])
def test_attack_lookalike_signer_name_through_verify(tmp_path: Path, impostor_name: str) -> None:
    """A real signed image from a key that calls itself like a keyring name."""
    victim = new_identity("@victim", directory=tmp_path / "victim")
    Keyring.default().add(victim.token, "@victim")
    impostor = new_identity(impostor_name, directory=tmp_path / "impostor")
    fake = sign_t2i(picture(tmp_path / "fake.png", seed=5), impostor).output
    rep = verify_image(fake, VerifyOptions())
    assert rep.verdict is Verdict.WRONG_SIGNER
    assert rep.has("signer.impersonation")
