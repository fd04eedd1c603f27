"""Synthetic, illustration-like test images for tests, benchmarks and the demo.

Deterministic for a given seed: flat colour fills, line art, gradients, some texture,
and an optional photo-like variant. No files are shipped; everything is drawn here.
"""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter


def illustration(width: int = 768, height: int = 768, seed: int = 0) -> Image.Image:
    """An anime-style-ish picture: gradient sky, flat shapes with dark outlines, hatching."""
    rng = random.Random(seed)
    top = tuple(rng.randrange(120, 256) for _ in range(3))
    bottom = tuple(rng.randrange(0, 160) for _ in range(3))
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    grad = (1 - t) * np.array(top, np.float32) + t * np.array(bottom, np.float32)
    arr = np.broadcast_to(grad, (height, width, 3)).astype(np.uint8)
    img = Image.fromarray(np.ascontiguousarray(arr), "RGB")
    d = ImageDraw.Draw(img)
    lw = max(2, min(width, height) // 160)
    for _ in range(rng.randrange(5, 10)):
        x0, y0 = rng.randrange(0, width), rng.randrange(0, height)
        w, h = rng.randrange(width // 10, width // 2), rng.randrange(height // 10, height // 2)
        fill = tuple(rng.randrange(0, 256) for _ in range(3))
        shape = rng.randrange(3)
        box = (x0 - w // 2, y0 - h // 2, x0 + w // 2, y0 + h // 2)
        if shape == 0:
            d.ellipse(box, fill=fill, outline=(20, 20, 30), width=lw)
        elif shape == 1:
            d.rectangle(box, fill=fill, outline=(20, 20, 30), width=lw)
        else:
            pts = [(rng.randrange(0, width), rng.randrange(0, height)) for _ in range(3)]
            d.polygon(pts, fill=fill, outline=(20, 20, 30), width=lw)
    for _ in range(rng.randrange(10, 25)):
        pts = [(rng.randrange(0, width), rng.randrange(0, height)) for _ in range(4)]
        d.line(pts, fill=(25, 25, 35), width=max(1, lw // 2), joint="curve")
    # a patch of hatching texture
    hx, hy = rng.randrange(0, width // 2), rng.randrange(0, height // 2)
    for k in range(0, width // 4, max(3, lw * 2)):
        d.line([(hx + k, hy), (hx + k + height // 8, hy + height // 4)], fill=(60, 50, 70), width=1)
    return img


def photo_like(width: int = 768, height: int = 768, seed: int = 0) -> Image.Image:
    """A noisy, blurred, photo-like picture."""
    rs = np.random.default_rng(seed)
    base = rs.normal(128, 60, (height // 16 + 1, width // 16 + 1, 3)).clip(0, 255).astype(np.uint8)
    img = Image.fromarray(base, "RGB").resize((width, height), Image.Resampling.BICUBIC)
    noise = rs.normal(0, 8, (height, width, 3))
    arr = (np.asarray(img, np.float32) + noise).clip(0, 255).astype(np.uint8)
    return Image.fromarray(arr, "RGB").filter(ImageFilter.GaussianBlur(0.8))


def save(img: Image.Image, path: Path, **params: object) -> Path:
    """Save with the format implied by the suffix (JPEG quality 92 unless given)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}[path.suffix.lower()]
    if fmt == "JPEG":
        params.setdefault("quality", 92)
        img = img.convert("RGB")
    img.save(path, fmt, **params)
    return path


# --- what social platforms do to a posted picture ----------------------------------------------
# Shared by the watermark tests, the watermark bench and the end-to-end robustness bench.


def encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    """The bytes of ``img`` saved as ``fmt`` ("JPEG", "WEBP", "PNG"); JPEG/WebP drop alpha."""
    out = io.BytesIO()
    im = img.convert("RGB") if fmt in ("JPEG", "WEBP") else img
    im.save(out, fmt, **params)
    return out.getvalue()


def reencode(img: Image.Image, fmt: str, quality: int) -> Image.Image:
    """``img`` after a lossy round trip through ``fmt`` at ``quality``, decoded as RGB."""
    return Image.open(io.BytesIO(encode(img, fmt, quality=quality))).convert("RGB")


def long_side(img: Image.Image, side: int, *, upscale: bool = True) -> Image.Image:
    """Resize (Lanczos) so the long side is ``side``; with ``upscale=False`` never enlarge."""
    if not upscale and max(img.size) <= side:
        return img
    k = side / max(img.size)
    return img.resize((round(img.width * k), round(img.height * k)), Image.Resampling.LANCZOS)


def rescale(img: Image.Image, k: float) -> Image.Image:
    """Scale by ``k`` (bicubic), like a screenshot at another zoom."""
    return img.resize((round(img.width * k), round(img.height * k)), Image.Resampling.BICUBIC)


def crop_border(img: Image.Image, frac: float) -> Image.Image:
    """Cut ``frac`` of the width and height away, half on each side."""
    dx, dy = round(img.width * frac / 2), round(img.height * frac / 2)
    return img.crop((dx, dy, img.width - dx, img.height - dy))


def brightness(img: Image.Image, k: float) -> Image.Image:
    """Brightness times ``k`` (1.1 = +10 %)."""
    return ImageEnhance.Brightness(img).enhance(k)


# --- reference manifests and attacker moves (tests, benchmarks, demo) ---------------------------


def baseline_manifest(title: str, mime: str, *assertions: dict[str, Any]) -> dict[str, Any]:
    """A minimal AI-generation manifest (``c2pa.created``, trainedAlgorithmicMedia).

    What c2pa-python's default ``Builder.sign`` is given when benchmarks and tests compare
    our signing with the library's plain path; ``assertions`` are appended.
    """
    from myself_i2i._internal.c2pa_backend import TRAINED_ALGORITHMIC_MEDIA

    created = {"action": "c2pa.created", "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA}
    return {
        "claim_generator_info": [{"name": "baseline", "version": "1"}],
        "title": title,
        "format": mime,
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": [created]}},
            *assertions,
        ],
    }


def tampered_copy(signed: Path, out: Path) -> Path:
    """``signed`` (a PNG) with one pixel changed and its original manifest put back."""
    from myself_i2i._internal.containers import manifest_store_bytes, with_manifest_store

    store = manifest_store_bytes(signed.read_bytes())
    if store is None:
        raise ValueError(f"{signed} carries no manifest")
    with Image.open(signed) as im:
        px = im.convert("RGB")
    px.putpixel((10, 10), (255, 0, 0) if px.getpixel((10, 10)) != (255, 0, 0) else (0, 0, 0))
    out.write_bytes(with_manifest_store(encode(px, "PNG"), store))
    return out
