"""Hamming-distance search over 64-bit perceptual hashes stored in SQLite.

Multi-index hashing (Norouzi, Punjani & Fleet, "Fast search in Hamming space with
multi-index hashing", CVPR 2012): each 64-bit hash is cut into ``m`` segments (default
4 x 16 bits), and every segment gets its own B-tree index ``(segment, hash)``. If two
hashes differ in at most ``r`` bits, then by the pigeonhole principle at least one segment
differs in at most ``r // m`` bits. A query therefore looks up, per segment, every value
within a small radius of the query's segment, gathers the candidates from the (covering)
indexes, and checks the exact distance with numpy. Nothing is a linear scan.

The refined pigeonhole bound is used: with ``r = q*m + a`` (``0 <= a < m``), a hash within
``r`` differs in at most ``q`` bits in one of the first ``a + 1`` segments, or in at most
``q - 1`` bits in one of the others (otherwise the segment distances would sum to more
than ``r``). This cuts the number of probes at radii that are multiples of ``m``.

SQLite INTEGER is signed 64-bit, so hashes are stored as two's-complement signed values;
segments are small non-negative integers.

The index never commits: it runs its statements on the connection it was given, inside
whatever transaction the caller has open, so it can share a transaction with the
caller's own tables.
"""

from __future__ import annotations

import itertools
import re
import sqlite3
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_MASK64 = (1 << 64) - 1
#: Above this many probed segment values, a full scan is cheaper than the indexes.
_MAX_PROBES = 40_000
#: Rows per executemany batch in :meth:`HammingIndex.add_many`.
_BATCH = 10_000
#: A batch at least this large (and at least as large as the table) is loaded with the
#: segment indexes dropped and rebuilt afterwards, which is several times faster.
_BULK_MIN = 50_000


def to_signed(h: int) -> int:
    """An unsigned 64-bit value as the signed integer SQLite stores."""
    h &= _MASK64
    return h - (1 << 64) if h >= 1 << 63 else h


def to_unsigned(h: int) -> int:
    """A signed 64-bit value read from SQLite back as unsigned."""
    return h & _MASK64


def segment_widths(m: int) -> tuple[int, ...]:
    """Bit widths of the ``m`` segments of a 64-bit hash, most significant first."""
    base, extra = divmod(64, m)
    return tuple(base + (1 if i < extra else 0) for i in range(m))


def split(h: int, widths: Sequence[int]) -> tuple[int, ...]:
    """The segment values of unsigned ``h``, most significant segment first."""
    out: list[int] = []
    shift = 64
    for w in widths:
        shift -= w
        out.append((h >> shift) & ((1 << w) - 1))
    return tuple(out)


@lru_cache(maxsize=64)
def _ball(width: int, radius: int) -> tuple[int, ...]:
    """All XOR masks of ``width`` bits with at most ``radius`` bits set."""
    masks = [0]
    for k in range(1, min(radius, width) + 1):
        for bits in itertools.combinations(range(width), k):
            v = 0
            for b in bits:
                v |= 1 << b
            masks.append(v)
    return tuple(masks)


