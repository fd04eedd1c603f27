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
    args = ap.parse_args()
    print(f"registry benchmark: cpus={os.cpu_count()} sqlite {sqlite3.sqlite_version}")
    with tempfile.TemporaryDirectory(prefix="registry-bench-") as t:
        tmp = Path(t)
        if not args.skip_add:
            bench_add(tmp, args.n, args.edge, args.pool, args.workers)
        bench_lookup(tmp, args.lookup_n, args.queries, args.seed)


if __name__ == "__main__":
    main()
