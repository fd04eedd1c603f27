"""Write a PNG fast: numpy row filters and libdeflate's compression.

Re-encoding a watermarked PNG was most of the time of a signature (docs/performance.md):
zlib at level 6 takes ~370 ms of CPU on a noisy 1024² picture; Pillow's own row
filtering alone ~45 ms. Here:

* **Pillow writes every chunk but the pixels**: the same ``save`` call on a 1x1 picture of
  the same mode gives the signature, the ancillary chunks (text, ICC profile, EXIF, ...)
  in Pillow's order, and an IHDR whose size is then set to the real one.
* **numpy filters the rows**: one PNG filter for the whole picture, chosen on a sample
  of rows: Up, Average, Paeth and the one with the smallest sum of absolute residuals
  (the PNG specification's heuristic, which Pillow applies per row) are compressed, and
  the smallest wins. On
  photographs and AI pictures Pillow takes Paeth for nearly every row, so one choice per
  picture loses little; Average often compresses AI pictures smaller still and is four
  times faster to compute (measured in docs/performance.md).
* **libdeflate compresses** (the ``deflate`` package), at a level chosen by measuring a
  sample: level 6 where it pays (illustrations: about 20 % smaller than level 1, and
  as fast), level 1 where it does not (photographs and AI pictures, whose residuals are
  nearly incompressible: level 6 saves ~6 % at 2.4x the time).

Other modes (palette, 16-bit, 1-bit, CMYK-less oddities), an interlaced request, or a
missing ``deflate`` package fall back to Pillow's own level-6 save.
"""

from __future__ import annotations

import io
import struct
import zlib
from typing import TYPE_CHECKING, Any

from PIL import Image

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

