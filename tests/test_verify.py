"""verify_image / verify_bytes beyond the attacks: options, failing closed, layering."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import myself_i2i
from myself_i2i.errors import ConfigError
from myself_i2i.identity import Identity
from myself_i2i.report import Verdict
from myself_i2i.verify import VerifyOptions, verify_bytes, verify_image
from tests.core_helpers import new_identity, picture, report_errors, sign_t2i


@pytest.fixture
def alice() -> Identity:
    return new_identity("alice")


def test_verify_bytes_equals_verify_image(tmp_path: Path, alice: Identity) -> None:
    signed = sign_t2i(picture(tmp_path / "a.jpg"), alice).output
    a = verify_image(signed, VerifyOptions(key_token=alice.token)).to_dict()
    b = verify_bytes(signed.read_bytes(), str(signed), VerifyOptions(key_token=alice.token))
    assert a == b.to_dict()
    assert a["verdict"] == "verified" and report_errors(a) == []
    assert a["signer"]["token"] == alice.token and a["signer"]["name"] == "alice"
    assert a["pledge"]["kind"] == "t2i"
    assert a["validation"]["codes"]["failure"] == []


def test_unverified_never_reads_as_verified(tmp_path: Path, alice: Identity) -> None:
    signed = sign_t2i(picture(tmp_path / "a.png"), alice).output
    # nothing says who the signer should be (as a third party: not the signer's own machine)
    rep = verify_image(signed, VerifyOptions(use_own_identity=False))
    assert rep.verdict is Verdict.UNTRUSTED and rep.has("signer.unknown")
    unsigned = verify_image(picture(tmp_path / "u.png", seed=8))
    assert unsigned.verdict is Verdict.UNSIGNED and unsigned.signer is None


def test_bad_key_token_option(tmp_path: Path, alice: Identity) -> None:
    signed = sign_t2i(picture(tmp_path / "a.png"), alice).output
    with pytest.raises(ConfigError):
        verify_image(signed, VerifyOptions(key_token="mi2i:nope"))


def test_report_lines_bilingual(tmp_path: Path, alice: Identity) -> None:
    signed = sign_t2i(picture(tmp_path / "a.png"), alice).output
    rep = verify_image(signed, VerifyOptions(key_token=alice.token))
    assert "Verified" in rep.lines("en")[0] and "✔" in rep.lines("en")[0]
    assert "検証済み" in rep.lines("ja")[0]
    assert "\x1b[" not in "".join(rep.lines("en"))  # colour only when asked


def test_only_the_backend_imports_c2pa() -> None:
    root = Path(myself_i2i.__file__).parent
    importers = []
    for py in sorted(root.rglob("*.py")):
        tree = ast.parse(py.read_text("utf-8"), filename=str(py))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            if any(n == "c2pa" or n.startswith("c2pa.") for n in names):
                importers.append(py.relative_to(root).as_posix())
    assert sorted(set(importers)) == ["_internal/c2pa_backend.py"]
