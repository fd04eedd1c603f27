"""``repo list``: labelled columns, one row per picture after it was signed again."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from myself_i2i.cli import app
from tests.core_helpers import picture

runner = CliRunner()


def _run(*args: str) -> str:
    r = runner.invoke(app, list(args))
    assert r.exit_code == 0, r.output
    return r.stdout


def test_repo_list_labels_columns_and_lists_a_resigned_picture_once(tmp_path: Path) -> None:
    _run("init", "--name", "alice")
    src = picture(tmp_path / "a.png", size=320)
    other = picture(tmp_path / "b.png", size=320, seed=8)
    _run("sign", "--t2i", str(src), str(other))
    _run("sign", "--t2i", str(src), "--overwrite")  # signed again: a second manifest

    lines = _run("--lang", "en", "repo", "list").splitlines()
    assert lines[0].split() == ["LOCATOR", "FINGERPRINT", "FIRST", "PUBLISHED", "(UTC)", "TITLE"]
    rows = lines[1:]
    assert len(rows) == 2, lines
    (again,) = [r for r in rows if "a.signed.png" in r]
    assert again.endswith("(2 versions)")
    assert any("b.signed.png" in r and "versions" not in r for r in rows)

    every = _run("--lang", "en", "repo", "list", "--all").splitlines()[1:]
    assert sum("a.signed.png" in r for r in every) == 2 and len(every) == 3
    # the row shown is the newest manifest of the picture
    assert again.split()[0] == next(r for r in reversed(every) if "a.signed.png" in r).split()[0]

    ja = _run("--lang", "ja", "repo", "list").splitlines()
    assert ja[0].split()[0] == "ロケーター" and "（2 版）" in "\n".join(ja)


def test_repo_list_of_an_empty_repository(tmp_path: Path) -> None:
    assert _run("--lang", "en", "repo", "list").strip() == "(empty)"
