"""Signing real PNG, JPEG and WebP files with the real c2pa library."""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from myself_i2i._internal import c2pa_backend
from myself_i2i._internal.containers import manifest_store_bytes
from myself_i2i.errors import ConfigError, InputError, ManifestError, PledgeRefused
from myself_i2i.identity import Identity
from myself_i2i.models import Relation, SourceSpec
from myself_i2i.report import Verdict
from myself_i2i.sign import SignOptions, sign_image
from myself_i2i.testing import baseline_manifest
from myself_i2i.verify import VerifyOptions, verify_bytes, verify_image
from tests.core_helpers import FAST, new_identity, photo, picture, sign_i2i, sign_t2i


@pytest.fixture
def alice() -> Identity:
    return new_identity("alice")


def _only(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".webp"])
def test_sign_each_format(tmp_path: Path, alice: Identity, suffix: str) -> None:
    src = picture(tmp_path / f"a{suffix}")
    before = src.read_bytes()
    res = sign_t2i(src, alice)
    assert src.read_bytes() == before  # the input is never touched
    assert res.output == tmp_path / f"a.signed{suffix}"
    assert manifest_store_bytes(res.output.read_bytes()) == res.manifest_store
    with Image.open(res.output) as im:
        assert im.size == (256, 256)
    assert res.pledge is not None and res.pledge.kind.value == "t2i"
    rep = verify_image(res.output, VerifyOptions(key_token=alice.token))
    assert rep.verdict is Verdict.VERIFIED, [f.code for f in rep.findings]
    assert _only(tmp_path) == {"a" + suffix, "a.signed" + suffix, "home"}


def test_i2i_records_sources(tmp_path: Path, alice: Identity) -> None:
    src = photo(tmp_path / "mine.jpg")
    res = sign_i2i(picture(tmp_path / "out.png"), src, alice)
    assert res.pledge is not None and res.pledge.kind.value == "self-sourced-i2i"
    (rec,) = res.pledge.sources
    assert rec.relation is Relation.PERMITTED and rec.title == "mine.jpg"
    assert rec.evidence is not None and rec.evidence.text
    rep = verify_image(res.output, VerifyOptions(key_token=alice.token, include_thumbnails=True))
    assert rep.verdict is Verdict.VERIFIED
    assert [i["relationship"] for i in rep.ingredients] == ["inputTo"]
    assert set(rep.thumbnails) == {"claim", "source1"}


def test_in_place(tmp_path: Path, alice: Identity) -> None:
    src = picture(tmp_path / "a.png")
    before = src.read_bytes()
    opts = SignOptions(watermark=False, use_registry=False, keep_in_repository=False, in_place=True)
    res = sign_image(src, alice, t2i=True, options=opts)
    assert res.output == src and src.read_bytes() != before
    assert manifest_store_bytes(src.read_bytes()) is not None
    assert _only(tmp_path) == {"a.png", "home"}


def test_already_signed_is_refused(tmp_path: Path, alice: Identity) -> None:
    signed = sign_t2i(picture(tmp_path / "a.png"), alice).output
    with pytest.raises(PledgeRefused, match="already carries a C2PA manifest"):
        sign_t2i(signed, alice, output=tmp_path / "again.png")
    assert not (tmp_path / "again.png").exists()


def test_option_errors(tmp_path: Path, alice: Identity) -> None:
    src = picture(tmp_path / "a.png")
    other = photo(tmp_path / "s.png")
    with pytest.raises(ConfigError):
        sign_image(src, alice, t2i=True, sources=[SourceSpec(other)], options=FAST)
    with pytest.raises(ConfigError):
        sign_image(src, alice, t2i=False, options=FAST)
    with pytest.raises(ConfigError):
        sign_t2i(src, alice, output=src)
    with pytest.raises(ConfigError):
        sign_t2i(src, alice, output=tmp_path / "a.jpg")
    with pytest.raises(InputError):
        sign_t2i(src, alice, output=tmp_path / "nowhere" / "a.png")
    with pytest.raises(ConfigError):
        sign_image(src, alice, t2i=True, options=SignOptions(hashtag="#AIart"))
    assert _only(tmp_path) == {"a.png", "s.png", "home"}


def test_unpermitted_sources_are_refused(tmp_path: Path, alice: Identity) -> None:
    src = picture(tmp_path / "a.png")
    other = photo(tmp_path / "s.png")
    with pytest.raises(PledgeRefused, match="not registered"):
        sign_image(src, alice, t2i=False, sources=[SourceSpec(other)], options=FAST)
    with pytest.raises(PledgeRefused, match="evidence"):
        sign_image(
            src,
            alice,
            t2i=False,
            options=FAST,
            sources=[SourceSpec(other, relation=Relation.PERMITTED)],
        )
    assert _only(tmp_path) == {"a.png", "s.png", "home"}


