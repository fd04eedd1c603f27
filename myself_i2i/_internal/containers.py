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
- WebP: ``riff_io.rs`` (``RiffIO::read_cai``) over riff 2.0 chunks.

(contentauth/c2pa-rs@24d17555b, paolobarbolini/img-parts@0a68c69, frabert/riff@3d6bbf5.)
Other formats c2pa-rs reads (BMFF, TIFF, GIF, SVG, ...) give None here: we do not guess.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from cryptography import x509

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


# --- public ----------------------------------------------------------------------------------


def manifest_store_bytes(data: bytes) -> bytes | None:
    """The embedded JUMBF manifest store of a JPEG, PNG or WebP file, as c2pa-rs reads it.

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


def certificates_in(store: bytes) -> list[x509.Certificate]:
    """Deprecated alias of :func:`myself_i2i._internal.jumbf.signing_chain` (one release).

    Unlike it, a store whose chain cannot be read gives an empty list.
    """
    from myself_i2i._internal.jumbf import signing_chain
    from myself_i2i.errors import ManifestError

    try:
        return signing_chain(store)
    except ManifestError:
        return []
