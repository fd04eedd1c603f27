"""Make the metadata carriers of tests/genmeta/corpus/ from the fetched originals.

A carrier is a tiny image of the original's format that holds exactly the original's
generation metadata and nothing of its picture:

- PNG: every tEXt / zTXt / iTXt / eXIf chunk and every private chunk (e.g. ComfyUI's
  ``comf``), byte for byte, in the original order and on the same side of the image data;
  a new 8x8 IHDR/IDAT of the same colour type. When the original carries "stealth"
  infotext in the least significant bits of its alpha channel (A1111 / Forge
  ``stealth_pnginfo`` / ``stealth_pngcomp``, NovelAI) or of its RGB channels
  (``stealth_rgbinfo`` / ``stealth_rgbcomp``), the carrier's pixels carry the same bit
  sequence, in the same column-major order, up to the end of the payload.
- JPEG / WebP: an 8x8 picture saved with the original's EXIF bytes, XMP and JPEG comment.

Usage (the originals are kept out of git under bench/out/originals/<owner>+<repo>/<path>)::

    python tests/genmeta/make_carriers.py [--originals bench/out/originals] [--check]

Every entry of corpus.json names its original as ``owner/repo@commit:path``; the carrier is
written to ``tests/genmeta/corpus/<file>``.
"""

from __future__ import annotations

import argparse
import io
import json
import struct
import sys
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
ROOT = HERE.parent.parent
SIZE = 8

_PNG_SIG = b"\x89PNG\r\n\x1a\n"
#: Chunks that are about the picture itself, not metadata: never copied.
_PICTURE_CHUNKS = {
    b"IHDR",
    b"PLTE",
    b"IDAT",
    b"IEND",
    b"acTL",
    b"fcTL",
    b"fdAT",
    b"tRNS",
    b"bKGD",
    b"cHRM",
    b"gAMA",
    b"iCCP",
    b"sBIT",
    b"sRGB",
    b"pHYs",
    b"sPLT",
    b"hIST",
    b"tIME",
    b"iDOT",
    b"cICP",
    b"mDCv",
    b"cLLi",
}
_STEALTH_SIGS = {b"stealth_pnginfo", b"stealth_pngcomp", b"stealth_rgbinfo", b"stealth_rgbcomp"}


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, payload) of every chunk of a PNG file."""
    if not data.startswith(_PNG_SIG):
        raise ValueError("not a PNG")
    out: list[tuple[bytes, bytes]] = []
    i = len(_PNG_SIG)
    while i + 8 <= len(data):
        (n,) = struct.unpack(">I", data[i : i + 4])
        kind = data[i + 4 : i + 8]
        out.append((kind, data[i + 8 : i + 8 + n]))
        i += 12 + n
        if kind == b"IEND":
            break
    return out


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _bits_column_major(channel: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """LSBs of a (height, width[, k]) array in the order x outer, y inner (then k)."""
    if channel.ndim == 2:
        return np.asarray(channel.T.reshape(-1) & 1, dtype=np.uint8)
    return np.asarray(channel.transpose(1, 0, 2).reshape(-1) & 1, dtype=np.uint8)


def stealth_bits(img: Image.Image) -> tuple[str, np.ndarray[Any, Any]] | None:
    """("alpha" | "rgb", the payload bit sequence) when ``img`` carries stealth infotext."""
    arr = np.asarray(img.convert("RGBA" if "A" in img.getbands() else "RGB"))
    layouts: list[tuple[str, np.ndarray[Any, Any]]] = []
    if arr.shape[2] == 4:
        layouts.append(("alpha", _bits_column_major(arr[:, :, 3])))
    layouts.append(("rgb", _bits_column_major(arr[:, :, :3])))
    for where, bits in layouts:
        sig = np.packbits(bits[:120]).tobytes()
        if sig not in _STEALTH_SIGS:
            continue
        length = int("".join(map(str, bits[120:152])), 2)
        end = 152 + length
        if sig.startswith(b"stealth_pngcomp") and where == "alpha":
            # NovelAI appends a 32-bit length (all ones: none) and error-correction data:
            # keep them too.
            fec = bits[end : end + 32]
            if len(fec) == 32:
                fec_len = int("".join(map(str, fec)), 2)
                end += 32
                if fec_len != 0xFFFFFFFF and end + fec_len <= len(bits):
                    end += fec_len
        return where, bits[: min(end, len(bits))]
    return None


def _stealth_picture(mode: str, where: str, bits: np.ndarray[Any, Any]) -> Image.Image:
    per_pixel = 1 if where == "alpha" else 3
    pixels = -(-len(bits) // per_pixel)
    height = max(SIZE, int(np.ceil(np.sqrt(pixels))))
    width = max(SIZE, -(-pixels // height))
    bands = 4 if mode == "RGBA" else 3
    arr = np.full((width, height, bands), 254, dtype=np.uint8)  # x-major while filling
    flat = np.zeros(width * height * per_pixel, dtype=np.uint8)
    flat[: len(bits)] = bits
    if where == "alpha":
        arr[:, :, 3] = 254 | flat.reshape(width, height)
    else:
        arr[:, :, :3] = 254 | flat.reshape(width, height, 3)
    return Image.fromarray(np.ascontiguousarray(arr.transpose(1, 0, 2)), mode)


def png_carrier(original: bytes) -> bytes:
    """A small PNG with the original's metadata chunks and stealth payload."""
    chunks = png_chunks(original)
    with Image.open(io.BytesIO(original)) as img:
        img.load()
        mode = "RGBA" if "A" in img.getbands() or "transparency" in img.info else "RGB"
        stealth = stealth_bits(img)
    if stealth is not None:
        where, bits = stealth
        if where == "alpha":
            mode = "RGBA"
        picture = _stealth_picture(mode, where, bits)
    else:
        picture = Image.new(mode, (SIZE, SIZE), (128, 128, 128, 255)[: len(mode)])
    buf = io.BytesIO()
    picture.save(buf, "PNG", compress_level=9)
    fresh = png_chunks(buf.getvalue())
    ihdr = next(p for k, p in fresh if k == b"IHDR")
    idat = b"".join(p for k, p in fresh if k == b"IDAT")
    out = [_PNG_SIG, _chunk(b"IHDR", ihdr)]
    after: list[bytes] = []
    seen_idat = False
    for kind, payload in chunks:
        if kind in (b"IDAT", b"fdAT"):
            seen_idat = True
            continue
        if kind in _PICTURE_CHUNKS:
            continue
        (after if seen_idat else out).append(_chunk(kind, payload))
    out.append(_chunk(b"IDAT", idat))
    out.extend(after)
    out.append(_chunk(b"IEND", b""))
    return b"".join(out)


