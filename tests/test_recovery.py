"""Recovering stripped, re-encoded copies through the manifest repository (real c2pa, SQLite).

One watermarked picture and one unmarked picture are signed once per module; every test
re-encodes, resizes or re-signs copies of them and checks the verdict and the findings.
"""

from __future__ import annotations

import functools
import http.server
import io
import shutil
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from myself_i2i.cli import app
from myself_i2i.identity import Identity
from myself_i2i.recovery import RECOVERY_THRESHOLD, check_conflict
from myself_i2i.report import EXIT_CODES, Report, Verdict
from myself_i2i.repository import LocalRepository
from myself_i2i.sign import SignOptions, SignResult, sign_image
from myself_i2i.softbinding.watermark import decode, embed
from myself_i2i.testing import illustration, save
from myself_i2i.verify import VerifyOptions, verify_bytes
from tests.core_helpers import new_identity, report_errors

MARKED = SignOptions(use_registry=False, keep_in_repository=False)
UNMARKED = SignOptions(watermark=False, use_registry=False, keep_in_repository=False)


@dataclass
class Signed:
    alice: Identity
    marked: SignResult  # 2200x1400 PNG with the watermark
    unmarked: SignResult  # 900x900 PNG, no watermark (fingerprint route only)
    repo_dir: Path


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Signed]:
    d = tmp_path_factory.mktemp("recovery")
    alice = new_identity("alice", d / "alice")
    a = save(illustration(2200, 1400, seed=11), d / "marked.png")
    b = save(illustration(900, 900, seed=12), d / "unmarked.png")
    marked = sign_image(a, alice, t2i=True, options=MARKED)
    unmarked = sign_image(b, alice, t2i=True, options=UNMARKED)
    repo_dir = d / "repo"
    with LocalRepository.open(repo_dir, create=True) as repo:
        for r in (marked, unmarked):
            repo.add(r.manifest_store, locator=r.locator, fingerprint=r.fingerprint, title="x")
    yield Signed(alice, marked, unmarked, repo_dir)


