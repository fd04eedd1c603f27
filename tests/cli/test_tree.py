"""One command tree: `sources check`, `repo publish`; the old names are hidden aliases."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from myself_i2i.cli import app
from tests.core_helpers import picture

runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    r = runner.invoke(app, ["--lang", "en", *args])
    return r.exit_code, r.stdout


def test_sources_check_and_its_hidden_alias(tmp_path: Path) -> None:
    drawing = picture(tmp_path / "drawing.png", seed=3)
    other = picture(tmp_path / "other.png", seed=5)
    assert _run("sources", "add", str(drawing), "--relation", "own-drawing")[0] == 0
    code, out = _run("sources", "check", str(drawing), str(other))
    assert code == 1  # one of them is not registered
    assert "registered as own-drawing (exact match)" in out and "not registered" in out
    assert _run("check-source", str(drawing), str(other)) == (code, out)


def test_repo_publish_and_its_hidden_alias(tmp_path: Path) -> None:
    assert _run("init", "--name", "alice")[0] == 0
    src = picture(tmp_path / "a.png")
    assert _run("sign", "--t2i", "--no-watermark", str(src))[0] == 0
    signed = str(tmp_path / "a.signed.png")
    code, out = _run("repo", "publish", signed, "--repo", str(tmp_path / "r1"))
    assert code == 0, out
    code2, out2 = _run("publish", signed, "--repo", str(tmp_path / "r2"))
    assert code2 == 0 and out2.replace("r2", "r1") == out
    assert _run("repo", "list", "--repo", str(tmp_path / "r1"))[1].count("a.signed.png") == 1


def test_help_shows_one_name_per_command_and_says_which_serve() -> None:
    _, top = _run("--help")
    commands = top.split("Commands:")[1]
    names = [line.split()[0] for line in commands.strip().splitlines()]
    assert "check-source" not in names and "publish" not in names and "serve" in names
    assert "serve     Run the web verifier page and API." in commands
    _, repo = _run("repo", "--help")
    assert "publish" in repo and "Serve a manifest repository over HTTP." in repo
    _, serve = _run("serve", "--help")
    assert "`repo serve`" in " ".join(serve.split())
    _, sources = _run("sources", "--help")
    assert "check   Check pictures before using them for i2i." in sources


def test_a_start_builds_only_the_command_it_runs() -> None:
    """`main()` hands typer an app holding just the named command (issue 13: start-up)."""
    from myself_i2i.cli import app_for

    def names(t: object) -> list[str]:
        from typer.main import get_command

        return sorted(get_command(t).commands)  # type: ignore[arg-type, attr-defined]

    assert names(app_for(["sign", "--t2i", "a.png"])) == ["sign"]
    assert names(app_for(["--lang", "ja", "verify", "x.jpg"])) == ["verify"]
    assert names(app_for(["--lang=en", "repo", "list"])) == ["repo"]
    assert names(app_for(["check-source", "a.png"])) == ["check-source"]
    full = names(app)
    for args in ([], ["--help"], ["--version"], ["sgin"], ["--lang", "ja"]):
        assert names(app_for(args)) == full, args
    # the pruned app keeps the global options and runs the command as the whole app does
    pruned = runner.invoke(app_for(["sources", "--help"]), ["--lang", "en", "sources", "--help"])
    assert pruned.stdout == _run("sources", "--help")[1]
