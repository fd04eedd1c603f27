"""What kind of file a byte string is, by its magic bytes (never by its name).

Verification hands every format that c2pa-rs reads to c2pa; only PNG, JPEG and WebP are
decoded by us (recovery, evidence, metadata). Camera JPEGs that Pillow labels "MPO" are
JPEGs here, as they are to c2pa.
"""

from __future__ import annotations

#: MIME types whose pixels myself_i2i decodes (recovery, --against, generation metadata).
DECODABLE = frozenset({"image/png", "image/jpeg", "image/webp"})

_BMFF_BRANDS: dict[bytes, str] = {
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"heim": "image/heic",
    b"heis": "image/heic",
    b"hevc": "image/heic",
    b"mif1": "image/heif",
    b"msf1": "image/heif",
    b"avif": "image/avif",
    b"avis": "image/avif",
    b"qt  ": "video/quicktime",
    b"M4A ": "audio/mp4",
    b"M4V ": "video/x-m4v",
}

#: A short readable name for each MIME type, for messages.
NAMES: dict[str, str] = {
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/webp": "WebP",
    "image/gif": "GIF",
    "image/tiff": "TIFF/DNG",
    "image/heic": "HEIC",
    "image/heif": "HEIF",
    "image/avif": "AVIF",
    "image/jxl": "JPEG XL",
    "image/svg+xml": "SVG",
    "video/mp4": "MP4",
    "video/quicktime": "QuickTime",
    "video/x-m4v": "M4V",
    "audio/mp4": "M4A",
    "audio/wav": "WAV",
    "video/x-msvideo": "AVI",
    "audio/mpeg": "MP3",
    "audio/flac": "FLAC",
    "application/pdf": "PDF",
}


def sniff_mime(data: bytes) -> str | None:
    """The MIME type of ``data`` by its signature, or None when it is none we know."""
    head = data[:64]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "video/x-msvideo"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if head[:2] == b"\xff\x0a" or head[:12] == b"\x00\x00\x00\x0cJXL \r\n\x87\n":
        return "image/jxl"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _BMFF_BRANDS:
            return _BMFF_BRANDS[brand]
        # compatible brands decide for generic major brands (e.g. "mif1" then "heic")
        size = int.from_bytes(head[:4], "big")
        compat = data[16 : min(size, 256)]
        for i in range(0, len(compat) - 3, 4):
            b = compat[i : i + 4]
            if b in (b"avif", b"heic", b"heix"):
                return _BMFF_BRANDS[b]
        return "video/mp4"
    if head[:4] == b"fLaC":
        return "audio/flac"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if head[:5] == b"%PDF-":
        return "application/pdf"
    text = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<?xml", b"<svg", b"<!doctype svg", b"<!--")) and b"<svg" in text:
        return "image/svg+xml"
    return None


def format_name(mime: str) -> str:
    return NAMES.get(mime, mime)
