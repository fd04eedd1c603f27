"""The ``myself-i2i`` command on real files: exit codes, one-line errors, nothing written."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from myself_i2i._internal.containers import manifest_store_bytes
from myself_i2i.cli import app
from myself_i2i.report import EXIT_CODES, Verdict
from myself_i2i.testing import illustration
from tests.core_helpers import (
    flip_in_store,
    picture,
    png_chunk,
    png_replace_cabx,
    report_errors,
)

runner = CliRunner()
PY = sys.executable


def run(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, list(args), catch_exceptions=False)
    return r.exit_code, r.stdout, r.stderr


def init(name: str = "alice") -> str:
    code, out, _ = run("init", "--name", name)
    assert code == 0, out
    token = next(w for w in out.split() if w.startswith("mi2i:"))
    return token


def files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if p.name != "home"}


def assert_one_line_error(code: int, err: str, expected: int = 2) -> None:
    assert code == expected, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("myself-i2i: ")
    assert "Traceback" not in err


# --- bad inputs ------------------------------------------------------------------------------


def _bomb_png(path: Path) -> Path:
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    sig = b"\x89PNG\r\n\x1a\n"
    path.write_bytes(
        sig + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")
    )
    return path


def _truncated(path: Path) -> Path:
    picture(path, size=256)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    return path


def _bad_inputs(d: Path) -> dict[str, Path]:
    gif = d / "anim.gif"
    illustration(64, 64).convert("P").save(gif, "GIF")
    bmp = d / "pic.bmp"
    illustration(64, 64).save(bmp, "BMP")
    text = d / "notes.png"
    text.write_text("hello, not an image\n")
    (d / "folder.png").mkdir()
    return {
        "missing": d / "missing.png",
        "directory": d / "folder.png",
        "text": text,
        "trunc_png": _truncated(d / "t.png"),
        "trunc_jpg": _truncated(d / "t.jpg"),
        "trunc_webp": _truncated(d / "t.webp"),
        "gif": gif,
        "bmp": bmp,
        "bomb": _bomb_png(d / "bomb.png"),
    }


BAD = ["missing", "directory", "text", "trunc_png", "trunc_jpg", "trunc_webp", "gif", "bmp", "bomb"]


@pytest.mark.parametrize("kind", BAD)
def test_sign_bad_input(tmp_path: Path, kind: str) -> None:
    init()
    path = _bad_inputs(tmp_path)[kind]
    before = files(tmp_path)
    code, _, err = run("sign", "--t2i", str(path))
    assert_one_line_error(code, err)
    assert files(tmp_path) == before


@pytest.mark.parametrize("kind", [k for k in BAD if k != "gif"])
def test_verify_bad_input(tmp_path: Path, kind: str) -> None:
    path = _bad_inputs(tmp_path)[kind]
    code, out, err = run("verify", str(path))
    assert_one_line_error(code, err)
    assert out == ""


def test_malformed_manifest(tmp_path: Path) -> None:
    init()
    src = picture(tmp_path / "a.png")
    assert run("sign", "--t2i", "--no-watermark", str(src))[0] == 0
    signed = tmp_path / "a.signed.png"
    store = manifest_store_bytes(signed.read_bytes())
    assert store is not None
    bad = tmp_path / "bad.png"
    bad.write_bytes(png_replace_cabx(signed.read_bytes(), b"\0\0\0\x10jumbgarbagegarbage" * 3))
    code, out, err = run("verify", str(bad))
    assert code == EXIT_CODES[Verdict.INVALID], out + err
    assert "Traceback" not in out + err
    # signing a file with a (broken) manifest is refused, and nothing is written
    before = files(tmp_path)
    code, _, err = run("sign", "--t2i", str(bad))
    assert_one_line_error(code, err, expected=3)
    assert files(tmp_path) == before


def test_no_identity_and_wrong_passphrase(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = picture(tmp_path / "a.png")
    code, _, err = run("sign", "--t2i", str(src))
    assert_one_line_error(code, err)
    assert "init" in err
    monkeypatch.setenv("MYSELF_I2I_PASSPHRASE", "right")
    assert run("init", "--name", "alice", "--passphrase")[0] == 0
    monkeypatch.setenv("MYSELF_I2I_PASSPHRASE", "wrong")
    code, _, err = run("sign", "--t2i", str(src))
    assert_one_line_error(code, err)
    assert "passphrase" in err
    assert files(tmp_path) == {"a.png"}


def test_already_signed_exit_3(tmp_path: Path) -> None:
    init()
    src = picture(tmp_path / "a.png")
    assert run("sign", "--t2i", "--no-watermark", str(src))[0] == 0
    code, _, err = run(
        "sign",
        "--t2i",
        "--no-watermark",
        str(tmp_path / "a.signed.png"),
        "-o",
        str(tmp_path / "again.png"),
    )
    assert_one_line_error(code, err, expected=3)
    assert not (tmp_path / "again.png").exists()


# --- verify ----------------------------------------------------------------------------------


def test_verify_exit_codes_json_and_lang(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token = init()
    src = picture(tmp_path / "a.png")
    code, out, _ = run("sign", "--t2i", "--no-watermark", str(src))
    assert code == 0 and "a.signed.png" in out
    signed = tmp_path / "a.signed.png"
    # On the signer's own machine, their own key is trusted.
    code, out, _ = run("verify", str(signed))
    assert code == 0 and "your own key" in out, out
    # Everyone else starts with an empty keyring.
    monkeypatch.setenv("MYSELF_I2I_HOME", str(tmp_path / "viewer"))
    code, out, _ = run("verify", str(signed))
    assert code == EXIT_CODES[Verdict.UNTRUSTED]
    code, out, _ = run("verify", str(signed), "--key-token", token, "--json")
    assert code == EXIT_CODES[Verdict.VERIFIED] == 0
    report = json.loads(out)
    assert report["verdict"] == "verified" and report_errors(report) == []
    code, out, _ = run(
        "verify", str(signed), "--text", "#Myself_i2i #i2i", "--json", "--key-token", token
    )
    assert code == 0
    code, out, _ = run("verify", str(signed), "--text", f"#Noi2i {token}", "--lang", "ja")
    assert code == 0
    assert "検証済み" in out
    tampered = tmp_path / "tampered.png"
    tampered.write_bytes(flip_in_store(signed.read_bytes(), b"t2i", b"t2j"))
    code, out, _ = run("verify", str(tampered), "--json")
    assert code == EXIT_CODES[Verdict.TAMPERED]
    assert report_errors(json.loads(out)) == []
    # several images: a JSON list, the exit code of the worst
    other = picture(tmp_path / "other.png", seed=9)  # never signed: nothing to recover
    code, out, _ = run("verify", str(signed), str(tampered), str(other), "--json")
    assert code == EXIT_CODES[Verdict.TAMPERED]
    reports = json.loads(out)
    assert [r["verdict"] for r in reports] == ["untrusted-signer", "tampered", "unsigned"]
    assert all(report_errors(r) == [] for r in reports)
    code, out, _ = run("verify", str(other), "--text", "#Myself_i2i")
    assert code == EXIT_CODES[Verdict.UNSIGNED]
    assert "the claim cannot be verified" in out


def test_trust_and_inspect(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token = init("@alice")
    src = picture(tmp_path / "a.jpg")
    assert run("sign", "--t2i", "--no-watermark", "--hashtag", "＃noi2i", str(src))[0] == 0
    signed = tmp_path / "a.signed.jpg"
    ca = tmp_path / "ca.pem"
    assert run("identity", "--export-ca", str(ca))[0] == 0
    code, out, _ = run("trust", "add", str(ca), "--name", "@alice")
    assert code == 0 and token in out
    code, out, _ = run("trust", "list")
    assert token in out and "@alice" in out
    assert run("verify", str(signed))[0] == 0
    code, out, _ = run("inspect", str(signed))
    assert code == 0
    assert token in out and "@alice" in out and "t2i" in out and "#Noi2i" in out
    code, out, _ = run("inspect", str(signed), "--lang", "ja")
    assert "キートークン" in out and "宣言" in out
    assert run("trust", "remove", "@alice")[0] == 0
    assert run("verify", str(signed))[0] == 0  # still your own key
    monkeypatch.setenv("MYSELF_I2I_HOME", str(tmp_path / "viewer"))
    assert run("verify", str(signed))[0] == EXIT_CODES[Verdict.UNTRUSTED]


def test_trust_add_hints_are_runnable(tmp_path: Path) -> None:
    """`trust add TOKEN` (as verify's hint prints it) says the exact command with --name;
    `trust add CA.pem` takes the name from the certificate."""
    token = init("@alice")
    code, out, err = run("trust", "add", token.lower())
    assert_one_line_error(code, err)
    assert f"myself-i2i trust add {token} --name @handle" in err and out == ""
    assert run("trust", "list")[1].startswith("No trusted creators")
    ca = tmp_path / "ca.pem"
    assert run("identity", "--export-ca", str(ca))[0] == 0
    code, out, _ = run("trust", "add", str(ca))
    assert code == 0 and "@alice" in out and token in out


def test_attack_lookalike_name_refused_by_trust_add(tmp_path: Path) -> None:
    init("@alice")
    victim = "mi2i:AAAA-AAAA-AAAA-AAAA-AAAA"
    impostor = "mi2i:BBBB-BBBB-BBBB-BBBB-BBBB"
    assert run("trust", "add", victim, "--name", "@victim")[0] == 0
    code, _, err = run("trust", "add", impostor, "--name", "@vіctim")  # Cyrillic і
    assert_one_line_error(code, err)
    assert "@victim" in err and victim in err and "--force" in err
    assert impostor not in run("trust", "list")[1]
    assert run("trust", "add", impostor, "--name", "@vіctim", "--force")[0] == 0
    assert impostor in run("trust", "list")[1]


# --- through a real process ------------------------------------------------------------------


def _proc(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PY, "-m", "myself_i2i", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )


def test_subprocess_errors_and_verdicts(tmp_path: Path) -> None:
    bad = _bad_inputs(tmp_path)
    for kind in ("missing", "trunc_jpg", "bomb"):
        p = _proc("verify", str(bad[kind]))
        assert_one_line_error(p.returncode, p.stderr)
        assert p.stdout == ""
    p = _proc("sign", "--t2i", str(picture(tmp_path / "a.png")))
    assert_one_line_error(p.returncode, p.stderr)  # no identity yet
    assert _proc("init", "--name", "alice").returncode == 0
    p = _proc("sign", "--t2i", "--no-watermark", str(tmp_path / "a.png"))
    assert p.returncode == 0, p.stderr
    p = _proc("verify", str(tmp_path / "a.signed.png"), "--json")
    assert p.returncode == 0  # the signer's own machine trusts the signer's own key
    viewer = {"MYSELF_I2I_HOME": str(tmp_path / "viewer")}
    p = _proc("verify", str(tmp_path / "a.signed.png"), "--json", env=viewer)
    assert p.returncode == EXIT_CODES[Verdict.UNTRUSTED]
    assert report_errors(json.loads(p.stdout)) == []
    with Image.open(tmp_path / "a.signed.png") as im:
        assert im.size == (256, 256)
    assert not [n for n in files(tmp_path) if n.endswith(".tmp")]


# --- found by trying it as a new user --------------------------------------------------------


def test_unwritable_outputs_are_one_line_and_write_nothing(tmp_path: Path) -> None:
    init()
    code, _, err = run("identity", "--export-ca", str(tmp_path / "nodir" / "ca.pem"))
    assert_one_line_error(code, err)
    code, _, err = run("identity", "--export-ca", str(tmp_path))  # a folder
    assert_one_line_error(code, err)
    text = tmp_path / "post.txt"
    text.write_text("#Myself_i2i", "utf-8")
    code, _, err = run("publish", "--repo", str(text))  # a file, not a folder
    assert_one_line_error(code, err)
    unsigned = picture(tmp_path / "a.png")
    code, _, err = run("publish", str(unsigned), "--repo", str(tmp_path / "repo"))
    assert_one_line_error(code, err)
    assert not (tmp_path / "repo").exists()  # the repository is not created for nothing
    code, _, err = run("verify", str(unsigned), "--text-file", str(tmp_path))
    assert_one_line_error(code, err)
    assert "--text-file" in err


def test_lang_option_also_applies_to_errors(tmp_path: Path) -> None:
    missing = tmp_path / "missing.png"
    for cmd in ("verify", "inspect"):
        code, _, err = run(cmd, str(missing), "--lang", "ja")
        assert_one_line_error(code, err)
        assert "ファイルが見つかりません" in err


def test_init_passphrase_without_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MYSELF_I2I_PASSPHRASE", raising=False)
    code, _, err = run("init", "--name", "alice", "--passphrase")  # stdin is not a terminal
    assert_one_line_error(code, err)
    assert "MYSELF_I2I_PASSPHRASE" in err
    assert run("identity")[0] != 0  # nothing was created


def test_sources_add_failures_in_japanese(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "drawings"
    picture(folder / "good.png")
    _truncated(folder / "broken.png")
    monkeypatch.setenv("MYSELF_I2I_LANG", "ja")
    code, out, err = run("sources", "add", str(folder), "--relation", "own-drawing")
    assert code == 0
    assert out.startswith("登録 1 件"), out  # no stray blank line from the progress bar
    assert "失敗: " in err and "壊れている" in err and "failed" not in err


def test_trust_list_in_japanese(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    init()
    ca = tmp_path / "ca.pem"
    assert run("identity", "--export-ca", str(ca))[0] == 0
    assert run("trust", "add", str(ca), "--name", "@alice")[0] == 0
    monkeypatch.setenv("MYSELF_I2I_LANG", "ja")
    code, out, _ = run("trust", "list")
    assert code == 0 and "(CA 証明書)" in out


def test_sign_source_options_without_source(tmp_path: Path) -> None:
    init()
    src = picture(tmp_path / "a.png")
    before = files(tmp_path)
    for opt in ("--relation", "--evidence", "--evidence-url"):
        value = "permitted" if opt == "--relation" else "x"
        code, _, err = run("sign", "--t2i", str(src), opt, value)
        assert_one_line_error(code, err)
        assert opt in err and "--source" in err
    assert files(tmp_path) == before


def test_sign_output_in_japanese(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    init()
    src = picture(tmp_path / "a.png", size=128)  # too small for the watermark: a note
    own = picture(tmp_path / "own.png", seed=3)
    assert run("sources", "add", str(own), "--relation", "own-drawing")[0] == 0
    monkeypatch.setenv("MYSELF_I2I_LANG", "ja")
    code, out, err = run("sign", str(src), "--source", str(own))
    assert code == 0, err
    assert "登録済み・完全一致" in out and "registry" not in out and "exact" not in out
    assert "注意: " in err and "透かし" in err and "note:" not in err


def test_serve_on_a_busy_port_is_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        for cmd in (["serve"], ["repo", "serve", "--dir", str(tmp_path / "repo")]):
            code, out, err = run(*cmd, "--port", port)
            assert_one_line_error(code, err)
            assert port in err and out == ""


def test_usage_errors_are_one_line_through_the_console_entry(tmp_path: Path) -> None:
    """Typer's framed usage box is replaced by one `myself-i2i:` line with exit code 2."""
    for args in (("trust", "add"), ("verify",), ("bogus",)):
        p = _proc(*args)
        assert_one_line_error(p.returncode, p.stderr)
        assert p.stderr.startswith("myself-i2i: ")
        assert "--help" in p.stderr


def test_sign_refuses_an_output_name_of_another_format(tmp_path: Path) -> None:
    init()
    src = picture(tmp_path / "a.png")
    for name in ("out.gif", "out.jpg"):
        code, _, err = run("sign", "--t2i", "--no-watermark", str(src), "-o", str(tmp_path / name))
        assert_one_line_error(code, err)
        assert not (tmp_path / name).exists()


def test_verify_gif_gets_a_verdict_not_an_error(tmp_path: Path) -> None:
    # c2pa-rs reads GIF, so an unsigned GIF is "unsigned", and says its pixels are not searched.
    path = _bad_inputs(tmp_path)["gif"]
    code, out, err = run("verify", "--json", str(path))
    assert code == 20, err
    assert '"recovery.format_not_decodable"' in out


def test_batch_goes_on_past_a_bad_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    init()
    src = picture(tmp_path / "a.png")
    assert run("sign", "--t2i", "--no-watermark", str(src))[0] == 0
    bad = tmp_path / "notes.txt"
    bad.write_text("not an image", "utf-8")
    corpus = Path(__file__).resolve().parents[1] / "corpus" / "c2pa"
    rsa = corpus / "valid-ps256-rsa-chain__C.jpg"
    code, out, err = run("verify", str(tmp_path / "a.signed.png"), str(bad), str(rsa))
    assert "notes.txt" in err and err.count("\n") == 1  # the bad file's own line
    assert "a.signed.png" in out and "C.jpg" in out  # the files before and after it
    assert code == EXIT_CODES[Verdict.NO_PLEDGE]  # the worst of 0, 2 and 12
    code, out, _ = run("verify", "--json", str(bad), str(rsa))
    items = json.loads(out)
    assert items[0]["exitCode"] == 2 and "not an image" in items[0]["error"]["en"]
    assert items[1]["verdict"] == "no-pledge"


def test_trust_hint_runs_as_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    init("@alice san")
    src = picture(tmp_path / "a.png")
    assert run("sign", "--t2i", "--no-watermark", str(src))[0] == 0
    monkeypatch.setenv("MYSELF_I2I_HOME", str(tmp_path / "viewer"))
    monkeypatch.setenv("NO_COLOR", "1")
    code, out, _ = run("verify", str(tmp_path / "a.signed.png"))
    assert code == EXIT_CODES[Verdict.UNTRUSTED] and "\x1b[" not in out
    line = next(x for x in out.splitlines() if "myself-i2i trust add" in x)
    import shlex

    argv = shlex.split(line[line.index("myself-i2i trust add") :])
    assert run(*argv[1:])[0] == 0
    assert run("verify", str(tmp_path / "a.signed.png"))[0] == 0


# --- init --force asks first and keeps a backup ----------------------------------------------


def test_init_force_without_terminal_refuses_in_one_line(home: Path) -> None:
    token = init()
    code, _, err = run("init", "--name", "bob", "--force")  # stdin is not a terminal
    assert_one_line_error(code, err)
    assert "--yes" in err
    assert token in run("identity")[1]  # unchanged
    assert not list(home.glob("identity.backup-*"))


def test_init_force_yes_replaces_and_keeps_a_backup(home: Path) -> None:
    token = init()
    code, out, _ = run("init", "--name", "bob", "--force", "--yes")
    assert code == 0, out
    (backup,) = home.glob("identity.backup-*")
    assert str(backup) in out
    assert token in (backup / "identity.json").read_text()
    assert token not in run("identity")[1]


def test_init_force_asks_and_no_keeps_everything(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import myself_i2i.cli as cli

    token = init()
    monkeypatch.setattr(cli, "_interactive", lambda: True)
    r = runner.invoke(app, ["init", "--name", "bob", "--force"], input="n\n")
    assert r.exit_code == 1
    assert token in r.stdout  # the question names the token that would be lost
    assert "Nothing changed" in r.stderr
    assert token in run("identity")[1]
    r = runner.invoke(app, ["init", "--name", "bob", "--force"], input="y\n")
    assert r.exit_code == 0, r.stdout
    assert token not in run("identity")[1]
    assert len(list(home.glob("identity.backup-*"))) == 1


def test_identity_hints_at_reencrypting_old_keys(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.hazmat.primitives import serialization

    monkeypatch.setenv("MYSELF_I2I_PASSPHRASE", "pw")
    assert run("init", "--name", "alice", "--passphrase")[0] == 0
    assert "--renew" not in run("identity")[1]
    path = home / "identity" / "ca.key.pem"
    key = serialization.load_pem_private_key(path.read_bytes(), b"pw")
    path.write_bytes(  # as versions before scrypt wrote it
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"pw"),
        )
    )
    assert "identity --renew" in run("identity")[1]
    assert run("identity", "--renew")[0] == 0
    assert "--renew" not in run("identity")[1]


def test_sign_never_overwrites_an_existing_output_unasked(tmp_path: Path) -> None:
    init()
    src = picture(tmp_path / "a.png")
    existing = tmp_path / "taken.png"
    existing.write_bytes(b"someone's file")
    code, _, err = run("sign", "--t2i", "--no-watermark", str(src), "-o", str(existing))
    assert_one_line_error(code, err)
    assert "--overwrite" in err and existing.read_bytes() == b"someone's file"
    code, _, _ = run(
        "sign", "--t2i", "--no-watermark", str(src), "-o", str(existing), "--overwrite"
    )
    assert code == 0 and existing.read_bytes() != b"someone's file"


def test_unknown_lang_is_an_error(tmp_path: Path) -> None:
    code, _, err = run("verify", "--lang", "fr", str(picture(tmp_path / "a.png")))
    assert_one_line_error(code, err)
    assert "ja" in err and "en" in err
