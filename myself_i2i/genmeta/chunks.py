"""Reading the raw text that generation UIs embed in PNG, JPEG and WebP files."""

from __future__ import annotations

import contextlib
import struct
import zlib

from PIL import Image

from myself_i2i.errors import MetadataError

#: EXIF tags in the Exif IFD and IFD0.
_EXIF_IFD = 0x8769
_USER_COMMENT = 0x9286
#: ComfyUI's SaveAnimatedWEBP (and savers modelled on it) write ``key:json`` strings to
#: IFD0 Model (0x0110, "prompt:"), Make (0x010F, "workflow:") and further down.
_IFD0_TEXT_TAGS = (0x010E, 0x010F, 0x0110, 0x010D, 0x010C)
_IFD0_KEYS = ("prompt", "workflow", "parameters")


def _read_error(detail: str) -> MetadataError:
    return MetadataError(
        f"the image's embedded text metadata cannot be read ({detail}).",
        f"画像に埋め込まれたテキストメタデータを読み込めません（{detail}）。",
    )


def text_chunks(img: Image.Image) -> dict[str, str]:
    """All PNG text chunks (tEXt, zTXt, iTXt) of ``img`` as ``{keyword: text}``.

    Non-PNG images give ``{}``. Use this to carry generation metadata over when
    re-writing a PNG (``PngInfo.add_text`` for each item).

    Raises:
        MetadataError: the chunks are damaged or larger than Pillow's safety limits.
    """
    if img.format != "PNG":
        return {}
    if getattr(img, "_im", None) is None:
        # Not decoded: Pillow has already parsed the text chunks that precede the image
        # data into ``info`` (every generation UI writes them there). ``img.text`` would
        # decode all the pixels just to reach chunks after IDAT, which costs more than
        # the rest of signing or verifying a large PNG.
        return {str(k): str(v) for k, v in img.info.items() if isinstance(v, str)}
    try:
        texts = getattr(img, "text", None)
    except (OSError, ValueError, SyntaxError) as e:
        raise _read_error(str(e)) from e
    if not isinstance(texts, dict):
        return {}
    return {str(k): str(v) for k, v in texts.items() if isinstance(v, str)}


