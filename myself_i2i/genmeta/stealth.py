""" "Stealth" generation text hidden in the least significant bits of the pixels.

Written by the sd-webui-stealth-pnginfo extension (A1111 / Forge, also built into Forge
and reForge) and by NovelAI, so the text survives tools that strip PNG chunks:

- a 15-byte signature: ``stealth_pnginfo`` / ``stealth_pngcomp`` in the alpha channel's
  LSBs, ``stealth_rgbinfo`` / ``stealth_rgbcomp`` in the LSBs of R, G, B;
- a 32-bit big-endian payload length in bits;
- the payload: the infotext (``…comp``: gzip-compressed). NovelAI's payload is gzip'd JSON
  of its PNG text chunks (``Comment``, ``Software``, ``Source``...).

Bits are read column by column (x outer, y inner), as both writers do
(sd_webui_stealth_pnginfo ``read_info_from_image_stealth``; NovelAI ``nai_meta.py``).
"""

from __future__ import annotations

import json
import zlib
from typing import TYPE_CHECKING, Any

from PIL import Image

if TYPE_CHECKING:
    import numpy as np

_SIGNATURES = {
    b"stealth_pnginfo": ("alpha", False),
    b"stealth_pngcomp": ("alpha", True),
    b"stealth_rgbinfo": ("rgb", False),
    b"stealth_rgbcomp": ("rgb", True),
}
_SIG_BITS = 15 * 8
#: A stealth payload larger than this is not generation text (refuse to inflate it).
_MAX_PAYLOAD_BYTES = 8 * 1024 * 1024


def _bits(arr: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """LSBs of an (h, w) or (h, w, k) array, x outer, y inner, then channel."""
    import numpy as np  # only when a picture is read (keeps start-up light)

    if arr.ndim == 2:
        return np.asarray(arr.T.reshape(-1) & 1, dtype=np.uint8)
    return np.asarray(arr.transpose(1, 0, 2).reshape(-1) & 1, dtype=np.uint8)


def _to_int(bits: np.ndarray[Any, Any]) -> int:
    import numpy as np  # only when a picture is read (keeps start-up light)

    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def _payload(bits: np.ndarray[Any, Any], where: str) -> tuple[bytes, bool] | None:
    import numpy as np  # only when a picture is read (keeps start-up light)

    if len(bits) < _SIG_BITS + 32:
        return None
    sig = np.packbits(bits[:_SIG_BITS]).tobytes()
    if sig not in _SIGNATURES or _SIGNATURES[sig][0] != where:
        return None
    compressed = _SIGNATURES[sig][1]
    length = _to_int(bits[_SIG_BITS : _SIG_BITS + 32])
    start = _SIG_BITS + 32
    if length <= 0 or length % 8 or length // 8 > _MAX_PAYLOAD_BYTES:
        return None
    if start + length > len(bits):
        return None
    return np.packbits(bits[start : start + length]).tobytes(), compressed


def _signature_present(img: Image.Image) -> bool:
    """Whether the first LSBs (alpha, or RGB) spell a stealth signature, read with PIL only.

    Most pictures carry none: this keeps numpy (and a full-size array) out of them.
    """
    w, h = img.size
    if w <= 0 or h <= 0:
        return False
    cols = min(w, -(-_SIG_BITS // h))  # enough columns for 120 bits, x outer, y inner
    # one column holds them all when it is tall enough: read only its first pixels
    region = img.crop((0, 0, cols, h if cols > 1 else min(h, _SIG_BITS)))
    h = region.height
    px = (
        list(region.get_flattened_data())
        if hasattr(region, "get_flattened_data")
        else list(region.getdata())
    )
    has_alpha = "A" in img.getbands() and region.mode == "RGBA"
    alpha: list[int] = []
    rgb: list[int] = []
    for x in range(cols):
        for y in range(h):
            p: Any = px[y * cols + x]
            if has_alpha:
                alpha.append(p[3] & 1)
            rgb.extend(c & 1 for c in p[:3])
    for bits in (alpha, rgb):
        if len(bits) >= _SIG_BITS:
            raw = int("".join(map(str, bits[:_SIG_BITS])), 2).to_bytes(_SIG_BITS // 8, "big")
            if raw in _SIGNATURES:
                return True
    return False


def stealth_texts(img: Image.Image) -> dict[str, str]:
    """Generation text hidden in ``img``'s pixel LSBs, as PNG-like text chunks; ``{}`` if none.

    An A1111 / Forge payload comes back as ``{"parameters": infotext}``, a NovelAI one as
    its text chunks (``Comment``, ``Software``...). Decodes the pixels: call it only when
    the file carries no other generation metadata.
    """
    if img.format not in ("PNG", "WEBP") or img.mode not in ("RGB", "RGBA", "LA", "P", "PA"):
        return {}  # lossy JPEG cannot carry LSB text: no numpy for it
    try:
        rgba = img.convert("RGBA") if img.mode != "RGB" else img
        if not _signature_present(rgba):
            return {}
        import numpy as np  # only for a picture that carries a signature

        arr = np.asarray(rgba)
    except (OSError, ValueError, SyntaxError):
        return {}
    candidates: list[tuple[str, np.ndarray[Any, Any]]] = []
    if arr.ndim == 3 and arr.shape[2] == 4 and "A" in img.getbands():
        candidates.append(("alpha", _bits(arr[:, :, 3])))
    if arr.ndim == 3:
        candidates.append(("rgb", _bits(arr[:, :, :3])))
    for where, bits in candidates:
        found = _payload(bits, where)
        if found is None:
            continue
        data, compressed = found
        if compressed:
            try:
                # Bounded: a crafted payload must not inflate to gigabytes.
                inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
                data = inflater.decompress(data, _MAX_PAYLOAD_BYTES + 1)
            except zlib.error:
                continue
            if len(data) > _MAX_PAYLOAD_BYTES:
                continue
        text = data.decode("utf-8", errors="replace").strip()
        if text.startswith("{"):
            try:
                obj = json.loads(text)
            except ValueError:
                obj = None
            if isinstance(obj, dict) and ("Comment" in obj or "Software" in obj):
                out = {
                    str(k): v if isinstance(v, str) else json.dumps(v)
                    for k, v in obj.items()
                    if isinstance(k, str)
                }
                out["stealth"] = where
                return out
        return {"parameters": text, "stealth": where}
    return {}
