"""Benchmark of the source registry: registering a folder, re-running it, and lookups.

    .venv/bin/python bench/registry_bench.py             # 1,000 images (a few minutes)
    .venv/bin/python bench/registry_bench.py --n 10000   # the full run (about 10 minutes
                                                          # on 2 cores, ~1.3 GB of temp JPEGs)

1. Writes ``--n`` distinct 1024x1024 JPEG (q85) pictures to a temporary folder (not
   timed): a pool of synthetic illustrations, each copy made unique by a small patch.
2. Times ``SourceRegistry.add_paths`` on the folder (first run: every file hashed), then
   again (re-run: unchanged files skipped), and prints the ratio.
3. Fills a second registry with ``--lookup-n`` synthetic entries through the bulk path
   (``add_hashes_many``) and times ``lookup`` for exact hits, perceptual hits (pHash 1..4
   bits away, other file and pixel hashes) and misses, against a naive Python scan over
   all rows. Everything is written to a temporary directory that is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import ImageDraw

from myself_i2i import testing
from myself_i2i.images import ImageHashes, hamming_hex
from myself_i2i.models import Relation
from myself_i2i.registry import (
    DEFAULT_PHASH_THRESHOLD,
    MatchKind,
    SourceRegistry,
    aspect_close,
)


def _pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def _du(d: Path) -> int:
    total = 0
    for root, _, files in os.walk(d):
        for f in files:
            total += (Path(root) / f).stat().st_size
    return total


def generate(folder: Path, n: int, edge: int, pool: int) -> None:
    bases = [testing.illustration(edge, edge, seed=s) for s in range(min(pool, n))]
    for i in range(n):
        img = bases[i % len(bases)].copy()
        d = ImageDraw.Draw(img)
        rng = random.Random(i)
        x, y = rng.randrange(0, edge - 64), rng.randrange(0, edge - 64)
        d.rectangle((x, y, x + 48, y + 48), fill=(i % 256, (i // 256) % 256, rng.randrange(256)))
        sub = folder / f"{i // 1000:02d}"
        testing.save(img, sub / f"img{i:05d}.jpg", quality=85)


def bench_add(tmp: Path, n: int, edge: int, pool: int, workers: int | None) -> None:
    folder = tmp / "pictures"
    t0 = time.perf_counter()
    generate(folder, n, edge, pool)
    gen = time.perf_counter() - t0
    print(
        f"generated {n:,} {edge}x{edge} JPEGs in {gen:.0f} s (not timed below), "
        f"{_du(folder) / 1e6:.0f} MB"
    )
    with SourceRegistry.open(tmp / "reg-add.sqlite") as reg:
        t0 = time.perf_counter()
        res = reg.add_paths([folder], Relation.OWN_DRAWING, workers=workers)
        first = time.perf_counter() - t0
        assert res.added == n and not res.failed, res
        t0 = time.perf_counter()
        res2 = reg.add_paths([folder], Relation.OWN_DRAWING, workers=workers)
        rerun = time.perf_counter() - t0
        assert res2.skipped_unchanged == n, res2
        # one end-to-end check of a registered file (hashing dominates)
        one = next(iter(sorted(folder.rglob("*.jpg"))))
        t0 = time.perf_counter()
        _, m = reg.check_file(one)
        check = time.perf_counter() - t0
        assert m is not None and m.kind is MatchKind.EXACT
    print(
        f"add_paths, first run : {first:8.1f} s  {first / n * 1e3:7.2f} ms/image "
        f"(workers={workers or 'auto'})"
    )
    print(
        f"add_paths, re-run    : {rerun:8.2f} s  {rerun / n * 1e3:7.3f} ms/image  "
        f"-> {first / rerun:.0f}x faster (all {n:,} skipped unchanged)"
    )
    print(f"check_file of one {edge}x{edge} JPEG (hash + lookup): {check * 1e3:.0f} ms")


def _random_hashes(rng: random.Random, phash: int | None = None) -> ImageHashes:
    return ImageHashes(
        sha256=secrets.token_hex(32),
        pixel_sha256=secrets.token_hex(32),
        phash=f"{phash if phash is not None else rng.getrandbits(64):016x}",
        width=1024,
        height=1024,
    )


def bench_lookup(tmp: Path, n: int, queries: int, seed: int) -> None:
    rng = random.Random(seed)
    entries = [_random_hashes(rng) for _ in range(n)]
    with SourceRegistry.open(tmp / "reg-lookup.sqlite") as reg:
        t0 = time.perf_counter()
        reg.add_hashes_many(
            [(h, Relation.OWN_GENERATION, None, f"/x/{i}.png") for i, h in enumerate(entries)]
        )
        fill = time.perf_counter() - t0
        print(f"\nlookup registry: {n:,} entries, bulk fill (add_hashes_many) {fill:.1f} s")

        def naive(h: ImageHashes, rows: list[tuple[str, str, str, int, int]]) -> object:
            # one pass: exact > same pixels > nearest perceptual within the threshold
            pixels = best = None
            for sha, pix, ph, w, hh in rows:
                if sha == h.sha256:
                    return ("exact", sha)
                if pixels is None and pix == h.pixel_sha256:
                    pixels = ("pixels", sha)
                d = hamming_hex(ph, h.phash)
                if (
                    d <= DEFAULT_PHASH_THRESHOLD
                    and aspect_close(w, hh, h.width, h.height)
                    and (best is None or d < best[0])
                ):
                    best = (d, sha)
            return pixels or best

        conn = sqlite3.connect(tmp / "reg-lookup.sqlite")
        naive_times = []
        for _ in range(3):
            q = _random_hashes(rng)
            t0 = time.perf_counter()
            rows = conn.execute(
                "SELECT sha256, pixel_sha256, phash, width, height FROM sources"
            ).fetchall()
            naive(q, rows)
            naive_times.append(time.perf_counter() - t0)
        conn.close()
        naive_t = statistics.median(naive_times)

        def flipped(h: ImageHashes) -> ImageHashes:
            v = int(h.phash, 16)
            for b in rng.sample(range(64), rng.randrange(1, 5)):
                v ^= 1 << b
            return _random_hashes(rng, v)

        cases: dict[str, tuple[Callable[[], ImageHashes], MatchKind | None]] = {
            "exact hit": (lambda: rng.choice(entries), MatchKind.EXACT),
            "perceptual hit": (lambda: flipped(rng.choice(entries)), MatchKind.PERCEPTUAL),
            "miss": (lambda: _random_hashes(rng), None),
        }
        print(f"naive Python scan (SELECT all + loop, median of 3): {naive_t * 1e3:.0f} ms/lookup")
        header = f"{'case':>15} {'p50 ms':>8} {'p99 ms':>8} {'vs naive (p50)':>15}"
        print(header)
        print("-" * len(header))
        for name, (make, kind) in cases.items():
            times = []
            for _ in range(queries):
                q = make()
                t0 = time.perf_counter()
                m = reg.lookup(q)
                times.append(time.perf_counter() - t0)
                assert (m.kind if m else None) == kind, (name, m)
            p50, p99 = _pct(times, 50), _pct(times, 99)
            print(f"{name:>15} {p50 * 1e3:>8.3f} {p99 * 1e3:>8.3f} {naive_t / p50:>14.0f}x")
    size = sum(p.stat().st_size for p in tmp.glob("reg-lookup.sqlite*"))
    print(f"lookup registry on disk after close: {size / 1e6:.1f} MB ({size / n:.0f} bytes/entry)")


def measure_threshold(pictures: int, distinct: int) -> None:
    """pHash distances of re-saved copies vs distinct pictures (justifies the threshold)."""
    import io
    import itertools

    from PIL import Image

    from myself_i2i.images import perceptual_hash

    def resave(img: Image.Image, fmt: str, **kw: object) -> Image.Image:
        b = io.BytesIO()
        img.convert("RGB").save(b, fmt, **kw)
        b.seek(0)
        return Image.open(b)

    def half(img: Image.Image, how: Image.Resampling, f: int = 2) -> Image.Image:
        return img.resize((img.width // f, img.height // f), how)

    n_ill = pictures * 4 // 7
    n_photo = pictures * 2 // 7
    imgs = [testing.illustration(768, 768, seed=s) for s in range(n_ill)]
    imgs += [testing.photo_like(768, 768, seed=s) for s in range(n_photo)]
    imgs += [testing.illustration(1024, 576, seed=100 + s) for s in range(pictures - len(imgs))]
    variants: dict[str, Callable[[Image.Image], Image.Image]] = {
        "JPEG q95": lambda im: resave(im, "JPEG", quality=95),
        "JPEG q85": lambda im: resave(im, "JPEG", quality=85),
        "JPEG q75": lambda im: resave(im, "JPEG", quality=75),
        "JPEG q50": lambda im: resave(im, "JPEG", quality=50),
        "WebP q80": lambda im: resave(im, "WEBP", quality=80),
        "50% Lanczos": lambda im: half(im, Image.Resampling.LANCZOS),
        "50% bilinear": lambda im: half(im, Image.Resampling.BILINEAR),
        "25% + JPEG q75": lambda im: resave(
            half(im, Image.Resampling.LANCZOS, 4), "JPEG", quality=75
        ),
        "crop 2.5% each side (not a copy)": lambda im: im.crop(
            (
                im.width // 40,
                im.height // 40,
                im.width - im.width // 40,
                im.height - im.height // 40,
            )
        ),
    }
    print(
        f"pHash distance of copies ({len(imgs)} pictures: {n_ill} illustrations 768x768, "
        f"{n_photo} photo-like 768x768, {len(imgs) - n_ill - n_photo} illustrations 1024x576)"
    )
    hs = [perceptual_hash(im) for im in imgs]
    for name, fn in variants.items():
        ds = [hamming_hex(h, perceptual_hash(fn(im))) for h, im in zip(hs, imgs, strict=True)]
        print(f"  {name:34s} max {max(ds):2d}  mean {statistics.mean(ds):.2f}")
    pool = [
        int(perceptual_hash(testing.illustration(256, 256, seed=1000 + s)), 16)
        for s in range(distinct * 3 // 4)
    ]
    pool += [
        int(perceptual_hash(testing.photo_like(256, 256, seed=1000 + s)), 16)
        for s in range(distinct - len(pool))
    ]
    dd = [(a ^ b).bit_count() for a, b in itertools.combinations(pool, 2)]
    print(
        f"pHash distance of distinct pictures ({len(pool)} pictures, {len(dd):,} pairs): "
        f"min {min(dd)}, <=6: {sum(d <= 6 for d in dd)}, <=8: {sum(d <= 8 for d in dd)}, "
        f"<=10: {sum(d <= 10 for d in dd)}, <=12: {sum(d <= 12 for d in dd)}, "
        f"mean {statistics.mean(dd):.1f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=1000, help="images to register (default 1000)")
    ap.add_argument("--edge", type=int, default=1024, help="image edge in pixels")
    ap.add_argument("--pool", type=int, default=48, help="distinct base pictures to draw")
    ap.add_argument("--workers", type=int, default=None, help="hashing threads (default auto)")
    ap.add_argument("--lookup-n", type=int, default=100_000, help="entries for the lookup test")
    ap.add_argument("--queries", type=int, default=300, help="lookups per case")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-add", action="store_true", help="only the lookup benchmark")
    ap.add_argument(
        "--threshold", action="store_true", help="only measure pHash distances (threshold)"
    )
    args = ap.parse_args()
    if args.threshold:
        measure_threshold(70, 800)
        return
    print(f"registry benchmark: cpus={os.cpu_count()} sqlite {sqlite3.sqlite_version}")
    with tempfile.TemporaryDirectory(prefix="registry-bench-") as t:
        tmp = Path(t)
        if not args.skip_add:
            bench_add(tmp, args.n, args.edge, args.pool, args.workers)
        bench_lookup(tmp, args.lookup_n, args.queries, args.seed)


if __name__ == "__main__":
    main()
