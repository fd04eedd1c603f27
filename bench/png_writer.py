"""Benchmark: our PNG writer against Pillow's, in time and size, on the same pictures.

    .venv/bin/python bench/png_writer.py [--repeat 5] [FILE_OR_FOLDER ...]

Without arguments it uses generated pictures (a noisy photo-like 1024², an
illustration 1024² and 2048²). Give real generator outputs to measure what users sign,
e.g. the PNGs of a ComfyUI_examples checkout (``git clone
https://github.com/comfyanonymous/ComfyUI_examples``; docs/performance.md lists the ones
used).

Columns, per picture: Pillow at zlib level 6 (what A1111/Forge write; ComfyUI writes
level 4), the previous writer (Pillow's per-row filters written uncompressed, then
libdeflate level 6), and :func:`myself_i2i._internal.pngdeflate.save_png` with the
filter and level it chose. Times are CPU ms (median of ``--repeat``), in the same run.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from myself_i2i._internal import pngdeflate
from myself_i2i.testing import illustration, photo_like

FILTERS = ("None", "Sub", "Up", "Average", "Paeth")


def _cpu_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.process_time()
        fn()
        times.append((time.process_time() - t) * 1000)
    return statistics.median(times)


def _pictures(args: list[str]) -> list[tuple[str, Image.Image]]:
    if not args:
        return [
            ("noisy 1024² (generated)", photo_like(1024, 1024, seed=1)),
            ("illustration 1024² (generated)", illustration(1024, 1024, seed=1)),
            ("illustration 2048² (generated)", illustration(2048, 2048, seed=2)),
        ]
    files: list[Path] = []
    for a in args:
        p = Path(a)
        files.extend(sorted(p.rglob("*.png")) if p.is_dir() else [p])
    out: list[tuple[str, Image.Image]] = []
    for f in files:
        im = Image.open(f)
        im.load()
        if im.mode in ("RGB", "RGBA"):
            out.append((f"{f.name} {im.width}x{im.height} {im.mode}", im))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("paths", nargs="*", help="PNG files or folders (default: generated)")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    import deflate

    pictures = _pictures(args.paths)
    if not pictures:
        print("no RGB/RGBA PNG found", file=sys.stderr)
        return 1
    print("| picture | Pillow zlib 6: ms / KB | previous: ms / KB | ours: ms / KB | ours chose |")
    print("|---|---|---|---|---|")
    ratios_t, ratios_s = [], []
    for name, im in pictures:

        def pillow6(im: Image.Image = im) -> bytes:
            b = io.BytesIO()
            im.save(b, "PNG", compress_level=6)
            return b.getvalue()

        def previous(im: Image.Image = im) -> bytes:
            raw = io.BytesIO()
            im.save(raw, "PNG", compress_level=0)
            return pngdeflate.recompress(
                raw.getvalue(), lambda d: deflate.zlib_compress(d, pngdeflate.LEVEL_HIGH)
            )

        def ours(im: Image.Image = im) -> bytes:
            b = io.BytesIO()
            pngdeflate.save_png(im, b)
            return b.getvalue()

        arr = np.asarray(im)
        kind, level = pngdeflate._choose(
            arr.reshape(arr.shape[0], -1), arr.shape[2], deflate.zlib_compress
        )
        rows = []
        for fn in (pillow6, previous, ours):
            rows.append((_cpu_ms(fn, args.repeat), len(fn()) / 1024))
        ratios_t.append(rows[2][0] / rows[1][0])
        ratios_s.append(rows[2][1] / rows[0][1])
        cells = " | ".join(f"{ms:.0f} / {kb:.0f}" for ms, kb in rows)
        print(f"| {name} | {cells} | {FILTERS[kind]}, level {level} |")
    print(
        f"\nours / previous time: median {statistics.median(ratios_t):.2f}x; "
        f"ours / Pillow-6 size: median {statistics.median(ratios_s):.3f}x "
        f"(range {min(ratios_s):.3f}-{max(ratios_s):.3f})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
