"""Attacks on signed images and the verdict each must get (real c2pa, real files)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PIL import Image

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1])
)  # importlib mode: find tests.core_helpers
from myself_i2i._internal.containers import manifest_store_bytes, strip_manifest
from myself_i2i.identity import Identity
from myself_i2i.keyring import Keyring
from myself_i2i.report import Report, Verdict
from myself_i2i.verify import VerifyOptions, verify_bytes, verify_image
from tests.core_helpers import (
    dishonest_t2i_with_ingredient,
    flip_in_store,
    new_identity,
    photo,
    picture,
    png_chunks,
    png_insert_text,
    png_replace_cabx,
    report_errors,
    sign_i2i,
    sign_t2i,
)


@pytest.fixture
def alice() -> Identity:
    return new_identity("alice")


@pytest.fixture
def signed_png(tmp_path: Path, alice: Identity) -> Path:
    return sign_t2i(picture(tmp_path / "a.png", seed=1), alice).output


def _verify(path: Path, **kw: object) -> Report:
    """Verify as a third party would (the signer's own key is not trusted by default here)."""
    kw.setdefault("use_own_identity", False)
    rep = verify_image(path, VerifyOptions(**kw))  # type: ignore[arg-type]
    assert report_errors(rep.to_dict()) == []
    return rep


def test_untouched_is_untrusted_then_verified_with_token(signed_png: Path, alice: Identity) -> None:
    assert _verify(signed_png).verdict is Verdict.UNTRUSTED
    assert _verify(signed_png, key_token=alice.token).verdict is Verdict.VERIFIED


def test_pixel_edit_after_signing_is_tampered(signed_png: Path, tmp_path: Path) -> None:
    # Re-encode with one pixel changed, then put the original manifest back in.
    data = signed_png.read_bytes()
    with Image.open(signed_png) as im:
        px = im.convert("RGB")
    px.putpixel((10, 10), (255, 0, 0) if px.getpixel((10, 10)) != (255, 0, 0) else (0, 0, 0))
    edited = tmp_path / "edited.png"
    px.save(edited, "PNG")
    chunks = png_chunks(edited.read_bytes())
    store = manifest_store_bytes(data)
    assert store is not None
    from tests.core_helpers import png_build

    rebuilt = png_build([chunks[0], (b"caBX", store), *chunks[1:]])
    edited.write_bytes(rebuilt)
    rep = _verify(edited)
    assert rep.verdict is Verdict.TAMPERED
    assert rep.has("hash.mismatch")


def test_idat_byte_flip_is_tampered(signed_png: Path, tmp_path: Path) -> None:
    chunks = png_chunks(signed_png.read_bytes())
    i = next(k for k, (t, _) in enumerate(chunks) if t == b"IDAT")
    t, p = chunks[i]
    chunks[i] = (t, p[:-5] + bytes([p[-5] ^ 1]) + p[-4:])
    from tests.core_helpers import png_build

    out = tmp_path / "flip.png"
    out.write_bytes(png_build(chunks))
    try:
        rep = verify_image(out)
    except Exception:  # a broken zlib stream may be rejected as a corrupt image: also fine
        return
    assert rep.verdict is Verdict.TAMPERED


def test_text_chunk_edit_outside_pixels_is_tampered(signed_png: Path, tmp_path: Path) -> None:
    out = tmp_path / "text.png"
    out.write_bytes(png_insert_text(signed_png.read_bytes(), "Comment", "added later"))
    rep = _verify(out)
    assert rep.verdict is Verdict.TAMPERED
    assert rep.has("hash.mismatch")


def test_existing_text_chunk_byte_changed_is_tampered(tmp_path: Path, alice: Identity) -> None:
    from tests.core_helpers import png_build

    src = picture(tmp_path / "t.png", seed=2)
    src.write_bytes(png_insert_text(src.read_bytes(), "Title", "my picture"))
    signed = sign_t2i(src, alice).output
    chunks = [
        (t, p.replace(b"my picture", b"my pictura")) if t == b"tEXt" else (t, p)
        for t, p in png_chunks(signed.read_bytes())
    ]
    signed.write_bytes(png_build(chunks))
    assert _verify(signed).verdict is Verdict.TAMPERED


def test_manifest_transplanted_from_other_image_is_tampered(
    tmp_path: Path, alice: Identity
) -> None:
    a = sign_t2i(picture(tmp_path / "a.png", seed=1), alice).output
    b = sign_t2i(picture(tmp_path / "b.png", seed=2), alice).output
    store_a = manifest_store_bytes(a.read_bytes())
    assert store_a is not None
    out = tmp_path / "b_with_a.png"
    out.write_bytes(png_replace_cabx(b.read_bytes(), store_a))
    rep = _verify(out, key_token=alice.token)
    assert rep.verdict is Verdict.TAMPERED


def test_manifest_transplanted_into_unsigned_image_is_tampered(
    tmp_path: Path, alice: Identity
) -> None:
    from tests.core_helpers import png_build

    a = sign_t2i(picture(tmp_path / "a.png", seed=1), alice).output
    store_a = manifest_store_bytes(a.read_bytes())
    assert store_a is not None
    chunks = png_chunks(picture(tmp_path / "c.png", seed=3).read_bytes())
    out = tmp_path / "c_with_a.png"
    out.write_bytes(png_build([chunks[0], (b"caBX", store_a), *chunks[1:]]))
    assert _verify(out, key_token=alice.token).verdict is Verdict.TAMPERED


def test_pledge_edited_without_resigning_is_tampered(signed_png: Path, tmp_path: Path) -> None:
    # "t2i" appears in the pledge's CBOR; make it "t2j" (same length), CRC kept valid.
    out = tmp_path / "pledge_edit.png"
    out.write_bytes(flip_in_store(signed_png.read_bytes(), b"t2i", b"t2j"))
    rep = _verify(out)
    assert rep.verdict is Verdict.TAMPERED


def test_pledge_hashtag_edited_without_resigning_is_tampered(
    signed_png: Path, tmp_path: Path
) -> None:
    out = tmp_path / "tag_edit.png"
    out.write_bytes(flip_in_store(signed_png.read_bytes(), b"#Myself_i2i", b"#Myself_i3i"))
    assert _verify(out).verdict is Verdict.TAMPERED


def test_impostor_with_same_display_name_is_wrong_signer(
    tmp_path: Path, signed_png: Path, alice: Identity
) -> None:
    Keyring.default().add(alice.token, "alice")
    assert _verify(signed_png).verdict is Verdict.VERIFIED
    impostor = new_identity("alice", directory=tmp_path / "impostor")
    fake = sign_t2i(picture(tmp_path / "fake.png", seed=5), impostor).output
    rep = _verify(fake)
    assert rep.verdict is Verdict.WRONG_SIGNER
    assert rep.has("signer.impersonation")


def test_stripped_manifest_is_unsigned(signed_png: Path, tmp_path: Path) -> None:
    out = tmp_path / "stripped.png"
    out.write_bytes(strip_manifest(signed_png.read_bytes()))
    assert manifest_store_bytes(out.read_bytes()) is None
    rep = _verify(out)
    assert rep.verdict is Verdict.UNSIGNED
    assert rep.has("manifest.missing")
    rep = _verify(out, post_text="new picture #Myself_i2i")
    assert rep.verdict is Verdict.UNSIGNED
    assert rep.has("post.claim_unverifiable")


def test_stripped_jpeg_is_unsigned(tmp_path: Path, alice: Identity) -> None:
    signed = sign_t2i(picture(tmp_path / "a.jpg"), alice).output
    rep = verify_bytes(
        strip_manifest(signed.read_bytes()), "x.jpg", VerifyOptions(post_text="＃noi2i")
    )
    assert rep.verdict is Verdict.UNSIGNED and rep.has("post.claim_unverifiable")


def test_t2i_pledge_with_image_ingredient_is_pledge_violated(
    tmp_path: Path, alice: Identity
) -> None:
    out = dishonest_t2i_with_ingredient(
        picture(tmp_path / "a.png"), photo(tmp_path / "src.png"), alice, tmp_path / "liar.png"
    )
    rep = _verify(out, key_token=alice.token)
    assert rep.verdict is Verdict.PLEDGE_VIOLATED
    assert rep.has("pledge.t2i_has_ingredient")


def test_post_t2i_on_i2i_image_contradicts_post(tmp_path: Path, alice: Identity) -> None:
    signed = sign_i2i(picture(tmp_path / "a.png"), photo(tmp_path / "src.jpg"), alice).output
    rep = _verify(signed, post_text="#Myself_i2i #t2i", key_token=alice.token)
    assert rep.verdict is Verdict.CONTRADICTS_POST
    assert rep.has("post.kind_mismatch")
    assert (
        _verify(signed, post_text="#Myself_i2i #i2i", key_token=alice.token).verdict
        is Verdict.VERIFIED
    )


def test_pledge_post_on_image_without_pledge_contradicts_post(
    tmp_path: Path, alice: Identity
) -> None:
    from myself_i2i.sign import SignOptions, sign_image

    opts = SignOptions(watermark=False, pledge=False, keep_in_repository=False)
    signed = sign_image(picture(tmp_path / "a.png"), alice, t2i=False, options=opts).output
    assert _verify(signed, key_token=alice.token).verdict is Verdict.NO_PLEDGE
    rep = _verify(signed, post_text="#Myself_i2i", key_token=alice.token)
    assert rep.verdict is Verdict.CONTRADICTS_POST
    assert rep.has("post.pledge_missing")


def test_key_token_in_post(signed_png: Path, alice: Identity, tmp_path: Path) -> None:
    rep = _verify(signed_png, post_text=f"new one #Myself_i2i {alice.token}")
    assert rep.verdict is Verdict.VERIFIED
    assert rep.signer is not None and rep.signer.token_matches_post is True
    lower = alice.token.lower().replace("-", "")
    assert _verify(signed_png, post_text=f"#Myself_i2i {lower}").verdict is Verdict.VERIFIED
    other = new_identity("bob", directory=tmp_path / "bob")
    rep = _verify(signed_png, post_text=f"#Myself_i2i {other.token}")
    assert rep.verdict is Verdict.WRONG_SIGNER
    assert rep.has("signer.token_mismatch")


def test_keyring_trust_by_token(signed_png: Path, alice: Identity) -> None:
    Keyring.default().add(alice.token, "@alice")
    rep = _verify(signed_png)
    assert rep.verdict is Verdict.VERIFIED
    assert rep.signer is not None and rep.signer.trusted_name == "@alice"


def test_keyring_trust_by_ca_file(signed_png: Path, alice: Identity, tmp_path: Path) -> None:
    ca = tmp_path / "alice-ca.pem"
    ca.write_bytes(alice.ca_pem)
    entry = Keyring.default().add(str(ca), "@alice")
    assert entry.token == alice.token and entry.ca_pem
    rep = _verify(signed_png)
    assert rep.verdict is Verdict.VERIFIED
    assert rep.signer is not None and rep.signer.trusted


@pytest.mark.parametrize(
    "post",
    [
        "＃Myself_i2i",
        "#myself_I2I",
        "#MYSELF_I2I",
        "#Noi2i",
        "#noi2i",
        "＃ＮＯＩ２Ｉ",
        "絵を描きました#Myself_i2i",
    ],
)
def test_post_hashtag_matching(signed_png: Path, alice: Identity, post: str) -> None:
    rep = _verify(signed_png, post_text=post, key_token=alice.token)
    assert rep.verdict is Verdict.VERIFIED
    assert rep.has("post.hashtag.ok")


def test_post_without_hashtag_is_not_a_claim(signed_png: Path, alice: Identity) -> None:
    rep = _verify(signed_png, post_text="#AIart #Myself_i2ix", key_token=alice.token)
    assert rep.verdict is Verdict.VERIFIED
    assert rep.has("post.no_hashtag")


def test_malformed_manifest_is_invalid_not_a_crash(signed_png: Path, tmp_path: Path) -> None:
    store = manifest_store_bytes(signed_png.read_bytes())
    assert store is not None
    out = tmp_path / "garbage.png"
    out.write_bytes(png_replace_cabx(signed_png.read_bytes(), store[:40] + b"\0" * 200))
    rep = _verify(out)
    assert rep.verdict is Verdict.INVALID and rep.has("manifest.unreadable")
