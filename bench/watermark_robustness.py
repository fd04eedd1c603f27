"""Robustness and visibility of the locator watermark, per attack.

    .venv/bin/python bench/watermark_robustness.py [--d1 36] [--d2 0]

Embeds a random locator in illustration-like pictures (1216x832, 1024^2, 2048^2) and
photo-like ones, applies platform-like attacks and counts exact locator decodes. Also
prints PSNR and the largest pixel change.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np
from PIL import Image

from myself_i2i.softbinding import watermark as wm
from myself_i2i.testing import (
    brightness,
    crop_border,
    illustration,
    long_side,
    photo_like,
    reencode,
    rescale,
)

ATTACKS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "none": lambda i: i,
    "JPEG q85": lambda i: reencode(i, "JPEG", 85),
    "JPEG q75": lambda i: reencode(i, "JPEG", 75),
    "JPEG q60": lambda i: reencode(i, "JPEG", 60),
    "WebP q80": lambda i: reencode(i, "WEBP", 80),
    "long side 2048": lambda i: long_side(i, 2048),
    "long side 1024 + JPEG q85": lambda i: reencode(long_side(i, 1024), "JPEG", 85),
    "X-like 4096->2048 + JPEG q85": lambda i: reencode(long_side(i, 2048), "JPEG", 85),
    "brightness +10%": lambda i: brightness(i, 1.1),
    "brightness -10%": lambda i: brightness(i, 0.9),
    "rescale x0.9": lambda i: rescale(i, 0.9),
    "crop 10% (allowed to fail)": lambda i: crop_border(i, 0.10),
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
