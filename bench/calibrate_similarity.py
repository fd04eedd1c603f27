"""Calibrate and check the thresholds of myself_i2i.evidence.structural_similarity.

Builds a labelled set of picture pairs from synthetic originals (myself_i2i.testing):

* ``edit``: the same picture re-encoded as JPEG, resized, cropped ~5 %, re-coloured,
  turned grey, or a mix of these (should be "very similar");
* ``i2i-0.3`` / ``i2i-0.5`` / ``i2i-0.7``: simulated i2i outputs of increasing strength:
  re-colouring, blur, noise, a smooth local warp, partial repainting of random regions
  and a resize to a model-like size (should be at least "some similarity");
* ``unrelated``: two different originals, or an i2i output of a different original
  (should be "no meaningful similarity", and never "very similar").

Usage::

    .venv/bin/python bench/calibrate_similarity.py --seed 1 --n 120 --unrelated 600
    .venv/bin/python bench/calibrate_similarity.py --seed 2 --n 120 --unrelated 600 \
        --very 0.50 --some 0.30

Without ``--very`` / ``--some`` thresholds are picked on this seed's scores (the highest
unrelated score plus 0.20, rounded up to 0.05, for "very"; the 99.5th percentile of
unrelated scores plus 0.02, rounded up to 0.05, for "some"); with them, the given thresholds are checked.
Rates go to stdout; ``--out DIR`` also writes the raw scores as CSV (use bench/out/).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFilter
from scipy import ndimage

from myself_i2i import evidence
from myself_i2i.testing import illustration, photo_like, reencode

Rng = np.random.Generator


def make_original(rng: Rng, idx: int, seed: int) -> Image.Image:
    long_edge = int(rng.choice([384, 512, 640, 768, 1024]))
    aspect = float(rng.choice([1.0, 1.0, 0.75, 4 / 3, 0.5625, 16 / 9, 2 / 3]))
    if aspect >= 1:
        w, h = long_edge, max(64, round(long_edge / aspect))
    else:
        w, h = max(64, round(long_edge * aspect)), long_edge
    pic_seed = seed * 100_000 + idx
    if rng.random() < 0.25:
        return photo_like(w, h, pic_seed)
    return illustration(w, h, pic_seed)


def recolour(img: Image.Image, rng: Rng, strength: float) -> Image.Image:
    """Hue shift, saturation change and per-channel gamma (palette change)."""
    hsv = np.asarray(img.convert("HSV")).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(30, 225) * strength / 0.7) % 256
    hsv[..., 1] = np.clip(hsv[..., 1] * rng.uniform(0.6, 1.4), 0, 255)
    rgb = (
        np.asarray(Image.fromarray(hsv.astype(np.uint8), "HSV").convert("RGB"), np.float32) / 255.0
    )
    gam = rng.uniform(1 - 0.6 * strength, 1 + 0.8 * strength, 3).astype(np.float32)
    rgb = np.power(rgb, gam[None, None, :])
    return Image.fromarray((rgb * 255).clip(0, 255).astype(np.uint8), "RGB")


def warp(arr: NDArray[np.float32], rng: Rng, amp: float) -> NDArray[np.float32]:
    """Smooth random displacement field of amplitude ``amp`` (fraction of the short edge)."""
    h, w = arr.shape[:2]
    coarse = 5
    px = amp * min(h, w)
    fields = []
    for _ in range(2):
        knots = rng.normal(0, 1, (coarse, coarse)).astype(np.float32)
        f = ndimage.zoom(knots, (h / coarse, w / coarse), order=3)[:h, :w]
        fields.append(f * px / max(1e-6, float(np.abs(f).max())))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    coords = [yy + fields[0], xx + fields[1]]
    out = np.empty_like(arr)
    for c in range(arr.shape[2]):
        out[..., c] = ndimage.map_coordinates(arr[..., c], coords, order=1, mode="reflect")
    return out


def repaint(img: Image.Image, rng: Rng, strength: float, other: Image.Image) -> Image.Image:
    """Replace random elliptical regions (about 45 % of the area at 0.7) with other content."""
    w, h = img.size
    mask = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(mask)
    target = 0.65 * strength * w * h
    area = 0.0
    while area < target:
        rw = rng.uniform(0.08, 0.3) * w
        rh = rng.uniform(0.08, 0.3) * h
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        d.ellipse((cx - rw, cy - rh, cx + rw, cy + rh), fill=255)
        area += np.pi * rw * rh * 0.8
    mask = mask.filter(ImageFilter.GaussianBlur(max(2, min(w, h) // 100)))
    patch = other.resize((w, h)).filter(ImageFilter.GaussianBlur(rng.uniform(0, 3)))
    return Image.composite(patch, img, mask)


def jpeg(img: Image.Image, quality: int) -> Image.Image:
    return reencode(img, "JPEG", quality)


def simulate_i2i(img: Image.Image, rng: Rng, strength: float, other: Image.Image) -> Image.Image:
    """A stand-in for an i2i output at denoising ``strength`` (0.3, 0.5, 0.7)."""
    im = recolour(img, rng, strength) if rng.random() < 0.8 else img.convert("RGB")
    im = repaint(im, rng, strength, other)
    arr = np.asarray(im, np.float32)
    arr = warp(arr, rng, amp=0.035 * strength)
    sigma = strength * min(img.size) / 256
    arr = ndimage.gaussian_filter(arr, (sigma, sigma, 0))
    arr = arr + rng.normal(0, 25 * strength, arr.shape).astype(np.float32)
    out = Image.fromarray(arr.clip(0, 255).astype(np.uint8), "RGB")
    # re-render detail: a mode filter flattens textures like a diffusion model repaints them
    if strength >= 0.5:
        out = out.filter(ImageFilter.ModeFilter(3))
    # model-sized output (multiples of 64, about 1 Mpx), then re-encoded
    aspect = img.width / img.height
    tw = int(round(np.sqrt(1024 * 1024 * aspect) / 64) * 64)
    th = int(round(np.sqrt(1024 * 1024 / aspect) / 64) * 64)
    out = out.resize((max(64, tw), max(64, th)), Image.Resampling.BICUBIC)
    return jpeg(out, int(rng.integers(75, 95))) if rng.random() < 0.5 else out


def edit(img: Image.Image, rng: Rng) -> tuple[str, Image.Image]:
    kind = str(rng.choice(["jpeg", "resize", "crop5", "recolour", "grey", "mix"]))
    w, h = img.size
    if kind == "jpeg":
        return kind, jpeg(img, int(rng.integers(40, 90)))
    if kind == "resize":
        s = rng.uniform(0.25, 1.5)
        return kind, img.resize((max(32, round(w * s)), max(32, round(h * s))))
    if kind == "crop5":
        cut = rng.uniform(0.0, 0.05, 4)
        box = (round(cut[0] * w), round(cut[1] * h), round(w - cut[2] * w), round(h - cut[3] * h))
        return kind, img.crop(box)
    if kind == "recolour":
        return kind, recolour(img, rng, 0.7)
    if kind == "grey":
        return kind, img.convert("L")
    cut = rng.uniform(0.0, 0.04, 4)
    box = (round(cut[0] * w), round(cut[1] * h), round(w - cut[2] * w), round(h - cut[3] * h))
    im = recolour(img.crop(box), rng, 0.5).resize((max(32, w // 2), max(32, h // 2)))
    return kind, jpeg(im, 70)


def run(seed: int, n: int, n_unrelated: int) -> list[tuple[str, str, float, float]]:
    """(group, detail, score, seconds) for every pair."""
    rng = np.random.default_rng(seed)
    originals = [make_original(rng, i, seed) for i in range(n)]
    rows: list[tuple[str, str, float, float]] = []

    def compare(group: str, detail: str, a: Image.Image, b: Image.Image) -> None:
        t = time.perf_counter()
        score = evidence.structural_similarity(a, b).score
        rows.append((group, detail, score, time.perf_counter() - t))

    i2i_outputs: list[tuple[int, Image.Image]] = []
    for i, orig in enumerate(originals):
        other = originals[(i + 1 + int(rng.integers(0, n - 1))) % n]
        kind, ed = edit(orig, rng)
        compare("edit", kind, ed, orig)
        for strength in (0.3, 0.5, 0.7):
            out = simulate_i2i(orig, rng, strength, other)
            compare(f"i2i-{strength}", "", out, orig)
            if strength == 0.5:
                i2i_outputs.append((i, out))
        print(f"\r{i + 1}/{n} originals", end="", file=sys.stderr, flush=True)
    for k in range(n_unrelated):
        i = int(rng.integers(0, n))
        j = int(rng.integers(0, n - 1))
        j = j + 1 if j >= i else j
        if k % 3 == 2:
            src, out = i2i_outputs[i]
            compare("unrelated", "i2i-of-other", out, originals[j if j != src else (j + 1) % n])
        else:
            compare("unrelated", "other", originals[i], originals[j])
    print(file=sys.stderr)
    return rows


def pick_thresholds(rows: list[tuple[str, str, float, float]]) -> tuple[float, float]:
    unrel = np.array([r[2] for r in rows if r[0] == "unrelated"])
    very = float(np.ceil((unrel.max() + 0.20) * 20) / 20)
    some = float(np.ceil((np.quantile(unrel, 0.995) + 0.02) * 20) / 20)
    return very, min(some, very - 0.05)


def report(rows: list[tuple[str, str, float, float]], very: float, some: float) -> None:
    groups: dict[str, list[float]] = defaultdict(list)
    for g, _, s, _ in rows:
        groups[g].append(s)
    print(f"thresholds: very-similar >= {very:.2f}, some-similarity >= {some:.2f}")
    print(
        f"{'group':<12}{'n':>6}{'min':>7}{'p5':>7}{'median':>8}{'max':>7}{'>=very':>9}{'>=some':>9}"
    )
    for g in ("edit", "i2i-0.3", "i2i-0.5", "i2i-0.7", "unrelated"):
        sc = np.array(groups[g])
        print(
            f"{g:<12}{len(sc):>6}{sc.min():>7.3f}{np.quantile(sc, 0.05):>7.3f}"
            f"{np.median(sc):>8.3f}{sc.max():>7.3f}"
            f"{np.mean(sc >= very):>9.1%}{np.mean(sc >= some):>9.1%}"
        )
    edits: dict[str, list[float]] = defaultdict(list)
    for g, d, score, _ in rows:
        if g == "edit":
            edits[d].append(score)
    print(
        "edits by kind (min score, share >= very):",
        ", ".join(
            f"{k} {min(v):.2f} {np.mean(np.array(v) >= very):.0%}" for k, v in sorted(edits.items())
        ),
    )
    times = np.array([r[3] for r in rows])
    print(
        f"time per comparison: median {np.median(times) * 1000:.0f} ms, "
        f"max {times.max() * 1000:.0f} ms"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--n", type=int, default=120, help="number of originals")
    ap.add_argument("--unrelated", type=int, default=600, help="number of unrelated pairs")
    ap.add_argument("--very", type=float, default=None, help="check this very-similar threshold")
    ap.add_argument("--some", type=float, default=None, help="check this some-similarity one")
    ap.add_argument("--out", type=Path, default=None, help="write scores.csv here")
    args = ap.parse_args()
    rows = run(args.seed, args.n, args.unrelated)
    if args.very is None or args.some is None:
        very, some = pick_thresholds(rows)
        print(f"picked on seed {args.seed}")
    else:
        very, some = args.very, args.some
        print(f"checked on seed {args.seed}")
    report(rows, very, some)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        with (args.out / f"scores-seed{args.seed}.csv").open("w", newline="") as fh:
            csv.writer(fh).writerows([("group", "detail", "score", "seconds"), *rows])


if __name__ == "__main__":
    main()
