"""Manifest repositories: where signed manifests are kept so a stripped copy can find its own.

A repository maps a watermark **locator** (8 bytes) and a perceptual **fingerprint**
(64-bit pHash) to a standalone C2PA manifest store (``.c2pa``).

* :class:`LocalRepository` — a directory: ``index.sqlite`` (locator, fingerprint with a
  multi-index Hamming index) plus ``by-locator/XX/<locator>.c2pa`` files. Copied as-is to
  any static web host, it serves look-ups by locator over plain HTTP GET.
* :class:`HttpRepository` — the client of a repository served over HTTP, either a static
  copy (locator look-up only) or ``myself-i2i repo serve`` (locator, fingerprint search,
  authenticated upload).

Open either with :func:`open_repository` (``DIR`` or ``http(s)://URL``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import os
import secrets
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

from myself_i2i._internal.hamming_index import HammingIndex, to_signed, to_unsigned
from myself_i2i.errors import ConfigError, RepositoryError
from myself_i2i.paths import ensure_home, home, replace_file

if TYPE_CHECKING:
    import httpx

    from myself_i2i.pg_repository import PgRepository

#: Fingerprint search radius (pHash bits). Re-encodes, resizes and ±10 % brightness move a
#: signed image's pHash by <= 3 bits; distinct pictures are >= 16-20 bits apart.
SEARCH_RADIUS = 10
SCHEMA_VERSION = 2


@dataclass(frozen=True)
class Candidate:
    """A manifest found by fingerprint search (with when the repository first got it)."""

    locator: bytes
    distance: int
    #: when the repository first received it (evidence of who published first); not
    #: part of equality
    first_published: dt.datetime | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Record:
    """One manifest's metadata, as ``repo migrate`` copies it."""

    locator: bytes
    fingerprint: str
    title: str
    first_published: dt.datetime | None
    signer: str | None = None


class DuplicateLocator(RepositoryError):
    """The locator already holds a different manifest store."""

    def __init__(self, repo: str, locator: bytes) -> None:
        super().__init__(
            f"{repo}: the locator {locator.hex()} already holds a different manifest.",
            f"{repo}: ロケーター {locator.hex()} には既に別のマニフェストがあります。",
        )
        self.locator = locator


class Repository(Protocol):
    """What recovery needs from any repository."""

    name: str

    def get(self, locator: bytes) -> bytes | None: ...

    def search(self, fingerprint: str, radius: int = SEARCH_RADIUS) -> list[Candidate]: ...


def _parse_time(v: object) -> dt.datetime | None:
    if not isinstance(v, str) or not v:
        return None
    try:
        t = dt.datetime.fromisoformat(v)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def _locator_path(root: Path, locator: bytes) -> Path:
    h = locator.hex()
    return root / "by-locator" / h[:2] / f"{h}.c2pa"


def _revocation_path(root: Path, grant_id: str) -> Path:
    if not (len(grant_id) == 32 and all(c in "0123456789abcdef" for c in grant_id)):
        raise ValueError("not a grant id")
    return root / "revocations" / f"{grant_id}.cose"


def _db_error(path: Path, e: Exception) -> RepositoryError:
    return RepositoryError(
        f"{path}: the manifest repository index cannot be used ({e}). If another program is "
        "using it, wait and retry; if it is damaged, move the folder away and publish the "
        "signed images again with `myself-i2i repo publish --repo DIR`.",
        f"{path}: マニフェストリポジトリの索引を使えません（{e}）。他のプログラムが使用中なら"
        "待って再実行、壊れていればフォルダを移動して `myself-i2i repo publish --repo DIR` で"
        "署名済み画像を公開し直してください。",
    )