def _popcount64(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """Bit count of every element (SWAR; works on numpy without ``bitwise_count``)."""
    import numpy as np

    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (x * np.uint64(0x0101010101010101)) >> np.uint64(56)


def hamming_many(hashes: npt.NDArray[np.int64], q: int) -> npt.NDArray[np.int64]:
    """Hamming distance of each signed 64-bit hash in ``hashes`` to unsigned ``q``."""
    import numpy as np

    x = hashes.view(np.uint64) ^ np.uint64(q & _MASK64)
    return _popcount64(x).astype(np.int64)


class HammingIndex:
    """A multi-index-hashing table of ``(item_id, hash64)`` in an SQLite database.

    Args:
        conn: an open connection; the index creates its table and indexes if missing.
        table: name of the table to use (letters, digits, underscore).
        segments: number of segments ``m`` (2..8) for a new table; an existing table
            keeps the number it was created with.
    """

    def __init__(self, conn: sqlite3.Connection, table: str, segments: int = 4) -> None:
        if not _NAME.match(table):
            raise ValueError(f"bad table name {table!r}")
        if not 2 <= segments <= 8:
            raise ValueError("segments must be between 2 and 8")
        self.conn = conn
        self.table = table
        cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
        if cols:
            seg_cols = [c for c in cols if re.fullmatch(r"s\d", str(c))]
            if cols[:2] != ["id", "h"] or not seg_cols:
                raise ValueError(f"table {table!r} exists and is not a Hamming index")
            segments = len(seg_cols)
        self.m = segments
        self.widths = segment_widths(segments)
        self._seg_cols = [f"s{i}" for i in range(segments)]
        if not cols:
            seg_defs = ", ".join(f"{c} INTEGER NOT NULL" for c in self._seg_cols)
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {table} "
                f"(id INTEGER PRIMARY KEY, h INTEGER NOT NULL, {seg_defs})"
            )
        self._create_indexes()
        placeholders = ", ".join("?" for _ in range(2 + segments))
        self._insert_sql = (
            f"INSERT OR REPLACE INTO {table} (id, h, {', '.join(self._seg_cols)}) "
            f"VALUES ({placeholders})"
        )

    # -- maintenance ---------------------------------------------------------------

    def _create_indexes(self) -> None:
        for c in self._seg_cols:
            # covering: the candidate check reads (segment, h, rowid) from the index alone
            self.conn.execute(
                f"CREATE INDEX IF NOT EXISTS {self.table}_{c} ON {self.table} ({c}, h)"
            )

    def _drop_indexes(self) -> None:
        for c in self._seg_cols:
            self.conn.execute(f"DROP INDEX IF EXISTS {self.table}_{c}")

    def _row(self, item_id: int, hash64: int) -> tuple[int, ...]:
        u = hash64 & _MASK64
        return (int(item_id), to_signed(u), *split(u, self.widths))

    def add(self, item_id: int, hash64: int) -> None:
        """Insert or replace ``item_id`` with the unsigned 64-bit ``hash64``."""
        self.conn.execute(self._insert_sql, self._row(item_id, hash64))

    def add_many(self, items: Iterable[tuple[int, int]]) -> int:
        """Insert or replace many ``(item_id, hash64)`` pairs; returns how many.

        A large batch into a small table is loaded with the segment indexes dropped and
        rebuilt at the end (inside the caller's transaction).
        """
        seq = items if isinstance(items, Sequence) else list(items)
        bulk = len(seq) >= _BULK_MIN and len(seq) >= self.count()
        if bulk:
            self._drop_indexes()
        n = 0
        for start in range(0, len(seq), _BATCH):
            rows = [self._row(i, h) for i, h in seq[start : start + _BATCH]]
            self.conn.executemany(self._insert_sql, rows)
            n += len(rows)
        if bulk:
            self._create_indexes()
        return n

    def remove(self, item_id: int) -> None:
        """Remove ``item_id`` (no error if it is not there)."""
        self.conn.execute(f"DELETE FROM {self.table} WHERE id = ?", (int(item_id),))

    def count(self) -> int:
        row = self.conn.execute(f"SELECT COUNT(*) FROM {self.table}").fetchone()
        return int(row[0])

    def get(self, item_id: int) -> int | None:
        """The unsigned hash stored for ``item_id``, or None."""
        row = self.conn.execute(
            f"SELECT h FROM {self.table} WHERE id = ?", (int(item_id),)
        ).fetchone()
        return None if row is None else to_unsigned(int(row[0]))

    # -- search --------------------------------------------------------------------

    def probe_plan(self, radius: int) -> list[tuple[int, int]]:
        """``(segment, segment_radius)`` pairs probed for ``radius`` (refined pigeonhole)."""
        q, a = divmod(max(0, radius), self.m)
        plan: list[tuple[int, int]] = []
        for i in range(self.m):
            sr = q if i <= a else q - 1
            if sr >= 0:
                plan.append((i, min(sr, self.widths[i])))
        return plan

    def probe_count(self, radius: int) -> int:
        """How many segment values a search at ``radius`` looks up."""
        return sum(len(_ball(self.widths[i], sr)) for i, sr in self.probe_plan(radius))

    def search(self, hash64: int, radius: int, limit: int = 20) -> list[tuple[int, int]]:
        """Items within ``radius`` bits of ``hash64``: ``(item_id, distance)``, nearest first.

        Ties are ordered by ``item_id``. ``limit <= 0`` means no limit.
        """
        q = hash64 & _MASK64
        radius = min(int(radius), 64)
        if radius < 0:
            return []
        if self.probe_count(radius) > _MAX_PROBES:
            ids, hs = self._scan()
        else:
            ids, hs = self._candidates(q, radius)
        if ids.size == 0:
            return []
        import numpy as np

        d = hamming_many(hs, q)
        keep = d <= radius
        ids, d = ids[keep], d[keep]
        order = np.lexsort((ids, d))
        if limit > 0:
            order = order[:limit]
        return [(int(ids[k]), int(d[k])) for k in order]

    def _candidates(
        self, q: int, radius: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        import numpy as np  # only searches need it; opening a repository does not

        qseg = split(q, self.widths)
        parts: list[str] = []
        for i, sr in self.probe_plan(radius):
            values = sorted({qseg[i] ^ mk for mk in _ball(self.widths[i], sr)})
            # the values are ints we computed, so inlining them is safe and avoids the
            # bound-variable limit
            inlist = ",".join(map(str, values))
            parts.append(
                f"SELECT id, h FROM {self.table} INDEXED BY {self.table}_s{i} "
                f"WHERE s{i} IN ({inlist})"
            )
        cur = self.conn.execute(" UNION ALL ".join(parts))
        arr = np.fromiter(itertools.chain.from_iterable(cur), np.int64).reshape(-1, 2)
        if arr.shape[0] == 0:
            empty = np.empty(0, np.int64)
            return empty, empty
        # an item found through several segments appears several times
        ids, first = np.unique(arr[:, 0], return_index=True)
        return ids, arr[first, 1]

    def _scan(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        import numpy as np

        cur = self.conn.execute(f"SELECT id, h FROM {self.table}")
        arr = np.fromiter(itertools.chain.from_iterable(cur), np.int64).reshape(-1, 2)
        return arr[:, 0].copy(), arr[:, 1].copy()
