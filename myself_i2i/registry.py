"""The registry of permitted sources: pictures the user may feed to i2i under the pledge.

The registry is one SQLite file (default ``home()/sources.sqlite``). For every registered
picture it keeps three hashes (file SHA-256, SHA-256 of the decoded pixels, 64-bit pHash),
its size, the user's relation to it (own drawing, own photo, own generation, permitted)
with optional evidence, where it was registered from, and when.

Matching a candidate source (:meth:`SourceRegistry.lookup`), best first:

1. ``exact``: the same file bytes (SHA-256).
2. ``same-pixels``: the same decoded pixels (PNG re-compressed, PNG to lossless WebP,
   metadata stripped).
3. ``perceptual``: the nearest registered picture whose pHash is within
   :data:`DEFAULT_PHASH_THRESHOLD` bits and whose aspect ratio is within
   :data:`ASPECT_TOLERANCE` (a re-saved JPEG, a downscaled copy). Found through a
   multi-index Hamming index, never a scan.

Re-adding a picture that is already registered (same SHA-256) never creates a second
entry. The newest statement about it wins: a different relation replaces the relation
and the evidence; the same relation with new evidence replaces the evidence; the same
relation without evidence keeps the stored evidence. The first registered path is kept.

Writes are batched (:data:`BATCH_FILES` files per transaction) in WAL mode, so the file is
never half-written; a database locked by another process beyond the busy timeout, or a
file that is not a registry database, becomes a :class:`~myself_i2i.errors.RegistryError`
and the file is left untouched.
"""

from __future__ import annotations

import contextlib
import enum
import os
import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType

from myself_i2i._internal.hamming_index import HammingIndex
from myself_i2i.errors import ConfigError, InputError, RegistryError
from myself_i2i.i18n import Text
from myself_i2i.images import SUFFIX_FORMATS, ImageHashes, hamming_hex, hash_image
from myself_i2i.models import Evidence, Relation
from myself_i2i.paths import ensure_home

#: Largest pHash Hamming distance (of 64 bits) at which a picture counts as a re-saved copy
#: of a registered one. Measured on the synthetic pictures of :mod:`myself_i2i.testing`
#: (see docs/registry.md): JPEG q95..q50, WebP q80 and 50 % / 25 % downscales stay within
#: 4 bits; the closest pair among 800 distinct pictures (319,600 pairs) is 10 bits apart.
DEFAULT_PHASH_THRESHOLD = 6
#: Largest relative difference of width/height ratios for a perceptual match.
ASPECT_TOLERANCE = 0.02
#: Files hashed and written per transaction in :meth:`SourceRegistry.add_paths`.
BATCH_FILES = 200
#: Seconds to wait for another process's write lock before giving up.
DEFAULT_BUSY_TIMEOUT = 5.0
#: Schema version written by this code; older versions are migrated on open.
SCHEMA_VERSION = 1
DB_NAME = "sources.sqlite"

_HEX = re.compile(r"^[0-9a-fA-F]+$")


class MatchKind(str, enum.Enum):
    """How a picture matched a registered source."""

    EXACT = "exact"  #: the same file bytes
    PIXELS = "same-pixels"  #: the same decoded pixels
    PERCEPTUAL = "perceptual"  #: a visually identical copy (re-saved, resized)


@dataclass(frozen=True)
class RegistryEntry:
    """One registered source picture."""

    id: int
    sha256: str
    pixel_sha256: str
    phash: str
    width: int
    height: int
    relation: Relation
    evidence: Evidence | None
    path: str  #: where it was first registered from
    added_at: str  #: ISO-8601 UTC

    def hashes(self) -> ImageHashes:
        return ImageHashes(
            sha256=self.sha256,
            pixel_sha256=self.pixel_sha256,
            phash=self.phash,
            width=self.width,
            height=self.height,
        )


@dataclass(frozen=True)
class RegistryMatch:
    """A registered entry matching a picture; ``distance`` is the pHash distance (0 unless
    ``kind`` is perceptual)."""

    entry: RegistryEntry
    kind: MatchKind
    distance: int


