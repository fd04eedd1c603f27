"""How a manifest repository scales: a 1,000,000-entry LocalRepository.

    .venv/bin/python bench/repository_bench.py [--n 1000000] [--files] [--adds 2000]

1. Builds the index of ``--n`` entries (random 8-byte locators, random 64-bit
   fingerprints) through the bulk path :meth:`LocalRepository.add_index_many`; reports
   the build time and the size on disk.
2. With ``--files``, also writes one tiny ``by-locator/XX/<locator>.c2pa`` file per entry
   (what a static host serves) and reports time and disk use (real stores are 20-60 kB
   each; multiply accordingly).
3. Times ``--adds`` one-by-one :meth:`LocalRepository.add` calls into the full index (the
   path signing takes: one transaction, one file each).
4. Times fingerprint search at radius ``SEARCH_RADIUS`` (10) for hits (a stored
   fingerprint with 0-10 bits flipped) and misses (fresh random fingerprints), and
   locator look-ups (the index row, and the file with ``--files``); p50 / p99 over
   ``--queries`` each.
5. Times one naive full scan of each kind (all fingerprints through numpy; a locator
   comparison the index cannot use) and prints the ratios.

Uniform random fingerprints are the friendly case for multi-index hashing: real pHashes
cluster, so candidate lists are longer. Everything lives in a temporary directory.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from myself_i2i._internal.hamming_index import hamming_many, to_unsigned
from myself_i2i.repository import SEARCH_RADIUS, LocalRepository, _locator_path


def _pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def _du(d: Path) -> int:
    """Bytes allocated on disk under ``d`` (blocks, not apparent size)."""
    total = 0
    for dirpath, _, files in os.walk(d):
        for f in files:
            total += os.stat(os.path.join(dirpath, f)).st_blocks * 512
    return total


def _timed(fn: Callable[[], object], n: int) -> list[float]:
    out: list[float] = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000, help="entries (default 1000000)")
    ap.add_argument("--files", action="store_true", help="also write a tiny file per entry")
    ap.add_argument("--adds", type=int, default=2000, help="one-by-one adds to time")
    ap.add_argument("--queries", type=int, default=300, help="queries per case (default 300)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="repo-bench-") as tmp:
        run(args, rng, Path(tmp))


def run(args: argparse.Namespace, rng: random.Random, tmp: Path) -> None:
    root = tmp / "repo"
    n = args.n
    locs = [rng.getrandbits(64).to_bytes(8, "big") for _ in range(n)]
    fps = [rng.getrandbits(64) for _ in range(n)]
    rows: list[tuple[str, str]] = []

    # 1. Bulk index.
    repo = LocalRepository.open(root, create=True)
    t0 = time.perf_counter()

    def gen() -> Iterator[tuple[bytes, str, str]]:
        for loc, fp in zip(locs, fps, strict=True):
            yield loc, f"{fp:016x}", "0" * 64

    repo.add_index_many(gen())
    t_build = time.perf_counter() - t0
    repo.close()
    repo = LocalRepository.open(root)
    db_bytes = _du(root)
    rows.append(("bulk index build", f"{t_build:.1f} s ({n / t_build:,.0f} entries/s)"))
    rows.append(("index size on disk", f"{db_bytes / 2**20:.0f} MiB ({db_bytes / n:.0f} B/entry)"))
    print(f"built {n:,} in {t_build:.1f} s", file=sys.stderr)

    # 2. Tiny files.
    if args.files:
        t0 = time.perf_counter()
        made: set[Path] = set()
        for loc in locs:
            p = _locator_path(root, loc)
            if p.parent not in made:
                p.parent.mkdir(parents=True, exist_ok=True)
                made.add(p.parent)
            p.write_bytes(loc * 8)
        t_files = time.perf_counter() - t0
        files_bytes = _du(root / "by-locator")
        rows.append(
            (
                f"write {n:,} tiny .c2pa files",
                f"{t_files:.0f} s, {files_bytes / 2**20:.0f} MiB on disk "
                f"({files_bytes / n:.0f} B/file allocated)",
            )
        )
        print(f"files in {t_files:.0f} s", file=sys.stderr)

    # 3. One-by-one adds into the full index.
    if args.adds:
        add_times = []
        for _ in range(args.adds):
            loc = rng.getrandbits(64).to_bytes(8, "big")
            fp = f"{rng.getrandbits(64):016x}"
            t0 = time.perf_counter()
            repo.add(b"x" * 64, locator=loc, fingerprint=fp)
            add_times.append(time.perf_counter() - t0)
        rows.append(
            (
                f"add() one by one ({args.adds} into the full index)",
                f"p50 {_pct(add_times, 50) * 1e3:.2f} ms, p99 {_pct(add_times, 99) * 1e3:.2f} ms",
            )
        )

    # 4. Queries.
    q = args.queries
    hit_q = []
    for _ in range(q):
        i = rng.randrange(n)
        h = fps[i]
        for b in rng.sample(range(64), rng.randint(0, SEARCH_RADIUS)):
            h ^= 1 << b
        hit_q.append((f"{h:016x}", locs[i]))
    miss_q = [f"{rng.getrandbits(64):016x}" for _ in range(q)]
    loc_q = [locs[rng.randrange(n)] for _ in range(q)]
    it_hit, it_miss, it_loc = iter(hit_q), iter(miss_q), iter(loc_q)
    found = 0

    def search_hit() -> None:
        nonlocal found
        fp, loc = next(it_hit)
        found += any(c.locator == loc for c in repo.search(fp))

    conn = sqlite3.connect(root / "index.sqlite")
    t_hit = _timed(search_hit, q)
    t_miss = _timed(lambda: repo.search(next(it_miss)), q)
    t_loc = _timed(
        lambda: conn.execute(
            "SELECT id FROM manifests WHERE locator=?", (next(it_loc),)
        ).fetchone(),
        q,
    )
    it_loc = iter(loc_q)
    t_get = _timed(lambda: repo.get(next(it_loc)), q) if args.files else []

    # 5. Naive scans (once each).
    t0 = time.perf_counter()
    allh = np.array([r[0] for r in conn.execute("SELECT fingerprint FROM manifests")], np.int64)
    d = hamming_many(allh, to_unsigned(int(miss_q[0], 16)))
    _ = np.flatnonzero(d <= SEARCH_RADIUS)
    t_scan = time.perf_counter() - t0
    t0 = time.perf_counter()
    conn.execute(
        "SELECT id FROM manifests WHERE hex(locator)=?", (loc_q[0].hex().upper(),)
    ).fetchone()
    t_loc_scan = time.perf_counter() - t0
    conn.close()
    repo.close()

    print(f"\n### Manifest repository at {n:,} entries\n")
    print("| what | result |\n|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")
    print(f"| hits found (planted, 0-{SEARCH_RADIUS} bits flipped) | {found}/{q} |")
    print()
    print("| query | p50 ms | p99 ms | naive full scan ms | scan / p50 |")
    print("|---|---|---|---|---|")
    cases = [
        (f"fingerprint search r={SEARCH_RADIUS}, hit", t_hit, t_scan),
        (f"fingerprint search r={SEARCH_RADIUS}, miss", t_miss, t_scan),
        ("locator look-up (index row)", t_loc, t_loc_scan),
    ]
    if t_get:
        cases.append(("locator look-up (file read, `get`)", t_get, t_loc_scan))
    for name, ts, naive in cases:
        p50 = _pct(ts, 50)
        print(
            f"| {name} | {p50 * 1e3:.3f} | {_pct(ts, 99) * 1e3:.3f} | {naive * 1e3:.0f} "
            f"| {naive / p50:,.0f}x |"
        )
    print(f"\n(mean search {statistics.mean(t_hit + t_miss) * 1e3:.2f} ms)")


if __name__ == "__main__":
    main()