def decode_user_comment(value: bytes | str) -> str:
    """Decode an EXIF UserComment: 8-byte charset prefix, then the text.

    A1111 writes ``UNICODE\\0`` + UTF-16 (big-endian through piexif); other writers use
    ``ASCII\\0\\0\\0``, eight NULs (undefined) or little-endian UTF-16.
    """
    if isinstance(value, str):
        return value.rstrip("\x00")
    prefix, body = value[:8], value[8:]
    if prefix == b"UNICODE\x00":
        if body[:2] in (b"\xfe\xff", b"\xff\xfe"):
            text = body.decode("utf-16", errors="replace")
        else:
            # ASCII-heavy text in UTF-16BE has its NUL bytes at even offsets.
            even_nuls = body[0::2].count(0)
            odd_nuls = body[1::2].count(0)
            codec = "utf-16-le" if odd_nuls > even_nuls else "utf-16-be"
            text = body[: len(body) // 2 * 2].decode(codec, errors="replace")
    elif prefix == b"JIS\x00\x00\x00\x00\x00":
        text = body.decode("shift_jis", errors="replace")
    elif prefix in (b"ASCII\x00\x00\x00", b"\x00" * 8):
        text = body.decode("utf-8", errors="replace")
    else:
        text = value.decode("utf-8", errors="replace")
    return text.rstrip("\x00")


def exif_texts(img: Image.Image) -> dict[str, str]:
    """Generation text from EXIF: ``UserComment`` and ComfyUI-style ``prompt``/``workflow``.

    Keys: ``"UserComment"`` (decoded) and any of ``"prompt"``, ``"workflow"``,
    ``"parameters"`` found as ``key:value`` strings in IFD0 text tags.
    """
    try:
        if img.format == "PNG" and getattr(img, "_im", None) is None:
            # PngImageFile.getexif() decodes every pixel to look for an eXIf chunk after
            # the image data; the one before it is already in ``info``.
            exif = Image.Exif()
            raw = img.info.get("exif")
            if isinstance(raw, bytes):
                exif.load(raw)
        else:
            exif = img.getexif()
    except (OSError, ValueError, SyntaxError, TypeError):
        return {}
    out: dict[str, str] = {}
    for tag in _IFD0_TEXT_TAGS:
        v = exif.get(tag)
        if isinstance(v, bytes):
            v = v.decode("utf-8", errors="replace")
        if isinstance(v, str):
            key, sep, rest = v.partition(":")
            if sep and key.strip().lower() in _IFD0_KEYS:
                out.setdefault(key.strip().lower(), rest.rstrip("\x00"))
    try:
        sub = exif.get_ifd(_EXIF_IFD)
    except (OSError, ValueError, SyntaxError, TypeError, KeyError):
        sub = {}
    uc = sub.get(_USER_COMMENT)
    if not isinstance(uc, bytes | str):
        # SaveImagePlus-style writers put UserComment in IFD0 instead of the Exif IFD.
        uc = exif.get(_USER_COMMENT)
    if isinstance(uc, bytes | str):
        text = decode_user_comment(uc).strip()
        if text:
            out["UserComment"] = text
    return out


#: Text chunk types, and private chunks known to hold generation text (``key\0text``):
#: ComfyUI's SaveAnimatedPNG writes ``comf`` chunks after the image data
#: (comfy_extras/nodes_images.py, SaveAnimatedPNG.save_images).
_TEXT_TYPES = (b"tEXt", b"zTXt", b"iTXt")
_PRIVATE_TEXT_TYPES = (b"comf",)
#: Never walk more chunks than this (a crafted file with millions of empty chunks).
_MAX_CHUNKS = 100_000
_MAX_TEXT = 64 * 1024 * 1024


def _decode_text_chunk(kind: bytes, data: bytes) -> tuple[str, str] | None:
    key, sep, rest = data.partition(b"\0")
    if not sep or not key:
        return None
    name = key.decode("latin-1", errors="replace")
    if kind in (b"tEXt", b"comf"):
        return name, rest.decode("latin-1" if kind == b"tEXt" else "utf-8", errors="replace")
    if kind == b"zTXt":
        if not rest or rest[0] != 0:
            return None
        try:
            return name, zlib.decompress(rest[1:], bufsize=1 << 16).decode(
                "latin-1", errors="replace"
            )
        except zlib.error:
            return None
    # iTXt: compression flag, method, language\0, translated keyword\0, text
    if len(rest) < 2:
        return None
    flag, body = rest[0], rest[2:]
    _lang, _s1, body = body.partition(b"\0")
    _tkey, _s2, body = body.partition(b"\0")
    if flag:
        inflated = _inflate(body)
        if inflated is None:
            return None
        body = inflated
    return name, body.decode("utf-8", errors="replace")


def _inflate(data: bytes) -> bytes | None:
    """zlib data inflated to at most ``_MAX_TEXT`` bytes (None if larger or damaged)."""
    try:
        out = zlib.decompressobj().decompress(data, _MAX_TEXT + 1)
    except zlib.error:
        return None
    return out if len(out) <= _MAX_TEXT else None


def png_late_texts(img: Image.Image) -> dict[str, str]:
    """Text chunks after the image data, and ``comf`` private chunks, without decoding pixels.

    Pillow puts in ``info`` only the text chunks before IDAT; generation UIs sometimes
    write theirs after it (ComfyUI's animated PNG, tools that append text). The file is
    walked chunk by chunk with seeks, so a large picture costs no decoding. Returns ``{}``
    when the file cannot be walked (not a PNG, no file handle).
    """
    fp = getattr(img, "fp", None)
    if img.format != "PNG" or fp is None:
        return {}
    out: dict[str, str] = {}
    try:
        pos = fp.tell()
    except (OSError, ValueError):
        return {}
    try:
        fp.seek(8)
        seen_idat = False
        for _ in range(_MAX_CHUNKS):
            head = fp.read(8)
            if len(head) < 8:
                break
            length, kind = struct.unpack(">I4s", head)
            if kind == b"IEND":
                break
            if kind == b"IDAT" or kind == b"fdAT":
                seen_idat = True
            wanted = (seen_idat and kind in _TEXT_TYPES) or kind in _PRIVATE_TEXT_TYPES
            if wanted and length <= _MAX_TEXT:
                item = _decode_text_chunk(kind, fp.read(length))
                fp.seek(4, 1)
                if item is not None:
                    out.setdefault(*item)
            else:
                fp.seek(length + 4, 1)
    except (OSError, ValueError, struct.error):
        return out
    finally:
        with contextlib.suppress(OSError, ValueError):
            fp.seek(pos)
    return out
