"""Benchmark of the multi-index Hamming index against a full scan.

    .venv/bin/python bench/hamming_index_bench.py --n 1000000

Builds an index of ``--n`` random 64-bit hashes plus planted near-duplicates in a
temporary SQLite file (WAL, as the registry uses it), then times searches at radius 8
and 12 for hits (a planted hash with up to ``r`` bits flipped) and misses (fresh random
hashes), and compares with naive full scans:

* ``scan+numpy``: ``SELECT id, h`` of every row, distances with numpy (timed at full n);
* ``scan+udf``: a SQL scan with a Python ``popcount`` function in the WHERE clause
  (timed on ``--scan-sample`` rows and extrapolated to n).

Every MIH result is checked against the full scan. Prints to stdout; the temporary
directory is removed.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from myself_i2i._internal.hamming_index import HammingIndex, hamming_many, to_signed


def _pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def _flip(h: int, k: int, rng: random.Random) -> int:
    for b in rng.sample(range(64), k):
        h ^= 1 << b
    return h


def _dir_size(d: Path) -> int:
    return sum(p.stat().st_size for p in d.iterdir() if p.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=200_000, help="entries (default 200000)")
    ap.add_argument("--segments", type=int, default=4, help="MIH segments (default 4)")
    ap.add_argument("--queries", type=int, default=200, help="queries per case (default 200)")
    ap.add_argument("--planted", type=int, default=2000, help="planted near-duplicate groups")
    ap.add_argument("--scan-sample", type=int, default=100_000, help="rows for the UDF scan")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory(prefix="hamming-bench-") as tmp:
        db = Path(tmp) / "index.sqlite"
        conn = sqlite3.connect(db, isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        idx = HammingIndex(conn, "ph", segments=args.segments)

        # data: planted groups (a centre and copies 1..12 bits away), the rest random
        bases = [rng.getrandbits(64) for _ in range(args.planted)]
        items: list[tuple[int, int]] = []
        for b in bases:
            items.append((len(items) + 1, b))
            for k in (1, 2, 4, 6, 9, 12):
                items.append((len(items) + 1, _flip(b, k, rng)))
        while len(items) < args.n:
            items.append((len(items) + 1, rng.getrandbits(64)))
        items = items[: args.n]

        t0 = time.perf_counter()
        conn.execute("BEGIN")
        idx.add_many(items)
        conn.execute("COMMIT")
        build = time.perf_counter() - t0
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = _dir_size(Path(tmp))

        # incremental adds into the full index (the registry's normal path)
        extra = [(args.n + 1 + i, rng.getrandbits(64)) for i in range(2000)]
        t0 = time.perf_counter()
        conn.execute("BEGIN")
        for i, h in extra:
            idx.add(i, h)
        conn.execute("COMMIT")
        add_ms = (time.perf_counter() - t0) / len(extra) * 1e3
        conn.execute("BEGIN")
        for i, _ in extra:
            idx.remove(i)
        conn.execute("COMMIT")

        ids_all = np.array([i for i, _ in items], np.int64)
        hs_all = np.array([to_signed(h) for _, h in items], np.int64)

        print(
            f"Hamming index benchmark: n={args.n:,} segments={args.segments} "
            f"queries/case={args.queries} sqlite {sqlite3.sqlite_version}"
        )
        print(f"build (bulk add_many): {build:.1f} s  ({build / args.n * 1e6:.1f} us/entry)")
        print(f"incremental add into full index: {add_ms:.3f} ms/entry")
        print(f"disk: {size / 1e6:.1f} MB  ({size / args.n:.0f} bytes/entry)")

        # naive full scan, timed at full n
        scan_times = []
        for _ in range(3):
            q = rng.getrandbits(64)
            t0 = time.perf_counter()
            rows = conn.execute("SELECT id, h FROM ph").fetchall()
            ids = np.fromiter((r[0] for r in rows), np.int64, len(rows))
            hs = np.fromiter((r[1] for r in rows), np.int64, len(rows))
            d = hamming_many(hs, q)
            _ = ids[d <= 8]
            scan_times.append(time.perf_counter() - t0)
        scan_numpy = statistics.median(scan_times)

        # naive SQL scan with a popcount UDF, sampled and extrapolated
        conn.create_function(
            "hd", 2, lambda a, b: ((a ^ b) & 0xFFFFFFFFFFFFFFFF).bit_count(), deterministic=True
        )
        sample = min(args.scan_sample, args.n)
        q = to_signed(rng.getrandbits(64))
        t0 = time.perf_counter()
        conn.execute(
            "SELECT id FROM (SELECT id, h FROM ph LIMIT ?) WHERE hd(h, ?) <= 8", (sample, q)
        ).fetchall()
        scan_udf = (time.perf_counter() - t0) * args.n / sample

        print(f"naive scan+numpy (full n, median of 3): {scan_numpy * 1e3:.0f} ms/query")
        print(f"naive scan+udf (extrapolated from {sample:,} rows): {scan_udf * 1e3:.0f} ms/query")
        print()
        header = (
            f"{'radius':>6} {'case':>5} {'probes':>7} {'p50 ms':>8} {'p99 ms':>8} "
            f"{'mean hits':>9} {'vs scan+numpy (p50)':>20} {'vs scan+udf':>12}"
        )
        print(header)
        print("-" * len(header))
        checked = 0
        for radius in (8, 12):
            for case in ("hit", "miss"):
                times: list[float] = []
                nhits: list[int] = []
                for k in range(args.queries):
                    if case == "hit":
                        qh = _flip(rng.choice(bases), rng.randrange(0, radius + 1), rng)
                    else:
                        qh = rng.getrandbits(64)
                    t0 = time.perf_counter()
                    res = idx.search(qh, radius, limit=0)
                    times.append(time.perf_counter() - t0)
                    nhits.append(len(res))
                    if k < 5:  # exactness against the full scan
                        d = hamming_many(hs_all, qh)
                        sel = np.flatnonzero(d <= radius)
                        brute = sorted(
                            ((int(ids_all[j]), int(d[j])) for j in sel), key=lambda t: (t[1], t[0])
                        )
                        assert res == brute, (radius, case, qh)
                        checked += 1
                p50, p99 = _pct(times, 50), _pct(times, 99)
                print(
                    f"{radius:>6} {case:>5} {idx.probe_count(radius):>7} {p50 * 1e3:>8.2f} "
                    f"{p99 * 1e3:>8.2f} {statistics.mean(nhits):>9.2f} "
                    f"{scan_numpy / p50:>19.0f}x {scan_udf / p50:>11.0f}x"
                )
        print(f"\n{checked} searches checked equal to the full scan.")
        conn.close()


if __name__ == "__main__":
    main()
