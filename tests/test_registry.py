"""The registry of permitted sources, on real SQLite files and real image files."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

import myself_i2i.registry as registry_mod
from myself_i2i import paths, testing
from myself_i2i.errors import ConfigError, RegistryError
from myself_i2i.images import ImageHashes, hash_image
from myself_i2i.models import Evidence, Relation
from myself_i2i.registry import (
    DEFAULT_PHASH_THRESHOLD,
    MatchKind,
    SourceRegistry,
    aspect_close,
)


def _pic(path: Path, seed: int, size: tuple[int, int] = (256, 256), **kw: object) -> Path:
    return testing.save(testing.illustration(size[0], size[1], seed=seed), path, **kw)


@pytest.fixture
def reg(tmp_path: Path) -> Iterator[SourceRegistry]:
    r = SourceRegistry.open(tmp_path / "reg.sqlite")
    yield r
    r.close()


def test_home_and_default_location(home: Path) -> None:
    assert paths.home() == home
    assert not home.exists()
    assert paths.ensure_home() == home
    assert home.is_dir()
    assert (home.stat().st_mode & 0o777) == 0o700
    with SourceRegistry.open() as r:
        assert r.path == home / "sources.sqlite"
    assert (home / "sources.sqlite").is_file()


def test_add_list_lookup_remove(tmp_path: Path, reg: SourceRegistry) -> None:
    a = _pic(tmp_path / "src" / "a.png", 1)
    b = _pic(tmp_path / "src" / "sub" / "b.jpg", 2)
    (tmp_path / "src" / "readme.txt").write_text("not a picture")
    ev = Evidence(text="drawn by me", url="https://example.com/a")
    res = reg.add_paths([tmp_path / "src"], Relation.OWN_DRAWING, ev)
    assert (res.added, res.already, res.skipped_unchanged, res.failed) == (2, 0, 0, [])
    entries = reg.list()
    assert [Path(e.path).name for e in entries] == ["a.png", "b.jpg"]
    e = entries[0]
    assert e.relation is Relation.OWN_DRAWING and e.evidence == ev
    assert e.added_at.endswith("+00:00")
    assert (e.width, e.height) == (256, 256)
    assert e.hashes() == hash_image(a)

    _, match = reg.check_file(a)
    assert match is not None and match.kind is MatchKind.EXACT and match.entry.id == e.id
    assert match.distance == 0

    # remove by sha256 prefix, by path, by id
    assert reg.remove(e.sha256[:10]) == 1
    assert reg.check_file(a)[1] is None
    assert reg.remove(str(b)) == 1
    assert reg.list() == []
    reg.add_paths([a], Relation.OWN_PHOTO)
    only = reg.list()[0]
    assert reg.remove(str(only.id)) == 1
    assert reg.remove("no-such-thing") == 0
    assert reg.remove("") == 0


def test_removed_entry_is_hashed_again(tmp_path: Path, reg: SourceRegistry) -> None:
    a = _pic(tmp_path / "a.png", 1)
    reg.add_paths([a], Relation.OWN_DRAWING)
    reg.remove(str(a))
    res = reg.add_paths([a], Relation.OWN_DRAWING)
    assert (res.added, res.skipped_unchanged) == (1, 0)


def test_same_pixels_match(tmp_path: Path, reg: SourceRegistry) -> None:
    img = testing.illustration(256, 256, seed=3)
    src = testing.save(img, tmp_path / "src.png", compress_level=9)
    reg.add_paths([src], Relation.OWN_DRAWING)
    for other in (
        testing.save(img, tmp_path / "copy.webp", lossless=True),
        testing.save(img, tmp_path / "copy.png", compress_level=1),
        testing.save(img.convert("RGBA"), tmp_path / "rgba.png"),
    ):
        _, m = reg.check_file(other)
        assert m is not None and m.kind is MatchKind.PIXELS, other


def test_perceptual_match_of_resaved_copies(tmp_path: Path, reg: SourceRegistry) -> None:
    img = testing.illustration(512, 384, seed=4)
    src = testing.save(img, tmp_path / "src.png")
    reg.add_paths([src], Relation.OWN_GENERATION)
    copies = [
        testing.save(img, tmp_path / "q85.jpg", quality=85),
        testing.save(img, tmp_path / "q75.jpg", quality=75),
        testing.save(img.resize((256, 192), Image.Resampling.LANCZOS), tmp_path / "half.png"),
        testing.save(img.resize((256, 192), Image.Resampling.BILINEAR), tmp_path / "h.jpg"),
    ]
    for c in copies:
        _, m = reg.check_file(c)
        assert m is not None and m.kind is MatchKind.PERCEPTUAL, c
        assert m.distance <= DEFAULT_PHASH_THRESHOLD


def test_distinct_pictures_do_not_match(tmp_path: Path, reg: SourceRegistry) -> None:
    reg.add_paths([_pic(tmp_path / f"s{i}.png", i) for i in range(8)], Relation.OWN_DRAWING)
    for seed in range(100, 112):
        _, m = reg.check_file(_pic(tmp_path / f"q{seed}.jpg", seed, quality=85))
        assert m is None, seed
    photo = testing.save(testing.photo_like(256, 256, seed=1), tmp_path / "photo.jpg")
    assert reg.check_file(photo)[1] is None


def test_aspect_ratio_guard(reg: SourceRegistry) -> None:
    h = ImageHashes(
        sha256="a" * 64, pixel_sha256="b" * 64, phash="0f0f0f0f0f0f0f0f", width=1000, height=1000
    )
    reg.add_hashes(h, Relation.OWN_DRAWING, None, "x.png")
    same_phash = dict(sha256="c" * 64, pixel_sha256="d" * 64, phash="0f0f0f0f0f0f0f0e")
    near = reg.lookup(ImageHashes(**same_phash, width=500, height=505))
    assert near is not None and near.kind is MatchKind.PERCEPTUAL and near.distance == 1
    stretched = ImageHashes(**same_phash, width=1000, height=800)
    assert reg.lookup(stretched) is None
    assert aspect_close(1024, 1024, 512, 512)
    assert not aspect_close(1024, 1024, 1024, 1000)
    assert not aspect_close(0, 1, 1, 1)


def test_nearest_perceptual_wins_and_threshold(reg: SourceRegistry) -> None:
    base = 0x0123_4567_89AB_CDEF
    for k, dist in enumerate((5, 2, 7)):
        h = base ^ ((1 << dist) - 1)
        reg.add_hashes(
            ImageHashes(f"{k:064x}", f"{k + 10:064x}", f"{h:016x}", 100, 100),
            Relation.OWN_DRAWING,
            None,
            f"{k}.png",
        )
    q = ImageHashes("f" * 64, "e" * 64, f"{base:016x}", 100, 100)
    m = reg.lookup(q)
    assert m is not None and m.distance == 2 and m.entry.path == "1.png"
    strict = SourceRegistry.open(reg.path, phash_threshold=1)
    assert strict.lookup(q) is None
    strict.close()


def test_readd_rules(tmp_path: Path, reg: SourceRegistry) -> None:
    a = _pic(tmp_path / "a.png", 1)
    copy = tmp_path / "again" / "a.png"
    copy.parent.mkdir()
    copy.write_bytes(a.read_bytes())
    ev = Evidence(text="permission DM 2024-05-01")
    reg.add_paths([a], Relation.PERMITTED, ev)
    # same relation, no evidence: keeps the evidence; another path of the same bytes
    res = reg.add_paths([copy], Relation.PERMITTED)
    assert (res.added, res.already) == (0, 1)
    (e,) = reg.list()
    assert e.evidence == ev and e.path == str(a.resolve())
    # different relation: replaces relation and evidence, even for an unchanged file
    res = reg.add_paths([a], Relation.OWN_DRAWING)
    assert res.skipped_unchanged == 1
    (e,) = reg.list()
    assert e.relation is Relation.OWN_DRAWING and e.evidence is None
    # same relation, new evidence: replaces the evidence
    ev2 = Evidence(url="https://example.com/ok")
    e2 = reg.add_hashes(e.hashes(), Relation.OWN_DRAWING, ev2, "elsewhere.png")
    assert e2.id == e.id and e2.evidence == ev2 and e2.path == e.path
    # removing by the second path removes the entry
    assert reg.remove(str(copy)) == 1


def test_rerun_skips_unchanged(
    tmp_path: Path, reg: SourceRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []

    def counting(path: Path) -> ImageHashes:
        calls.append(path)
        return hash_image(path)

    monkeypatch.setattr(registry_mod, "hash_image", counting)
    files = [_pic(tmp_path / "src" / f"{i:03d}.png", i, (64, 64)) for i in range(12)]
    progress: list[tuple[int, int]] = []
    res = reg.add_paths(
        [tmp_path / "src"], Relation.OWN_DRAWING, progress=lambda d, t: progress.append((d, t))
    )
    assert res.added == 12 and len(calls) == 12
    assert progress[-1] == (12, 12) and len(progress) == 12
    calls.clear()
    res = reg.add_paths([tmp_path / "src"], Relation.OWN_DRAWING)
    assert (res.added, res.already, res.skipped_unchanged) == (0, 0, 12)
    assert calls == []
    # a changed file is hashed again (new content: a new entry)
    _pic(files[0], 99, (64, 64))
    os.utime(files[0], ns=(1, 1))
    res = reg.add_paths([tmp_path / "src"], Relation.OWN_DRAWING)
    assert (res.added, res.skipped_unchanged) == (1, 11)
    assert calls == [files[0]]


def test_many_files_batched(
    tmp_path: Path, reg: SourceRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry_mod, "BATCH_FILES", 7)
    img = testing.illustration(48, 48, seed=1)
    for i in range(30):
        img.putpixel((0, 0), (i, i, i))
        testing.save(img, tmp_path / "src" / f"{i:02d}.png")
    res = reg.add_paths([tmp_path / "src"], Relation.OWN_DRAWING)
    assert res.added == 30 and reg.count() == 30


def test_corrupt_file_in_folder_reported(tmp_path: Path, reg: SourceRegistry) -> None:
    good = _pic(tmp_path / "src" / "good.png", 1)
    bad = tmp_path / "src" / "bad.jpg"
    bad.write_bytes(good.read_bytes()[:300])  # truncated
    junk = tmp_path / "src" / "junk.webp"
    junk.write_bytes(os.urandom(500))
    res = reg.add_paths([tmp_path / "src", tmp_path / "missing.png"], Relation.OWN_DRAWING)
    assert res.added == 1
    reasons = dict(res.failed)
    assert set(reasons) == {str(bad), str(junk), str(tmp_path / "missing.png")}
    for path, why in res.failed:
        assert "\n" not in why and path in why


def test_bulk_add_and_index(reg: SourceRegistry) -> None:
    items = [
        (
            ImageHashes(f"{i:064x}", f"{i:064x}", f"{i * 7919:016x}", 10, 10),
            Relation.OWN_GENERATION,
            None,
            f"{i}.png",
        )
        for i in range(1, 501)
    ]
    assert reg.add_hashes_many(items) == 500
    assert reg.add_hashes_many(items[:10]) == 0
    m = reg.lookup(ImageHashes("x", "y", f"{250 * 7919:016x}", 20, 20))
    assert m is not None and m.entry.path == "250.png" and m.distance == 0
    assert reg.count() == 500


def test_ambiguous_prefix(reg: SourceRegistry) -> None:
    for s in ("abcdef01" + "0" * 56, "abcdef01" + "1" * 56):
        reg.add_hashes(ImageHashes(s, s, "0" * 16, 1, 1), Relation.OWN_DRAWING, None, s)
    with pytest.raises(ConfigError):
        reg.remove("abcdef01")
    assert reg.remove("abcdef011") == 1


def test_corrupt_db_is_an_error_and_untouched(tmp_path: Path) -> None:
    db = tmp_path / "reg.sqlite"
    data = os.urandom(8192)
    db.write_bytes(data)
    with pytest.raises(RegistryError) as info:
        SourceRegistry.open(db)
    assert "damaged" in info.value.text.en and "壊れて" in info.value.text.ja
    assert db.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reg.sqlite"]


def test_damaged_pages_are_an_error_and_untouched(tmp_path: Path) -> None:
    db = tmp_path / "reg.sqlite"
    with SourceRegistry.open(db) as r:
        r.add_hashes_many(
            [
                (
                    ImageHashes(f"{i:064x}", f"{i:064x}", f"{i * 7919:016x}", 9, 9),
                    Relation.OWN_DRAWING,
                    None,
                    str(i),
                )
                for i in range(3000)
            ]
        )
    data = bytearray(db.read_bytes())
    data[8192:] = os.urandom(len(data) - 8192)  # header and schema page intact
    db.write_bytes(bytes(data))
    with pytest.raises(RegistryError, match="damaged"):
        r = SourceRegistry.open(db)
        try:
            r.list()
        finally:
            r.close()
    assert db.read_bytes() == bytes(data)


def test_foreign_sqlite_db_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "other.sqlite"
    c = sqlite3.connect(db)
    c.execute("CREATE TABLE photos (x)")
    c.commit()
    c.close()
    before = db.read_bytes()
    with pytest.raises(RegistryError):
        SourceRegistry.open(db)
    assert db.read_bytes() == before


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "reg.sqlite"
    SourceRegistry.open(db).close()
    c = sqlite3.connect(db)
    c.execute("UPDATE schema_version SET version = 99")
    c.commit()
    c.close()
    with pytest.raises(RegistryError, match="newer"):
        SourceRegistry.open(db)


def test_locked_db_is_an_error(tmp_path: Path) -> None:
    db = tmp_path / "reg.sqlite"
    reg = SourceRegistry.open(db, busy_timeout=0.05)
    other = sqlite3.connect(db, isolation_level=None, timeout=0.05)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(RegistryError) as info:
            reg.add_paths([_pic(tmp_path / "a.png", 1)], Relation.OWN_DRAWING)
        assert "locked" in info.value.text.en and "使われています" in info.value.text.ja
        assert reg.list() == []  # reading still works in WAL mode
        with SourceRegistry.open(db, busy_timeout=0.05) as reader:  # so does opening
            assert reader.lookup(hash_image(tmp_path / "a.png")) is None
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert reg.add_paths([tmp_path / "a.png"], Relation.OWN_DRAWING).added == 1
    reg.close()


def test_locked_at_open_is_an_error(tmp_path: Path) -> None:
    db = tmp_path / "reg.sqlite"
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("PRAGMA locking_mode = EXCLUSIVE")
    other.execute("BEGIN EXCLUSIVE")
    other.execute("CREATE TABLE t (x)")
    try:
        with pytest.raises(RegistryError, match="locked"):
            SourceRegistry.open(db, busy_timeout=0.05)
    finally:
        other.execute("ROLLBACK")
        other.close()