def platform_copy(path: Path, long_side: int | None = None, quality: int = 85) -> bytes:
    """What a platform serves: pixels only (no manifest), maybe resized, JPEG."""
    with Image.open(path) as im:
        rgb = im.convert("RGB")
    if long_side is not None and max(rgb.size) > long_side:
        k = long_side / max(rgb.size)
        rgb = rgb.resize((round(rgb.width * k), round(rgb.height * k)), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    rgb.save(out, "JPEG", quality=quality)
    return out.getvalue()


def check(data: bytes, repo_dir: Path, name: str = "copy.jpg") -> Report:
    with LocalRepository.open(repo_dir) as repo:
        report = verify_bytes(data, name, VerifyOptions(repositories=[repo]))
    assert report_errors(report.to_dict()) == []
    return report


@pytest.mark.parametrize("long_side", [None, 2048, 1024])
def test_stripped_jpeg_copy_is_recovered_by_watermark(
    signed: Signed, long_side: int | None
) -> None:
    data = platform_copy(signed.marked.output, long_side)
    report = check(data, signed.repo_dir)
    assert report.verdict is Verdict.RECOVERED
    assert report.has("recovery.watermark")
    assert report.has("hash.not_checkable")
    assert report.recovery is not None
    assert report.recovery["locator"] == signed.marked.locator.hex()  # type: ignore[union-attr]
    assert report.recovery["distance"] <= 4  # measured max after platform pipelines


def test_recovered_copy_names_the_signer_when_the_token_is_given(signed: Signed) -> None:
    data = platform_copy(signed.marked.output, 2048)
    with LocalRepository.open(signed.repo_dir) as repo:
        report = verify_bytes(
            data,
            "copy.jpg",
            VerifyOptions(repositories=[repo], key_token=signed.alice.token),
        )
    assert report.verdict is Verdict.RECOVERED
    assert report.signer is not None and report.signer.token == signed.alice.token


def test_unmarked_copy_is_recovered_by_fingerprint(signed: Signed) -> None:
    report = check(platform_copy(signed.unmarked.output), signed.repo_dir)
    assert report.verdict is Verdict.RECOVERED
    assert report.has("recovery.fingerprint")
    assert report.has("recovery.fingerprint_only")
    assert not report.has("recovery.watermark")


def test_a_different_picture_is_not_attributed(signed: Signed, tmp_path: Path) -> None:
    other = save(illustration(1200, 800, seed=99), tmp_path / "other.png")
    report = check(platform_copy(other), signed.repo_dir)
    assert report.verdict is Verdict.UNSIGNED
    assert report.has("recovery.not_found")
    assert not report.has("recovery.watermark") and not report.has("recovery.fingerprint")


def test_a_locator_on_another_picture_is_rejected(signed: Signed, tmp_path: Path) -> None:
    """A's locator forced into B's pixels: the manifest is found but its fingerprint is far."""
    assert signed.marked.locator is not None
    b = embed(illustration(1200, 800, seed=98), signed.marked.locator)
    assert decode(b) == signed.marked.locator
    out = io.BytesIO()
    b.save(out, "JPEG", quality=90)
    report = check(out.getvalue(), signed.repo_dir)
    assert report.verdict is Verdict.UNSIGNED
    rejected = [f for f in report.findings if f.code == "recovery.rejected"]
    assert rejected and rejected[0].details["route"] == "watermark"
    assert rejected[0].details["distance"] > RECOVERY_THRESHOLD
    assert report.recovery is not None and report.recovery["route"] is None


def _resign_as(signed: Signed, who: Identity, tmp_path: Path) -> Path:
    """Strip Alice's signed picture and sign the same pixels with ``who``'s key, no watermark."""
    with Image.open(signed.marked.output) as im:
        stripped = save(im.convert("RGB"), tmp_path / "stolen.png")
    return sign_image(stripped, who, t2i=True, options=UNMARKED).output


def test_conflict_watermark_points_to_another_signer(signed: Signed, tmp_path: Path) -> None:
    mallory = new_identity("mallory", tmp_path / "mallory")
    stolen = _resign_as(signed, mallory, tmp_path)
    data = stolen.read_bytes()
    # Without a repository nothing is known: a valid, unknown signer.
    alone = verify_bytes(data, stolen.name, VerifyOptions())
    assert alone.verdict is Verdict.UNTRUSTED
    assert not alone.has("softbinding.conflict")
    # With the repository holding Alice's manifest the watermark gives it away.
    report = check(data, signed.repo_dir, stolen.name)
    assert report.verdict is Verdict.WRONG_SIGNER
    conflict = next(f for f in report.findings if f.code == "softbinding.conflict")
    assert conflict.details["other_signer"] == signed.alice.token
    assert conflict.details["signer"] == mallory.token
    assert conflict.details["locator"] == signed.marked.locator.hex()  # type: ignore[union-attr]
    assert report.exit_code == EXIT_CODES[Verdict.WRONG_SIGNER]


def test_conflict_function_and_no_conflict_for_the_same_signer(
    signed: Signed, tmp_path: Path
) -> None:
    from myself_i2i._internal import c2pa_backend

    # Alice re-signing her own stripped picture is not a conflict.
    again = _resign_as(signed, signed.alice, tmp_path)
    data = again.read_bytes()
    read = c2pa_backend.read_manifest(data, "image/png")
    assert read is not None and read.active is not None
    assert read.active.soft_bindings().keys() == {"org.myself-i2i.fingerprint.phash64.1"}
    with LocalRepository.open(signed.repo_dir) as repo:
        repos = [repo]
        assert (
            check_conflict(data, "image/png", "a.png", repos, read.active, signed.alice.token) == []
        )
        assert check_conflict(data, "image/png", "a.png", repos, read.active, None) != []
    # No repositories: nothing is decoded, nothing is reported.
    assert check_conflict(data, "image/png", "a.png", [], read.active, None) == []
    # The honest original, verified against its own repository, is not a conflict.
    report = check(signed.marked.output.read_bytes(), signed.repo_dir, "marked.png")
    assert report.verdict is Verdict.UNTRUSTED
    assert not report.has("softbinding.conflict")


def test_cli_verify_with_repo_dir_exits_10(signed: Signed, tmp_path: Path) -> None:
    copy = tmp_path / "copy.jpg"
    copy.write_bytes(platform_copy(signed.marked.output, 2048))
    r = CliRunner().invoke(app, ["verify", str(copy), "--repo", str(signed.repo_dir)])
    assert r.exit_code == EXIT_CODES[Verdict.RECOVERED] == 10, r.output
    # No repository, no recovery.
    r = CliRunner().invoke(app, ["verify", str(copy)])
    assert r.exit_code == EXIT_CODES[Verdict.UNSIGNED], r.output


@pytest.fixture
def static_host(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """python's http.server on 127.0.0.1 serving a folder (a static web host)."""
    root = tmp_path / "site"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_publish_then_static_http_host_recovers_by_watermark(
    signed: Signed, tmp_path: Path, static_host: tuple[Path, str]
) -> None:
    site, url = static_host
    published = tmp_path / "published"
    r = CliRunner().invoke(app, ["publish", str(signed.marked.output), "--repo", str(published)])
    assert r.exit_code == 0, r.output
    shutil.copytree(published, site, dirs_exist_ok=True)
    copy = tmp_path / "copy.jpg"
    copy.write_bytes(platform_copy(signed.marked.output, 2048))
    r = CliRunner().invoke(app, ["verify", str(copy), "--repo", url, "--json"])
    assert r.exit_code == 10, r.output
    assert '"recovery.watermark"' in r.output
    # A static host has no search API: fingerprint-only pictures are not found there.
    from myself_i2i.repository import HttpRepository

    assert HttpRepository(url).search(signed.marked.fingerprint) == []