class LocalRepository:
    """A repository in a directory (SQLite index + ``.c2pa`` files)."""

    def __init__(self, root: Path, conn: sqlite3.Connection) -> None:
        self.root = root
        self.name = str(root)
        self._conn = conn
        self._index = HammingIndex(conn, "fingerprint_index")

    @classmethod
    def default_path(cls) -> Path:
        return home() / "repository"

    @classmethod
    def open_default(cls) -> LocalRepository:
        ensure_home()
        return cls.open(cls.default_path(), create=True)

    @classmethod
    def open(cls, root: Path, *, create: bool = False) -> LocalRepository:
        """Open (or with ``create`` make) a repository directory.

        Raises:
            RepositoryError: not a repository, or its index is locked or damaged.
        """
        db = root / "index.sqlite"
        if not db.exists():
            if not create:
                raise RepositoryError(
                    f"{root}: not a manifest repository (no index.sqlite). Check the path, or "
                    "create one with `myself-i2i repo publish --repo DIR`.",
                    f"{root}: マニフェストリポジトリではありません（index.sqlite がありません）。"
                    "パスを確認するか `myself-i2i repo publish --repo DIR` で作成してください。",
                )
            try:
                root.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise RepositoryError(
                    f"{root}: cannot create a manifest repository folder here ({e.strerror}). "
                    "Give a folder path.",
                    f"{root}: ここにマニフェストリポジトリのフォルダを作れません（{e.strerror}）。"
                    "フォルダのパスを指定してください。",
                ) from e
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(db, timeout=5.0, isolation_level=None)
            conn.execute("PRAGMA busy_timeout=5000")
            conn.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: a crash can lose the last commit but never corrupts the index,
            # and signing does not pay an fsync per manifest.
            conn.execute("PRAGMA synchronous=NORMAL")
            has_schema = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'manifests'"
            ).fetchone()
            # Only a new index is written to here: every verify opens the repository, and a
            # write on open would serialise concurrent readers (the web verifier).
            conn.execute("BEGIN" if has_schema else "BEGIN IMMEDIATE")
            if not has_schema:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS manifests ("
                    " id INTEGER PRIMARY KEY, locator BLOB UNIQUE, store_sha256 TEXT NOT NULL,"
                    " fingerprint INTEGER, title TEXT, added TEXT NOT NULL)"
                )
                conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
                conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', '1')")
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            version = int(row[0]) if row else 1
            if version < 2:
                if has_schema:  # an old index: take the write lock now (once)
                    conn.execute("COMMIT")
                    conn.execute("BEGIN IMMEDIATE")
                    row = conn.execute(
                        "SELECT value FROM meta WHERE key = 'schema_version'"
                    ).fetchone()
                    version = int(row[0]) if row else 1
                if version < 2:
                    # v2: who published (signer key token, client address) for open
                    # publishing limits, and the operator's block list
                    conn.execute("ALTER TABLE manifests ADD COLUMN signer TEXT")
                    conn.execute("ALTER TABLE manifests ADD COLUMN client TEXT")
                    conn.execute(
                        "CREATE INDEX IF NOT EXISTS manifests_signer"
                        " ON manifests (signer, added) WHERE signer IS NOT NULL"
                    )
                    conn.execute(
                        "CREATE INDEX IF NOT EXISTS manifests_client"
                        " ON manifests (client, added) WHERE client IS NOT NULL"
                    )
                    conn.execute(
                        "CREATE INDEX IF NOT EXISTS manifests_sha ON manifests (store_sha256)"
                    )
                    conn.execute(
                        "CREATE TABLE IF NOT EXISTS blocked_keys (token TEXT PRIMARY KEY,"
                        " reason TEXT NOT NULL DEFAULT '', added TEXT NOT NULL)"
                    )
                    conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
            elif version > SCHEMA_VERSION:
                raise ValueError(
                    f"schema version {version} is newer than this myself_i2i ({SCHEMA_VERSION})"
                )
            repo = cls(root, conn)
            conn.execute("COMMIT")
        except (sqlite3.Error, ValueError) as e:  # ValueError: an existing foreign table
            if conn is not None:
                conn.close()
            raise _db_error(db, e) from e
        return repo

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> LocalRepository:
        return self

    def __exit__(
        self, t: type[BaseException] | None, v: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def add(
        self,
        store: bytes,
        *,
        locator: bytes | None,
        fingerprint: str,
        title: str = "",
        signer: str | None = None,
        client: str | None = None,
        replace: bool = True,
        first_published: dt.datetime | None = None,
    ) -> bytes:
        """Keep a manifest store; returns its locator (a random one when it has no watermark).

        Re-publishing the same store changes nothing (the first-published time stays); a
        different store under a taken locator replaces it when ``replace``, else raises
        :class:`DuplicateLocator`.

        Raises:
            RepositoryError: the index or the files cannot be written.
            DuplicateLocator: the locator holds another store and ``replace`` is False.
        """
        from myself_i2i.softbinding import new_locator

        loc = locator or new_locator()
        path = _locator_path(self.root, loc)
        sha = hashlib.sha256(store).hexdigest()
        when = (first_published or dt.datetime.now(dt.timezone.utc)).isoformat()
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                old = self._conn.execute(
                    "SELECT id, store_sha256 FROM manifests WHERE locator = ?", (loc,)
                ).fetchone()
                if old is not None and old[1] == sha and path.exists():
                    self._conn.execute("COMMIT")
                    return loc  # idempotent re-publish
                if old is not None and old[1] != sha and not replace:
                    raise DuplicateLocator(self.name, loc)
                # the file is written under the index's write lock, so two writers of
                # one locator cannot leave a file that disagrees with the index
                path.parent.mkdir(parents=True, exist_ok=True)
                replace_file(path, store)
                cur = self._conn.execute(
                    "INSERT INTO manifests (locator, store_sha256, fingerprint, title, added,"
                    " signer, client) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(locator) DO"
                    " UPDATE SET store_sha256=excluded.store_sha256,"
                    " fingerprint=excluded.fingerprint RETURNING id",
                    (loc, sha, to_signed(int(fingerprint, 16)), title, when, signer, client),
                )
                (row_id,) = cur.fetchone()
                self._index.remove(int(row_id))
                self._index.add(int(row_id), int(fingerprint, 16))
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        except (OSError, sqlite3.Error) as e:
            raise _db_error(self.root / "index.sqlite", e) from e
        return loc

    def add_index_many(self, rows: Iterable[tuple[bytes, str, str]], title: str = "") -> int:
        """Index many manifests at once: ``(locator, fingerprint hex, store sha256 hex)``.

        The bulk path for imports and benchmarks: only the index is written, in one
        transaction (the fingerprint index is rebuilt once for a large batch); the
        ``by-locator`` files are the caller's (e.g. copied by rsync). Returns how many.

        Raises:
            RepositoryError: a locator is already indexed, or the index cannot be written.
        """
        now = dt.datetime.now(dt.timezone.utc).isoformat()
        db = self.root / "index.sqlite"
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                (top,) = self._conn.execute("SELECT coalesce(max(id), 0) FROM manifests").fetchone()
                ids = itertools.count(int(top) + 1)
                batch: list[tuple[int, bytes, str, int]] = []
                pairs: list[tuple[int, int]] = []
                for loc, fp, sha in rows:
                    h = int(fp, 16)
                    i = next(ids)
                    batch.append((i, loc, sha, to_signed(h)))
                    pairs.append((i, h))
                    if len(batch) >= 50_000:
                        self._insert_rows(batch, title, now)
                        batch = []
                self._insert_rows(batch, title, now)
                self._index.add_many(pairs)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as e:
            raise _db_error(db, e) from e
        return len(pairs)

    def _insert_rows(self, batch: list[tuple[int, bytes, str, int]], title: str, now: str) -> None:
        self._conn.executemany(
            "INSERT INTO manifests (id, locator, store_sha256, fingerprint, title, added)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(i, loc, sha, fp, title, now) for i, loc, sha, fp in batch],
        )

    def get(self, locator: bytes) -> bytes | None:
        path = _locator_path(self.root, locator)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise _db_error(path, e) from e

    def search(
        self, fingerprint: str, radius: int = SEARCH_RADIUS, limit: int = 10
    ) -> list[Candidate]:
        try:
            hits = self._index.search(int(fingerprint, 16), radius, limit=limit)
            out: list[Candidate] = []
            for item_id, dist in hits:
                row = self._conn.execute(
                    "SELECT locator, added FROM manifests WHERE id=?", (item_id,)
                ).fetchone()
                if row is not None:
                    out.append(Candidate(bytes(row[0]), dist, _parse_time(row[1])))
            return out
        except sqlite3.Error as e:
            raise _db_error(self.root / "index.sqlite", e) from e

    def count(self) -> int:
        try:
            (n,) = self._conn.execute("SELECT count(*) FROM manifests").fetchone()
        except sqlite3.Error as e:
            raise _db_error(self.root / "index.sqlite", e) from e
        return int(n)

    def entries(self) -> list[tuple[bytes, str, str]]:
        """(locator, fingerprint hex, title) of every manifest.

        Raises:
            RepositoryError: the index cannot be read.
        """
        try:
            rows = self._conn.execute(
                "SELECT locator, fingerprint, title FROM manifests ORDER BY id"
            ).fetchall()
        except sqlite3.Error as e:
            raise _db_error(self.root / "index.sqlite", e) from e
        return [(bytes(r[0]), f"{to_unsigned(int(r[1])):016x}", str(r[2] or "")) for r in rows]

    def add_revocation(self, grant_id: str, revocation: bytes) -> None:
        """Keep a signed grant revocation as ``revocations/<grant id>.cose`` (served as is).

        Raises:
            RepositoryError: the file cannot be written.
        """
        path = _revocation_path(self.root, grant_id)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            replace_file(path, revocation)
        except OSError as e:
            raise _db_error(path, e) from e

    def get_revocation(self, grant_id: str) -> bytes | None:
        """The revocation of a grant, if the artist published one here."""
        try:
            return _revocation_path(self.root, grant_id).read_bytes()
        except (FileNotFoundError, ValueError):
            return None
        except OSError as e:
            raise _db_error(self.root, e) from e

    def records(self) -> Iterator[Record]:
        """Every manifest with its metadata, oldest first (for ``repo migrate``).

        Raises:
            RepositoryError: the index cannot be read.
        """
        last = 0
        while True:
            try:
                rows = self._conn.execute(
                    "SELECT id, locator, fingerprint, title, added, signer FROM manifests"
                    " WHERE id > ? ORDER BY id LIMIT 5000",
                    (last,),
                ).fetchall()
            except sqlite3.Error as e:
                raise _db_error(self.root / "index.sqlite", e) from e
            if not rows:
                return
            for r in rows:
                yield Record(
                    bytes(r[1]),
                    f"{to_unsigned(int(r[2])):016x}",
                    str(r[3] or ""),
                    _parse_time(r[4]),
                    r[5],
                )
            last = int(rows[-1][0])

    def _one(self, sql: str, params: tuple[object, ...]) -> tuple[object, ...] | None:
        try:
            row: tuple[object, ...] | None = self._conn.execute(sql, params).fetchone()
        except sqlite3.Error as e:
            raise _db_error(self.root / "index.sqlite", e) from e
        return row

    def first_published(self, locator: bytes) -> dt.datetime | None:
        """When this repository first received the manifest at ``locator``."""
        row = self._one("SELECT added FROM manifests WHERE locator = ?", (locator,))
        return _parse_time(row[0]) if row else None

    def find_store(self, store: bytes) -> bytes | None:
        """The locator already holding exactly this store (duplicate detection), or None."""
        row = self._one(
            "SELECT locator FROM manifests WHERE store_sha256 = ? LIMIT 1",
            (hashlib.sha256(store).hexdigest(),),
        )
        return bytes(row[0]) if row and isinstance(row[0], bytes) else None

    def recent_count(
        self, *, signer: str | None = None, client: str | None = None, since: dt.datetime
    ) -> int:
        """How many manifests ``signer`` (or ``client``) first published after ``since``."""
        col, val = ("signer", signer) if signer is not None else ("client", client)
        row = self._one(
            f"SELECT count(*) FROM manifests WHERE {col} = ? AND added > ?",
            (val, since.astimezone(dt.timezone.utc).isoformat()),
        )
        return int(str(row[0])) if row else 0

    def block(self, token: str, reason: str = "") -> None:
        """Put a signer's key token on the operator's block list.

        Raises:
            RepositoryError: the index cannot be written.
        """
        try:
            self._conn.execute(
                "INSERT INTO blocked_keys (token, reason, added) VALUES (?, ?, ?)"
                " ON CONFLICT(token) DO UPDATE SET reason = excluded.reason",
                (token, reason, dt.datetime.now(dt.timezone.utc).isoformat()),
            )
        except sqlite3.Error as e:
            raise _db_error(self.root / "index.sqlite", e) from e

    def unblock(self, token: str) -> None:
        try:
            self._conn.execute("DELETE FROM blocked_keys WHERE token = ?", (token,))
        except sqlite3.Error as e:
            raise _db_error(self.root / "index.sqlite", e) from e

    def is_blocked(self, token: str) -> bool:
        return self._one("SELECT 1 FROM blocked_keys WHERE token = ?", (token,)) is not None

    def upload_token(self) -> str:
        """The token that authorises uploads to ``repo serve`` (made on first use, mode 0600)."""
        p = self.root / "upload-token"
        if not p.exists():
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(32))
        return p.read_text().strip()


