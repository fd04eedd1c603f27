"""Repositories at platform scale: PostgreSQL at 1M and 10M manifests, SQLite folder at 1M.

    .venv/bin/python bench/pg_repository_bench.py [--sizes 1000000,10000000] [--sqlite 1000000]
        [--queries 400] [--adds 1000] [--out bench/out/pg_repository.json]

Starts its own PostgreSQL server in a temporary directory (server binaries from
``apt-get install postgresql``; default durability settings, ``shared_buffers=2GB``), and
for each size:

1. generates clustered, real-looking fingerprints: pHash bits are biased (each bit is set
   with its own probability 0.2-0.8), and manifests come in near-duplicate families (one
   base picture, about 8 variants each 0-12 bits away), so segment values are skewed and
   candidate lists longer than with uniform random hashes;
2. bulk-loads them with COPY (:meth:`PgRepository.copy_in`: 64-byte synthetic manifest
   blobs, segment indexes built after the load, VACUUM ANALYZE) and reports rows/s;
3. times ``--adds`` one-by-one :meth:`PgRepository.add` calls (the publish path: one
   transaction each) into the full table;
4. times fingerprint search at radius 8 (p50/p99) for hits (a stored fingerprint with 0-6
   bits flipped), family queries (a new variant of a stored family) and misses (fresh
   biased hashes), and locator look-ups (the manifest blob by locator).

The SQLite folder repository gets the same data at ``--sqlite`` entries in the same run
(bulk index, a 64-byte ``.c2pa`` file per entry).

With ``--serve-n N`` (after the sizes), it loads N manifests into a fresh database, starts
``myself-i2i repo serve --repo postgresql://… --workers 4`` on 127.0.0.1 and drives it for
``--serve-seconds`` at ``--concurrency`` 50 from one asyncio client: 60 % fingerprint
look-ups (``GET /matches/byBinding``, hits and misses), 20 % watermark look-ups, 20 %
``GET /manifests/{id}``; it reports requests/s, latency p50/p99 and every error (any
status other than 200/404, or a failed connection). Everything is deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from myself_i2i._internal.hamming_index import hamming_many
from myself_i2i._internal.pg_cluster import create_database, temporary_postgres
from myself_i2i.pg_repository import PgRepository
from myself_i2i.repository import LocalRepository, _locator_path

RADIUS = 8
CHUNK = 200_000


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


class Corpus:
    """Deterministic clustered fingerprints and locators, generated in chunks."""

    def __init__(self, n: int, seed: int = 1) -> None:
        self.n = n
        self.seed = seed
        rng = np.random.default_rng(seed)
        self.bias = rng.uniform(0.2, 0.8, 64)
        self.n_fam = max(1, n // 8)

    def _pack(self, bits: npt.NDArray[np.bool_]) -> npt.NDArray[np.uint64]:
        w = (np.uint64(1) << np.arange(63, -1, -1, dtype=np.uint64)).astype(np.uint64)
        out: npt.NDArray[np.uint64] = (bits.astype(np.uint64) * w).sum(axis=1, dtype=np.uint64)
        return out

    def fresh(self, rng: np.random.Generator, k: int) -> npt.NDArray[np.uint64]:
        return self._pack(rng.random((k, 64)) < self.bias)

    def flips(self, rng: np.random.Generator, k: int, max_bits: int) -> npt.NDArray[np.uint64]:
        nbits = rng.integers(0, max_bits + 1, k)
        return self._pack(rng.random((k, 64)) < (nbits / 64.0)[:, None])

    def chunks(self) -> Iterator[tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]]:
        """(locators as uint64, fingerprints) in chunks of CHUNK rows."""
        rng = np.random.default_rng((self.seed, 1))
        bases = np.random.default_rng((self.seed, 2))
        base_table = self._pack(bases.random((self.n_fam, 64)) < self.bias)
        self.base_table = base_table
        done = 0
        while done < self.n:
            k = min(CHUNK, self.n - done)
            fam = rng.integers(0, self.n_fam, k)
            fps = base_table[fam] ^ self.flips(rng, k, 12)
            locs = rng.integers(0, 2**63, k, dtype=np.int64).astype(np.uint64) | np.uint64(1)
            yield locs, fps
            done += k


def rows_of(corpus: Corpus, blob: bytes) -> Iterator[tuple[bytes, str, str, bytes]]:
    for locs, fps in corpus.chunks():
        for loc, fp in zip(locs.tolist(), fps.tolist(), strict=True):
            yield int(loc).to_bytes(8, "big"), f"{fp:016x}", "", blob


def timed(fn: Callable[[], object], n: int) -> list[float]:
    out: list[float] = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def queries(corpus: Corpus, sample_fps: npt.NDArray[np.uint64], q: int) -> dict[str, list[int]]:
    rng = np.random.default_rng((corpus.seed, 99))
    hits = sample_fps[rng.integers(0, sample_fps.size, q)] ^ corpus.flips(rng, q, 6)
    fam = rng.integers(0, corpus.n_fam, q)
    family = corpus.base_table[fam] ^ corpus.flips(rng, q, 6)
    misses = corpus.fresh(rng, q)
    return {
        "hit": [int(x) for x in hits.tolist()],
        "family": [int(x) for x in family.tolist()],
        "miss": [int(x) for x in misses.tolist()],
    }


def bench_search(
    search: Callable[[str], list[Any]], qs: dict[str, list[int]]
) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    found = 0
    for kind, values in qs.items():
        for v in values[:20]:  # warm-up
            search(f"{v:016x}")
        times: list[float] = []
        for v in values:
            t0 = time.perf_counter()
            res = search(f"{v:016x}")
            times.append((time.perf_counter() - t0) * 1000)
            found += bool(res)
        out[kind] = {
            "p50_ms": pct(times, 50),
            "p99_ms": pct(times, 99),
            "mean_ms": statistics.fmean(times),
        }
    return out


def candidates_per_query(corpus: Corpus, all_fps: npt.NDArray[np.uint64], qs: list[int]) -> float:
    """Mean number of stored fingerprints within RADIUS (the answer size, for context)."""
    signed = all_fps.view(np.int64)
    return statistics.fmean(int((hamming_many(signed, q) <= RADIUS).sum()) for q in qs[:50])


def bench_pg(base_url: str, n: int, args: argparse.Namespace, blob: bytes) -> dict[str, Any]:
    url = create_database(base_url, f"bench_{n}")
    corpus = Corpus(n, args.seed)
    res: dict[str, Any] = {"backend": "postgresql", "n": n}
    with PgRepository.open(url) as repo:
        t0 = time.perf_counter()
        loaded = repo.copy_in(rows_of(corpus, blob), analyze=True)
        dt_load = time.perf_counter() - t0
        res["copy_rows_per_s"] = loaded / dt_load
        res["copy_seconds"] = dt_load
        row = repo._conn.execute("SELECT pg_database_size(current_database())").fetchone()
        res["db_bytes"] = int(row[0]) if row else 0
        all_fps = np.concatenate([fps for _, fps in corpus.chunks()])
        locs = [int(x).to_bytes(8, "big") for x in next(corpus.chunks())[0][:2000].tolist()]
        qs = queries(corpus, all_fps, args.queries)
        res["answers_within_8_mean"] = {
            k: candidates_per_query(corpus, all_fps, v) for k, v in qs.items()
        }
        del all_fps
        rng = random.Random(args.seed)
        t0 = time.perf_counter()
        for _ in range(args.adds):
            repo.add(
                os.urandom(64),
                locator=rng.getrandbits(64).to_bytes(8, "big"),
                fingerprint=f"{rng.getrandbits(64):016x}",
            )
        res["add_per_s"] = args.adds / (time.perf_counter() - t0)
        res["search_r8"] = bench_search(lambda fp: repo.search(fp, RADIUS), qs)
        t = timed(lambda: repo.get(rng.choice(locs)), args.queries)
        res["locator_get"] = {"p50_ms": pct(t, 50), "p99_ms": pct(t, 99)}
    with PgRepository.open(f"{base_url}/postgres") as admin:
        admin._conn.execute(f"DROP DATABASE bench_{n}")
    return res


def bench_sqlite(tmp: Path, n: int, args: argparse.Namespace, blob: bytes) -> dict[str, Any]:
    corpus = Corpus(n, args.seed)
    res: dict[str, Any] = {"backend": "sqlite-folder", "n": n}
    root = tmp / "repo"
    with LocalRepository.open(root, create=True) as repo:
        made: set[str] = set()
        t0 = time.perf_counter()
        for chunk_locs, fps in corpus.chunks():
            lb = [int(x).to_bytes(8, "big") for x in chunk_locs.tolist()]
            repo.add_index_many(
                (loc, f"{fp:016x}", "0" * 64) for loc, fp in zip(lb, fps.tolist(), strict=True)
            )
            for loc in lb:
                p = _locator_path(root, loc)
                if p.parent.name not in made:
                    p.parent.mkdir(parents=True, exist_ok=True)
                    made.add(p.parent.name)
                p.write_bytes(blob)
        dt_load = time.perf_counter() - t0
        res["bulk_rows_per_s"] = n / dt_load
        res["bulk_seconds"] = dt_load
        all_fps = np.concatenate([fps for _, fps in corpus.chunks()])
        locs = [int(x).to_bytes(8, "big") for x in next(corpus.chunks())[0][:2000].tolist()]
        qs = queries(corpus, all_fps, args.queries)
        del all_fps
        rng = random.Random(args.seed)
        t0 = time.perf_counter()
        for _ in range(args.adds):
            repo.add(
                os.urandom(64),
                locator=rng.getrandbits(64).to_bytes(8, "big"),
                fingerprint=f"{rng.getrandbits(64):016x}",
            )
        res["add_per_s"] = args.adds / (time.perf_counter() - t0)
        res["search_r8"] = bench_search(lambda fp: repo.search(fp, RADIUS), qs)
        t = timed(lambda: repo.get(rng.choice(locs)), args.queries)
        res["locator_get"] = {"p50_ms": pct(t, 50), "p99_ms": pct(t, 99)}
    return res


def bench_serve(base_url: str, args: argparse.Namespace, blob: bytes) -> dict[str, Any]:
    import asyncio
    import base64
    import signal
    import socket
    import subprocess

    import httpx

    from myself_i2i.softbinding import FINGERPRINT_ALG
    from myself_i2i.softbinding.watermark import WATERMARK_ALG

    n = args.serve_n
    url = create_database(base_url, f"serve_{n}")
    corpus = Corpus(n, args.seed + 1)
    with PgRepository.open(url) as repo:
        repo.copy_in(rows_of(corpus, blob))
    all_fps = np.concatenate([fps for _, fps in corpus.chunks()])
    locs = [int(x).to_bytes(8, "big") for x in next(corpus.chunks())[0][:5000].tolist()]
    qs = queries(corpus, all_fps, 2000)
    del all_fps
    fps = qs["hit"] + qs["family"] + qs["miss"]
    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        port = int(sk.getsockname()[1])
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from myself_i2i.cli import main; main()",
            "repo",
            "serve",
            "--repo",
            url,
            "--port",
            str(port),
            "--workers",
            str(args.workers),
        ],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    res: dict[str, Any] = {"backend": "repo serve", "n": n, "workers": args.workers}
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/services/supportedAlgorithms", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("repo serve did not start")
            time.sleep(0.3)

        async def drive() -> dict[str, Any]:
            lat: dict[str, list[float]] = {"fingerprint": [], "watermark": [], "manifest": []}
            errors: list[str] = []
            stop = time.monotonic() + args.serve_seconds
            rng = random.Random(args.seed)
            limits = httpx.Limits(max_connections=args.concurrency)
            async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as c:

                async def one() -> None:
                    while time.monotonic() < stop:
                        x = rng.random()
                        if x < 0.6:
                            kind = "fingerprint"
                            v = base64.b64encode(rng.choice(fps).to_bytes(8, "big")).decode()
                            req = c.get(
                                "/matches/byBinding",
                                params={"alg": FINGERPRINT_ALG, "value": v, "radius": RADIUS},
                            )
                        elif x < 0.8:
                            kind = "watermark"
                            v = base64.b64encode(rng.choice(locs)).decode()
                            req = c.get(
                                "/matches/byBinding", params={"alg": WATERMARK_ALG, "value": v}
                            )
                        else:
                            kind = "manifest"
                            req = c.get(f"/manifests/{rng.choice(locs).hex()}")
                        t0 = time.perf_counter()
                        try:
                            r = await req
                            if r.status_code not in (200, 404):
                                errors.append(f"{kind} {r.status_code}")
                        except httpx.HTTPError as e:
                            errors.append(f"{kind} {type(e).__name__}")
                        lat[kind].append((time.perf_counter() - t0) * 1000)

                t0 = time.perf_counter()
                await asyncio.gather(*(one() for _ in range(args.concurrency)))
                wall = time.perf_counter() - t0
            total = sum(len(v) for v in lat.values())
            out: dict[str, Any] = {
                "concurrency": args.concurrency,
                "seconds": wall,
                "requests": total,
                "requests_per_s": total / wall,
                "errors": len(errors),
                "error_kinds": sorted(set(errors))[:10],
            }
            for k, v in lat.items():
                out[k] = {"n": len(v), "p50_ms": pct(v, 50), "p99_ms": pct(v, 99)}
            return out

        res.update(asyncio.run(drive()))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    with PgRepository.open(f"{base_url}/postgres") as admin:
        admin._conn.execute(f"DROP DATABASE serve_{n}")
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="1000000,10000000")
    ap.add_argument("--sqlite", type=int, default=1_000_000, help="0 to skip")
    ap.add_argument("--queries", type=int, default=400)
    ap.add_argument("--adds", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--serve-n", type=int, default=0, help="repo serve load test size")
    ap.add_argument("--serve-seconds", type=float, default=30.0)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--out", type=Path, default=Path("bench/out/pg_repository.json"))
    args = ap.parse_args()
    blob = bytes(range(64))
    results: list[dict[str, Any]] = []
    args.out.parent.mkdir(parents=True, exist_ok=True)

    def emit(r: dict[str, Any]) -> None:
        results.append(r)
        print(json.dumps(r), flush=True)
        args.out.write_text(json.dumps(results, indent=1))

    settings = {
        "shared_buffers": "2GB",
        "maintenance_work_mem": "1GB",
        "max_wal_size": "8GB",
        "max_connections": "300",
    }
    with tempfile.TemporaryDirectory(prefix="repo-bench-") as tmp:
        if args.sqlite:
            emit(bench_sqlite(Path(tmp), args.sqlite, args, blob))
        with temporary_postgres(settings) as base:
            for n in (int(x) for x in args.sizes.split(",") if x):
                emit(bench_pg(base, n, args, blob))
            if args.serve_n:
                emit(bench_serve(base, args, blob))
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
