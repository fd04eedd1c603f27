"""The fast PNG writer keeps pixels and every other chunk, at zlib-6 sizes or close."""

from __future__ import annotations

import io
import zlib

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from myself_i2i._internal import pngdeflate
from myself_i2i._internal.pngdeflate import recompress, save_png
from myself_i2i.testing import illustration, photo_like


def _chunk_kinds(png: bytes) -> list[bytes]:
    kinds, pos = [], 8
    while pos < len(png):
        n = int.from_bytes(png[pos : pos + 4], "big")
        kinds.append(png[pos + 4 : pos + 8])
        pos += 12 + n
    return kinds


def _written(img: Image.Image, **params: object) -> bytes:
    out = io.BytesIO()
    save_png(img, out, **params)
    return out.getvalue()


def test_same_pixels_and_chunks_as_pillow() -> None:
    img = illustration(300, 200, seed=4).convert("RGBA")
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a prompt, Steps: 20")
    info.add_itxt("comment", "日本語のテキスト")
    params = {"pnginfo": info, "icc_profile": b"\0" * 128, "exif": b"Exif\0\0II*\0"}
    ours, ref = _written(img, **params), io.BytesIO()
    img.save(ref, "PNG", compress_level=6, **params)
    a, b = Image.open(io.BytesIO(ours)), Image.open(io.BytesIO(ref.getvalue()))
    assert isinstance(a, PngImagePlugin.PngImageFile)
    assert isinstance(b, PngImagePlugin.PngImageFile)
    assert a.mode == b.mode == "RGBA"
    assert a.size == b.size == (300, 200)
    assert np.array_equal(np.asarray(a), np.asarray(b))
    assert a.text == b.text and a.info.get("icc_profile") == b.info.get("icc_profile")
    assert a.info.get("exif") == b.info.get("exif")
    kinds = [k for k in _chunk_kinds(ours) if k != b"IDAT"]
    assert kinds == [k for k in _chunk_kinds(ref.getvalue()) if k != b"IDAT"]


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
@pytest.mark.parametrize("kind", range(5))
def test_every_filter_and_mode_decodes_to_the_same_pixels(
    mode: str, kind: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pngdeflate, "_choose", lambda pixels, bpp, compress: (kind, 6))
    for w, h in ((1, 1), (7, 5), (33, 70), (301, 67)):
        img = illustration(max(w, 8), max(h, 8), seed=w).convert(mode).resize((w, h))
        back = Image.open(io.BytesIO(_written(img)))
        back.load()
        assert (back.mode, back.size) == (mode, (w, h))
        assert np.array_equal(np.asarray(back), np.asarray(img)), (w, h)


@pytest.mark.parametrize("mode", ["P", "1", "I;16"])
def test_other_modes_are_written_by_pillow(mode: str) -> None:
    img = illustration(64, 48, seed=3).convert(mode if mode != "I;16" else "I").convert(mode)
    back = Image.open(io.BytesIO(_written(img)))
    back.load()
    assert np.array_equal(np.asarray(back), np.asarray(img))


def test_an_illustration_gets_level_6_and_is_no_larger_than_zlib_6() -> None:
    img = illustration(1024, 1024, seed=1)
    flat = np.asarray(img).reshape(1024, -1)
    import deflate

    assert pngdeflate._choose(flat, 3, deflate.zlib_compress)[1] == pngdeflate.LEVEL_HIGH
    z6 = io.BytesIO()
    img.save(z6, "PNG", compress_level=6)
    assert len(_written(img)) <= len(z6.getvalue())


def test_a_noisy_picture_gets_the_fast_level_at_a_small_cost_in_size() -> None:
    img = photo_like(512, 512, seed=2)
    flat = np.asarray(img).reshape(512, -1)
    import deflate

    assert pngdeflate._choose(flat, 3, deflate.zlib_compress)[1] == pngdeflate.LEVEL_FAST
    ours, z1, z6 = _written(img), io.BytesIO(), io.BytesIO()
    img.save(z1, "PNG", compress_level=1)
    img.save(z6, "PNG", compress_level=6)
    assert len(ours) < len(z1.getvalue())
    assert len(ours) < 1.12 * len(z6.getvalue())


def test_recompress_moves_nothing_but_idat() -> None:
    buf = io.BytesIO()
    illustration(64, 64, seed=1).save(buf, "PNG", compress_level=0)
    again = recompress(buf.getvalue(), lambda d: zlib.compress(d, 9))
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(again))), np.asarray(Image.open(buf)))
