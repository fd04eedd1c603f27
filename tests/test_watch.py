"""The watch folder: complete files only, claims from metadata, state across restarts."""

from __future__ import annotations

import json
import logging
import shlex
import threading
import time
from pathlib import Path

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from typer.testing import CliRunner

from myself_i2i.cli import app
from myself_i2i.identity import Identity, IdentityStore
from myself_i2i.models import Relation
from myself_i2i.registry import SourceRegistry
from myself_i2i.report import Verdict
from myself_i2i.sign import SignOptions
from myself_i2i.testing import illustration, save
from myself_i2i.verify import verify_image
from myself_i2i.watch import (
    NOT_SIGNED_NAME,
    STATE_NAME,
    Watcher,
    WatchEvent,
    WatchOptions,
    summary_lines,
    watch_once,
)

FAST = SignOptions(watermark=False)
T2I_INFOTEXT = "a cat\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 64x64, Model: m"
I2I_INFOTEXT = T2I_INFOTEXT + ", Denoising strength: 0.6"


def comfy_i2i(name: str) -> str:
    return json.dumps(
        {
            "1": {"class_type": "LoadImage", "inputs": {"image": name}},
            "2": {"class_type": "VAEEncode", "inputs": {"pixels": ["1", 0]}},
            "3": {"class_type": "KSampler", "inputs": {"latent_image": ["2", 0]}},
            "4": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0]}},
            "5": {"class_type": "SaveImage", "inputs": {"images": ["4", 0]}},
        }
    )


def picture(path: Path, texts: dict[str, str], seed: int = 0, size: int = 64) -> Path:
    info = PngInfo()
    for k, v in texts.items():
        info.add_text(k, v)
    path.parent.mkdir(parents=True, exist_ok=True)
    illustration(size, size, seed=seed).save(path, "PNG", pnginfo=info)
    return path


def _ident() -> Identity:
    return IdentityStore.default().create("Tester")


def _opts(**kw: object) -> WatchOptions:
    return WatchOptions(interval=0.05, sign=FAST, **kw)  # type: ignore[arg-type]


def test_once_signs_t2i_and_lists_what_it_cannot_sign(tmp_path: Path) -> None:
    ident = _ident()
    out = tmp_path / "out"
    inputs = tmp_path / "inputs"
    picture(out / "t2i.png", {"parameters": T2I_INFOTEXT})
    picture(out / "a1111_i2i.png", {"parameters": I2I_INFOTEXT}, seed=1)
    picture(out / "plain.png", {}, seed=2)
    picture(out / "sub" / "comfy_i2i.png", {"prompt": comfy_i2i("mine.png")}, seed=3)
    mine = save(illustration(80, 80, seed=9), inputs / "mine.png")
    with SourceRegistry.open() as reg:
        reg.add_paths([mine], Relation.OWN_DRAWING)

    events = watch_once(out, ident, _opts(inputs_dir=inputs), settle=0.05)
    by_name = {e.path.name: e for e in events}
    assert set(by_name) == {"t2i.png", "a1111_i2i.png", "plain.png", "comfy_i2i.png"}
    assert by_name["t2i.png"].status == "signed"
    assert by_name["comfy_i2i.png"].status == "signed"
    assert by_name["comfy_i2i.png"].output == out / "signed" / "sub" / "comfy_i2i.png"
    assert by_name["a1111_i2i.png"].status == "refused"
    assert "file name" in by_name["a1111_i2i.png"].line("en")
    assert by_name["plain.png"].status == "refused"
    assert "生成メタデータがない" in by_name["plain.png"].line("ja")

    report = verify_image(out / "signed" / "sub" / "comfy_i2i.png")
    assert report.verdict in (Verdict.VERIFIED, Verdict.UNTRUSTED)
    assert report.pledge is not None and report.pledge["sources"][0]["title"] == "mine.png"
    assert not (out / "a1111_i2i.png").with_suffix(".signed.png").exists()
    assert sorted(p.name for p in (out / "signed").rglob("*.png")) == ["comfy_i2i.png", "t2i.png"]

    # a restart neither re-signs nor re-reports
    assert watch_once(out, ident, _opts(inputs_dir=inputs), settle=0.05) == []
    state = json.loads((out / "signed" / STATE_NAME).read_text("utf-8"))
    assert state["files"]["t2i.png"]["status"] == "signed"


