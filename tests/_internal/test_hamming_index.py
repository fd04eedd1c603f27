"""Multi-index hashing must return exactly what a brute-force scan returns."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from myself_i2i._internal.hamming_index import (
    HammingIndex,
    segment_widths,
    split,
    to_signed,
    to_unsigned,
)


def _conn(tmp_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(tmp_path / "idx.sqlite", isolation_level=None)


def _flip(h: int, k: int, rng: random.Random) -> int:
    for b in rng.sample(range(64), k):
        h ^= 1 << b
    return h


def _brute(items: dict[int, int], q: int, r: int) -> list[tuple[int, int]]:
    hits = [(i, (h ^ q).bit_count()) for i, h in items.items() if (h ^ q).bit_count() <= r]
    return sorted(hits, key=lambda t: (t[1], t[0]))


def test_signed_roundtrip_and_segments() -> None:
    for h in (0, 1, (1 << 63) - 1, 1 << 63, (1 << 64) - 1):
        s = to_signed(h)
        assert -(1 << 63) <= s < 1 << 63
        assert to_unsigned(s) == h
    assert segment_widths(4) == (16, 16, 16, 16)
    assert segment_widths(3) == (22, 21, 21)
    assert sum(segment_widths(5)) == 64
    assert split(0xFFFF_0000_1234_8001, (16, 16, 16, 16)) == (0xFFFF, 0, 0x1234, 0x8001)


@pytest.mark.parametrize("segments", [3, 4, 8])
def test_search_equals_brute_force(tmp_path: Path, segments: int) -> None:
    rng = random.Random(segments)
    conn = _conn(tmp_path)
    idx = HammingIndex(conn, "ph", segments=segments)
    items: dict[int, int] = {}
    # random hashes, extreme values, and clusters at exact distances 0..16 from centres
    for i in range(3000):
        items[i] = rng.getrandbits(64)
    items[3000], items[3001], items[3002] = 0, (1 << 64) - 1, 1 << 63
    nid = 4000
    centres = [rng.getrandbits(64) for _ in range(10)]
    for c in centres:
        for k in range(17):
            items[nid] = _flip(c, k, rng)
            nid += 1
    with conn:  # one transaction, not one per row
        conn.execute("BEGIN")
        idx.add_many(list(items.items()))
    assert idx.count() == len(items)
    queries = [*centres, 0, (1 << 64) - 1, *(rng.getrandbits(64) for _ in range(10))]
    for q in queries:
        everything = _brute(items, q, 64)
        for r in (0, 1, 2, 3, 4, 5, 7, 8, 9, 11, 12, 13, 16):
            got = idx.search(q, r, limit=0)
            assert got == [t for t in everything if t[1] <= r], (q, r)
    # limit keeps the nearest
    got = idx.search(centres[0], 16, limit=5)
    assert got == _brute(items, centres[0], 16)[:5]
    conn.close()


def test_add_remove_replace_persist(tmp_path: Path) -> None:
    conn = _conn(tmp_path)
    idx = HammingIndex(conn, "ph")
    idx.add(1, 0xFFFF_FFFF_FFFF_FFFF)
    idx.add(2, 0xFFFF_FFFF_FFFF_FFFE)
    assert idx.search(0xFFFF_FFFF_FFFF_FFFF, 1) == [(1, 0), (2, 1)]
    idx.remove(1)
    assert idx.search(0xFFFF_FFFF_FFFF_FFFF, 1) == [(2, 1)]
    idx.add(2, 0x1234)  # replace
    assert idx.get(2) == 0x1234
    assert idx.search(0xFFFF_FFFF_FFFF_FFFF, 8) == []
    idx.remove(99)  # absent: no error
    conn.close()
    conn = _conn(tmp_path)
    again = HammingIndex(conn, "ph", segments=8)  # existing table keeps its 4 segments
    assert again.m == 4
    assert again.search(0x1235, 1) == [(2, 1)]
    conn.close()


def test_large_radius_falls_back_to_scan(tmp_path: Path) -> None:
    rng = random.Random(5)
    conn = _conn(tmp_path)
    idx = HammingIndex(conn, "ph")
    items = {i: rng.getrandbits(64) for i in range(500)}
    with conn:
        conn.execute("BEGIN")
        idx.add_many(items.items())
    for r in (20, 32, 64, 100):
        assert idx.search(0, r, limit=0) == _brute(items, 0, min(r, 64))
    assert idx.search(0, -1) == []
    conn.close()


def test_bad_names(tmp_path: Path) -> None:
    conn = _conn(tmp_path)
    with pytest.raises(ValueError):
        HammingIndex(conn, "x; DROP TABLE y")
    with pytest.raises(ValueError):
        HammingIndex(conn, "ok", segments=1)
    conn.execute("CREATE TABLE other (a, b)")
    with pytest.raises(ValueError):
        HammingIndex(conn, "other")
    conn.close()


def test_index_is_used_not_a_scan(tmp_path: Path) -> None:
    conn = _conn(tmp_path)
    idx = HammingIndex(conn, "ph")
    idx.add(1, 42)
    plan = conn.execute(
        "EXPLAIN QUERY PLAN SELECT id, h FROM ph INDEXED BY ph_s0 WHERE s0 IN (1,2,3)"
    ).fetchall()
    text = " ".join(str(r[-1]) for r in plan)
    assert "USING COVERING INDEX ph_s0" in text
    conn.close()


def test_bulk_load_rebuilds_indexes(tmp_path: Path) -> None:
    rng = random.Random(9)
    conn = _conn(tmp_path)
    idx = HammingIndex(conn, "ph")
    items = {i: rng.getrandbits(64) for i in range(60_000)}  # over the bulk threshold
    conn.execute("BEGIN")
    idx.add_many(items.items())
    conn.execute("COMMIT")
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"ph_s0", "ph_s1", "ph_s2", "ph_s3"} <= names
    for q in list(items.values())[:20]:
        assert idx.search(q ^ 0b1011, 6, limit=0) == _brute(items, q ^ 0b1011, 6)
    conn.close()
