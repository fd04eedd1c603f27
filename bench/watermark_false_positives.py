"""False-positive rate of the locator watermark on unmarked pictures.

Decodes N (default 2,000) unmarked synthetic pictures of varied size, style and encoding
and counts how many give a locator. Anything but 0 is a bug.

    .venv/bin/python bench/watermark_false_positives.py [--n 2000] [--seed 0]
"""

from __future__ import annotations

import argparse
import io
import time

import numpy as np
from PIL import Image

from myself_i2i.softbinding import watermark as wm
from myself_i2i.testing import illustration, photo_like


def _picture(k: int, rng: np.random.Generator) -> Image.Image:
    w, h = (int(v) for v in rng.integers(64, 1600, size=2))
    img = photo_like(w, h, seed=k) if k % 4 == 3 else illustration(w, h, seed=k)
    enc = int(rng.integers(0, 4))
    if enc == 1:  # platform-like JPEG
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=int(rng.integers(60, 95)))
        img = Image.open(io.BytesIO(buf.getvalue()))
    elif enc == 2:
        img = img.convert("RGBA")
    elif enc == 3:
        img = img.convert("L") if k % 2 else img.convert("P")
    return img


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    false = 0
    t0 = time.perf_counter()
    for k in range(args.n):
        img = _picture(args.seed * 1_000_000 + k, rng)
        got = wm.decode(img)
        if got is not None:
            false += 1
            print(f"FALSE DECODE: picture {k} {img.size} {img.mode} -> {got.hex()}")
    dt = time.perf_counter() - t0
    print(
        f"unmarked pictures: {args.n}, false decodes: {false}, gains tried per picture: "
        f"{len(wm.DEFAULT_PARAMS.gains)}, {dt:.0f} s"
    )


if __name__ == "__main__":
    main()