@dataclass(frozen=True)
class AddResult:
    """What :meth:`SourceRegistry.add_paths` did.

    ``added``: new entries; ``already``: pictures that were registered before (relation or
    evidence updated if they differ) — including files hashed again because they changed
    or were new paths; ``skipped_unchanged``: files not read again because their path, size
    and modification time match an earlier run; ``failed``: ``(path, one-line reason)``;
    ``failed_text``: the same reasons in English and Japanese, in the same order.
    """

    added: int
    already: int
    skipped_unchanged: int
    failed: list[tuple[str, str]]
    failed_text: list[Text] = field(default_factory=list)


# -- errors --------------------------------------------------------------------------


def _locked_error(path: Path) -> RegistryError:
    return RegistryError(
        f"{path}: the source registry is locked by another program (another myself-i2i "
        "command?). Wait for it to finish and try again.",
        f"{path}: ソース登録簿が他のプログラム（別の myself-i2i コマンドなど）に使われています。"
        "終わるのを待ってからもう一度実行してください。",
    )


def _corrupt_error(path: Path, detail: str) -> RegistryError:
    return RegistryError(
        f"{path}: the source registry file is damaged or not a registry ({detail}). "
        "It was left untouched; move it away (or restore a backup) and register your "
        "sources again.",
        f"{path}: ソース登録簿のファイルが壊れているか、登録簿ではありません（{detail}）。"
        "ファイルには手を加えていません。別の場所へ移す（またはバックアップから戻す）と、"
        "ソースを登録し直せます。",
    )


def _io_error(path: Path, detail: str) -> RegistryError:
    return RegistryError(
        f"{path}: the source registry cannot be used ({detail}). Check the disk space and "
        "the permissions of the folder.",
        f"{path}: ソース登録簿を使えません（{detail}）。ディスクの空き容量とフォルダの権限を"
        "確かめてください。",
    )


def _translate(path: Path, e: sqlite3.Error) -> RegistryError:
    msg = str(e)
    low = msg.lower()
    if "locked" in low or "busy" in low:
        return _locked_error(path)
    damaged = "not a database" in low or "malformed" in low or "corrupt" in low
    if damaged or type(e) is sqlite3.DatabaseError:
        return _corrupt_error(path, msg)
    return _io_error(path, msg)


# -- the registry --------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sources (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    pixel_sha256 TEXT NOT NULL,
    phash TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    relation TEXT NOT NULL,
    evidence_text TEXT,
    evidence_url TEXT,
    path TEXT NOT NULL,
    added_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sources_pixel ON sources (pixel_sha256);
