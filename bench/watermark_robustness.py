"""Robustness and visibility of the locator watermark, per attack.

    .venv/bin/python bench/watermark_robustness.py [--d1 36] [--d2 0]

Embeds a random locator in illustration-like pictures (1216x832, 1024^2, 2048^2) and
photo-like ones, applies platform-like attacks and counts exact locator decodes. Also
prints PSNR and the largest pixel change.
"""

from __future__ import annotations

import argparse
import io
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageEnhance

from myself_i2i.softbinding import watermark as wm
from myself_i2i.testing import illustration, photo_like


def _jpeg(img: Image.Image, q: int) -> Image.Image:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=q)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def _webp(img: Image.Image, q: int) -> Image.Image:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "WEBP", quality=q)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def _long(img: Image.Image, n: int) -> Image.Image:
    s = n / max(img.size)
    return img.resize((round(img.width * s), round(img.height * s)), Image.Resampling.LANCZOS)


def _scale(img: Image.Image, f: float) -> Image.Image:
    return img.resize((round(img.width * f), round(img.height * f)), Image.Resampling.BICUBIC)


def _crop(img: Image.Image) -> Image.Image:
    w, h = img.size
    return img.crop((w // 20, h // 20, w - w // 20, h - h // 20))


ATTACKS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "none": lambda i: i,
    "JPEG q85": lambda i: _jpeg(i, 85),
    "JPEG q75": lambda i: _jpeg(i, 75),
    "JPEG q60": lambda i: _jpeg(i, 60),
    "WebP q80": lambda i: _webp(i, 80),
    "long side 2048": lambda i: _long(i, 2048),
    "long side 1024 + JPEG q85": lambda i: _jpeg(_long(i, 1024), 85),
    "X-like 4096->2048 + JPEG q85": lambda i: _jpeg(_long(i, 2048), 85),
    "brightness +10%": lambda i: ImageEnhance.Brightness(i).enhance(1.1),
    "brightness -10%": lambda i: ImageEnhance.Brightness(i).enhance(0.9),
    "rescale x0.9": lambda i: _scale(i, 0.9),
    "crop 10% (allowed to fail)": _crop,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--d1", type=float, default=wm.DEFAULT_PARAMS.d1)
    ap.add_argument("--d2", type=float, default=wm.DEFAULT_PARAMS.d2)
    args = ap.parse_args()
    params = wm.WatermarkParams(d1=args.d1, d2=args.d2)
    pictures = (
        [illustration(1216, 832, seed=s) for s in range(4)]
        + [illustration(1024, 1024, seed=10 + s) for s in range(3)]
        + [illustration(2048, 2048, seed=20 + s) for s in range(2)]
        + [illustration(4096, 2304, seed=30)]
        + [photo_like(1024, 1024, seed=1), photo_like(1216, 832, seed=2)]
    )
    ok = dict.fromkeys(ATTACKS, 0)
    psnrs, maxdiff = [], 0
    for img in pictures:
        loc = wm.new_locator()
        marked = wm.embed(img, loc, params)
        a = np.asarray(img, dtype=np.float64)
        b = np.asarray(marked, dtype=np.float64)
        psnrs.append(10 * np.log10(255.0**2 / np.mean((a - b) ** 2)))
        maxdiff = max(maxdiff, int(np.abs(a - b).max()))
        for name, attack in ATTACKS.items():
            ok[name] += wm.decode(attack(marked), params) == loc
    n = len(pictures)
    print(f"d1={params.d1} d2={params.d2} working size {params.working_size}, {n} pictures")
    print(f"PSNR min {min(psnrs):.2f} dB, mean {np.mean(psnrs):.2f} dB, max |diff| {maxdiff}")
    for name, count in ok.items():
        print(f"{name:30s} {count}/{n}")


if __name__ == "__main__":
    main()
