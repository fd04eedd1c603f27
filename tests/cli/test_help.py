"""``--help`` as a user reads it: one language, plain metavars, clean at 80 columns."""

from __future__ import annotations

import re

import pytest
import typer
from typer.testing import CliRunner

from myself_i2i.cli import app
from myself_i2i.cli_help import pick, width, wrap

runner = CliRunner()
JA = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def _all_commands() -> list[list[str]]:
    root = typer.main.get_command(app)
    paths: list[list[str]] = [[]]

    def walk(cmd: object, path: list[str]) -> None:
        for name, sub in getattr(cmd, "commands", {}).items():
            if sub.hidden:
                continue
            paths.append([*path, name])
            walk(sub, [*path, name])

    walk(root, [])
    return paths


def _help(args: list[str], lang_args: list[str] | None = None) -> str:
    r = runner.invoke(app, [*(lang_args or []), *args, "--help"], terminal_width=80)
    assert r.exit_code == 0, r.output
    return r.stdout


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_every_help_is_clean_at_80_columns(lang: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("MYSELF_I2I_LANG", lang)
    for path in _all_commands():
        out = _help(path)
        for line in out.splitlines():
            assert width(line) <= 80, (path, line)
        for label in ("<bool>", "<str>", "<path>", "<list", "{images}", "BOOLEAN"):
            assert label not in out, (path, label)
        if lang == "en":
            assert not JA.search(out), (path, out)
        else:
            assert "使い方" in out
            # no English sentence left (four English words in a row)
            assert not re.search(r"\b[A-Za-z]+ [a-z]+ [a-z]+ [a-z]+\b", out), (path, out)


def test_help_language_follows_locale_env_and_global_option(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MYSELF_I2I_LANG", raising=False)
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    ja = _help(["sign"])
    assert "画像に #Myself_i2i の宣言を署名します" in ja and "Sign images" not in ja
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    en = _help(["sign"])
    assert "Sign images with the #Myself_i2i pledge." in en and not JA.search(en)
    # the global --lang wins over the locale, and does not stick to the next run
    assert "署名します" in _help(["sign"], ["--lang", "ja"])
    assert not JA.search(_help(["sign"]))
    # a command's own --lang chooses its help too
    r = runner.invoke(app, ["verify", "--lang", "ja", "--help"])
    assert "検証" in r.stdout and "Verify images" not in r.stdout


def test_plain_metavars_in_usage_and_options() -> None:
    out = _help(["sign"], ["--lang", "en"])
    assert "Usage: myself-i2i sign [OPTIONS] IMAGE..." in out
    assert "--source PATH" in out and "--evidence TEXT" in out
    assert "--lang ja|en" in _help([], ["--lang", "en"])
    # the usage line's placeholders are in the help's language too
    assert "使い方: myself-i2i sign [オプション] IMAGE..." in _help(["sign"], ["--lang", "ja"])
    assert "[オプション] コマンド [引数]..." in _help(["sources"], ["--lang", "ja"])
    assert "[OPTIONS] COMMAND [ARGS]..." in _help(["sources"], ["--lang", "en"])


def test_pick_splits_at_the_language_boundary() -> None:
    text = "Use PNG / JPEG files. / PNG・JPEG を使います。\n\nMore. / 詳しく。"
    assert pick(text, "en") == "Use PNG / JPEG files.\n\nMore."
    assert pick(text, "ja") == "PNG・JPEG を使います。\n\n詳しく。"
    assert pick("ja | en", "ja") == "ja | en"


def test_wrap_counts_kanji_as_two_columns() -> None:
    lines = wrap("ヘルプとメッセージの言語（既定は MYSELF_I2I_LANG またはロケール）", 30)
    assert all(width(line) <= 30 for line in lines)
    assert not any(line.startswith(("）", "。")) for line in lines)


def test_every_command_takes_lang(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    from myself_i2i.cli import main

    monkeypatch.setenv("LANG", "en_US.UTF-8")
    monkeypatch.delenv("MYSELF_I2I_LANG", raising=False)
    monkeypatch.delenv("LC_ALL", raising=False)
    r = runner.invoke(app, ["identity", "--lang", "ja", "--help"])
    assert "キートークン" in r.stdout
    for argv, expected in (
        (["sign", "--lang", "ja"], "引数 IMAGE... が必要です"),
        (["sign", "x.png", "--lang", "fr"], "--lang 'fr'"),
        (["sign", "--help", "--lang", "ja"], "画像に #Myself_i2i の宣言を署名します"),
    ):
        monkeypatch.setattr(sys, "argv", ["myself-i2i", *argv])
        with pytest.raises(SystemExit):
            main()
        out = capsys.readouterr()
        assert expected in out.out + out.err, (argv, out)


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_command_lists_are_not_cut(lang: str) -> None:
    for group in ([], ["trust"], ["sources"], ["repo"], ["grants"]):
        out = _help(group, ["--lang", lang])
        listed = out.split("Commands:" if lang == "en" else "コマンド:")[1]
        assert "..." not in listed, (group, listed)