CREATE INDEX IF NOT EXISTS sources_path ON sources (path);
CREATE TABLE IF NOT EXISTS file_state (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS file_state_sha ON file_state (sha256);
"""
_COLS = (
    "id, sha256, pixel_sha256, phash, width, height, relation, evidence_text, evidence_url, "
    "path, added_at"
)
_PHASH_TABLE = "sources_phash"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _entry(row: sqlite3.Row | tuple[object, ...]) -> RegistryEntry:
    (id_, sha, pix, ph, w, h, rel, ev_text, ev_url, path, added) = tuple(row)
    evidence = Evidence(text=str(ev_text), url=None) if ev_text is not None else None
    if ev_url is not None:
        evidence = Evidence(text=evidence.text if evidence else None, url=str(ev_url))
    return RegistryEntry(
        id=int(id_),
        sha256=str(sha),
        pixel_sha256=str(pix),
        phash=str(ph),
        width=int(w),
        height=int(h),
        relation=Relation(str(rel)),
        evidence=evidence,
        path=str(path),
        added_at=str(added),
    )


def _ev_cols(evidence: Evidence | None) -> tuple[str | None, str | None]:
    if evidence is None:
        return None, None
    return evidence.text or None, evidence.url or None


_INSERT = (
    "INSERT INTO sources (sha256, pixel_sha256, phash, width, height, relation, "
    "evidence_text, evidence_url, path, added_at) VALUES (?,?,?,?,?,?,?,?,?,?)"
)


def _insert_row(
    hashes: ImageHashes, relation: Relation, evidence: Evidence | None, path: str, now: str
) -> tuple[object, ...]:
    """The values of :data:`_INSERT` for one picture."""
    ev_text, ev_url = _ev_cols(evidence)
    return (
        hashes.sha256.lower(),
        hashes.pixel_sha256,
        hashes.phash.lower(),
        hashes.width,
        hashes.height,
        relation.value,
        ev_text,
        ev_url,
        path,
        now,
    )


def match_kind(
    a: ImageHashes, b: ImageHashes, threshold: int = DEFAULT_PHASH_THRESHOLD
) -> MatchKind | None:
    """How two pictures match by the registry's rules (exact > same pixels > perceptual)."""
    if a.sha256.lower() == b.sha256.lower():
        return MatchKind.EXACT
    if a.pixel_sha256 == b.pixel_sha256:
        return MatchKind.PIXELS
    if hamming_hex(a.phash, b.phash) <= threshold and aspect_close(
        a.width, a.height, b.width, b.height
    ):
        return MatchKind.PERCEPTUAL
    return None


def aspect_close(w1: int, h1: int, w2: int, h2: int, tol: float = ASPECT_TOLERANCE) -> bool:
    """Whether two sizes have width/height ratios within ``tol`` of each other."""
    if min(w1, h1, w2, h2) <= 0:
        return False
    a, b = w1 / h1, w2 / h2
    return abs(a - b) <= tol * max(a, b)


def iter_image_files(paths: Sequence[Path]) -> Iterator[Path]:
    """Files named directly, plus PNG/JPEG/WebP files found recursively in folders.

    A folder's other files are skipped silently; a named file is always yielded (so a
    wrong one is reported). Order: as given, folders sorted.
    """
    for p in paths:
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs.sort()
                for name in sorted(files):
                    if Path(name).suffix.lower() in SUFFIX_FORMATS:
                        yield Path(root) / name
        else:
            yield p


def _abspath(p: Path) -> str:
    try:
        return str(p.expanduser().resolve())
    except OSError:
        return str(p.expanduser().absolute())


class SourceRegistry:
    """The user's registry of permitted i2i sources. Use :meth:`open`."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        phash_threshold: int = DEFAULT_PHASH_THRESHOLD,
    ) -> None:
        self._conn = conn
        self.path = path
        self.phash_threshold = phash_threshold
        self._index: HammingIndex | None = None

    # -- opening -----------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: Path | None = None,
        *,
        phash_threshold: int = DEFAULT_PHASH_THRESHOLD,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    ) -> SourceRegistry:
        """Open (creating if needed) the registry at ``path`` (default ``home()/sources.sqlite``).

        Raises:
            RegistryError: locked beyond ``busy_timeout`` seconds, damaged, not a registry,
                made by a newer version, or not writable.
        """
        if path is None:
            path = ensure_home() / DB_NAME
        else:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise _io_error(path, e.strerror or str(e)) from e
        if path.is_dir():
            raise _io_error(path, "it is a folder")
        try:
            conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
        except sqlite3.Error as e:
            raise _translate(path, e) from e
        reg = cls(conn, path, phash_threshold)
        try:
            reg._setup(busy_timeout)
        except sqlite3.Error as e:
            conn.close()
            raise _translate(path, e) from e
        except RegistryError:
            conn.close()
            raise
        return reg

    def _setup(self, busy_timeout: float) -> None:
        c = self._conn
        c.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        # reading the schema first: a file that is not a database fails here, unchanged
        tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if tables and "schema_version" not in tables:
            raise _corrupt_error(self.path, "no schema_version table")
        if "schema_version" in tables:
            row = c.execute("SELECT MAX(version) FROM schema_version").fetchone()
            version = int(row[0] or 0)
            if version > SCHEMA_VERSION:
                raise RegistryError(
                    f"{self.path}: the source registry was written by a newer myself-i2i "
                    f"(schema {version}). Update myself-i2i.",
                    f"{self.path}: ソース登録簿は新しい myself-i2i で作られています"
                    f"（スキーマ {version}）。myself-i2i を更新してください。",
                )
            if version == SCHEMA_VERSION:
                self._index = HammingIndex(c, _PHASH_TABLE)
                self._wal()
                return
        self._wal()
        with self._write():
            for stmt in _SCHEMA.split(";"):
                if stmt.strip():
                    c.execute(stmt)
            self._index = HammingIndex(c, _PHASH_TABLE)
            c.execute("DELETE FROM schema_version")
            c.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))

    def _wal(self) -> None:
        mode = self._conn.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() != "wal":
            self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")

    @contextlib.contextmanager
    def _write(self) -> Iterator[None]:
        """One write transaction (BEGIN IMMEDIATE ... COMMIT, rolled back on error)."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as e:
            raise _translate(self.path, e) from e

    @property
    def index(self) -> HammingIndex:
        assert self._index is not None
        return self._index

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> SourceRegistry:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- reading -----------------------------------------------------------------

    def _get(self, where: str, args: tuple[object, ...]) -> list[RegistryEntry]:
        rows = self._conn.execute(f"SELECT {_COLS} FROM sources WHERE {where}", args)
        return [_entry(r) for r in rows]

    def list(self) -> list[RegistryEntry]:
        """All entries, oldest first."""
        with self._errors():
            rows = self._conn.execute(f"SELECT {_COLS} FROM sources ORDER BY id")
            return [_entry(r) for r in rows]

    def count(self) -> int:
        with self._errors():
            return int(self._conn.execute("SELECT COUNT(*) FROM sources").fetchone()[0])

    def get(self, entry_id: int) -> RegistryEntry | None:
        with self._errors():
            found = self._get("id = ?", (entry_id,))
        return found[0] if found else None

    def lookup(self, hashes: ImageHashes) -> RegistryMatch | None:
        """The best registered match of a picture: exact > same pixels > nearest perceptual.

        A perceptual match needs a pHash distance within the threshold and an aspect ratio
        within :data:`ASPECT_TOLERANCE`; the nearest such entry wins (ties: oldest).
        """
        with self._errors():
            found = self._get("sha256 = ?", (hashes.sha256.lower(),))
            if found:
                return RegistryMatch(found[0], MatchKind.EXACT, 0)
            found = self._get("pixel_sha256 = ? ORDER BY id LIMIT 1", (hashes.pixel_sha256,))
            if found:
                return RegistryMatch(found[0], MatchKind.PIXELS, 0)
            try:
                q = int(hashes.phash, 16)
            except ValueError:
                return None
            for item_id, dist in self.index.search(q, self.phash_threshold, limit=0):
                entry = self.get(item_id)
                if entry is not None and aspect_close(
                    entry.width, entry.height, hashes.width, hashes.height
                ):
                    return RegistryMatch(entry, MatchKind.PERCEPTUAL, dist)
        return None

    def check_file(self, path: Path) -> tuple[ImageHashes, RegistryMatch | None]:
        """Hash the picture at ``path`` and look it up.

        Raises:
            InputError, ImageError: the file cannot be read as an image.
            RegistryError: the registry cannot be read.
        """
        hashes = hash_image(path)
        return hashes, self.lookup(hashes)

    # -- writing -----------------------------------------------------------------

    def _upsert(
        self, hashes: ImageHashes, relation: Relation, evidence: Evidence | None, path: str
    ) -> tuple[int, bool]:
        """Insert or update by the re-add rules, inside the caller's transaction.

        Returns ``(entry id, whether it is new)``.
        """
        c = self._conn
        sha = hashes.sha256.lower()
        row = c.execute(
            "SELECT id, relation, evidence_text, evidence_url FROM sources WHERE sha256 = ?",
            (sha,),
        ).fetchone()
        if row is None:
            cur = c.execute(_INSERT, _insert_row(hashes, relation, evidence, path, _now()))
            new_id = int(cur.lastrowid or 0)
            self.index.add(new_id, int(hashes.phash, 16))
            return new_id, True
        entry_id = int(row[0])
        self._apply_readd(entry_id, (row[1], row[2], row[3]), relation, evidence)
        return entry_id, False

    def _apply_readd(
        self,
        entry_id: int,
        stored: tuple[object, object, object],
        relation: Relation,
        evidence: Evidence | None,
    ) -> None:
        old_rel, old_text, old_url = stored
        ev_text, ev_url = _ev_cols(evidence)
        if old_rel != relation.value or (
            evidence is not None and (ev_text, ev_url) != (old_text, old_url)
        ):
            new = (relation.value, ev_text, ev_url)
        else:
            return
        self._conn.execute(
            "UPDATE sources SET relation = ?, evidence_text = ?, evidence_url = ? WHERE id = ?",
            (*new, entry_id),
        )

    def add_hashes(
        self,
        hashes: ImageHashes,
        relation: Relation,
        evidence: Evidence | None,
        path: str,
    ) -> RegistryEntry:
        """Register a picture by its hashes (re-add rules apply); returns the stored entry."""
        with self._errors():
            with self._write():
                entry_id, _ = self._upsert(hashes, relation, evidence, path)
            entry = self.get(entry_id)
        assert entry is not None
        return entry

    def add_hashes_many(
        self,
        items: Sequence[tuple[ImageHashes, Relation, Evidence | None, str]],
    ) -> int:
        """Bulk registration in one transaction (imports, benchmarks).

        Pictures already registered are left unchanged (no re-add rules). Returns how many
        entries were added.
        """
        now = _now()
        rows = [_insert_row(h, rel, ev, path, now) for h, rel, ev, path in items]
        c = self._conn
        with self._errors(), self._write():
            before = int(c.execute("SELECT COALESCE(MAX(id), 0) FROM sources").fetchone()[0])
            c.executemany(_INSERT.replace("INSERT", "INSERT OR IGNORE", 1), rows)
            new = c.execute("SELECT id, phash FROM sources WHERE id > ?", (before,)).fetchall()
            self.index.add_many([(int(i), int(str(ph), 16)) for i, ph in new])
        return len(new)

    def add_paths(
        self,
        paths: Sequence[Path],
        relation: Relation,
        evidence: Evidence | None = None,
        progress: Callable[[int, int], None] | None = None,
        *,
        workers: int | None = None,
    ) -> AddResult:
        """Register image files and folders (recursively: .png, .jpg, .jpeg, .webp).

        Unchanged files seen in an earlier run (same path, size and mtime) are not read
        again. Files that cannot be read are reported in ``failed``; the others are still
        registered. Writes are committed every :data:`BATCH_FILES` files.
        ``progress(done, total)`` is called after each file.

        Raises:
            RegistryError: the registry is locked or damaged (batches committed before
                stay registered).
        """
        files = list(iter_image_files(paths))
        total = len(files)
        added = already = skipped = 0
        failed: list[tuple[str, str]] = []
        failed_text: list[Text] = []
        done = 0
        if workers is None:
            workers = max(1, min(4, os.cpu_count() or 1))

        def tick() -> None:
            nonlocal done
            done += 1
            if progress is not None:
                progress(done, total)

        with self._errors(), ThreadPoolExecutor(max_workers=workers) as pool:
            for start in range(0, total, BATCH_FILES):
                batch = files[start : start + BATCH_FILES]
                # 1. outside any transaction: stat, skip unchanged, hash the rest in parallel
                todo: list[tuple[Path, str, tuple[int, int] | None, Future[ImageHashes]]] = []
                unchanged: list[tuple[str, str]] = []  # (abspath, sha256)
                for f in batch:
                    ap = _abspath(f)
                    try:
                        st = f.stat()
                    except OSError:
                        st = None
                    if st is not None and f.is_file():
                        known = self._conn.execute(
                            "SELECT f.sha256 FROM file_state f JOIN sources s "
                            "ON s.sha256 = f.sha256 WHERE f.path = ? AND f.size = ? "
                            "AND f.mtime_ns = ?",
                            (ap, st.st_size, st.st_mtime_ns),
                        ).fetchone()
                        if known is not None:
                            unchanged.append((ap, str(known[0])))
                            continue
                    stat_key = (st.st_size, st.st_mtime_ns) if st is not None else None
                    todo.append((f, ap, stat_key, pool.submit(_hash, f)))
                results: list[tuple[str, tuple[int, int] | None, ImageHashes]] = []
                for f, ap, stat_key, fut in todo:
                    try:
                        results.append((ap, stat_key, fut.result()))
                    except InputError as e:  # ImageError is an InputError
                        failed.append((str(f), e.text.en))
                        failed_text.append(e.text)
                        tick()
                    except (OSError, ValueError) as e:  # vanished or unreadable mid-way
                        failed.append((str(f), f"{f}: cannot be read ({e})."))
                        failed_text.append(Text(failed[-1][1], f"{f}: 読み込めません（{e}）。"))
                        tick()
                # 2. one short write transaction for the batch
                with self._write():
                    for _ap, sha in unchanged:
                        row = self._conn.execute(
                            "SELECT id, relation, evidence_text, evidence_url FROM sources "
                            "WHERE sha256 = ?",
                            (sha,),
                        ).fetchone()
                        if row is not None:
                            stored = (row[1], row[2], row[3])
                            self._apply_readd(int(row[0]), stored, relation, evidence)
                        skipped += 1
                        tick()
                    for ap, stat_key, hashes in results:
                        _, is_new = self._upsert(hashes, relation, evidence, ap)
                        if is_new:
                            added += 1
                        else:
                            already += 1
                        if stat_key is not None:
                            self._conn.execute(
                                "INSERT OR REPLACE INTO file_state (path, size, mtime_ns, "
                                "sha256) VALUES (?,?,?,?)",
                                (ap, stat_key[0], stat_key[1], hashes.sha256.lower()),
                            )
                        tick()
        return AddResult(
            added=added,
            already=already,
            skipped_unchanged=skipped,
            failed=failed,
            failed_text=failed_text,
        )

    def remove(self, ident: str) -> int:
        """Remove entries by id, SHA-256 prefix (at least 8 hex digits) or registered path.

        A path matches the path an entry was registered from or any path that was added
        and hashed to it. Returns how many entries were removed (0 if none matched).

        Raises:
            ConfigError: a SHA-256 prefix matches more than one entry.
        """
        ident = ident.strip()
        if not ident:
            return 0
        c = self._conn
        with self._errors():
            ids: set[int] = set()
            paths = {ident, _abspath(Path(ident))}
            for p in paths:
                ids.update(
                    int(r[0]) for r in c.execute("SELECT id FROM sources WHERE path = ?", (p,))
                )
                ids.update(
                    int(r[0])
                    for r in c.execute(
                        "SELECT s.id FROM file_state f JOIN sources s ON s.sha256 = f.sha256 "
                        "WHERE f.path = ?",
                        (p,),
                    )
                )
            if not ids and len(ident) >= 8 and _HEX.match(ident):
                prefix = ident.lower()
                rows = c.execute(
                    "SELECT id FROM sources WHERE sha256 >= ? AND sha256 < ? LIMIT 2",
                    (prefix, prefix + "g"),
                ).fetchall()
                if len(rows) > 1:
                    raise ConfigError(
                        f"{ident}: this SHA-256 prefix matches several sources; give more digits.",
                        f"{ident}: この SHA-256 の先頭部分に当てはまるソースが複数あります。"
                        "もっと長く指定してください。",
                    )
                ids.update(int(r[0]) for r in rows)
            if not ids and ident.isdigit():
                ids.update(
                    int(r[0])
                    for r in c.execute("SELECT id FROM sources WHERE id = ?", (int(ident),))
                )
            if not ids:
                return 0
            with self._write():
                for i in ids:
                    c.execute(
                        "DELETE FROM file_state WHERE sha256 IN "
                        "(SELECT sha256 FROM sources WHERE id = ?)",
                        (i,),
                    )
                    c.execute("DELETE FROM sources WHERE id = ?", (i,))
                    self.index.remove(i)
            return len(ids)


def _hash(path: Path) -> ImageHashes:
    # looked up at call time so tests can count hashing calls
    return hash_image(path)