#: The libdeflate level where compression pays, and the fast one where it does not.
LEVEL_HIGH = 6
LEVEL_FAST = 1
#: Level 6 is used when it makes the sample at least this much smaller than level 1.
HIGH_PAYS = 0.10
#: The sample that chooses the filter and the level: runs of consecutive rows, spread
#: over the picture.
_SAMPLE_RUNS = 4
_SAMPLE_RUN = 12
_SIG = b"\x89PNG\r\n\x1a\n"
#: IDAT chunk size (Pillow writes 64 KB chunks too).
_IDAT_CHUNK = 1 << 16
#: Rows filtered at a time: the int16 work arrays of a band stay in the CPU cache.
_BAND = 32
#: Samples per pixel of the modes written here (8 bits each).
_CHANNELS = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}
NONE, SUB, UP, AVERAGE, PAETH = range(5)


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(data, zlib.crc32(kind))
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _split(png: bytes) -> tuple[list[bytes], list[bytes], bytes]:
    """(chunks before the IDAT run, chunks after it, the IDAT run's zlib stream)."""
    if not png.startswith(_SIG):
        raise ValueError("not a PNG")
    before: list[bytes] = []
    after: list[bytes] = []
    idat: list[bytes] = []
    pos = len(_SIG)
    while pos + 12 <= len(png):
        (n,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        if kind == b"IDAT":
            if after:
                raise ValueError("IDAT chunks are not contiguous")
            idat.append(png[pos + 8 : pos + 8 + n])
        else:
            (after if idat else before).append(png[pos : pos + 12 + n])
        pos += 12 + n
    if not idat:
        raise ValueError("no IDAT")
    return before, after, b"".join(idat)


def _assemble(before: list[bytes], packed: bytes, after: list[bytes]) -> bytes:
    chunks = [
        _chunk(b"IDAT", packed[i : i + _IDAT_CHUNK]) for i in range(0, len(packed), _IDAT_CHUNK)
    ]
    return b"".join([_SIG, *before, *chunks, *after])


def recompress(png: bytes, compress: Any) -> bytes:
    """``png`` with its IDAT stream inflated and deflated again by ``compress`` (zlib format).

    The other chunks are kept byte for byte and in order; the new IDAT run stands where
    the first IDAT chunk stood.
    """
    before, after, stream = _split(png)
    return _assemble(before, compress(zlib.decompress(stream)), after)


def _filter_rows(
    x: npt.NDArray[np.uint8], prev: npt.NDArray[np.uint8], bpp: int, kind: int
) -> npt.NDArray[np.uint8]:
    """The filtered bytes of rows ``x`` (h, stride); ``prev`` holds the row above each."""
    import numpy as np

    out = np.empty_like(x)
    if kind == NONE:
        out[:] = x
    elif kind == SUB:
        out[:, :bpp] = x[:, :bpp]
        np.subtract(x[:, bpp:], x[:, :-bpp], out=out[:, bpp:])
    elif kind == UP:
        np.subtract(x, prev, out=out)
    elif kind == AVERAGE:
        avg = prev.astype(np.uint16)
        avg[:, bpp:] += x[:, :-bpp]
        avg >>= 1
        np.subtract(x, avg.astype(np.uint8), out=out)
    else:  # Paeth: predictor = whichever of a (left), b (up), c (up-left) is nearest a+b-c
        a = np.zeros(x.shape, np.int16)
        a[:, bpp:] = x[:, :-bpp]
        b = prev.astype(np.int16)
        c = np.zeros(x.shape, np.int16)
        c[:, bpp:] = prev[:, :-bpp]
        pa = b - c  # p - a, where p = a + b - c
        pb = a - c  # p - b
        pc = pa + pb  # p - c
        np.abs(pa, out=pa)
        np.abs(pb, out=pb)
        np.abs(pc, out=pc)
        # np.where is ~1.4x faster here than np.copyto(..., where=...)
        pred = np.where(pa <= np.minimum(pb, pc), a, np.where(pb <= pc, b, c))
        np.subtract(x, pred.astype(np.uint8), out=out)
    return out


def _above(pixels: npt.NDArray[np.uint8], start: int, stop: int) -> npt.NDArray[np.uint8]:
    """The rows above rows ``start:stop`` (a zero row above the first)."""
    import numpy as np

    if start > 0:
        return pixels[start - 1 : stop - 1]
    return np.concatenate([np.zeros((1, pixels.shape[1]), np.uint8), pixels[: stop - 1]])


def _residual_cost(filtered: npt.NDArray[np.uint8]) -> int:
    """The PNG specification's heuristic: the sum of the bytes read as signed values."""
    import numpy as np

    return int(np.abs(filtered.view(np.int8).astype(np.int16)).sum())


def _choose(pixels: npt.NDArray[np.uint8], bpp: int, compress: Any) -> tuple[int, int]:
    """(filter, libdeflate level) for ``pixels`` (h, stride), measured on a sample.

    The sample is a few runs of consecutive rows spread over the picture, so the
    compressor sees the row-to-row repetition of flat pictures as it will in the file.
    The filter whose sample compresses smallest wins, among Up, Average, Paeth and the
    one the residual heuristic prefers (the heuristic alone prefers Paeth on AI
    pictures, where Average often compresses smaller and filters four times faster).
    """
    import numpy as np

    h = pixels.shape[0]
    runs = max(1, min(_SAMPLE_RUNS, h // _SAMPLE_RUN))
    starts = np.linspace(0, max(h - _SAMPLE_RUN, 0), num=runs, dtype=np.intp)
    spans = [(int(s), min(int(s) + _SAMPLE_RUN, h)) for s in starts]
    rows = np.concatenate([pixels[a:b] for a, b in spans])
    above = np.concatenate([_above(pixels, a, b) for a, b in spans])
    filtered = {k: _filter_rows(rows, above, bpp, k) for k in (NONE, SUB, UP, AVERAGE, PAETH)}
    heuristic = min(filtered, key=lambda k: (_residual_cost(filtered[k]), k))
    sizes = {
        k: len(compress(filtered[k].tobytes(), LEVEL_FAST)) for k in {heuristic, UP, AVERAGE, PAETH}
    }
    # Paeth takes ~4x the time of the others: it has to be 1 % smaller to be chosen
    best = min(sizes, key=lambda k: (sizes[k] * (1.01 if k == PAETH else 1.0), k))
    high = len(compress(filtered[best].tobytes(), LEVEL_HIGH))
    return best, LEVEL_HIGH if high <= (1.0 - HIGH_PAYS) * sizes[best] else LEVEL_FAST


def encode_idat(pixels: npt.NDArray[np.uint8], compress: Any) -> bytes:
    """The zlib stream of a non-interlaced 8-bit PNG holding ``pixels`` (h, w[, channels]).

    ``compress(data, level)`` is a zlib-format compressor (``deflate.zlib_compress``).
    """
    import numpy as np

    h = pixels.shape[0]
    bpp = 1 if pixels.ndim == 2 else pixels.shape[2]
    flat = np.ascontiguousarray(pixels).reshape(h, -1)
    kind, level = _choose(flat, bpp, compress)
    raw = np.empty((h, flat.shape[1] + 1), np.uint8)
    raw[:, 0] = kind
    for y in range(0, h, _BAND):
        stop = min(y + _BAND, h)
        raw[y:stop, 1:] = _filter_rows(flat[y:stop], _above(flat, y, stop), bpp, kind)
    packed: bytes = compress(raw.tobytes(), level)
    return packed


def _ihdr(width: int, height: int, like: bytes) -> bytes:
    """Pillow's IHDR chunk ``like`` with another size (depth, colour type etc. kept)."""
    data = like[8:-4]
    return _chunk(b"IHDR", struct.pack(">II", width, height) + data[8:])


def save_png(img: Image.Image, out: io.BytesIO, **params: Any) -> None:
    """``img.save(out, "PNG", **params)``, with the pixels written by :func:`encode_idat`."""
    try:
        import deflate
    except ImportError:
        img.save(out, "PNG", compress_level=6, **params)
        return
    if img.mode not in _CHANNELS or params.get("interlace") or img.width * img.height == 0:
        raw = io.BytesIO()
        img.save(raw, "PNG", compress_level=0, **params)
        out.write(recompress(raw.getvalue(), lambda data: deflate.zlib_compress(data, LEVEL_HIGH)))
        return
    import numpy as np

    shell = io.BytesIO()
    Image.new(img.mode, (1, 1)).save(shell, "PNG", compress_level=0, **params)
    before, after, _ = _split(shell.getvalue())
    if not before or before[0][4:8] != b"IHDR":
        raise ValueError("Pillow wrote no IHDR first")
    before[0] = _ihdr(img.width, img.height, before[0])
    packed = encode_idat(np.asarray(img), deflate.zlib_compress)
    out.write(_assemble(before, packed, after))