def test_own_signed_t2i_output_is_an_accepted_source(tmp_path: Path, alice: Identity) -> None:
    base = sign_t2i(picture(tmp_path / "base.png", seed=3), alice).output
    res = sign_image(
        picture(tmp_path / "a.png"), alice, t2i=False, sources=[SourceSpec(base)], options=FAST
    )
    assert res.sources[0].record.relation is Relation.OWN_GENERATION


def test_failure_leaves_nothing_behind(
    tmp_path: Path, alice: Identity, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = picture(tmp_path / "a.png")
    before = src.read_bytes()

    def failing_sign(**kw: Any) -> bytes:
        kw["dest"].write(b"partial garbage")  # c2pa dies half-way through writing
        raise ManifestError("injected failure", "注入した失敗")

    monkeypatch.setattr(c2pa_backend, "sign", failing_sign)
    with pytest.raises(ManifestError):
        sign_t2i(src, alice)
    opts = SignOptions(watermark=False, use_registry=False, keep_in_repository=False, in_place=True)
    with pytest.raises(ManifestError):
        sign_image(src, alice, t2i=True, options=opts)
    assert src.read_bytes() == before
    assert _only(tmp_path) == {"a.png", "home"}


def test_failure_of_real_c2pa_leaves_nothing(
    tmp_path: Path, alice: Identity, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real c2pa refusal: a self-signed leaf without the CA in the chain.
    src = picture(tmp_path / "a.png")
    broken = Identity(alice.name, alice.token, alice.ca_cert, alice.ca_cert, alice._leaf_key)
    with pytest.raises(ManifestError):
        sign_t2i(src, broken)
    assert _only(tmp_path) == {"a.png", "home"}


def _thumb(report_thumbs: dict[str, str], key: str) -> Image.Image:
    url = report_thumbs[key]
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_thumbnail_long_edge(tmp_path: Path, alice: Identity, suffix: str) -> None:
    from myself_i2i.testing import illustration, save

    src = save(illustration(1200, 700, 4), tmp_path / f"wide{suffix}")
    res = sign_t2i(src, alice)
    rep = verify_image(res.output, VerifyOptions(include_thumbnails=True))
    with _thumb(rep.thumbnails, "claim") as th:
        assert th.format == "JPEG"
        assert max(th.size) <= 512 and max(th.size) >= 256
        assert abs(th.width / th.height - 1200 / 700) < 0.02


def test_growth_is_small_compared_to_default(tmp_path: Path, alice: Identity) -> None:
    src = picture(tmp_path / "a.png", size=768)
    ours = sign_t2i(src, alice).output.stat().st_size - src.stat().st_size
    dest = io.BytesIO()
    manifest = baseline_manifest("a.png", "image/png")
    c2pa_backend.sign_default(
        source=io.BytesIO(src.read_bytes()),
        dest=dest,
        mime="image/png",
        manifest=manifest,
        chain_pem=alice.chain_pem,
        private_key_pem=alice.private_key_pem(),
    )
    default = len(dest.getvalue()) - src.stat().st_size
    assert ours * 4 <= default, (ours, default)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_with_watermark(tmp_path: Path, alice: Identity, suffix: str) -> None:
    src = picture(tmp_path / f"w{suffix}", size=512)
    before = src.read_bytes()
    opts = SignOptions(use_registry=False, keep_in_repository=False)
    res = sign_image(src, alice, t2i=True, options=opts)
    assert src.read_bytes() == before
    assert res.locator is not None
    rep = verify_bytes(
        res.output.read_bytes(), res.output.name, VerifyOptions(key_token=alice.token)
    )
    assert rep.verdict is Verdict.VERIFIED
    assert any(a.get("action") == "c2pa.watermarked" for a in rep.actions)
    from myself_i2i.softbinding.watermark import decode

    with Image.open(res.output) as im:
        got = decode(im)
    assert got == res.locator
    assert os.path.getsize(res.output) > 0


def test_small_image_signs_with_fingerprint_only(tmp_path: Path, alice: Identity) -> None:
    """An image too small for the watermark is still signed, with a note saying so."""
    from myself_i2i.sign import WATERMARK_MIN_SIDE

    src = picture(tmp_path / "small.png", size=WATERMARK_MIN_SIDE - 56)
    res = sign_image(src, alice, t2i=True, options=SignOptions(keep_in_repository=False))
    assert res.locator is None
    assert any("too small for the invisible watermark" in n for n in res.notes)
    rep = verify_image(res.output, VerifyOptions(key_token=alice.token))
    assert rep.verdict is Verdict.VERIFIED


def test_already_signed_is_its_own_error(tmp_path: Path, alice: Identity) -> None:
    from myself_i2i.errors import AlreadySigned

    res = sign_t2i(picture(tmp_path / "a.png"), alice)
    with pytest.raises(AlreadySigned):
        sign_t2i(res.output, alice)


def test_watermarked_lossless_webp_stays_lossless(tmp_path: Path, alice: Identity) -> None:
    from myself_i2i._internal.containers import webp_is_lossless
    from myself_i2i.testing import illustration, save

    src = save(illustration(512, 512, seed=3), tmp_path / "l.webp", lossless=True)
    assert webp_is_lossless(src.read_bytes())
    res = sign_image(src, alice, t2i=True, options=SignOptions(keep_in_repository=False))
    assert res.locator is not None
    assert webp_is_lossless(res.output.read_bytes())
    lossy = save(illustration(512, 512, seed=3), tmp_path / "q.webp", quality=80)
    assert not webp_is_lossless(lossy.read_bytes())


# --- crash safety (issue 9 §3) -----------------------------------------------------------------

#: Signs argv[1] with the identity of $MYSELF_I2I_HOME and is killed (SIGKILL) at step 8,
#: after the temporary file is written and the repository has the manifest, before the rename.
_KILLED_SIGN = """
import os, signal, sys
from pathlib import Path
import myself_i2i.sign as sign
from myself_i2i.identity import IdentityStore

def killed(tmp, target):
    os.kill(os.getpid(), signal.SIGKILL)

sign._commit = killed
opts = sign.SignOptions(watermark=False, use_registry=False)
sign.sign_image(Path(sys.argv[1]), IdentityStore.default().load(), t2i=True, options=opts)
"""


def _temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".mi2i-sign."))


