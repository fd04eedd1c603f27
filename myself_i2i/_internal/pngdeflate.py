"""Write a PNG with Pillow's filtering and libdeflate's compression.

Re-encoding a watermarked PNG was most of the time of a signature: zlib at level 6 takes
~370 ms of CPU on a noisy 1024² picture, and level 1 makes illustrations ~60 % larger.
libdeflate (the ``deflate`` package) at level 6 gives zlib-6 sizes or smaller at about a
seventh of the time (docs/performance.md has the table). Pillow still writes the file
(its per-row filter choice and every ancillary chunk), with ``compress_level=0``, whose
IDAT is stored uncompressed; here it is inflated (a copy) and compressed again.

Without the ``deflate`` package, :func:`save_png` is Pillow's own level-6 save.
"""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

from PIL import Image

#: libdeflate level: the knee of the time/size curve measured in docs/performance.md.
LEVEL = 6
_SIG = b"\x89PNG\r\n\x1a\n"
#: IDAT chunk size of the rewritten file (Pillow writes 64 KB chunks too).
_IDAT_CHUNK = 1 << 16


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(data, zlib.crc32(kind))
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def recompress(png: bytes, compress: Any) -> bytes:
    """``png`` with its IDAT stream inflated and deflated again by ``compress`` (zlib format).

    The other chunks are kept byte for byte and in order; the new IDAT run stands where
    the first IDAT chunk stood.
    """
    if not png.startswith(_SIG):
        raise ValueError("not a PNG")
    before: list[bytes] = []
    after: list[bytes] = []
    idat: list[bytes] = []
    pos = len(_SIG)
    while pos + 12 <= len(png):
        (n,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        whole = png[pos : pos + 12 + n]
        if kind == b"IDAT":
            if after:
                raise ValueError("IDAT chunks are not contiguous")
            idat.append(png[pos + 8 : pos + 8 + n])
        else:
            (after if idat else before).append(whole)
        pos += 12 + n
    if not idat:
        raise ValueError("no IDAT")
    packed = compress(zlib.decompress(b"".join(idat)))
    chunks = [
        _chunk(b"IDAT", packed[i : i + _IDAT_CHUNK]) for i in range(0, len(packed), _IDAT_CHUNK)
    ]
    return b"".join([_SIG, *before, *chunks, *after])


def save_png(img: Image.Image, out: io.BytesIO, **params: Any) -> None:
    """``img.save(out, "PNG", **params)`` compressed by libdeflate when it is installed."""
    try:
        import deflate
    except ImportError:
        img.save(out, "PNG", compress_level=6, **params)
        return
    raw = io.BytesIO()
    img.save(raw, "PNG", compress_level=0, **params)
    out.write(recompress(raw.getvalue(), lambda data: deflate.zlib_compress(data, LEVEL)))
