"""Every finding code the verifier can emit, produced from a real input and asserted.

Inputs are real files: C2PA files made by others (tests/corpus/c2pa, see its README), files
signed here through our signer, and files a dishonest or careless signer makes with c2pa
directly (tests.core_helpers.sign_raw). A new finding code fails
:func:`test_every_code_has_a_scenario` until it gets a scenario here.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from myself_i2i._internal import c2pa_backend
from myself_i2i._internal.c2pa_backend import StoreRead, ValidationState
from myself_i2i.identity import Identity
from myself_i2i.keyring import Keyring
from myself_i2i.pledge import PLEDGE_LABEL, PLEDGE_LABELS
from myself_i2i.report import Report, Verdict
from myself_i2i.repository import LocalRepository
from myself_i2i.sign import SignOptions, sign_image
from myself_i2i.testing import illustration, save
from myself_i2i.verify import VerifyOptions, verify_bytes, verify_image
from myself_i2i.verify.checks import Completeness, OverallState
from myself_i2i.verify.context import Context
from myself_i2i.verify.messages import MESSAGES, finding
from myself_i2i.verify.verdicts import VERDICT_OF, verdict_of
from tests.core_helpers import (
    ai_created,
    flip_in_store,
    new_identity,
    photo,
    picture,
    report_errors,
    sign_i2i,
    sign_raw,
    sign_t2i,
)
from tests.genmeta.genmeta_files import png_with_text
from tests.integrations.comfy_graphs import i2i_graph

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "c2pa"


@dataclass
class World:
    d: Path
    alice: Identity
    bob: Identity
    t2i: Path
    i2i: Path
    empty: Keyring
    repo_dir: Path
    marked_copy: bytes


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    d = tmp_path_factory.mktemp("findings")
    mp = pytest.MonkeyPatch()
    mp.setenv("MYSELF_I2I_HOME", str(d / "home"))
    try:
        alice = new_identity("@alice", d / "alice")
        bob = new_identity("@bob", d / "bob")
        t2i = sign_t2i(picture(d / "t2i.png", seed=1), alice).output
        i2i = sign_i2i(picture(d / "i2i.png", seed=2), photo(d / "src.png"), alice).output
        marked = sign_image(
            save(illustration(1200, 900, seed=3), d / "marked.png"),
            alice,
            t2i=True,
            options=SignOptions(use_registry=False, keep_in_repository=False),
        )
        repo_dir = d / "repo"
        with LocalRepository.open(repo_dir, create=True) as repo:
            repo.add(
                marked.manifest_store,
                locator=marked.locator,
                fingerprint=marked.fingerprint,
                title="marked",
            )
        with Image.open(marked.output) as im:
            buf = io.BytesIO()
            im.convert("RGB").save(buf, "JPEG", quality=85)
        yield World(d, alice, bob, t2i, i2i, Keyring(d / "empty.json"), repo_dir, buf.getvalue())
    finally:
        mp.undo()


def _v(w: World, path: Path | bytes, **kw: Any) -> Report:
    kw.setdefault("keyring", w.empty)
    kw.setdefault("use_own_identity", False)
    kw.setdefault("use_default_repositories", False)
    if isinstance(path, bytes):
        rep = verify_bytes(path, "copy.jpg", VerifyOptions(**kw))
    else:
        rep = verify_image(path, VerifyOptions(**kw))
    assert report_errors(rep.to_dict()) == []
    return rep


def _pledge_of(path: Path) -> dict[str, Any]:
    read = c2pa_backend.read_manifest(path.read_bytes(), "image/png")
    assert read is not None and read.active is not None
    a = read.active.assertion(*PLEDGE_LABELS)
    assert a is not None and isinstance(a.data, dict)
    return a.data


def _raw(w: World, name: str, assertions: list[dict[str, Any]], ings: Any = ()) -> Path:
    base = picture(w.d / f"{name}.base.png", seed=hash(name) % 100)
    return sign_raw(base, w.d / f"{name}.png", w.alice, assertions, list(ings))


def _corpus(name: str) -> Callable[[World], Report]:
    return lambda w: _v(w, CORPUS / name)


def _recovered(w: World, **kw: Any) -> Report:
    with LocalRepository.open(w.repo_dir) as repo:
        return _v(w, w.marked_copy, repositories=[repo], **kw)


def _i2i_pledge_without_ingredient(w: World) -> Report:
    return _v(
        w, _raw(w, "noing", [ai_created(), {"label": PLEDGE_LABEL, "data": _pledge_of(w.i2i)}])
    )


def _i2i_pledge_with_extra_input(w: World) -> Report:
    pledge = _pledge_of(w.i2i)
    label = pledge["sources"][0].get("ingredientLabel", "source1")
    ings = [(photo(w.d / "s1.png"), label), (photo(w.d / "s2.png", seed=3), "extra")]
    return _v(
        w,
        _raw(
            w, "extra", [ai_created(label, "extra"), {"label": PLEDGE_LABEL, "data": pledge}], ings
        ),
    )


def _schema_invalid(w: World) -> Report:
    bad = dict(_pledge_of(w.t2i), kind="t3i")
    return _v(w, _raw(w, "schema", [ai_created(), {"label": PLEDGE_LABEL, "data": bad}]))


def _not_declared_ai(w: World) -> Report:
    human = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCreation"
    created = {
        "label": "c2pa.actions.v2",
        "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": human}]},
    }
    return _v(w, _raw(w, "notai", [created, {"label": PLEDGE_LABEL, "data": _pledge_of(w.t2i)}]))


def _with_metadata(w: World, name: str, chunks: dict[str, str]) -> Report:
    base = png_with_text(w.d / f"{name}.base.png", chunks)
    out = sign_raw(
        base,
        w.d / f"{name}.png",
        w.alice,
        [ai_created(), {"label": PLEDGE_LABEL, "data": _pledge_of(w.t2i)}],
    )
    return _v(w, out, keyring=_trusting(w))


def _trusting(w: World) -> Keyring:
    kr = Keyring(w.d / "trusting.json")
    if kr.get(w.alice.token) is None:
        kr.add(w.alice.token, "@alice")
    return kr


T2I_INFOTEXT = "a cat\nNegative prompt: dog\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 256x256, Model: m"

#: code -> how to produce a report that has it (from a real input).
SCENARIOS: dict[str, Callable[[World], Report]] = {
    "manifest.missing": lambda w: _v(w, picture(w.d / "plain.png", seed=9)),
    "manifest.remote_not_fetched": _corpus("remote-manifest-localhost__libpng-test_with_url.png"),
    "manifest.unreadable": _corpus("malformed-no-alg__no_alg.jpg"),
    "manifest.no_active": _corpus("no-active-manifest__malformed_cbor.jpg"),
    "recovery.watermark": _recovered,
    "recovery.fingerprint": lambda w: _fingerprint_recovery(w),
    "hash.not_checkable": _recovered,
    "recovery.fingerprint_only": lambda w: _fingerprint_recovery(w),
    "recovery.rejected": lambda w: _rejected_recovery(w),
    "recovery.not_found": lambda w: _not_found_recovery(w),
    "recovery.format_not_decodable": lambda w: _v(w, _gif(w)),
    "recovery.signer_unknown": _recovered,
    "signature.ok": lambda w: _v(w, w.t2i),
    "signature.ok_detached": _recovered,
    "hash.mismatch": _corpus("tampered-bmffhash__trustnxt-icon-signed-v2-bmff-2.heic"),
    "signature.invalid": _corpus("tampered-claim-signature__E-sig-CA.jpg"),
    "manifest.assertion_modified": lambda w: _v(w, _flipped(w)),
    "credential.invalid": _corpus("credential-invalid__cards_trusted.svg"),
    "timestamp.invalid": lambda w: _unit_timestamp(),
    "ingredient.invalid": _corpus("invalid-ingredient-signature__CIE-sig-CA.jpg"),
    "ingredient.recorded_invalid": _corpus("recorded-invalid-ingredient__CIE-sig-CA.jpg"),
    "manifest.invalid": lambda w: _unit_overall_state(),
    "verification.incomplete": lambda w: _unit_incomplete(),
    "identity.assertion": _corpus("cawg-x509__C_with_CAWG_data.jpg"),
    "identity.untrusted": _corpus("cawg-x509__C_with_CAWG_data.jpg"),
    "identity.invalid": lambda w: _identity_invalid(),
    "signer.identified": _corpus("valid-ps256-rsa-chain__C.jpg"),
    "signer.not_personal_key": _corpus("valid-ps256-rsa-chain__C.jpg"),
    "signer.chain_unconfirmed": _corpus("bing-image-creator__bing_creator_cloud_surfing_puppy.jpg"),
    "signer.own.ok": lambda w: _v(w, w.t2i, own_token=w.alice.token),
    "signer.trusted.ok": lambda w: _v(w, w.t2i, keyring=_trusting(w)),
    "signer.impersonation": lambda w: _impersonation(w),
    "signer.token.ok": lambda w: _v(w, w.t2i, key_token=w.alice.token),
    "signer.token_mismatch": lambda w: _v(w, w.t2i, key_token=w.bob.token),
    "post.token_ignored": lambda w: _v(
        w, w.t2i, key_token=w.alice.token, post_text=f"#Myself_i2i {w.bob.token}"
    ),
    "post.tokens_ambiguous": lambda w: _v(
        w, w.t2i, post_text=f"#Myself_i2i {w.alice.token} {w.bob.token}"
    ),
    "softbinding.conflict": lambda w: _conflict(w),
    "signer.unknown": lambda w: _v(w, w.t2i),
    "pledge.missing": _corpus("valid-ps256-rsa-chain__C.jpg"),
    "pledge.schema_invalid": _schema_invalid,
    "pledge.t2i_has_ingredient": lambda w: _v(
        w,
        _raw(
            w,
            "t2iing",
            [ai_created("source1"), {"label": PLEDGE_LABEL, "data": _pledge_of(w.t2i)}],
            [(photo(w.d / "s3.png", seed=4), "source1")],
        ),
    ),
    "pledge.t2i.ok": lambda w: _v(w, w.t2i),
    "pledge.source_without_ingredient": _i2i_pledge_without_ingredient,
    "pledge.undeclared_input": _i2i_pledge_with_extra_input,
    "pledge.sources.ok": lambda w: _v(w, w.i2i),
    "pledge.not_declared_ai": _not_declared_ai,
    "metadata.unreadable": lambda w: _with_metadata(
        w, "badmeta", {"prompt": '{"1": {"inputs": {}}}'}
    ),
    "pledge.metadata_shows_inputs": lambda w: _with_metadata(
        w, "i2imeta", {"prompt": json.dumps(i2i_graph())}
    ),
    "metadata.consistent.ok": lambda w: _with_metadata(w, "t2imeta", {"parameters": T2I_INFOTEXT}),
    "post.pledge_missing": lambda w: _v(
        w, CORPUS / "valid-ps256-rsa-chain__C.jpg", post_text="#Myself_i2i"
    ),
    "post.hashtag.ok": lambda w: _v(w, w.t2i, post_text="#Myself_i2i"),
    "post.no_hashtag": lambda w: _v(w, w.t2i, post_text="new picture"),
    "post.lookalike_hashtag": lambda w: _v(w, w.t2i, post_text="#Мyself_i2i"),
    "post.kind_mismatch": lambda w: _v(w, w.i2i, post_text="#Myself_i2i #t2i"),
    "post.says_i2i_on_t2i": lambda w: _v(w, w.t2i, post_text="#Myself_i2i #i2i"),
    "protection.artwork": lambda w: _v(w, _art(w).protected),
    "grant.verified": lambda w: _art_v(w, _art(w).granted),
    "grant.invalid": lambda w: _art_v(w, _grant_to_someone_else(w)),
    "grant.revoked": lambda w: _revoked(w, before=True),
    "grant.revoked_after_signing": lambda w: _revoked(w, before=False),
    "permission.claimed_unverifiable": lambda w: _v(w, w.i2i),
    "pledge.protected_source": lambda w: _art_v(w, _art(w).unpermitted),
    "post.claim_unverifiable": lambda w: _v(
        w, picture(w.d / "plain2.png", seed=10), post_text="#Noi2i"
    ),
}


def _gif(w: World) -> Path:
    p = w.d / "anim.gif"
    illustration(64, 64).convert("P").save(p, "GIF")
    return p


def _flipped(w: World) -> Path:
    out = w.d / "flipped.png"
    out.write_bytes(flip_in_store(w.t2i.read_bytes(), b"t2i", b"t2j"))
    return out


def _fingerprint_recovery(w: World) -> Report:
    r = sign_t2i(picture(w.d / "fp.png", size=400, seed=21), w.alice)
    repo_dir = w.d / "fprepo"
    with LocalRepository.open(repo_dir, create=True) as repo:
        repo.add(r.manifest_store, locator=r.locator, fingerprint=r.fingerprint, title="fp")
        with Image.open(r.output) as im:
            buf = io.BytesIO()
            im.convert("RGB").save(buf, "JPEG", quality=90)
        return _v(w, buf.getvalue(), repositories=[repo])


def _rejected_recovery(w: World) -> Report:
    # The watermark leads to a manifest, but this copy is a different picture: rejected.
    with Image.open(w.d / "marked.png") as im:
        other = illustration(1200, 900, seed=44)
        from myself_i2i.softbinding.watermark import decode, embed

        with Image.open(next(w.d.glob("marked.signed.png"))) as signed:
            locator = decode(signed)
        assert locator is not None and im.size == other.size
        marked_other = embed(other, locator)
    buf = io.BytesIO()
    marked_other.convert("RGB").save(buf, "JPEG", quality=92)
    with LocalRepository.open(w.repo_dir) as repo:
        return _v(w, buf.getvalue(), repositories=[repo])


def _not_found_recovery(w: World) -> Report:
    with LocalRepository.open(w.repo_dir) as repo:
        return _v(w, picture(w.d / "unrelated.png", seed=33), repositories=[repo])


def _impersonation(w: World) -> Report:
    kr = Keyring(w.d / "victim.json")
    if not kr.entries():
        kr.add(w.bob.token, "@alice")  # the real @alice in this keyring is another key
    return _v(w, w.t2i, keyring=kr)


def _conflict(w: World) -> Report:
    # Bob strips Alice's watermarked picture and signs it as his own.
    from myself_i2i._internal.containers import strip_manifest

    stripped = w.d / "stolen.png"
    stripped.write_bytes(strip_manifest((w.d / "marked.signed.png").read_bytes()))
    stolen = sign_image(
        stripped,
        w.bob,
        t2i=True,
        output=w.d / "stolen.signed.png",
        options=SignOptions(watermark=False, use_registry=False, keep_in_repository=False),
    ).output
    with LocalRepository.open(w.repo_dir) as repo:
        return _v(w, stolen, repositories=[repo])


def _identity_invalid() -> Report:
    # c2pa-rs's own CAWG fixture whose identity signature does not verify: an identity
    # finding, never tampering.
    return verify_image(
        CORPUS / "cawg-ica-signature-mismatch__signature_mismatch.jpg",
        VerifyOptions(use_own_identity=False, use_default_repositories=False),
    )


def _ctx_with(read: StoreRead | None, findings: list[Any]) -> Context:
    from myself_i2i.verify.options import VerifyOptions as O

    ctx = Context(
        data=b"",
        name="unit",
        mime="image/png",
        options=O(),
        keyring=Keyring(Path("/nonexistent/keyring.json")),
        post=None,
        expected_token=None,
        own_token=None,
        read=read,
    )
    ctx.findings.extend(findings)
    return ctx


def _report_of(ctx: Context) -> Report:
    return Report(image="unit", verdict=verdict_of(ctx.findings), findings=ctx.findings)


def _unit_overall_state() -> Report:
    # No known real file is Invalid to c2pa-rs without a failure code we classify; this
    # guards that case: c2pa's Invalid alone never passes.
    read = StoreRead(ValidationState.INVALID, None, {}, (), (), (), ())
    ctx = _ctx_with(read, [finding("signature.ok")])
    ctx.findings.extend(OverallState().run(ctx))
    return _report_of(ctx)


def _unit_incomplete() -> Report:
    # Nothing complained, but nothing vouched for the signer either: never verified.
    ctx = _ctx_with(None, [finding("signature.ok"), finding("pledge.t2i.ok")])
    ctx.findings.extend(Completeness().run(ctx))
    return _report_of(ctx)


def _unit_timestamp() -> Report:
    # No public file with a broken time-stamp on its active manifest is known to us: the
    # classification of c2pa's code is tested on a typed read.
    from myself_i2i._internal.c2pa_backend import Status
    from myself_i2i.verify.checks import Integrity

    read = StoreRead(
        ValidationState.INVALID, None, {}, (Status("timeStamp.mismatch", "", "bad"),), (), (), ()
    )
    ctx = _ctx_with(read, [])
    ctx.findings.extend(Integrity().run(ctx))
    return _report_of(ctx)


# --- the artists' side -------------------------------------------------------------------------


@dataclass
class ArtWorld:
    carol: Identity  #: the artist
    protected: Path  #: her protected drawing
    x_copy: Path  #: as X serves it: stripped, long side 2048, JPEG q85
    repo: Path  #: her published repository
    grant: bytes  #: carol -> alice, for the drawing
    granted: Path  #: alice's i2i signed with the grant
    unpermitted: Path  #: alice's i2i of the X copy, signed without protection checks


_ART: dict[int, ArtWorld] = {}


def _art(w: World) -> ArtWorld:
    if id(w) in _ART:
        return _ART[id(w)]
    from myself_i2i.grants import make_grant
    from myself_i2i.models import Evidence, Relation, SourceSpec
    from myself_i2i.protect import ProtectOptions, artwork_of, protect_artwork

    d = w.d / "art"
    d.mkdir(exist_ok=True)
    carol = new_identity("@carol_draws", d / "carol")
    drawing = save(illustration(1000, 800, seed=21), d / "drawing.png")
    prot = protect_artwork(
        drawing, carol, options=ProtectOptions(keep_in_repository=False, publish=False)
    )
    repo = d / "repo"
    with LocalRepository.open(repo, create=True) as r:
        r.add(prot.manifest_store, locator=prot.locator, fingerprint=prot.fingerprint, title="d")
    with Image.open(prot.output) as im:
        im.convert("RGB").resize((2048, 1638)).save(d / "from_x.jpg", quality=85)
    x_copy = d / "from_x.jpg"
    grant = make_grant(artwork_of(prot.output), carol, w.alice.token)
    granted = sign_image(
        picture(d / "gen1.png", seed=22),
        w.alice,
        t2i=False,
        sources=[SourceSpec(x_copy)],
        options=SignOptions(
            watermark=False, use_registry=False, keep_in_repository=False, grants=(grant,)
        ),
    ).output
    unpermitted = sign_image(
        picture(d / "gen2.png", seed=23),
        w.alice,
        t2i=False,
        sources=[SourceSpec(x_copy, Relation.PERMITTED, Evidence(text="I asked by DM"))],
        options=SignOptions(
            watermark=False, use_registry=False, keep_in_repository=False, check_protection=False
        ),
    ).output
    _ART[id(w)] = ArtWorld(carol, prot.output, x_copy, repo, grant, granted, unpermitted)
    return _ART[id(w)]


def _art_v(w: World, path: Path, **kw: Any) -> Report:
    with LocalRepository.open(_art(w).repo) as repo:
        return _v(w, path, repositories=[repo], key_token=w.alice.token, **kw)


def _grant_to_someone_else(w: World) -> Path:
    # Alice records, in her own pledge, a grant Carol made out to Bob.
    import base64

    from myself_i2i.grants import make_grant
    from myself_i2i.protect import artwork_of

    a = _art(w)
    pledge = _pledge_of(a.granted)
    to_bob = make_grant(artwork_of(a.protected), a.carol, w.bob.token)
    pledge["sources"][0]["grant"] = base64.b64encode(to_bob).decode()
    return _raw(
        w,
        "grant-to-bob",
        [ai_created("source1"), {"label": PLEDGE_LABEL, "data": pledge}],
        [(a.x_copy, "source1")],
    )


def _revoked(w: World, *, before: bool) -> Report:
    import datetime as dt

    from myself_i2i.grants import make_revocation, parse_grant, publish_revocation

    a = _art(w)
    signed = dt.datetime.fromisoformat(_pledge_of(a.granted)["created"].replace("Z", "+00:00"))
    when = signed + (dt.timedelta(hours=-1) if before else dt.timedelta(hours=1))
    grant_id, rev = make_revocation(a.grant, a.carol, reason="changed my mind", now=when)
    assert grant_id == parse_grant(a.grant).id
    repo_dir = w.d / ("rev-before" if before else "rev-after")
    with LocalRepository.open(repo_dir, create=True) as repo:
        publish_revocation(grant_id, rev, [repo])
        return _v(w, a.granted, repositories=[repo], key_token=w.alice.token)


def test_every_code_has_a_scenario() -> None:
    assert set(MESSAGES) == set(SCENARIOS)
    assert set(VERDICT_OF) <= set(MESSAGES)


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_code_is_produced(world: World, code: str) -> None:
    rep = SCENARIOS[code](world)
    assert rep.has(code), (code, rep.verdict, [f.code for f in rep.findings])
    expected = VERDICT_OF.get(code)
    if expected is not None:
        # the finding can never leave a verdict better than its own
        from myself_i2i.report import VERDICT_ORDER

        assert VERDICT_ORDER.index(rep.verdict) >= VERDICT_ORDER.index(expected), (
            code,
            rep.verdict,
        )
    if rep.verdict is Verdict.VERIFIED:
        assert rep.has("signature.ok")


def test_every_code_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "verification.md").read_text("utf-8")
    assert [c for c in MESSAGES if f"`{c}`" not in doc] == []
