"""Finding (and removing) the embedded C2PA manifest store, exactly as c2pa-rs finds it.

c2pa-python does not hand out the raw manifest store, so we read it from the container
ourselves; the structure checks (:mod:`myself_i2i._internal.jumbf`) and the signing chain
are then taken from those bytes. A second reader that disagrees with c2pa-rs is a
vulnerability (an authentic file called an impostor, or a forged store shown next to a
valid verdict), so each reader below follows one c2pa-rs asset handler rule for rule, and
returns None wherever that handler returns an error or finds nothing:

- JPEG: ``sdk/src/asset_handlers/jpeg_io.rs`` (``JpegIO::read_cai``) over the segments
  that img-parts 0.4 (``Jpeg::from_bytes``) parses;
- PNG: ``png_io.rs`` (``get_png_chunk_positions`` / ``get_cai_data``);
- WebP: ``riff_io.rs`` (``RiffIO::read_cai``) over riff 2.0 chunks;
- GIF: ``gif_io.rs`` (``GifIO::read_cai``).

(contentauth/c2pa-rs@24d17555b, paolobarbolini/img-parts@0a68c69, frabert/riff@3d6bbf5.)
Other formats c2pa-rs reads (BMFF: HEIC / AVIF / MP4, TIFF / DNG, SVG, ...) give None
here: their handlers parse the whole file (a BMFF box tree, TIFF IFD trees, XML) and we
would not fail where they fail, so we do not guess.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

_PNG_SIG = b"\x89PNG\r\n\x1a\n"
_APP11 = 0xEB
_SOS = 0xDA
_EOI = 0xD9


# --- JPEG ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Segment:
    marker: int
    start: int  #: offset of the 0xFF that starts the marker
    body: int  #: offset of the contents (after the length field)
    end: int  #: end of the contents


def _has_length(marker: int) -> bool:
    # img-parts 0.4 ``markers::has_length``: note that it reads a length after RSTn too.
    return (
        0xC0 <= marker <= 0xCF
        or 0xD0 <= marker <= 0xD7
        or 0xE0 <= marker <= 0xEF
        or marker in (_SOS, 0xFE, 0xDB, 0xDD)
    )


def _jpeg_segments(data: bytes) -> list[_Segment] | None:
    """The segments img-parts 0.4 parses before the entropy-coded data; None where it fails.

    Bytes other than 0xFF between segments are skipped, fill bytes (0xFF 0xFF ...) too;
    parsing ends at EOI or at the first SOS followed by data (the rest is its entropy).
    """
    n = len(data)
    if n < 2 or data[0] != 0xFF or data[1] != 0xD8:
        return None
    out: list[_Segment] = []
    pos = 2
    while True:
        start = data.find(b"\xff", pos)
        if start == -1:
            return None  # truncated: no EOI
        pos = start + 1
        while pos < n and data[pos] == 0xFF:
            pos += 1
        if pos >= n:
            return None
        marker = data[pos]
        pos += 1
        if marker == _EOI:
            return out
        if not _has_length(marker):
            out.append(_Segment(marker, start, pos, pos))
            continue
        if pos + 2 > n:
            return None
        size = int.from_bytes(data[pos : pos + 2], "big")
        if size < 2 or pos + size > n:
            return None
        seg = _Segment(marker, start, pos + 2, pos + size)
        out.append(seg)
        pos = seg.end
        if marker == _SOS and pos < n:
            return out


def _jpeg_store(data: bytes) -> bytes | None:
    """The store c2pa-rs's ``JpegIO::read_cai`` assembles.

    APP11 segments longer than 16 bytes are read as JPEG XT boxes (CI, En, Z, LBox, TBox).
    The first whose JUMBF description type starts with ``c2pa`` opens the store (its En is
    remembered); later segments with that En whose sequence number Z is above the count
    read so far continue it, each without its repeated LBox/TBox. Segments in file order;
    other APP11 segments (other JUMBF, another En) are skipped; a second ``c2pa`` box
    makes c2pa-rs refuse the file (TooManyManifestStores), and so None.
    """
    segs = _jpeg_segments(data)
    if not segs:
        return None
    buf = bytearray()
    stores = 0
    cai_en = b""
    count = 0
    for seg in segs:
        if seg.marker != _APP11 or seg.end - seg.body <= 16:
            continue
        raw = data[seg.body : seg.end]
        en = raw[2:4]
        (z,) = struct.unpack(">I", raw[4:8])
        if count > 0 and en == cai_en:
            if z <= count:
                cai_en = b""  # out of sequence: c2pa-rs stops continuing this store
                continue
            buf += raw[16:]
            count += 1
        elif len(raw) > 28 and raw[24:28] == b"c2pa":
            if stores == 1:
                return None
            buf += raw[8:]
            count = 1
            cai_en = en
            stores += 1
    return bytes(buf) or None


def _jpeg_cai_segments(data: bytes, segs: list[_Segment]) -> list[_Segment]:
    """The APP11 segments c2pa-rs removes before it writes a store (``get_cai_segments``).

    Looser than reading: every segment with the En of a ``c2pa`` box counts, whatever its
    sequence number, and a second store's segments count too.
    """
    out: list[_Segment] = []
    cai_en = b""
    for seg in segs:
        if seg.marker != _APP11 or seg.end - seg.body <= 16:
            continue
        raw = data[seg.body : seg.end]
        if out and raw[2:4] == cai_en:
            out.append(seg)
        elif raw[24:28] == b"c2pa":
            out.append(seg)
            cai_en = raw[2:4]
    return out


# --- PNG -------------------------------------------------------------------------------------


def _png_chunks(data: bytes) -> list[tuple[bytes, int, int]] | None:
    """(type, start, end) of each chunk up to IEND as c2pa-rs lists them; None where it fails.

    CRCs are not checked (c2pa-rs does not); a chunk running past the end of the file, a
    type that is not UTF-8 or a missing IEND is an error.
    """
    if not data.startswith(_PNG_SIG):
        return None
    out: list[tuple[bytes, int, int]] = []
    pos = len(_PNG_SIG)
    n = len(data)
    while True:
        if pos + 8 > n:
            return None
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        ctype = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > n:
            return None
        try:
            ctype.decode("utf-8")
        except UnicodeDecodeError:
            return None
        out.append((ctype, pos, end))
        if ctype == b"IEND":
            return out
        pos = end


# --- WebP (RIFF) -----------------------------------------------------------------------------


def _riff_chunks(data: bytes) -> list[tuple[bytes, int, int]] | None:
    """(id, start, declared end) of the RIFF form's children as riff 2.0 iterates them.

    Children are read from offset 12 while the offset is below the end the RIFF header
    declares; each advances by its length plus a pad byte for odd lengths. A child header
    that cannot be read is an error (None); a declared end may lie beyond the file.
    """
    if len(data) < 12 or data[:4] != b"RIFF":
        return None
    (riff_len,) = struct.unpack("<I", data[4:8])
    end = 4 + riff_len
    out: list[tuple[bytes, int, int]] = []
    pos = 12
    while pos < end:
        if pos + 8 > len(data):
            return None
        (length,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        out.append((data[pos : pos + 4], pos, pos + 8 + length))
        pos += 8 + length + (length & 1)
    return out


def _webp_store(data: bytes) -> bytes | None:
    chunks = _riff_chunks(data)
    if chunks is None:
        return None
    for cid, start, end in chunks:
        if cid == b"C2PA":
            return data[start + 8 : end] if end <= len(data) else None
    return None


def webp_is_lossless(data: bytes) -> bool:
    """True when a WebP file's image data is a lossless (VP8L) bitstream."""
    if not (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        return False
    return any(cid == b"VP8L" for cid, _s, _e in _riff_chunks(data) or [])


# --- GIF -------------------------------------------------------------------------------------


def _gif_sub_blocks(data: bytes, pos: int, keep: bool) -> tuple[int, bytes] | None:
    """Data sub-blocks from ``pos`` to their terminator: (end, payload); None where cut off.

    Like c2pa-rs, skipped blocks may end past the file (a seek); kept ones may not.
    """
    out = bytearray()
    n = len(data)
    while True:
        if pos >= n:
            return None
        size = data[pos]
        pos += 1
        if size == 0:
            return pos, bytes(out)
        if keep:
            if pos + size > n:
                return None
            out += data[pos : pos + size]
        pos += size


def _color_table(packed: int) -> int:
    return 3 * 2 ** ((packed & 7) + 1) if packed & 0x80 else 0


def _gif_store(data: bytes) -> bytes | None:
    """The store c2pa-rs's ``GifIO::read_cai`` reads (``find_c2pa_block``).

    Blocks are walked from the header to the first image descriptor (whose colour table and
    image data are parsed too); the first application extension ``C2PA_GIF`` with code
    01 00 00 before it holds the store in its sub-blocks. Any block that cannot be read on
    the way, an unknown block or extension label, is an error (None).
    """
    n = len(data)
    if n < 11 or data[:3] != b"GIF" or data[3:6] not in (b"87a", b"89a"):
        return None
    pos = 13 + _color_table(data[10])  # header, logical screen descriptor, global colours
    while True:
        if pos + 1 >= n:
            return None  # c2pa-rs reads an introducer and a label, or fails
        introducer, label = data[pos], data[pos + 1]
        pos += 2
        if introducer == 0x2C:
            return None  # the first image: c2pa-rs looks no further (or fails on its data)
        if introducer != 0x21:
            return None  # the trailer (0x3B) or an unknown block: no store
        if label == 0xFF:
            if pos + 12 > n or data[pos] != 0x0B:
                return None
            c2pa = data[pos + 1 : pos + 12] == b"C2PA_GIF\x01\x00\x00"
            blocks = _gif_sub_blocks(data, pos + 12, keep=c2pa)
            if blocks is not None and c2pa:
                return blocks[1]
        elif label == 0xF9:
            pos += 6
            continue
        elif label in (0xFE, 0x01):
            blocks = _gif_sub_blocks(data, pos + (11 if label == 0x01 else 0), keep=False)
        else:
            return None
        if blocks is None:
            return None
        pos = blocks[0]


# --- public ----------------------------------------------------------------------------------


def manifest_store_bytes(data: bytes) -> bytes | None:
    """The embedded JUMBF manifest store of a JPEG, PNG, WebP or GIF file, as c2pa-rs reads it.

    Returns:
        The store's bytes; None when the file holds none, when c2pa-rs could not read the
        container (so it reads no store either), or for a format we do not read.
    """
    if data.startswith(_PNG_SIG):
        chunks = _png_chunks(data)
        if chunks is None:
            return None
        cabx = [(s, e) for t, s, e in chunks if t == b"caBX"]
        if len(cabx) != 1:  # c2pa-rs: none, or TooManyManifestStores
            return None
        start, end = cabx[0]
        return data[start + 8 : end - 4]
    if data.startswith(b"\xff\xd8"):
        return _jpeg_store(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp_store(data)
    if data[:3] == b"GIF":
        return _gif_store(data)
    return None


def strip_manifest(data: bytes) -> bytes:
    """The same file without its embedded manifest store (what a social platform does).

    A file whose container cannot be read is returned unchanged.
    """
    if data.startswith(_PNG_SIG):
        chunks = _png_chunks(data)
        if chunks is None:
            return data
        keep = [data[s:e] for t, s, e in chunks if t != b"caBX"]
        return _PNG_SIG + b"".join(keep) + data[chunks[-1][2] :]
    if data.startswith(b"\xff\xd8"):
        segs = _jpeg_segments(data)
        if segs is None:
            return data
        out = bytearray()
        last = 0
        for seg in _jpeg_cai_segments(data, segs):
            out += data[last : seg.start]
            last = seg.end
        out += data[last:]
        return bytes(out)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        chunks = _riff_chunks(data)
        if chunks is None:
            return data
        body = b"".join(
            data[s : e + ((e - s) & 1)] for t, s, e in chunks if t != b"C2PA" and e <= len(data)
        )
        riff = b"WEBP" + body
        return b"RIFF" + struct.pack("<I", len(riff)) + riff
    return data


def with_manifest_store(png: bytes, store: bytes) -> bytes:
    """A PNG with ``store`` put in a ``caBX`` chunk right after IHDR (any old one removed).

    The inverse of :func:`strip_manifest` for PNG: the demo and the tests use it to play a
    tamperer who edits the pixels and puts the original manifest back.
    """
    bare = strip_manifest(png)
    chunks = _png_chunks(bare)
    if not chunks or chunks[0][0] != b"IHDR":
        raise ValueError("not a PNG")
    ihdr_end = chunks[0][2]
    body = b"caBX" + store
    chunk = struct.pack(">I", len(store)) + body + struct.pack(">I", zlib.crc32(body))
    return bare[:ihdr_end] + chunk + bare[ihdr_end:]