class HttpRepository:
    """Client of a repository over HTTP.

    Speaks the C2PA Soft Binding Resolution API when the server offers it
    (``/services/supportedAlgorithms`` answers; ``myself-i2i repo serve`` or another
    resolver), and otherwise reads a plain static copy of a repository folder (locator
    look-ups by path only).
    """

    def __init__(self, url: str, token: str | None = None, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.name = self.url
        self.token = token
        self.timeout = timeout
        self._standard: bool | None = None
        self._published: dict[bytes, dt.datetime | None] = {}

    def _client(self) -> httpx.Client:
        try:
            import httpx
        except ImportError as e:
            raise ConfigError(
                "HTTP repositories need httpx: pip install 'myself-i2i[web]'.",
                "HTTP リポジトリには httpx が必要です：pip install 'myself-i2i[web]'。",
            ) from e
        return httpx.Client(timeout=self.timeout, follow_redirects=True)

    def _fail(self, e: Exception) -> RepositoryError:
        return RepositoryError(
            f"{self.url}: the manifest repository cannot be reached ({e}).",
            f"{self.url}: マニフェストリポジトリに接続できません（{e}）。",
        )

    def close(self) -> None:
        """Nothing to release (a client per request); here so every repository closes."""

    def first_published(self, locator: bytes) -> dt.datetime | None:
        """The first-published time the server sent with the last :meth:`get` of
        ``locator`` (a static host sends none)."""
        return self._published.get(locator)

    def is_resolver(self) -> bool:
        """Whether the server speaks the Soft Binding Resolution API (asked once).

        Raises:
            RepositoryError: the server cannot be reached.
        """
        import httpx

        from myself_i2i.softbinding import FINGERPRINT_ALG

        if self._standard is None:
            try:
                with self._client() as c:
                    r = c.get(f"{self.url}/services/supportedAlgorithms")
                if r.status_code >= 500:
                    r.raise_for_status()
                algs = r.json() if r.status_code == 200 else {}
                fps = algs.get("fingerprints") if isinstance(algs, dict) else None
                self._standard = isinstance(fps, list) and any(
                    isinstance(x, dict) and x.get("alg") == FINGERPRINT_ALG for x in fps
                )
            except ValueError:
                self._standard = False  # a static host's HTML error page
            except httpx.HTTPError as e:
                raise self._fail(e) from e
        return self._standard

    def get(self, locator: bytes) -> bytes | None:
        import httpx

        h = locator.hex()
        path = f"/manifests/{h}" if self.is_resolver() else f"/by-locator/{h[:2]}/{h}.c2pa"
        try:
            with self._client() as c:
                r = c.get(f"{self.url}{path}")
                if r.status_code == 404:
                    return None
                r.raise_for_status()
                self._published[locator] = _parse_time(r.headers.get("first-published"))
                return bytes(r.content)
        except httpx.HTTPError as e:
            raise self._fail(e) from e

    def get_revocation(self, grant_id: str) -> bytes | None:
        """A grant's revocation published in this repository (``revocations/<id>.cose``)."""
        import httpx

        if not (len(grant_id) == 32 and all(c in "0123456789abcdef" for c in grant_id)):
            return None
        try:
            with self._client() as c:
                r = c.get(f"{self.url}/revocations/{grant_id}.cose")
                if r.status_code == 404:
                    return None
                r.raise_for_status()
                return bytes(r.content[:65536])
        except httpx.HTTPError as e:
            raise self._fail(e) from e

    def search(self, fingerprint: str, radius: int = SEARCH_RADIUS) -> list[Candidate]:
        import base64

        import httpx

        from myself_i2i.softbinding import FINGERPRINT_ALG

        if not self.is_resolver():
            return []  # a static host: locator look-ups only
        value = base64.b64encode(bytes.fromhex(fingerprint)).decode("ascii")
        try:
            with self._client() as c:
                r = c.get(
                    f"{self.url}/matches/byBinding",
                    params={"alg": FINGERPRINT_ALG, "value": value, "radius": radius},
                )
                r.raise_for_status()
                out: list[Candidate] = []
                for m in r.json().get("matches", []):
                    mid = str(m["manifestId"]).lower()
                    if len(mid) != 16 or any(ch not in "0123456789abcdef" for ch in mid):
                        continue  # another resolver's identifiers are not our locators
                    if isinstance(m.get("distance"), int):
                        dist = int(m["distance"])
                    else:  # a resolver that gives only the 0-100 similarity
                        dist = round((100 - int(m.get("similarityScore", 0))) * 64 / 100)
                    if dist <= radius:
                        out.append(
                            Candidate(
                                bytes.fromhex(mid), dist, _parse_time(m.get("firstPublished"))
                            )
                        )
                return out
        except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError) as e:
            raise self._fail(e) from e

    def add_revocation(self, grant_id: str, revocation: bytes) -> None:
        """Upload a signed grant revocation to ``repo serve`` (needs the upload token).

        Raises:
            RepositoryError: refused or unreachable.
        """
        import httpx

        if not self.token:
            raise RepositoryError(
                f"{self.url}: uploading needs the repository's upload token "
                "(MYSELF_I2I_REPO_TOKEN).",
                f"{self.url}: アップロードにはリポジトリのアップロードトークンが必要です"
                "（MYSELF_I2I_REPO_TOKEN）。",
            )
        try:
            with self._client() as c:
                r = c.post(
                    f"{self.url}/api/revocations/{grant_id}",
                    headers={"Authorization": f"Bearer {self.token}"},
                    content=revocation,
                )
                if r.status_code in (401, 403):
                    raise RepositoryError(
                        f"{self.url}: the upload token was refused.",
                        f"{self.url}: アップロードトークンが拒否されました。",
                    )
                r.raise_for_status()
        except httpx.HTTPError as e:
            raise self._fail(e) from e

    def upload(self, store: bytes, locator: bytes | None, fingerprint: str, title: str) -> bytes:
        """Upload a manifest store: with the upload token, or (without one) to a
        repository that accepts open publishing of self-proving manifests.

        Raises:
            RepositoryError: refused or unreachable.
        """
        import httpx

        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            with self._client() as c:
                r = c.post(
                    f"{self.url}/api/manifests",
                    headers=headers,
                    params={
                        "fingerprint": fingerprint,
                        "title": title,
                        **({"locator": locator.hex()} if locator else {}),
                    },
                    content=store,
                )
                if r.status_code in (401, 403) and self.token:
                    raise RepositoryError(
                        f"{self.url}: the upload token was refused.",
                        f"{self.url}: アップロードトークンが拒否されました。",
                    )
                if r.status_code == 401:
                    raise RepositoryError(
                        f"{self.url}: uploading needs the repository's upload token (--token or "
                        "MYSELF_I2I_REPO_TOKEN); this repository does not accept open publishing.",
                        f"{self.url}: アップロードにはリポジトリのアップロードトークンが必要です"
                        "（--token か MYSELF_I2I_REPO_TOKEN）。このリポジトリは公開投稿を受け付けません。",
                    )
                if r.status_code in (403, 409, 413, 422, 429):
                    detail = _detail(r)
                    raise RepositoryError(
                        f"{self.url}: the upload was refused ({r.status_code}: {detail}).",
                        f"{self.url}: アップロードが拒否されました（{r.status_code}: {detail}）。",
                    )
                r.raise_for_status()
                return bytes.fromhex(r.json()["locator"])
        except httpx.HTTPError as e:
            raise self._fail(e) from e


