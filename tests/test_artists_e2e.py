"""End to end, as the people would, through the ``myself-i2i`` command.

An illustrator protects a drawing and posts it (X: metadata stripped, long side 2048, JPEG
q85); an AI user downloads it and tries i2i → refused with the artist's name; the artist
grants that user's token → signing succeeds; a viewer verifies the result → ``verified``,
"permitted by a signed grant from @artist"; the artist revokes → still verified, said.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from myself_i2i.cli import app
from myself_i2i.testing import illustration, save

runner = CliRunner()


def _as(monkeypatch: pytest.MonkeyPatch, home: Path, repo: Path, lang: str = "en") -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "settings.json").write_text(json.dumps({"repositories": [str(repo)]}))
    monkeypatch.setenv("MYSELF_I2I_HOME", str(home))
    monkeypatch.setenv("MYSELF_I2I_LANG", lang)


def _run(*args: str) -> tuple[int, str]:
    r = runner.invoke(app, list(args), catch_exceptions=False)
    return r.exit_code, r.stdout + r.stderr


def _token(out: str) -> str:
    return next(w for w in out.split() if w.startswith("mi2i:"))


def test_protect_refuse_grant_sign_verify_revoke(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "hanako-repo"  # the artist's published manifest repository
    # 1. The artist protects a drawing and posts it.
    _as(monkeypatch, tmp_path / "artist", repo)
    code, out = _run("init", "--name", "@hanako_draws")
    assert code == 0
    artist_token = _token(out)
    drawing = save(illustration(2400, 1800, seed=11), tmp_path / "hanako.png")
    code, out = _run("protect", str(drawing))
    assert code == 0, out
    protected = tmp_path / "hanako.protected.png"
    assert str(repo) in out
    code, out = _run("check-source", str(protected))
    assert code == 0 and "your own protected artwork" in out
    # 2. X: strip, long side 2048, JPEG q85.
    with Image.open(protected) as im:
        x = im.convert("RGB")
    x.thumbnail((2048, 2048), Image.Resampling.LANCZOS)
    from_x = tmp_path / "from_x.jpg"
    x.save(from_x, "JPEG", quality=85)

    # 3. The AI user tries i2i: refused, naming the artist (name and token), in both languages.
    _as(monkeypatch, tmp_path / "ai", repo)
    code, out = _run("init", "--name", "@ai_user")
    ai_token = _token(out)
    gen = save(illustration(512, 512, seed=5), tmp_path / "gen.png")
    signed = tmp_path / "gen.signed.png"
    code, out = _run("sign", str(gen), "--source", str(from_x), "-o", str(signed))
    assert code == 3, out
    assert "@hanako_draws" in out and artist_token in out and "permit" in out
    assert not signed.exists()
    code, out = _run("check-source", str(from_x))
    assert code == 3 and "@hanako_draws" in out
    monkeypatch.setenv("MYSELF_I2I_LANG", "ja")
    code, out = _run("sign", str(gen), "--source", str(from_x), "-o", str(signed))
    assert code == 3 and "@hanako_draws" in out and "許可証" in out

    # 4. The artist grants that user's token.
    _as(monkeypatch, tmp_path / "artist", repo)
    grant = tmp_path / "for_ai.grant"
    code, out = _run("permit", str(protected), "--to", ai_token, "-o", str(grant))
    assert code == 0, out
    assert grant.stat().st_size < 4000

    # 5. Signing succeeds with the grant.
    _as(monkeypatch, tmp_path / "ai", repo)
    code, out = _run(
        "sign", str(gen), "--source", str(from_x), "--grant", str(grant), "-o", str(signed)
    )
    assert code == 0, out
    assert "permitted-by-grant" in out

    # 6. A viewer (nobody's identity, the artist's repository configured) verifies.
    _as(monkeypatch, tmp_path / "viewer", repo)
    post = f"#Myself_i2i {ai_token}"
    code, out = _run("verify", str(signed), "--text", post)
    assert code == 0, out
    assert "Verified" in out
    assert "permitted by a signed grant from @hanako_draws" in out

    # 7. The artist revokes: still verified (it was valid when signed), and said.
    _as(monkeypatch, tmp_path / "artist", repo)
    code, out = _run("revoke", str(grant))
    assert code == 0, out
    _as(monkeypatch, tmp_path / "viewer", repo)
    code, out = _run("verify", str(signed), "--text", post)
    assert code == 0, out
    assert "revoked the grant" in out and "after this image was signed" in out


def test_permit_bad_token_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _as(monkeypatch, tmp_path / "artist", tmp_path / "repo")
    _run("init", "--name", "@a")
    art = save(illustration(300, 300, seed=1), tmp_path / "a.png")
    code, out = _run("permit", str(art), "--to", "@bob")
    assert code == 2
    assert "not a key token" in out and "Traceback" not in out
    assert not list(tmp_path.glob("*.grant"))
