"""What a command imports: the heavy stacks stay out of the paths that do not need them.

Start-up time is measured by bench/sign_verify.py, never asserted; these tests pin the
imports that made it slow (docs/performance.md), in fresh processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from myself_i2i.testing import photo_like, save

HEAVY = ("scipy", "numpy", "jsonschema", "pydantic", "imagehash", "rich", "fastapi")

_PROBE = """
import json, sys
from myself_i2i.cli import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})), file=sys.stderr)
"""


def _loaded(*args: str, home: Path) -> set[str]:
    env = dict(os.environ, MYSELF_I2I_HOME=str(home))
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, *args], env=env, capture_output=True, text=True, timeout=120
    )
    return set(json.loads(proc.stderr.strip().splitlines()[-1]))


def test_help_and_verify_import_no_heavy_stack(tmp_path: Path, home: Path) -> None:
    picture = save(photo_like(320, 320, seed=1), tmp_path / "a.jpg")
    signer_home = tmp_path / "signer"
    env = dict(os.environ, MYSELF_I2I_HOME=str(signer_home))
    for cmd in (["init", "--name", "a"], ["sign", "--t2i", str(picture)]):
        subprocess.run(
            [sys.executable, "-m", "myself_i2i", *cmd], env=env, check=True, capture_output=True
        )
    signed = tmp_path / "a.signed.jpg"
    assert not _loaded("--help", home=home) & set(HEAVY)
    # a third party (no manifest repository) verifying a signed file
    assert not _loaded("verify", str(signed), home=home) & set(HEAVY)


def test_signing_without_watermark_imports_no_numpy(tmp_path: Path) -> None:
    picture = save(photo_like(320, 320, seed=2), tmp_path / "b.png")
    home = tmp_path / "signer"
    env = dict(os.environ, MYSELF_I2I_HOME=str(home))
    subprocess.run(
        [sys.executable, "-m", "myself_i2i", "init", "--name", "b"],
        env=env,
        check=True,
        capture_output=True,
    )
    loaded = _loaded("sign", "--t2i", "--no-watermark", str(picture), home=home)
    assert (tmp_path / "b.signed.png").exists()
    assert not loaded & set(HEAVY)


def test_the_program_exits_through_run_with_main_s_exit_code(tmp_path: Path) -> None:
    """`myself-i2i` and `python -m myself_i2i` run `run()`: main, then gc.freeze on exit."""
    env = dict(os.environ, MYSELF_I2I_HOME=str(tmp_path), MYSELF_I2I_LANG="en")
    ok = subprocess.run(
        [sys.executable, "-m", "myself_i2i", "--version"], env=env, capture_output=True, text=True
    )
    assert ok.returncode == 0 and ok.stdout.startswith("myself-i2i ")
    bad = subprocess.run(
        [sys.executable, "-m", "myself_i2i", "sign"], env=env, capture_output=True, text=True
    )
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "IMAGE" in bad.stderr
    from importlib.metadata import entry_points

    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "myself-i2i"]
    assert script.value == "myself_i2i.cli:run"


def test_run_freezes_the_heap_only_on_the_way_out(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    from myself_i2i import cli

    calls: list[str] = []
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(cli, "main", lambda: calls.append("main"))
    cli.run()
    assert calls == ["main", "freeze"]