def _detail(r: httpx.Response) -> str:
    try:
        d = r.json().get("detail", "")
    except (ValueError, AttributeError):
        d = ""
    return str(d)[:200] or r.reason_phrase


def is_postgresql(spec: str) -> bool:
    """Whether ``spec`` names a PostgreSQL repository (``postgresql://`` or ``postgres://``)."""
    return spec.startswith(("postgresql://", "postgres://"))


def open_repository(
    spec: str, *, create: bool = False, token: str | None = None
) -> LocalRepository | HttpRepository | PgRepository:
    """A repository from ``DIR``, ``http(s)://URL`` or ``postgresql://…``.

    Raises:
        RepositoryError: a directory or database that is not a repository (unless
            ``create``), or a database that cannot be reached.
        ConfigError: a PostgreSQL URL without psycopg installed.
    """
    if spec.startswith(("http://", "https://")):
        return HttpRepository(spec, token=token or os.environ.get("MYSELF_I2I_REPO_TOKEN"))
    if is_postgresql(spec):
        from myself_i2i.pg_repository import PgRepository

        return PgRepository.open(spec, create=create)
    return LocalRepository.open(Path(spec).expanduser(), create=create)


def migrate(
    src: LocalRepository | PgRepository, dst: LocalRepository | PgRepository
) -> tuple[int, int]:
    """Copy every manifest of ``src`` into ``dst`` with its first-published time and signer.

    Idempotent: a manifest already in ``dst`` stays as it is (its own first-published time
    kept). Returns ``(copied, already there)``.

    Raises:
        RepositoryError: either repository cannot be used.
        DuplicateLocator: ``dst`` holds a different manifest under one of the locators.
    """
    copied = same = 0
    for rec in src.records():
        store = src.get(rec.locator)
        if store is None:
            continue  # an index row whose file is gone (folder copied without it)
        if dst.first_published(rec.locator) is not None:
            dst.add(store, locator=rec.locator, fingerprint=rec.fingerprint, replace=False)
            same += 1
            continue
        dst.add(
            store,
            locator=rec.locator,
            fingerprint=rec.fingerprint,
            title=rec.title,
            signer=rec.signer,
            first_published=rec.first_published,
            replace=False,
        )
        copied += 1
    return copied, same


def configured_repositories() -> list[str]:
    """Repositories listed in ``$MYSELF_I2I_HOME/settings.json`` under ``"repositories"``."""
    p = home() / "settings.json"
    if not p.exists():
        return []
    try:
        data = json.loads(p.read_text("utf-8"))
        repos = data.get("repositories", [])
        if not isinstance(repos, list) or not all(isinstance(x, str) for x in repos):
            raise ValueError("'repositories' must be a list of strings")
        return list(repos)
    except (OSError, ValueError, AttributeError) as e:
        raise ConfigError(
            f"{p}: settings file is not valid ({e}). Fix or remove it.",
            f"{p}: 設定ファイルが正しくありません（{e}）。修正するか削除してください。",
        ) from e