def exif_carrier(original: bytes, fmt: str) -> bytes:
    """A small JPEG / WebP with the original's EXIF, XMP and comment bytes."""
    with Image.open(io.BytesIO(original)) as img:
        info = dict(img.info)
        mode = "RGBA" if fmt == "WEBP" and "A" in img.getbands() else "RGB"
    picture = Image.new(mode, (SIZE, SIZE), (128, 128, 128, 255)[: len(mode)])
    kwargs: dict[str, Any] = {}
    if isinstance(info.get("exif"), bytes):
        kwargs["exif"] = info["exif"]
    xmp = info.get("xmp")
    if isinstance(xmp, bytes | str) and xmp:
        kwargs["xmp"] = xmp.encode() if isinstance(xmp, str) else xmp
    if fmt == "JPEG":
        if isinstance(info.get("comment"), bytes) and info["comment"]:
            kwargs["comment"] = info["comment"]
        kwargs["quality"] = 50
    else:
        kwargs["lossless"] = True
    buf = io.BytesIO()
    picture.save(buf, fmt, **kwargs)
    if fmt == "WEBP":
        # Pillow rewrites the EXIF payload (drops an "Exif\0\0" prefix): put the
        # original's EXIF and XMP chunks back byte for byte.
        return _webp_with_chunks(buf.getvalue(), _riff_chunks(original))
    return buf.getvalue()


def _riff_chunks(data: bytes) -> dict[bytes, bytes]:
    """The EXIF and XMP chunk payloads of a WebP file."""
    out: dict[bytes, bytes] = {}
    i = 12
    while i + 8 <= len(data):
        kind = data[i : i + 4]
        (n,) = struct.unpack("<I", data[i + 4 : i + 8])
        if kind in (b"EXIF", b"XMP "):
            out[kind] = data[i + 8 : i + 8 + n]
        i += 8 + n + (n & 1)
    return out


def _webp_with_chunks(data: bytes, wanted: dict[bytes, bytes]) -> bytes:
    parts: list[bytes] = []
    i = 12
    while i + 8 <= len(data):
        kind = data[i : i + 4]
        (n,) = struct.unpack("<I", data[i + 4 : i + 8])
        payload = wanted.get(kind, data[i + 8 : i + 8 + n])
        pad = b"\0" if len(payload) & 1 else b""
        parts.append(kind + struct.pack("<I", len(payload)) + payload + pad)
        i += 8 + n + (n & 1)
    body = b"WEBP" + b"".join(parts)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def carrier(original: bytes) -> bytes:
    """The carrier of one original, by its format."""
    if original.startswith(_PNG_SIG):
        return png_carrier(original)
    if original[:3] == b"\xff\xd8\xff":
        return exif_carrier(original, "JPEG")
    if original[:4] == b"RIFF" and original[8:12] == b"WEBP":
        return exif_carrier(original, "WEBP")
    raise ValueError("not a PNG, JPEG or WebP file")


def original_path(originals: Path, source: str) -> Path:
    """``owner/repo@commit:path`` → originals/owner+repo/path."""
    repo, _, rest = source.partition("@")
    _commit, _, path = rest.partition(":")
    return originals / repo.replace("/", "+") / path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--originals", type=Path, default=ROOT / "bench" / "out" / "originals")
    ap.add_argument(
        "--check", action="store_true", help="only check that the committed carriers are current"
    )
    args = ap.parse_args(argv)
    entries = json.loads((CORPUS / "corpus.json").read_text(encoding="utf-8"))["files"]
    total = stale = 0
    for entry in entries:
        src = original_path(args.originals, entry["source"])
        data = carrier(src.read_bytes())
        dest = CORPUS / entry["file"]
        total += len(data)
        if args.check:
            if not dest.is_file() or dest.read_bytes() != data:
                print(f"out of date: {entry['file']}", file=sys.stderr)
                stale += 1
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
    print(f"{len(entries)} carriers, {total / 1024:.0f} KiB, {stale} out of date", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
