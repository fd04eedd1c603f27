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
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

from myself_i2i._internal.hamming_index import HammingIndex, to_signed, to_unsigned
from myself_i2i.errors import ConfigError, RepositoryError
from myself_i2i.paths import ensure_home, home

if TYPE_CHECKING:
    import httpx

#: Fingerprint search radius (pHash bits). Re-encodes, resizes and ±10 % brightness move a
#: signed image's pHash by <= 3 bits; distinct pictures are >= 16-20 bits apart.
SEARCH_RADIUS = 10
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Candidate:
    """A manifest found by fingerprint search."""

    locator: bytes
    distance: int


class Repository(Protocol):
    """What recovery needs from any repository."""

    name: str

    def get(self, locator: bytes) -> bytes | None: ...

    def search(self, fingerprint: str, radius: int = SEARCH_RADIUS) -> list[Candidate]: ...


def _locator_path(root: Path, locator: bytes) -> Path:
    h = locator.hex()
    return root / "by-locator" / h[:2] / f"{h}.c2pa"


def _db_error(path: Path, e: Exception) -> RepositoryError:
    return RepositoryError(
        f"{path}: the manifest repository index cannot be used ({e}). If another program is "
        "using it, wait and retry; if it is damaged, move the folder away and publish the "
        "signed images again with `myself-i2i publish --repo DIR`.",
        f"{path}: マニフェストリポジトリの索引を使えません（{e}）。他のプログラムが使用中なら"
        "待って再実行、壊れていればフォルダを移動して `myself-i2i publish --repo DIR` で"
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
                    "create one with `myself-i2i publish --repo DIR`.",
                    f"{root}: マニフェストリポジトリではありません（index.sqlite がありません）。"
                    "パスを確認するか `myself-i2i publish --repo DIR` で作成してください。",
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
                conn.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
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
        self, store: bytes, *, locator: bytes | None, fingerprint: str, title: str = ""
    ) -> bytes:
        """Keep a manifest store; returns its locator (a random one when it has no watermark).

        Raises:
            RepositoryError: the index or the files cannot be written.
        """
        from myself_i2i.softbinding import new_locator

        loc = locator or new_locator()
        path = _locator_path(self.root, loc)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_bytes(store)
            os.replace(tmp, path)
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                cur = self._conn.execute(
                    "INSERT INTO manifests (locator, store_sha256, fingerprint, title, added)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT(locator) DO UPDATE SET"
                    " store_sha256=excluded.store_sha256, fingerprint=excluded.fingerprint"
                    " RETURNING id",
                    (
                        loc,
                        hashlib.sha256(store).hexdigest(),
                        to_signed(int(fingerprint, 16)),
                        title,
                        dt.datetime.now(dt.timezone.utc).isoformat(),
                    ),
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

    def search(self, fingerprint: str, radius: int = SEARCH_RADIUS) -> list[Candidate]:
        try:
            hits = self._index.search(int(fingerprint, 16), radius, limit=10)
            out: list[Candidate] = []
            for item_id, dist in hits:
                row = self._conn.execute(
                    "SELECT locator FROM manifests WHERE id=?", (item_id,)
                ).fetchone()
                if row is not None:
                    out.append(Candidate(bytes(row[0]), dist))
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

    def upload_token(self) -> str:
        """The token that authorises uploads to ``repo serve`` (made on first use, mode 0600)."""
        p = self.root / "upload-token"
        if not p.exists():
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(32))
        return p.read_text().strip()


class HttpRepository:
    """Client of a repository over HTTP (a static copy of a directory, or ``repo serve``)."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.name = self.url
        self.token = token
        self.timeout = timeout

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

    def get(self, locator: bytes) -> bytes | None:
        import httpx

        h = locator.hex()
        try:
            with self._client() as c:
                r = c.get(f"{self.url}/by-locator/{h[:2]}/{h}.c2pa")
                if r.status_code == 404:
                    return None
                r.raise_for_status()
                return bytes(r.content)
        except httpx.HTTPError as e:
            raise self._fail(e) from e

    def search(self, fingerprint: str, radius: int = SEARCH_RADIUS) -> list[Candidate]:
        import httpx

        try:
            with self._client() as c:
                r = c.get(
                    f"{self.url}/api/search", params={"fingerprint": fingerprint, "radius": radius}
                )
                if r.status_code == 404:
                    return []  # a static host: locator look-ups only
                r.raise_for_status()
                return [
                    Candidate(bytes.fromhex(x["locator"]), int(x["distance"]))
                    for x in r.json().get("candidates", [])
                ]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as e:
            raise self._fail(e) from e

    def upload(self, store: bytes, locator: bytes | None, fingerprint: str, title: str) -> bytes:
        """Upload a manifest store (needs the server's upload token).

        Raises:
            RepositoryError: refused or unreachable.
        """
        import httpx

        if not self.token:
            raise RepositoryError(
                f"{self.url}: uploading needs the repository's upload token (--token or "
                "MYSELF_I2I_REPO_TOKEN).",
                f"{self.url}: アップロードにはリポジトリのアップロードトークンが必要です"
                "（--token か MYSELF_I2I_REPO_TOKEN）。",
            )
        try:
            with self._client() as c:
                r = c.post(
                    f"{self.url}/api/manifests",
                    headers={"Authorization": f"Bearer {self.token}"},
                    params={
                        "fingerprint": fingerprint,
                        "title": title,
                        **({"locator": locator.hex()} if locator else {}),
                    },
                    content=store,
                )
                if r.status_code in (401, 403):
                    raise RepositoryError(
                        f"{self.url}: the upload token was refused.",
                        f"{self.url}: アップロードトークンが拒否されました。",
                    )
                r.raise_for_status()
                return bytes.fromhex(r.json()["locator"])
        except httpx.HTTPError as e:
            raise self._fail(e) from e


def open_repository(
    spec: str, *, create: bool = False, token: str | None = None
) -> LocalRepository | HttpRepository:
    """A repository from ``DIR`` or ``http(s)://URL``.

    Raises:
        RepositoryError: a directory that is not a repository (unless ``create``).
    """
    if spec.startswith(("http://", "https://")):
        return HttpRepository(spec, token=token or os.environ.get("MYSELF_I2I_REPO_TOKEN"))
    return LocalRepository.open(Path(spec).expanduser(), create=create)


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
