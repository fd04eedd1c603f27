"""The libdeflate PNG writer keeps pixels and every other chunk, and is smaller than zlib-1."""

from __future__ import annotations

import io
import zlib

import numpy as np
from PIL import Image, PngImagePlugin

from myself_i2i._internal.pngdeflate import recompress, save_png
from myself_i2i.testing import illustration, photo_like


def _chunk_kinds(png: bytes) -> list[bytes]:
    kinds, pos = [], 8
    while pos < len(png):
        n = int.from_bytes(png[pos : pos + 4], "big")
        kinds.append(png[pos + 4 : pos + 8])
        pos += 12 + n
    return kinds


def test_same_pixels_and_chunks_as_pillow() -> None:
    img = illustration(300, 200, seed=4).convert("RGBA")
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a prompt, Steps: 20")
    info.add_itxt("comment", "日本語のテキスト")
    params = {"pnginfo": info, "icc_profile": b"\0" * 128}
    ours, ref = io.BytesIO(), io.BytesIO()
    save_png(img, ours, **params)
    img.save(ref, "PNG", compress_level=6, **params)
    a, b = Image.open(io.BytesIO(ours.getvalue())), Image.open(io.BytesIO(ref.getvalue()))
    assert isinstance(a, PngImagePlugin.PngImageFile)
    assert isinstance(b, PngImagePlugin.PngImageFile)
    assert a.mode == b.mode == "RGBA"
    assert np.array_equal(np.asarray(a), np.asarray(b))
    assert a.text == b.text and a.info.get("icc_profile") == b.info.get("icc_profile")
    kinds = [k for k in _chunk_kinds(ours.getvalue()) if k != b"IDAT"]
    assert kinds == [k for k in _chunk_kinds(ref.getvalue()) if k != b"IDAT"]


def test_noisy_picture_is_not_much_larger_than_zlib_6() -> None:
    img = photo_like(512, 512, seed=2)
    ours, z1, z6 = io.BytesIO(), io.BytesIO(), io.BytesIO()
    save_png(img, ours)
    img.save(z1, "PNG", compress_level=1)
    img.save(z6, "PNG", compress_level=6)
    assert len(ours.getvalue()) < len(z1.getvalue())
    assert len(ours.getvalue()) < 1.06 * len(z6.getvalue())


def test_recompress_moves_nothing_but_idat() -> None:
    buf = io.BytesIO()
    illustration(64, 64, seed=1).save(buf, "PNG", compress_level=0)
    again = recompress(buf.getvalue(), lambda d: zlib.compress(d, 9))
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(again))), np.asarray(Image.open(buf)))
