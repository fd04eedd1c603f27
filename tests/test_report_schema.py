"""schemas/report.schema.json describes real reports of every verdict we can produce."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1])
)  # importlib mode: find tests.core_helpers
from myself_i2i._internal.containers import strip_manifest
from myself_i2i.keyring import Keyring
from myself_i2i.report import EXIT_CODES, Verdict
from myself_i2i.sign import SignOptions, sign_image
from myself_i2i.verify import VerifyOptions, verify_image
from tests.core_helpers import (
    dishonest_t2i_with_ingredient,
    flip_in_store,
    new_identity,
    photo,
    picture,
    report_errors,
    sign_i2i,
    sign_t2i,
)


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[Verdict, dict[str, Any]]:
    """One real report per verdict (all but ``recovered``, which needs a repository)."""
    d = tmp_path_factory.mktemp("reports")
    mp = pytest.MonkeyPatch()
    mp.setenv("MYSELF_I2I_HOME", str(d / "home"))
    try:
        alice = new_identity("alice")
        t2i = sign_t2i(picture(d / "t2i.png", seed=1), alice).output
        i2i = sign_i2i(picture(d / "i2i.jpg", seed=2), photo(d / "src.png"), alice).output
        nopledge = sign_image(
            picture(d / "np.png", seed=3),
            alice,
            t2i=False,
            options=SignOptions(watermark=False, pledge=False, keep_in_repository=False),
        ).output
        stripped = d / "stripped.png"
        stripped.write_bytes(strip_manifest(t2i.read_bytes()))
        tampered = d / "tampered.png"
        tampered.write_bytes(flip_in_store(t2i.read_bytes(), b"t2i", b"t2j"))
        liar = dishonest_t2i_with_ingredient(
            picture(d / "l.png", seed=4), photo(d / "s2.png"), alice, d / "liar.png"
        )
        bob = new_identity("bob", directory=d / "bob")
        kr = Keyring(d / "kr.json")
        kr.add(alice.token, "alice")
        empty = Keyring(d / "empty.json")

        def rep(p: Path, **kw: Any) -> dict[str, Any]:
            kw.setdefault("keyring", empty)
            kw.setdefault("use_own_identity", False)  # as a third party sees it
            r = verify_image(p, VerifyOptions(**kw))
            out = r.to_dict()
            if kw.get("include_thumbnails"):
                out["thumbnails"] = r.thumbnails
            return out

        return {
            Verdict.VERIFIED: rep(
                i2i, keyring=kr, post_text="#Myself_i2i #i2i", include_thumbnails=True
            ),
            Verdict.UNTRUSTED: rep(t2i, post_text="#Noi2i"),
            Verdict.NO_PLEDGE: rep(nopledge),
            Verdict.UNSIGNED: rep(stripped, post_text="#Myself_i2i"),
            Verdict.WRONG_SIGNER: rep(t2i, key_token=bob.token),
            Verdict.CONTRADICTS_POST: rep(i2i, post_text="#Myself_i2i #t2i", key_token=alice.token),
            Verdict.PLEDGE_VIOLATED: rep(liar, key_token=alice.token),
            Verdict.TAMPERED: rep(tampered),
        }
    finally:
        mp.undo()


#: recovered needs a repository (tests/test_recovery.py validates it); credential-invalid
#: and invalid come from real files made by others (tests/verify/test_world_corpus.py).
ELSEWHERE = (Verdict.RECOVERED, Verdict.CREDENTIAL_INVALID, Verdict.INVALID)


@pytest.mark.parametrize("verdict", [v for v in Verdict if v not in ELSEWHERE])
def test_real_report_validates(reports: dict[Verdict, dict[str, Any]], verdict: Verdict) -> None:
    report = reports[verdict]
    assert report["verdict"] == verdict.value
    assert report["exitCode"] == EXIT_CODES[verdict]
    assert report_errors(report) == []
    # what the CLI prints: JSON text round trip
    assert report_errors(json.loads(json.dumps(report, ensure_ascii=False))) == []


def test_thumbnails_are_data_urls(reports: dict[Verdict, dict[str, Any]]) -> None:
    thumbs = reports[Verdict.VERIFIED]["thumbnails"]
    assert set(thumbs) == {"claim", "source1"}
    assert all(v.startswith("data:image/jpeg;base64,") for v in thumbs.values())


def test_schema_enums_match_code() -> None:
    from tests.core_helpers import _schema

    schema = _schema("report.schema.json")
    assert schema["$defs"]["verdict"]["enum"] == [v.value for v in Verdict]
    assert sorted(schema["properties"]["exitCode"]["enum"]) == sorted(EXIT_CODES.values())
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda r: r.update(verdict="fine"),
        lambda r: r.update(exitCode=33),  # exit code does not match the verdict
        lambda r: r["findings"].append(
            {"code": "Bad Code", "severity": "info", "message": {"en": "x", "ja": "x"}}
        ),
        lambda r: r["findings"].append(
            {"code": "a.b", "severity": "fatal", "message": {"en": "x", "ja": "x"}}
        ),
        lambda r: r["findings"].append({"code": "a.b", "severity": "info", "message": {"en": "x"}}),
        lambda r: r["pledge"].update(kind="i2i-from-anything"),
        lambda r: r["pledge"].pop("statement"),
        lambda r: r["signer"].update(token="mi2i:nope"),
        lambda r: r.update(thumbnails={"claim": "http://example.com/x.jpg"}),
        lambda r: r.update(extra=1),
        lambda r: r.pop("validation"),
        lambda r: r["validation"].update(state="Fine"),
        lambda r: r.update(
            post={"hashtags": ["#AIart"], "saysT2i": False, "saysI2i": False, "tokens": []}
        ),
    ],
)
def test_invalid_report_fails(reports: dict[Verdict, dict[str, Any]], mutate: Any) -> None:
    bad = copy.deepcopy(reports[Verdict.VERIFIED])
    mutate(bad)
    assert report_errors(bad) != []
