"""Under a Japanese locale, what a person reads is Japanese; ``--json`` keeps the codes."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from myself_i2i.cli import app, main
from tests.core_helpers import picture

runner = CliRunner()
HALF_BRACKETS_AFTER_KANA = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff] ?\(")


def _main(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["myself-i2i", *args])
    with pytest.raises(SystemExit) as e:
        main()
    return int(e.value.code or 0), capsys.readouterr().err


@pytest.fixture
def ja(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MYSELF_I2I_LANG", raising=False)
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")


@pytest.mark.usefixtures("ja")
def test_click_usage_errors_are_japanese(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = {
        ("sign",): "引数 IMAGE... が必要です",
        ("sign", "x.png", "--bogus"): "オプション --bogus はありません",
        ("nosuch",): "コマンド nosuch はありません",
        ("sign", "x.png", "--relation"): "オプション --relation には値が必要です",
        ("sources", "list", "--db"): "オプション --db",
        ("serve", "--port", "0"): "--port の値が正しくありません: 0 は範囲 1<=x<=65535 の外です",
    }
    for args, expected in cases.items():
        code, err = _main(list(args), monkeypatch, capsys)
        assert code == 2, err
        assert err.count("\n") == 1 and expected in err, err
        assert "Missing" not in err and "No such" not in err and "(see" not in err
        assert "（`myself-i2i" in err  # full-width brackets around the hint
    # the global --lang overrides the locale
    code, err = _main(["--lang", "en", "sign"], monkeypatch, capsys)
    assert "Missing argument 'IMAGE...'" in err and "(see `myself-i2i sign --help`)" in err


@pytest.mark.usefixtures("ja")
def test_sign_verify_inspect_read_japanese(tmp_path: Path) -> None:
    assert runner.invoke(app, ["init", "--name", "alice"]).exit_code == 0
    drawing = picture(tmp_path / "drawing.png", seed=3)
    result = picture(tmp_path / "out.png", seed=4)
    added = runner.invoke(app, ["sources", "add", str(drawing), "--relation", "own-drawing"])
    assert added.exit_code == 0, added.output
    r = runner.invoke(app, ["sign", "--no-watermark", "--source", str(drawing), str(result)])
    assert r.exit_code == 0, r.output
    assert "自分の絵" in r.stdout and "own-drawing" not in r.stdout
    assert "self-sourced-i2i" not in r.stdout
    signed = tmp_path / "out.signed.png"

    r = runner.invoke(app, ["verify", str(signed), "--against", str(drawing)])
    assert "自分の絵" in r.stdout and "own-drawing" not in r.stdout, r.stdout
    assert "完全一致" in r.stdout and "exact" not in r.stdout, r.stdout
    assert "self-sourced-i2i" not in r.stdout

    r = runner.invoke(app, ["inspect", str(signed)])
    assert r.exit_code == 0, r.output
    out = r.stdout
    for english in ("action:", "ingredient:", "failures", "validation:", "own-drawing", "verdict"):
        assert english not in out, (english, out)
    assert "操作:" in out and "検証コード" in out and "自分の絵" in out
    assert not HALF_BRACKETS_AFTER_KANA.search(out), out

    # --json keeps the machine codes
    r = runner.invoke(app, ["verify", str(signed), "--json"])
    report = json.loads(r.stdout)
    assert report["pledge"]["kind"] == "self-sourced-i2i"
    assert report["pledge"]["sources"][0]["relation"] == "own-drawing"


@pytest.mark.usefixtures("ja")
def test_sources_check_reads_japanese(tmp_path: Path) -> None:
    drawing = picture(tmp_path / "drawing.png", seed=3)
    assert (
        runner.invoke(app, ["sources", "add", str(drawing), "--relation", "own-drawing"]).exit_code
        == 0
    )
    r = runner.invoke(app, ["sources", "check", str(drawing)])
    assert "自分の絵として登録済み（完全一致）" in r.stdout, r.stdout
    r = runner.invoke(app, ["sources", "list"])
    assert "自分の絵" in r.stdout and "own-drawing" not in r.stdout
