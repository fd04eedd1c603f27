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
    MAX_TEXT_CHUNK,
    MAX_TEXT_MEMORY,
    hash_image,
    inspect_image,
    make_thumbnail,
    open_image,
    pixel_sha256,
)
from myself_i2i.testing import illustration, save
from tests.core_helpers import png_build, png_chunk, png_chunks


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


# --- attacks on the decoder (issue 9 §3: every decoder error is our one-line ImageError) ---


def _png_chunks_of(img: Image.Image) -> list[tuple[bytes, bytes]]:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return png_chunks(buf.getvalue())


def _refused_by_cli(tmp_path: Path, data: bytes, match: str) -> None:
    """``verify`` on the file ends with our one-line error, exit 2, no traceback."""
    from typer.testing import CliRunner

    from myself_i2i.cli import app

    p = tmp_path / "attack.png"
    p.write_bytes(data)
    r = CliRunner().invoke(app, ["verify", str(p)], catch_exceptions=False)
    assert r.exit_code == 2, r.output
    assert match in r.output and "Traceback" not in r.output


def test_attack_short_ihdr(tmp_path: Path) -> None:
    chunks = _png_chunks_of(illustration(32, 32))
    data = png_build([(b"IHDR", chunks[0][1][:5]), *chunks[1:]])
    for load in (False, True):
        with pytest.raises(ImageError, match="corrupt or truncated"):
            open_image(data, load=load)
    _refused_by_cli(tmp_path, data, "corrupt or truncated")


def test_attack_huge_ztxt(tmp_path: Path) -> None:
    chunks = _png_chunks_of(illustration(32, 32))
    one = zlib.compress(b"\0" * (MAX_TEXT_CHUNK + 1))
    data = png_build([chunks[0], (b"zTXt", b"workflow\0\0" + one), *chunks[1:]])
    for load in (False, True):
        with pytest.raises(ImageError, match="embedded text"):
            open_image(data, load=load)
    _refused_by_cli(tmp_path, data, "embedded text")
    # Many chunks, each under the per-chunk limit, together over the per-image one.
    part = zlib.compress(b"\0" * (MAX_TEXT_CHUNK - 1024))
    n = MAX_TEXT_MEMORY // MAX_TEXT_CHUNK + 1
    many = [(b"zTXt", b"k%d\0\0" % i + part) for i in range(n)]
    with pytest.raises(ImageError, match="embedded text"):
        open_image(png_build([chunks[0], *many, *chunks[1:]]))


def test_generation_metadata_sized_text_still_reads() -> None:
    chunks = _png_chunks_of(illustration(32, 32))
    workflow = b'{"nodes": [' + b'{"id": 1},' * 100_000 + b"{}]}"  # ~1 MB of JSON
    data = png_build(
        [chunks[0], (b"iTXt", b"workflow\0\1\0\0\0" + zlib.compress(workflow)), *chunks[1:]]
    )
    with open_image(data) as im:
        assert len(im.info["workflow"]) == len(workflow)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda d: d[:8] + b"\x00\x00\x00\x0dIHDR" + b"\xff" * 17 + d[33:],  # absurd IHDR
        lambda d: d.replace(b"IDAT", b"IDAT\x78\x9c\xff\xff", 1),  # broken zlib stream
        lambda d: d[:40],  # cut inside the first chunks
    ],
)
def test_decoder_errors_are_image_errors(mangle: object) -> None:
    buf = io.BytesIO()
    illustration(32, 32).save(buf, "PNG")
    data = mangle(buf.getvalue())  # type: ignore[operator]
    with pytest.raises(ImageError):
        open_image(data)


def test_perceptual_hash_is_imagehash_phash() -> None:
    """Our numpy pHash gives imagehash's (scipy) hashes, so stored fingerprints still match."""
    import imagehash
    import numpy as np

    from myself_i2i.images import on_white, perceptual_hash, upright
    from myself_i2i.testing import photo_like

    def reference(img: Image.Image) -> str:
        im = upright(img)
        factor = min(im.width, im.height) // 256
        if factor >= 2:
            im = im.reduce(factor)
        return str(imagehash.phash(on_white(im).convert("L")))

    rng = np.random.default_rng(7)
    pictures = [illustration(300 + 9 * s, 260 + 5 * s, seed=s) for s in range(12)]
    pictures += [photo_like(280, 300 + 7 * s, seed=s) for s in range(12)]
    pictures += [Image.new("RGB", (300, 300), c) for c in ((0, 0, 0), (255, 255, 255))]
    pictures += [Image.new("RGBA", (300, 300), (0, 0, 0, 0))]
    pictures += [Image.fromarray(rng.integers(0, 256, (70, 90, 3), dtype=np.uint8))]
    for img in pictures:
        assert perceptual_hash(img) == reference(img)
