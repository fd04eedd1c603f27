"""Finding (and removing) the embedded C2PA manifest store in PNG, JPEG and WebP bytes.

c2pa-python does not hand out the raw manifest store or the certificate chain, so we
read the store ourselves from the container: PNG ``caBX`` chunk, JPEG APP11 JUMBF
segments, WebP ``C2PA`` RIFF chunk. Only used for facts that c2pa then re-checks
(the certificate chain) and for producing stripped copies in tests and the demo.
"""

from __future__ import annotations

import struct
import zlib

from cryptography import x509

_PNG_SIG = b"\x89PNG\r\n\x1a\n"


def _png_chunks(data: bytes) -> list[tuple[bytes, int, int]]:
    """(type, start of chunk, end of chunk) for each PNG chunk."""
    out: list[tuple[bytes, int, int]] = []
    pos = len(_PNG_SIG)
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        ctype = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            break
        out.append((ctype, pos, end))
        pos = end
        if ctype == b"IEND":
            break
    return out


def _jpeg_segments(data: bytes) -> list[tuple[int, int, int]]:
    """(marker, start, end) for JPEG marker segments before the scan data."""
    out: list[tuple[int, int, int]] = []
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        end = pos + 2 + length
        out.append((marker, pos, end))
        if marker == 0xDA:  # start of scan: the rest is entropy-coded data
            break
        pos = end
    return out


def _webp_chunks(data: bytes) -> list[tuple[bytes, int, int]]:
    out: list[tuple[bytes, int, int]] = []
    pos = 12
    while pos + 8 <= len(data):
        ctype = data[pos : pos + 4]
        (length,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        end = pos + 8 + length + (length & 1)
        out.append((ctype, pos, min(end, len(data))))
        pos = end
    return out


def webp_is_lossless(data: bytes) -> bool:
    """True when a WebP file's image data is a lossless (VP8L) bitstream."""
    if not (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        return False
    return any(ctype == b"VP8L" for ctype, _s, _e in _webp_chunks(data))


def manifest_store_bytes(data: bytes) -> bytes | None:
    """The embedded JUMBF manifest store of a PNG, JPEG or WebP file, or None."""
    if data.startswith(_PNG_SIG):
        for ctype, start, end in _png_chunks(data):
            if ctype == b"caBX":
                return data[start + 8 : end - 4]
        return None
    if data.startswith(b"\xff\xd8"):
        parts: list[bytes] = []
        for marker, start, end in _jpeg_segments(data):
            seg = data[start + 4 : end]
            # APP11 JUMBF: "JP" CI, 2-byte instance, 4-byte sequence, then the box
            if marker == 0xEB and seg[:2] == b"JP":
                body = seg[8:]
                parts.append(body if not parts else body[8:])  # repeat box header per segment
        return b"".join(parts) or None
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        for ctype, start, end in _webp_chunks(data):
            if ctype == b"C2PA":
                # the chunk's own length: ``end`` includes the RIFF pad byte of odd sizes
                (length,) = struct.unpack("<I", data[start + 4 : start + 8])
                return data[start + 8 : min(start + 8 + length, end)]
        return None
    return None


def strip_manifest(data: bytes) -> bytes:
    """The same file without its embedded manifest store (what a social platform does)."""
    if data.startswith(_PNG_SIG):
        keep = [data[s:e] for t, s, e in _png_chunks(data) if t != b"caBX"]
        return _PNG_SIG + b"".join(keep)
    if data.startswith(b"\xff\xd8"):
        segs = _jpeg_segments(data)
        out = bytearray(data[:2])
        last = 2
        for marker, start, end in segs:
            out += data[last:start]
            seg = data[start + 4 : end]
            if not (marker == 0xEB and seg[:2] == b"JP"):
                out += data[start:end] if marker != 0xDA else b""
            last = end if marker != 0xDA else start
        out += data[last:]
        return bytes(out)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        body = b"".join(data[s:e] for t, s, e in _webp_chunks(data) if t != b"C2PA")
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
    """Every DER X.509 certificate found inside a manifest store, in order, without repeats.

    The COSE signature's x5chain holds the signing certificate and its issuer. We look for
    DER SEQUENCEs that parse as certificates; whatever is found is only trusted after c2pa
    re-validates the manifest with that certificate as its sole trust anchor.
    """
    found: list[x509.Certificate] = []
    seen: set[bytes] = set()
    pos = store.find(b"\x30\x82")
    while pos != -1:
        if pos + 4 <= len(store):
            (length,) = struct.unpack(">H", store[pos + 2 : pos + 4])
            end = pos + 4 + length
            if 200 < length < 8000 and end <= len(store):
                blob = store[pos:end]
                if blob not in seen:
                    try:
                        cert = x509.load_der_x509_certificate(blob)
                    except ValueError:
                        cert = None
                    if cert is not None:
                        seen.add(blob)
                        found.append(cert)
                        pos = store.find(b"\x30\x82", end)
                        continue
        pos = store.find(b"\x30\x82", pos + 1)
    return found


def signing_chain(store: bytes) -> list[x509.Certificate]:
    """The certificates of the store, signing certificate first (interim: see certificates_in)."""
    return certificates_in(store)