def _repository_count() -> int:
    from myself_i2i.repository import LocalRepository

    with LocalRepository.open_default() as repo:
        return repo.count()


@pytest.mark.skipif(os.name == "nt", reason="SIGKILL")
def test_killed_sign_leaves_a_temp_the_next_sign_removes_and_the_repository_has_it(
    tmp_path: Path, alice: Identity
) -> None:
    import signal
    import subprocess
    import sys

    src = picture(tmp_path / "a.png", size=128)
    proc = subprocess.run(
        [sys.executable, "-c", _KILLED_SIGN, str(src)], capture_output=True, timeout=120
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    # the kill left its temporary file, and no signed output ...
    (left,) = _temps(tmp_path)
    assert left.startswith(".mi2i-sign.") and left.endswith(".tmp")
    assert not (tmp_path / "a.signed.png").exists()
    # ... but the repository already has the manifest (it is written before the rename)
    assert _repository_count() == 1
    # the next sign in that folder removes the left-over (its writer is gone)
    res = sign_image(src, alice, t2i=True, options=SignOptions(watermark=False, use_registry=False))
    assert _temps(tmp_path) == []
    assert res.output.exists()
    assert _repository_count() == 2


def test_an_error_before_the_rename_leaves_no_temp_and_no_output(
    tmp_path: Path, alice: Identity, monkeypatch: pytest.MonkeyPatch
) -> None:
    import myself_i2i.sign as sign

    def fail(tmp: Path, target: Path) -> None:
        raise RuntimeError("injected between the repository and the rename")

    monkeypatch.setattr(sign, "_commit", fail)
    src = picture(tmp_path / "a.png", size=128)
    with pytest.raises(RuntimeError, match="injected"):
        sign_image(src, alice, t2i=True, options=SignOptions(watermark=False, use_registry=False))
    assert _only(tmp_path) == {"a.png", "home"}
    assert _repository_count() == 1  # a manifest whose file never appeared is harmless
    assert not sign._active


def test_the_repository_is_written_before_the_output_appears(
    tmp_path: Path, alice: Identity, monkeypatch: pytest.MonkeyPatch
) -> None:
    import myself_i2i.sign as sign

    seen: list[tuple[bool, int]] = []
    real = sign._commit

    def watch(tmp: Path, target: Path) -> None:
        seen.append((target.exists(), _repository_count()))
        real(tmp, target)

    monkeypatch.setattr(sign, "_commit", watch)
    src = picture(tmp_path / "a.png", size=128)
    sign_image(src, alice, t2i=True, options=SignOptions(watermark=False, use_registry=False))
    assert seen == [(False, 1)]


def _age(path: Path, seconds: float) -> Path:
    t = path.stat().st_mtime - seconds
    os.utime(path, (t, t))
    return path


@pytest.mark.skipif(os.name == "nt", reason="pids, flock and symlinks are POSIX here")
def test_stale_temp_removal_touches_only_ours(tmp_path: Path) -> None:
    import fcntl

    from myself_i2i.sign import STALE_AFTER, remove_stale_temps

    d = tmp_path / "out"
    d.mkdir()

    def make(name: str) -> Path:
        p = d / name
        p.write_bytes(b"partial")
        return p

    dead = make(".mi2i-sign.999999999.abc123.tmp")  # above any pid_max: the writer is gone
    alive_fresh = make(f".mi2i-sign.{os.getppid()}.abc_12.tmp")  # a live writer, young file
    alive_old = _age(make(f".mi2i-sign.{os.getppid()}.def456.tmp"), STALE_AFTER + 5)
    mine = make(f".mi2i-sign.{os.getpid()}.ghi789.tmp")  # our pid, but not being written
    locked = make(".mi2i-sign.999999998.jkl012.tmp")
    others = [
        make(".a.png.x1y2z3.tmp"),  # the old naming: not recognisably ours
        make("photo.mi2i-sign.1.a.tmp"),
        make(".mi2i-sign.1.a.tmp.keep"),
        make(".mi2i-sign.x.a.tmp"),
    ]
    (d / ".mi2i-sign.999999997.dir.tmp").mkdir()
    target = make("precious.png")
    (d / ".mi2i-sign.999999996.lnk.tmp").symlink_to(target)
    fd = os.open(locked, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        removed = remove_stale_temps(d)
    finally:
        os.close(fd)
    assert sorted(removed) == sorted([dead, alive_old, mine])
    for p in [alive_fresh, locked, *others, target]:
        assert p.exists(), p
    assert (d / ".mi2i-sign.999999996.lnk.tmp").is_symlink()
    assert (d / ".mi2i-sign.999999997.dir.tmp").is_dir()
    assert remove_stale_temps(tmp_path / "missing") == []


def test_a_refused_repository_write_is_kept_aside_and_added_next_time(
    tmp_path: Path, alice: Identity, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from myself_i2i.errors import RepositoryError
    from myself_i2i.repository import LocalRepository

    real_add = LocalRepository.add

    def locked(self: LocalRepository, store: bytes, **kw: Any) -> bytes:
        raise RepositoryError("index.sqlite: database is locked", "索引がロックされています")

    opts = SignOptions(watermark=False, use_registry=False)
    monkeypatch.setattr(LocalRepository, "add", locked)
    first = sign_image(picture(tmp_path / "a.png", size=128), alice, t2i=True, options=opts)
    assert first.output.exists()
    assert any("kept aside" in n for n in first.notes), first.notes
    assert len(list((home / "repository-pending").glob("*.json"))) == 1
    assert _repository_count() == 0
    # the next sign adds its own manifest and the one kept aside
    monkeypatch.setattr(LocalRepository, "add", real_add)
    sign_image(picture(tmp_path / "b.png", size=128, seed=2), alice, t2i=True, options=opts)
    assert _repository_count() == 2
    assert list((home / "repository-pending").iterdir()) == []
    with LocalRepository.open_default() as repo:
        assert {t for _, _, t in repo.entries()} == {"a.signed.png", "b.signed.png"}


def test_a_batch_is_signed_in_order_with_one_repository(tmp_path: Path, alice: Identity) -> None:
    from myself_i2i.repository import LocalRepository
    from myself_i2i.sign import sign_images

    srcs = [picture(tmp_path / f"b{i}{suffix}") for i, suffix in enumerate([".png", ".jpg"] * 2)]
    out = tmp_path / "out"
    out.mkdir()
    seen: list[tuple[float, int]] = []
    opts = SignOptions(use_registry=False)
    results = list(
        sign_images(
            srcs,
            alice,
            t2i=True,
            output=out,
            options=opts,
            workers=2,
            progress=lambda d, n: seen.append((d, n)),
        )
    )
    assert [r.input for r in results] == srcs
    assert all(r.output.parent == out and r.locator is not None for r in results)
    assert seen[-1][1] == 4 and abs(seen[-1][0] - 4.0) < 1e-9  # every image fully done
    with LocalRepository.open_default() as repo:
        for r in results:
            assert repo.get(r.locator or b"") == r.manifest_store
    report = verify_image(results[1].output, VerifyOptions(use_default_repositories=False))
    assert report.verdict is Verdict.VERIFIED


def test_a_batch_stops_at_the_first_error_and_reports_what_it_wrote(
    tmp_path: Path, alice: Identity
) -> None:
    from myself_i2i.sign import sign_images

    srcs = [picture(tmp_path / "c0.png"), tmp_path / "missing.png", picture(tmp_path / "c2.png")]
    out = tmp_path / "out"
    out.mkdir()
    got: list[Path] = []
    with pytest.raises(InputError):
        for res in sign_images(srcs, alice, t2i=True, output=out, options=FAST, workers=2):
            got.append(res.output)
    assert got[0] == out / "c0.signed.png"
    # every signed file was reported (the third one only if it had started), none is partial
    assert {p.name for p in got} == {p.name for p in out.iterdir()}
