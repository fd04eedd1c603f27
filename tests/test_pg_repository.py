"""The PostgreSQL repository on a real PostgreSQL server (never mocked).

The server comes from the session fixture ``pg_server`` (tests/conftest.py): initdb and
pg_ctl in a temporary directory as the unprivileged ``postgres`` user.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

pytest.importorskip("psycopg")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from myself_i2i._internal.hamming_index import hamming_many, to_signed
from myself_i2i.cli import app
from myself_i2i.errors import RepositoryError
from myself_i2i.identity import Identity
from myself_i2i.pg_repository import MIGRATIONS, SCHEMA_VERSION, PgRepository
from myself_i2i.report import Verdict
from myself_i2i.repository import (
    DuplicateLocator,
    LocalRepository,
    migrate,
    open_repository,
)
from myself_i2i.sign import SignOptions, SignResult, sign_image
from myself_i2i.testing import illustration, save
from myself_i2i.verify import VerifyOptions, verify_bytes
from tests.core_helpers import new_identity

LOC_A = bytes.fromhex("0123456789abcdef")
FP_A = "f0f0f0f00f0f0f0f"


def test_schema_is_migrated_once_and_a_newer_schema_is_refused(pg_url: str) -> None:
    with PgRepository.open(pg_url) as repo:
        assert repo.schema_version() == SCHEMA_VERSION == MIGRATIONS[-1][0]
    with PgRepository.open(pg_url) as repo:  # reopening applies nothing twice
        rows = repo._conn.execute("SELECT version FROM schema_migrations").fetchall()
        assert [r[0] for r in rows] == [v for v, _ in MIGRATIONS]
        repo._conn.execute("INSERT INTO schema_migrations (version) VALUES (999)")
    with pytest.raises(RepositoryError, match="schema is version 999"):
        PgRepository.open(pg_url)


def test_a_database_without_schema_is_not_a_repository_unless_created(pg_url: str) -> None:
    with pytest.raises(RepositoryError, match="not a manifest repository"):
        open_repository(pg_url)
    open_repository(pg_url, create=True).close()
    open_repository(pg_url).close()


def test_unreachable_server_is_one_repository_error(pg_server: str) -> None:
    url = pg_server.rsplit(":", 1)[0] + ":1/x"
    with pytest.raises(RepositoryError, match="cannot be used") as e:
        PgRepository.open(url.replace("postgres@", "postgres:secret@"))
    assert "secret" not in e.value.text.en  # the password never reaches a message


def test_add_get_search_and_idempotent_republish(pg_url: str) -> None:
    with PgRepository.open(pg_url) as repo:
        assert repo.add(b"store A", locator=LOC_A, fingerprint=FP_A, title="a.png") == LOC_A
        first = repo.first_published(LOC_A)
        assert first is not None and first.tzinfo is not None
        # the same store again: nothing changes, the first-published time stays
        repo.add(b"store A", locator=LOC_A, fingerprint=FP_A, title="again")
        assert repo.count() == 1 and repo.first_published(LOC_A) == first
        assert repo.get(LOC_A) == b"store A" and repo.get(bytes(8)) is None
        (c,) = repo.search("f0f0f0f00f0f0f0e", 8)
        assert (c.locator, c.distance, c.first_published) == (LOC_A, 1, first)
        assert repo.search("0f0f0f0ff0f0f0f0", 8) == []
        # another store under the taken locator: refused for open publishing...
        with pytest.raises(DuplicateLocator):
            repo.add(b"store B", locator=LOC_A, fingerprint=FP_A, replace=False)
        assert repo.get(LOC_A) == b"store A"
        # ...replaced for the owner, keeping the first-published time
        repo.add(b"store B", locator=LOC_A, fingerprint="0000000000000000")
        assert repo.get(LOC_A) == b"store B" and repo.first_published(LOC_A) == first
        assert repo.search("0000000000000001", 2)[0].locator == LOC_A
        assert repo.find_store(b"store B") == LOC_A and repo.find_store(b"nope") is None
        loc = repo.add(b"no watermark", locator=None, fingerprint=FP_A)
        assert len(loc) == 8 and repo.count() == 2
        assert [r.locator for r in repo.records()] == [LOC_A, loc]


def clustered(n: int, seed: int) -> list[int]:
    """Near-duplicate families of biased-bit hashes (what real pHashes look like)."""
    rng = np.random.default_rng(seed)
    bias = rng.uniform(0.2, 0.8, 64)
    out: list[int] = []
    for _ in range(n // 8):
        base = int("".join("1" if b else "0" for b in rng.random(64) < bias), 2)
        for _ in range(8):
            flips = rng.choice(64, int(rng.integers(0, 12)), replace=False)
            out.append(base ^ sum(1 << int(f) for f in flips))
    return out


def test_search_matches_brute_force_at_every_radius(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from myself_i2i import pg_repository

    monkeypatch.setattr(pg_repository, "_COPY_BATCH", 1500)  # several COPY batches
    fps = clustered(4000, seed=3)
    rows = [(i.to_bytes(8, "big"), f"{h:016x}", "", b"s") for i, h in enumerate(fps, 1)]
    arr = np.array([to_signed(h) for h in fps], np.int64)
    rng = random.Random(5)
    with PgRepository.open(pg_url) as repo:
        assert repo.copy_in(rows) == len(fps)
        repo.add(b"after bulk", locator=bytes(7) + b"\xff", fingerprint="ffffffffffffffff")
        for radius in (0, 1, 3, 4, 5, 8, 10, 12, 16):
            for _ in range(15):
                q = fps[rng.randrange(len(fps))] ^ (1 << rng.randrange(64))
                d = hamming_many(arr, q)
                want = sorted(
                    ((int(d[i]), int(i) + 1) for i in np.nonzero(d <= radius)[0]), key=lambda t: t
                )[:10]
                got = repo.search(f"{q:016x}", radius)
                assert [(c.distance, int.from_bytes(c.locator, "big")) for c in got] == want


def test_concurrent_writers_publish_each_manifest_once(pg_url: str) -> None:
    PgRepository.open(pg_url).close()
    shared = [(i.to_bytes(8, "big"), f"{i * 7919:016x}") for i in range(1, 41)]
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            with PgRepository.open(pg_url) as repo:
                for loc, fp in shared:  # everyone re-publishes the same 40
                    repo.add(b"same " + loc, locator=loc, fingerprint=fp, replace=False)
                for j in range(20):  # and 20 of their own
                    own = (1000 + k * 100 + j).to_bytes(8, "big")
                    repo.add(b"own", locator=own, fingerprint=FP_A)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with PgRepository.open(pg_url) as repo:
        assert repo.count() == 40 + 6 * 20
        assert repo.get(shared[5][0]) == b"same " + shared[5][0]


def test_migrate_folder_to_postgresql_and_back(pg_url: str, tmp_path: Path) -> None:
    when = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    with LocalRepository.open(tmp_path / "a", create=True) as a:
        a.add(b"A", locator=LOC_A, fingerprint=FP_A, title="a.png", first_published=when)
        a.add(b"B", locator=bytes(8), fingerprint="1234123412341234", title="b.png")
        with PgRepository.open(pg_url) as pg:
            assert migrate(a, pg) == (2, 0)
            assert migrate(a, pg) == (0, 2)  # idempotent
            assert pg.first_published(LOC_A) == when and pg.get(bytes(8)) == b"B"
            with LocalRepository.open(tmp_path / "b", create=True) as b:
                assert migrate(pg, b) == (2, 0)
                assert b.first_published(LOC_A) == when
                assert b.entries() == a.entries()
    # and through the CLI, both ways
    r = CliRunner().invoke(app, ["repo", "migrate", str(tmp_path / "a"), pg_url])
    assert r.exit_code == 0 and "0 manifest(s)" in r.output and "2 already" in r.output
    r = CliRunner().invoke(app, ["repo", "migrate", pg_url, str(tmp_path / "c")])
    assert r.exit_code == 0 and "copied 2" in r.output
    r = CliRunner().invoke(app, ["repo", "list", "--repo", pg_url])
    assert r.exit_code == 0 and "2025-01-02 03:04:05" in r.output and "a.png" in r.output
    r = CliRunner().invoke(app, ["repo", "migrate", str(tmp_path / "nowhere"), pg_url])
    assert r.exit_code != 0 and "not a manifest repository" in r.output
    assert "Traceback" not in r.output


def test_block_list(pg_url: str) -> None:
    r = CliRunner().invoke(app, ["repo", "block", "tok-123", "--repo", pg_url, "--reason", "x"])
    assert r.exit_code == 0, r.output
    with PgRepository.open(pg_url) as repo:
        assert repo.is_blocked("tok-123") and not repo.is_blocked("other")
    CliRunner().invoke(app, ["repo", "block", "tok-123", "--repo", pg_url, "--unblock"])
    with PgRepository.open(pg_url) as repo:
        assert not repo.is_blocked("tok-123")


# --- end to end: sign, publish to PostgreSQL, recover a platform copy -------------------------


@dataclass
class Signed:
    alice: Identity
    marked: SignResult
    path: Path


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Signed]:
    d = tmp_path_factory.mktemp("pgsign")
    alice = new_identity("alice", d / "alice")
    a = save(illustration(1200, 900, seed=21), d / "marked.png")
    res = sign_image(
        a, alice, t2i=True, options=SignOptions(use_registry=False, keep_in_repository=False)
    )
    yield Signed(alice, res, res.output)


def platform_copy(path: Path) -> bytes:
    with Image.open(path) as im:
        rgb = im.convert("RGB")
    out = io.BytesIO()
    rgb.save(out, "JPEG", quality=85)
    return out.getvalue()


def test_publish_and_recover_through_postgresql(signed: Signed, pg_url: str) -> None:
    r = CliRunner().invoke(app, ["publish", str(signed.path), "--repo", pg_url])
    assert r.exit_code == 0, r.output
    assert "published 1" in r.output
    with PgRepository.open(pg_url) as repo:
        report = verify_bytes(
            platform_copy(signed.path), "copy.jpg", VerifyOptions(repositories=[repo])
        )
    assert report.verdict is Verdict.RECOVERED, report.to_dict()
    assert report.recovery is not None and report.recovery["route"] == "watermark"
    with PgRepository.open(pg_url) as repo:
        first = repo.first_published(signed.marked.locator or b"")
    assert first is not None and report.recovery["firstPublished"] == first.isoformat()
    # and the CLI verifier takes the same URL
    copy = signed.path.with_name("copy.jpg")
    copy.write_bytes(platform_copy(signed.path))
    r = CliRunner().invoke(app, ["verify", str(copy), "--repo", pg_url, "--json"])
    assert '"route": "watermark"' in r.output, r.output


def test_web_verifier_recovers_through_postgresql(signed: Signed, pg_url: str) -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from myself_i2i.web import WebConfig, create_app

    with PgRepository.open(pg_url) as repo:
        r = signed.marked
        repo.add(r.manifest_store, locator=r.locator, fingerprint=r.fingerprint)
    c = TestClient(create_app(WebConfig(repositories=(pg_url,), use_default_repositories=False)))
    files = {"image": ("copy.jpg", platform_copy(signed.path), "image/jpeg")}
    out = c.post("/api/verify", files=files).json()
    assert out["verdict"] == "recovered" and out["recovery"]["route"] == "watermark", out