def test_unregistered_comfy_input_is_refused(tmp_path: Path) -> None:
    ident = _ident()
    out, inputs = tmp_path / "out", tmp_path / "inputs"
    picture(out / "x.png", {"prompt": comfy_i2i("theirs.png")})
    save(illustration(80, 80, seed=5), inputs / "theirs.png")
    (ev,) = watch_once(out, ident, _opts(inputs_dir=inputs), settle=0.05)
    assert ev.status == "refused" and ev.reason is not None
    assert "not registered" in ev.reason.en
    missing = watch_once(tmp_path / "out", ident, _opts(), settle=0.05)
    assert missing == []  # already reported; the state remembers it


def test_file_still_being_written_waits(tmp_path: Path) -> None:
    ident = _ident()
    out = tmp_path / "out"
    out.mkdir()
    full = picture(tmp_path / "full.png", {"parameters": T2I_INFOTEXT}).read_bytes()
    part = out / "growing.png"
    part.write_bytes(full[: len(full) // 2])
    w = Watcher(out, ident, _opts())
    assert w.poll() == [] and w.poll() == []  # stable but truncated: does not decode
    part.write_bytes(full)
    assert w.poll() == []  # changed since the last poll
    (ev,) = w.poll()
    assert ev.status == "signed"


def test_signed_pictures_in_the_folder_are_skipped_and_signed_dir_not_rescanned(
    tmp_path: Path,
) -> None:
    ident = _ident()
    out = tmp_path / "out"
    picture(out / "a.png", {"parameters": T2I_INFOTEXT})
    watch_once(out, ident, _opts(), settle=0.05)
    # the signed copy inside OUTDIR/signed is not picked up again
    w = Watcher(out, ident, _opts())
    assert w.poll() == [] and w.poll() == []
    # an already-signed picture dropped into OUTDIR is skipped, not re-signed
    (out / "copy.png").write_bytes((out / "signed" / "a.png").read_bytes())
    w.poll()
    (ev,) = w.poll()
    assert ev.status == "skipped"


def test_run_stops_on_event_from_another_thread(tmp_path: Path) -> None:
    ident = _ident()
    out = tmp_path / "out"
    out.mkdir()
    w = Watcher(out, ident, _opts())
    stop = threading.Event()
    seen: list[WatchEvent] = []
    t = threading.Thread(target=w.run, args=(stop, seen.append))
    t.start()
    picture(out / "later.png", {"parameters": T2I_INFOTEXT})
    deadline = time.monotonic() + 20
    while not seen and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    t.join(5)
    assert not t.is_alive()
    assert [e.status for e in seen] == ["signed"]


def test_cli_watch_once(tmp_path: Path) -> None:
    _ident()
    out = tmp_path / "out"
    picture(out / "t2i.png", {"parameters": T2I_INFOTEXT}, size=256)  # watermark needs 256 px
    res = CliRunner().invoke(
        app,
        ["watch", str(out), "--once", "--interval", "0.05", "--signed-dir", str(tmp_path / "s")],
    )
    assert res.exit_code == 0, res.output
    assert "✔" in res.output and (tmp_path / "s" / "t2i.png").is_file()
    with Image.open(tmp_path / "s" / "t2i.png") as im:
        assert im.text["parameters"] == T2I_INFOTEXT  # type: ignore[attr-defined]


def test_cli_watch_bad_folder_is_one_line(tmp_path: Path) -> None:
    _ident()
    res = CliRunner().invoke(app, ["watch", str(tmp_path / "nope"), "--once"])
    assert res.exit_code == 2
    assert "not a folder" in res.output


# ---- same rules as the plugins; what is not signed is listed with the reason


def test_extras_tab_copy_is_not_a_generation(tmp_path: Path) -> None:
    # modules/postprocessing.py saves Extras output with pnginfo_section_name="postprocessing"
    # and existing_info=the original's texts: the t2i infotext may be someone else's
    ident = _ident()
    out = tmp_path / "out"
    picture(
        out / "upscaled.png",
        {"parameters": T2I_INFOTEXT, "postprocessing": "Postprocess upscale by: 2"},
    )
    (ev,) = watch_once(out, ident, _opts(), settle=0.05)
    assert ev.status == "refused" and ev.reason is not None
    assert "Extras" in ev.reason.en and "Extras" in ev.reason.ja
    assert not (out / "signed" / "upscaled.png").exists()


def test_not_signed_pictures_are_listed_in_the_log_file_and_summary(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ident = _ident()
    out = tmp_path / "out"
    picture(out / "t2i.png", {"parameters": T2I_INFOTEXT})
    picture(out / "plain.png", {}, seed=2)
    picture(out / "i2i.png", {"parameters": I2I_INFOTEXT}, seed=3)
    with caplog.at_level(logging.INFO, logger="myself_i2i.watch"):
        events = watch_once(out, ident, _opts(), settle=0.05)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 2 and all("NOT signed" in m for m in warned)
    listing = (out / "signed" / NOT_SIGNED_NAME).read_text("utf-8")
    assert "plain.png [refused]" in listing and "i2i.png [refused]" in listing
    assert "t2i.png" not in listing.replace("i2i.png", "")
    assert "生成メタデータがない" in listing
    lines = summary_lines(events)
    assert lines[0] == "1 signed, 2 not signed, 0 skipped, 0 error(s)"
    assert sum("NOT signed" in line for line in lines) == 2
    assert summary_lines(events, "ja")[0].startswith("署名 1 件、未署名 2 件")


def _commands(text: str) -> list[str]:
    return [c for c in text.split("`")[1::2] if c.startswith("myself-i2i ")]


def _run_as_printed(cmd: str) -> None:
    res = CliRunner().invoke(app, shlex.split(cmd)[1:])
    assert res.exit_code == 0, (cmd, res.output)


def test_commands_in_reasons_run_as_printed(tmp_path: Path) -> None:
    ident = _ident()
    out = tmp_path / "my out"  # a space: the commands must quote
    inputs = tmp_path / "my inputs"
    picture(out / "plain.png", {}, seed=2)
    picture(out / "x.png", {"prompt": comfy_i2i("mine.png")}, seed=4)
    save(illustration(80, 80, seed=5), inputs / "mine.png")  # not registered yet
    events = {e.path.name: e for e in watch_once(out, ident, _opts(inputs_dir=inputs), settle=0.05)}
    plain, comfy = events["plain.png"], events["x.png"]
    assert plain.status == comfy.status == "refused"
    assert plain.reason is not None and comfy.reason is not None

    (t2i_cmd,) = _commands(plain.reason.en)  # "if you made it from text only"
    assert _commands(plain.reason.ja) == [t2i_cmd]
    _run_as_printed(t2i_cmd)
    report = verify_image(out / "signed" / "plain.png")
    assert report.pledge is not None and report.pledge["kind"] == "t2i"

    add_cmd, sign_cmd = _commands(comfy.reason.en)  # register the input, then sign
    assert add_cmd.startswith("myself-i2i sources add ") and "--source" in sign_cmd
    _run_as_printed(add_cmd)
    _run_as_printed(sign_cmd)
    report = verify_image(out / "signed" / "x.png")
    assert report.pledge is not None and report.pledge["kind"] == "self-sourced-i2i"


def test_cli_watch_once_prints_a_summary(tmp_path: Path) -> None:
    _ident()
    out = tmp_path / "out"
    picture(out / "plain.png", {}, seed=2)
    res = CliRunner().invoke(app, ["watch", str(out), "--once", "--interval", "0.05"])
    assert res.exit_code == 0, res.output
    assert "0 signed, 1 not signed" in res.output and "Not signed:" in res.output
