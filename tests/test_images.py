"""Safe image loading, hashes and thumbnails."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from myself_i2i.errors import ImageError, InputError
from myself_i2i.images import (
    hash_image,
    inspect_image,
    make_thumbnail,
    open_image,
    pixel_sha256,
)
from myself_i2i.testing import illustration, save
from tests.core_helpers import png_chunk


def test_formats_and_errors(tmp_path: Path) -> None:
    for suffix, fmt in ((".png", "PNG"), (".jpg", "JPEG"), (".webp", "WEBP")):
        p = save(illustration(64, 48), tmp_path / f"a{suffix}")
        assert inspect_image(p).format == fmt
        assert inspect_image(p).width == 64
    with pytest.raises(InputError):
        open_image(tmp_path / "missing.png")
    with pytest.raises(InputError):
        open_image(tmp_path)
    with pytest.raises(ImageError, match="not an image"):
        open_image(b"hello")
    gif = io.BytesIO()
    illustration(32, 32).convert("P").save(gif, "GIF")
    with pytest.raises(ImageError, match="GIF"):
        open_image(gif.getvalue())
    data = (tmp_path / "a.png").read_bytes()
    with pytest.raises(ImageError, match="corrupt or truncated"):
        open_image(data[: len(data) // 2])


def test_decompression_bomb() -> None:
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\0"))
        + png_chunk(b"IEND", b"")
    )
    with pytest.raises(ImageError, match="too"):
        open_image(data)


def test_pixel_hash_survives_lossless_resave(tmp_path: Path) -> None:
    img = illustration(80, 60, 3)
    a = save(img, tmp_path / "a.png")
    b = save(img.convert("RGBA"), tmp_path / "b.webp", lossless=True)
    ha, hb = hash_image(a), hash_image(b)
    assert ha.pixel_sha256 == hb.pixel_sha256 and ha.sha256 != hb.sha256
    assert ha.phash == hb.phash and len(ha.phash) == 16
    with Image.open(a) as im:
        assert pixel_sha256(im) == ha.pixel_sha256


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".webp"])
def test_thumbnail_edge(tmp_path: Path, suffix: str) -> None:
    p = save(illustration(1500, 600), tmp_path / f"a{suffix}")
    with Image.open(io.BytesIO(make_thumbnail(p))) as th:
        assert th.format == "JPEG" and max(th.size) == 512
    small = save(illustration(100, 80), tmp_path / f"s{suffix}")
    with Image.open(io.BytesIO(make_thumbnail(small))) as th:
        assert th.size == (100, 80)
