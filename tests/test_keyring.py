"""The keyring of trusted creators."""

from __future__ import annotations

from pathlib import Path

import pytest

from myself_i2i.errors import KeyringError
from myself_i2i.keyring import Keyring
from tests.core_helpers import new_identity


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
