"""Our signed and protected files validate in an independent C2PA implementation too.

@trustnxt/c2pa-ts (TypeScript, npm) shares no code with c2pa-rs, which our own verifier
wraps. ``make c2pa-ts`` (part of ``make test``) installs it under ``.venv/c2pa-ts``; without
node or that package these tests skip, saying why.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from myself_i2i.identity import Identity
from tests.core_helpers import flip_in_store, new_identity, photo, picture, sign_i2i, sign_t2i

ROOT = Path(__file__).resolve().parents[2]
PREFIX = ROOT / ".venv" / "c2pa-ts"
SCRIPT = Path(__file__).with_name("c2pa_ts_validate.mjs")


def _validate(*files: Path) -> list[dict[str, object]]:
    node = shutil.which("node")
    if node is None or not (PREFIX / "node_modules" / "@trustnxt" / "c2pa-ts").is_dir():
        pytest.skip("node or @trustnxt/c2pa-ts is not installed (make c2pa-ts)")
    # ES modules resolve packages from the script's own folder: run a copy placed there.
    runner = PREFIX / SCRIPT.name
    shutil.copyfile(SCRIPT, runner)
    proc = subprocess.run(
        [node, str(runner), *map(str, files)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


@pytest.fixture
def alice() -> Identity:
    return new_identity("@alice")


def test_our_png_and_jpeg_validate_in_c2pa_ts(tmp_path: Path, alice: Identity) -> None:
    from myself_i2i.sign import SignOptions

    marked = SignOptions(use_registry=False, keep_in_repository=False)  # watermark on
    files = [
        sign_t2i(picture(tmp_path / "t.png"), alice, options=marked).output,
        sign_t2i(picture(tmp_path / "t.jpg", seed=2), alice).output,
        sign_i2i(picture(tmp_path / "i.png", seed=3), photo(tmp_path / "s.png"), alice).output,
    ]
    results = _validate(*files)
    assert [r["valid"] for r in results] == [True, True, True], results


def test_a_protected_drawing_validates_in_c2pa_ts(tmp_path: Path, alice: Identity) -> None:
    from myself_i2i.protect import ProtectOptions, protect_artwork

    res = protect_artwork(
        picture(tmp_path / "drawing.png", seed=4),
        alice,
        options=ProtectOptions(keep_in_repository=False, publish=False),
    )
    (r,) = _validate(res.output)
    assert r["valid"] is True, r


def test_tampering_is_seen_by_c2pa_ts_too(tmp_path: Path, alice: Identity) -> None:
    signed = sign_t2i(picture(tmp_path / "t.png"), alice).output
    bad = tmp_path / "bad.png"
    bad.write_bytes(flip_in_store(signed.read_bytes(), b"t2i", b"t2j"))
    (r,) = _validate(bad)
    assert r["valid"] is False and r["failures"], r
