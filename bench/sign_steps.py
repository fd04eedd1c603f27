"""Benchmark: CPU time of each step of signing one picture with the watermark.

    .venv/bin/python bench/sign_steps.py [--count 8] [--side 1024]

The steps :func:`myself_i2i.sign.sign_image` runs on the pixels, timed one by one on
``--count`` noisy (photo-like) pictures per format, each twice, in one thread; medians in
CPU ms. The rest of a signature (checks, c2pa, the local repository) is what
``bench/sign_verify.py`` measures as a whole.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from pathlib import Path

from PIL import Image

from myself_i2i._internal.malloc import keep_big_buffers
from myself_i2i._internal.pngdeflate import save_png
from myself_i2i.images import perceptual_hash, thumbnail_jpeg
from myself_i2i.softbinding import new_locator
from myself_i2i.softbinding.watermark import embed
from myself_i2i.testing import photo_like, save

STEPS = ("decode", "watermark embed", "re-encode", "fingerprint + thumbnail")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=8)
    ap.add_argument("--side", type=int, default=1024)
    args = ap.parse_args(argv)
    keep_big_buffers()  # as `myself-i2i sign` does
    print(f"| step (CPU ms, {args.side}² noisy, median) | PNG | JPEG |")
    print("|---|---|---|")
    cols: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for fmt, suffix in (("PNG", ".png"), ("JPEG", ".jpg")):
            times: dict[str, list[float]] = {s: [] for s in STEPS}
            files = [
                save(photo_like(args.side, args.side, seed=i), Path(tmp) / f"p{i}{suffix}")
                for i in range(args.count)
            ]
            for f in files * 2:
                data = f.read_bytes()
                t = time.process_time()
                img = Image.open(io.BytesIO(data))
                img.load()
                times["decode"].append(time.process_time() - t)
                t = time.process_time()
                marked = embed(img, new_locator())
                times["watermark embed"].append(time.process_time() - t)
                t = time.process_time()
                out = io.BytesIO()
                if fmt == "PNG":
                    save_png(marked, out)
                else:
                    marked.save(out, "JPEG", quality=95)  # as sign does
                times["re-encode"].append(time.process_time() - t)
                t = time.process_time()
                perceptual_hash(marked)
                thumbnail_jpeg(marked)
                times["fingerprint + thumbnail"].append(time.process_time() - t)
            cols[fmt] = {s: statistics.median(v) * 1000 for s, v in times.items()}
    for s in STEPS:
        print(f"| {s} | {cols['PNG'][s]:.1f} | {cols['JPEG'][s]:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
