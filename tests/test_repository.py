"""The local manifest repository: a directory with a real SQLite index and .c2pa files."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from myself_i2i.cli import app
from myself_i2i.errors import ConfigError, RepositoryError
from myself_i2i.recovery import repositories_for
from myself_i2i.repository import (
    Candidate,
    HttpRepository,
    LocalRepository,
    configured_repositories,
    open_repository,
)
from myself_i2i.verify import VerifyOptions

LOC_A = bytes.fromhex("0123456789abcdef")
LOC_B = bytes.fromhex("fedcba9876543210")
FP_A = "f0f0f0f00f0f0f0f"
FP_B = "123456789abcdef0"


def flip(fp: str, bits: int) -> str:
    """``fp`` with its ``bits`` lowest bits inverted."""
    return f"{int(fp, 16) ^ ((1 << bits) - 1):016x}"


def test_add_get_search(tmp_path: Path) -> None:
    with LocalRepository.open(tmp_path / "repo", create=True) as repo:
        assert repo.add(b"store A", locator=LOC_A, fingerprint=FP_A, title="a.png") == LOC_A
        repo.add(b"store B", locator=LOC_B, fingerprint=FP_B, title="b.png")
        assert repo.get(LOC_A) == b"store A"
        assert repo.get(bytes(8)) is None
        assert repo.search(FP_A) == [Candidate(LOC_A, 0)]
        assert repo.search(flip(FP_A, 3)) == [Candidate(LOC_A, 3)]
        assert repo.search(flip(FP_A, 10)) == [Candidate(LOC_A, 10)]
        assert repo.search(flip(FP_A, 11)) == []
        assert repo.search(flip(FP_A, 11), radius=12) == [Candidate(LOC_A, 11)]
        assert repo.count() == 2
    # the files are where a static host serves them
    h = LOC_A.hex()
    assert (tmp_path / "repo" / "by-locator" / h[:2] / f"{h}.c2pa").read_bytes() == b"store A"
    assert not list((tmp_path / "repo").rglob("*.tmp"))


def test_add_without_locator_gets_a_random_one(tmp_path: Path) -> None:
    with LocalRepository.open(tmp_path / "repo", create=True) as repo:
        loc = repo.add(b"store", locator=None, fingerprint=FP_A)
        other = repo.add(b"store 2", locator=None, fingerprint=FP_B)
        assert len(loc) == 8 and any(loc) and loc != other
        assert repo.get(loc) == b"store"


def test_re_adding_a_locator_replaces_it(tmp_path: Path) -> None:
    with LocalRepository.open(tmp_path / "repo", create=True) as repo:
        repo.add(b"old", locator=LOC_A, fingerprint=FP_A)
        repo.add(b"new", locator=LOC_A, fingerprint=FP_B)
        assert repo.count() == 1
        assert repo.get(LOC_A) == b"new"
        assert repo.search(FP_A) == []  # the old fingerprint is gone from the index
        assert repo.search(FP_B) == [Candidate(LOC_A, 0)]


def test_entries_and_reopen(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    with LocalRepository.open(root, create=True) as repo:
        repo.add(b"a", locator=LOC_A, fingerprint=FP_A, title="a.png")
        repo.add(b"b", locator=LOC_B, fingerprint="ffffffffffffffff", title="b.png")
    with LocalRepository.open(root) as repo:  # persisted
        assert repo.entries() == [
            (LOC_A, FP_A, "a.png"),
            (LOC_B, "ffffffffffffffff", "b.png"),  # a hash above 2**63 round-trips
        ]
    r = CliRunner().invoke(app, ["repo", "list", "--dir", str(root)])
    assert r.exit_code == 0
    # a header, then locator, fingerprint, first-published time (UTC), title
    header, *lines = r.output.splitlines()
    assert header.startswith("LOCATOR") and "FIRST PUBLISHED (UTC)" in header
    rows = [line.split() for line in lines]
    assert [(x[0], x[1], x[4]) for x in rows] == [
        (LOC_A.hex(), FP_A, "a.png"),
        (LOC_B.hex(), "ffffffffffffffff", "b.png"),
    ]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", f"{x[2]} {x[3]}") for x in rows)


def test_upload_token_file_is_private_and_stable(tmp_path: Path) -> None:
    with LocalRepository.open(tmp_path / "repo", create=True) as repo:
        token = repo.upload_token()
        assert len(token) >= 40
        assert repo.upload_token() == token
    mode = stat.S_IMODE(os.stat(tmp_path / "repo" / "upload-token").st_mode)
    assert mode == 0o600


def test_not_a_repository(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(RepositoryError, match="not a manifest repository"):
        LocalRepository.open(tmp_path / "empty")
    with pytest.raises(RepositoryError):
        open_repository(str(tmp_path / "missing"))
    assert not (tmp_path / "missing").exists()  # opening never creates without create=True
    r = CliRunner().invoke(app, ["repo", "list", "--dir", str(tmp_path / "empty")])
    assert r.exit_code == RepositoryError.exit_code
    assert "not a manifest repository" in r.output


def test_corrupt_index_is_one_line_error(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "index.sqlite").write_bytes(b"this is not an SQLite database" * 100)
    with pytest.raises(RepositoryError) as info:
        LocalRepository.open(root)
    msg = info.value.message("en")
    assert "index cannot be used" in msg and "\n" not in msg
    assert "\n" not in info.value.message("ja")
    r = CliRunner().invoke(app, ["repo", "list", "--dir", str(root)])
    assert r.exit_code == RepositoryError.exit_code
    assert "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_add_index_many_bulk(tmp_path: Path) -> None:
    rows = [
        (i.to_bytes(8, "big"), f"{i * 0x9E3779B97F4A7C15 % 2**64:016x}", "00")
        for i in range(1, 2001)
    ]
    with LocalRepository.open(tmp_path / "repo", create=True) as repo:
        repo.add(b"one", locator=LOC_A, fingerprint=FP_A)
        assert repo.add_index_many(rows) == 2000
        assert repo.count() == 2001
        loc, fp, _ = rows[1234]
        assert repo.search(fp)[0] == Candidate(loc, 0)
        assert repo.search(FP_A) == [Candidate(LOC_A, 0)]
        with pytest.raises(RepositoryError):  # a duplicate locator: nothing is written
            repo.add_index_many([(bytes.fromhex("aaaaaaaaaaaaaaaa"), FP_B, "00"), rows[0]])
        assert repo.count() == 2001
        assert repo.search(FP_B) == []


def test_open_repository_by_url_and_configured_defaults(home: Path, tmp_path: Path) -> None:
    r = open_repository("https://example.org/manifests/")
    assert isinstance(r, HttpRepository) and r.url == "https://example.org/manifests"
    assert configured_repositories() == []
    with LocalRepository.open(tmp_path / "repo", create=True):
        pass
    home.mkdir(parents=True, exist_ok=True)
    (home / "settings.json").write_text(
        json.dumps({"repositories": [str(tmp_path / "repo"), "https://example.org/m"]})
    )
    assert configured_repositories() == [str(tmp_path / "repo"), "https://example.org/m"]
    names = [x.name for x in repositories_for(VerifyOptions())]
    assert names == [str(tmp_path / "repo"), "https://example.org/m"]
    assert repositories_for(VerifyOptions(use_default_repositories=False)) == []
    (home / "settings.json").write_text(json.dumps({"repositories": "not a list"}))
    with pytest.raises(ConfigError, match="settings file is not valid"):
        configured_repositories()


def test_a_version_1_index_is_upgraded_in_place(tmp_path: Path) -> None:
    """Schema v2 (signer, client, block list) is added to an existing v1 index on open."""
    import sqlite3

    root = tmp_path / "old"
    root.mkdir()
    conn = sqlite3.connect(root / "index.sqlite")
    conn.executescript(
        "CREATE TABLE manifests (id INTEGER PRIMARY KEY, locator BLOB UNIQUE,"
        " store_sha256 TEXT NOT NULL, fingerprint INTEGER, title TEXT, added TEXT NOT NULL);"
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
        "INSERT INTO meta VALUES ('schema_version', '1');"
        "INSERT INTO manifests VALUES (1, x'0123456789abcdef', 'x', 5, 'a.png',"
        " '2025-01-01T00:00:00+00:00');"
    )
    conn.commit()
    conn.close()
    with LocalRepository.open(root) as repo:
        assert repo.count() == 1
        first = repo.first_published(bytes.fromhex("0123456789abcdef"))
        assert first is not None and first.year == 2025
        repo.block("tok")
        assert repo.is_blocked("tok")
    conn = sqlite3.connect(root / "index.sqlite")
    assert conn.execute("SELECT value FROM meta").fetchone() == ("2",)
    conn.close()
