"""The ComfyUI nodes, driven the way ComfyUI's executor calls them (no ComfyUI installed)."""

from __future__ import annotations

import json
import logging
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from myself_i2i.cli import app
from myself_i2i.errors import PledgeRefused
from myself_i2i.genmeta import GenKind, read_generation_metadata
from myself_i2i.identity import Identity
from myself_i2i.integrations.comfyui import (
    NODE_CLASS_MAPPINGS,
    NODE_DISPLAY_NAME_MAPPINGS,
    MyselfI2ISaveImage,
    MyselfI2IVerifyImage,
)
from myself_i2i.integrations.comfyui.core import (
    ComfyFolders,
    branch_of,
    save_signed_batch,
    to_uint8_batch,
    verify_fingerprint,
    verify_for_node,
)
from myself_i2i.integrations.comfyui.nodes import metadata_disabled
from myself_i2i.report import Verdict
from myself_i2i.sign import SignOptions
from myself_i2i.verify import verify_image
from tests.integrations.comfy_graphs import (
    SAVE_ID,
    batch,
    controlnet_graph,
    controlnet_ipadapter_graph,
    i2i_graph,
    t2i_graph,
    two_branch_graph,
    unconnected_loader_graph,
    workflow_for,
)

FAST = SignOptions(watermark=False)
SIGNED_OK = (Verdict.VERIFIED, Verdict.UNTRUSTED)


@pytest.fixture
def folders(tmp_path: Path) -> ComfyFolders:
    f = ComfyFolders(input_dir=tmp_path / "input", output_dir=tmp_path / "output")
    f.input_dir.mkdir()
    f.output_dir.mkdir()
    return f


def _run(
    folders: ComfyFolders, identity: Identity, prompt: dict[str, Any] | None, n: int = 2, **kw: Any
) -> Any:
    kw.setdefault("options", FAST)
    kw.setdefault("unique_id", SAVE_ID)  # ComfyUI's hidden UNIQUE_ID: this node's graph key
    kw.setdefault("log", lambda _line: None)
    return save_signed_batch(
        batch(n),
        prompt=prompt,
        extra_pnginfo={"workflow": workflow_for(prompt)} if prompt is not None else None,
        folders=folders,
        filename_prefix="test",
        identity=identity,
        **kw,
    )


def _outputs(folders: ComfyFolders) -> list[Path]:
    return sorted(folders.output_dir.rglob("*.*"))


def test_t2i_graph_signs_every_image_of_the_batch_and_keeps_the_graph(
    folders: ComfyFolders, identity: Identity
) -> None:
    prompt = t2i_graph()
    res = _run(folders, identity, prompt, n=3)
    assert res.t2i and len(res.outcomes) == 3
    files = _outputs(folders)
    assert [f.name for f in files] == ["test_00001_.png", "test_00002_.png", "test_00003_.png"]
    for f in files:
        report = verify_image(f)
        assert report.verdict in SIGNED_OK, report.lines("en")
        assert report.pledge is not None and report.pledge["kind"] == "t2i"
        assert report.pledge["generator"]["software"] == "ComfyUI"
        with Image.open(f) as im:
            assert json.loads(im.text["prompt"]) == prompt  # type: ignore[attr-defined]
            assert json.loads(im.text["workflow"])["nodes"]  # type: ignore[attr-defined]
    assert "✔ signed test_00001_.png: t2i" in res.text()
    assert "署名済み" in res.text()


def test_next_batch_continues_the_counter(folders: ComfyFolders, identity: Identity) -> None:
    _run(folders, identity, t2i_graph(), n=1)
    _run(folders, identity, t2i_graph(), n=1)
    assert [f.name for f in _outputs(folders)] == ["test_00001_.png", "test_00002_.png"]


def test_i2i_graph_declares_the_loaded_file(
    folders: ComfyFolders,
    identity: Identity,
    make_source: Callable[[Path, int], Path],
    register: Callable[[Path], None],
) -> None:
    src = make_source(folders.input_dir / "source.png", 3)
    register(src)
    res = _run(folders, identity, i2i_graph("source.png"))
    assert not res.t2i and res.sources == (src,)
    for f in _outputs(folders):
        report = verify_image(f)
        assert report.verdict in SIGNED_OK, report.lines("en")
        assert report.pledge is not None
        assert report.pledge["kind"] == "self-sourced-i2i"
        assert [s["title"] for s in report.pledge["sources"]] == ["source.png"]
        assert report.pledge["sources"][0]["relation"] == "own-drawing"
    assert "registry (exact)" in res.text()


def test_controlnet_image_is_a_source(
    folders: ComfyFolders,
    identity: Identity,
    make_source: Callable[[Path, int], Path],
    register: Callable[[Path], None],
) -> None:
    pose = make_source(folders.input_dir / "poses" / "pose.png", 4)
    register(pose)
    _run(folders, identity, controlnet_graph("poses/pose.png"), n=1)
    (f,) = _outputs(folders)
    report = verify_image(f)
    assert report.pledge is not None and report.pledge["kind"] == "self-sourced-i2i"
    assert [s["title"] for s in report.pledge["sources"]] == ["pose.png"]


def test_unconnected_loader_is_not_a_source(folders: ComfyFolders, identity: Identity) -> None:
    # stray.png is neither registered nor even present: it does not reach the output
    res = _run(folders, identity, unconnected_loader_graph("stray.png"), n=1)
    assert res.t2i
    (f,) = _outputs(folders)
    report = verify_image(f)
    assert report.pledge is not None and report.pledge["kind"] == "t2i"


def test_unregistered_source_is_refused_and_nothing_is_written(
    folders: ComfyFolders, identity: Identity, make_source: Callable[[Path, int], Path]
) -> None:
    make_source(folders.input_dir / "someone_elses.png", 5)
    with pytest.raises(PledgeRefused) as exc:
        _run(folders, identity, i2i_graph("someone_elses.png"))
    message = str(exc.value)
    assert "not registered as yours or permitted" in message
    assert "登録されていない" in message  # ComfyUI shows str(exception): both languages
    assert _outputs(folders) == []


def test_unregistered_source_saved_unsigned_with_reason_when_asked(
    folders: ComfyFolders, identity: Identity, make_source: Callable[[Path, int], Path]
) -> None:
    make_source(folders.input_dir / "someone_elses.png", 5)
    res = _run(folders, identity, i2i_graph("someone_elses.png"), save_unsigned_on_refusal=True)
    files = _outputs(folders)
    assert len(files) == 2
    assert all(not o.signed for o in res.outcomes)
    assert "saved UNSIGNED" in res.text() and "not registered" in res.text()
    assert "未署名で保存" in res.text()
    for f in files:
        assert verify_image(f).verdict is Verdict.UNSIGNED
        with Image.open(f) as im:
            assert "prompt" in im.text  # type: ignore[attr-defined]


def test_missing_input_file_is_refused(folders: ComfyFolders, identity: Identity) -> None:
    with pytest.raises(PledgeRefused, match="not in ComfyUI's folders"):
        _run(folders, identity, i2i_graph("gone.png"))
    assert _outputs(folders) == []


def test_mode_t2i_refuses_a_graph_with_image_inputs(
    folders: ComfyFolders,
    identity: Identity,
    make_source: Callable[[Path, int], Path],
    register: Callable[[Path], None],
) -> None:
    register(make_source(folders.input_dir / "source.png", 3))
    with pytest.raises(PledgeRefused, match="mode t2i was chosen"):
        _run(folders, identity, i2i_graph("source.png"), mode="t2i")
    assert _outputs(folders) == []


def test_no_graph_needs_explicit_t2i(folders: ComfyFolders, identity: Identity) -> None:
    with pytest.raises(PledgeRefused, match="no workflow graph"):
        _run(folders, identity, None)
    res = _run(folders, identity, None, n=1, mode="t2i")
    assert res.t2i and res.outcomes[0].signed


def test_annotated_output_file_resolves_in_the_output_folder(folders: ComfyFolders) -> None:
    assert folders.resolve("a.png [output]") == folders.output_dir / "a.png"
    assert folders.resolve("sub/a.png") == folders.input_dir / "sub" / "a.png"
    assert folders.resolve("a.png [input]") == folders.input_dir / "a.png"


@pytest.mark.parametrize(("fmt", "suffix"), [("JPEG", ".jpg"), ("WebP", ".webp")])
def test_jpeg_and_webp_keep_the_graph_in_exif(
    folders: ComfyFolders, identity: Identity, fmt: str, suffix: str
) -> None:
    _run(folders, identity, t2i_graph(), n=1, fmt=fmt)
    (f,) = _outputs(folders)
    assert f.suffix == suffix
    assert verify_image(f).verdict in SIGNED_OK
    meta = read_generation_metadata(f)
    assert meta is not None and meta.source == "comfyui" and meta.kind is GenKind.T2I


def test_tensor_like_input_is_accepted() -> None:
    class FakeTensor:
        def __init__(self, arr: np.ndarray) -> None:
            self.arr = arr

        def cpu(self) -> FakeTensor:
            return self

        def numpy(self) -> np.ndarray:
            return self.arr

    arr = np.full((1, 4, 4, 3), 0.5, np.float32)
    out = to_uint8_batch(FakeTensor(arr))
    assert out.dtype == np.uint8 and out.shape == (1, 4, 4, 3) and int(out[0, 0, 0, 0]) == 127


def test_node_definitions_follow_comfyui_api() -> None:
    assert set(NODE_CLASS_MAPPINGS) == set(NODE_DISPLAY_NAME_MAPPINGS)
    assert "署名付き保存" in NODE_DISPLAY_NAME_MAPPINGS["MyselfI2ISaveImage"]
    spec = MyselfI2ISaveImage.INPUT_TYPES()
    # the hidden names execution.get_input_data fills in
    assert spec["hidden"] == {
        "prompt": "PROMPT",
        "extra_pnginfo": "EXTRA_PNGINFO",
        "unique_id": "UNIQUE_ID",
    }
    assert spec["required"]["images"][0] == "IMAGE"
    assert MyselfI2ISaveImage.OUTPUT_NODE and MyselfI2ISaveImage.FUNCTION == "save"
    assert callable(getattr(MyselfI2ISaveImage(), MyselfI2ISaveImage.FUNCTION))
    assert MyselfI2IVerifyImage.RETURN_TYPES == ("STRING",)
    locales = Path(__file__).parents[2] / "myself_i2i/integrations/comfyui/locales"
    for lang in ("en", "ja"):
        defs = json.loads((locales / lang / "nodeDefs.json").read_text("utf-8"))
        assert set(defs) == set(NODE_CLASS_MAPPINGS)


def test_save_node_end_to_end_outside_comfyui(
    tmp_path: Path, identity: Identity, monkeypatch: pytest.MonkeyPatch
) -> None:
    del identity  # the node loads the user's identity itself
    monkeypatch.chdir(tmp_path)
    (tmp_path / "output").mkdir()
    prompt = t2i_graph()
    out = MyselfI2ISaveImage().save(
        batch(2),
        filename_prefix="node",
        watermark=False,
        prompt=prompt,
        extra_pnginfo={"workflow": workflow_for(prompt)},
    )
    names = [i["filename"] for i in out["ui"]["images"]]
    assert names == ["node_00001_.png", "node_00002_.png"]
    assert out["result"][0].count("✔ signed") == 2
    verdict = MyselfI2IVerifyImage().verify(str(tmp_path / "output" / names[0]))
    text = verdict["result"][0]
    assert "t2i #Myself_i2i" in text and "宣言" in text


def test_verify_node_watermark_recovers_pixels_from_the_graph(
    folders: ComfyFolders, identity: Identity
) -> None:
    # the one test with the watermark on: an IMAGE (pixels only, no manifest) is recovered
    save_signed_batch(
        batch(1, size=256),
        prompt=t2i_graph(),
        extra_pnginfo=None,
        folders=folders,
        identity=identity,
        log=lambda _line: None,
    )
    (f,) = _outputs(folders)
    pixels = np.asarray(Image.open(f).convert("RGB"), np.float32)[None] / 255.0
    text = verify_for_node(images=pixels, lang="en")
    assert "recovered" in text, text
    assert "検証済み" in verify_for_node(str(f), lang="ja")  # own key: trusted on this machine


# ---- only the branch that feeds this node (UNIQUE_ID), --disable-metadata, logging, IS_CHANGED


def test_a_loader_on_another_branch_is_not_an_input_of_this_node(
    folders: ComfyFolders, identity: Identity
) -> None:
    # other.png feeds ComfyUI's own SaveImage (node 34) in the same queued prompt; it is not
    # even in the input folder: only our node's branch (t2i) is analysed and embedded
    prompt = two_branch_graph("other.png")
    res = _run(folders, identity, prompt, n=1)
    assert res.t2i and res.outcomes[0].signed
    (f,) = _outputs(folders)
    with Image.open(f) as im:
        embedded = json.loads(im.text["prompt"])  # type: ignore[attr-defined]
    assert embedded == branch_of(prompt, SAVE_ID)
    assert not {"30", "34", "40", "41"} & set(embedded)
    report = verify_image(f)
    assert report.verdict in SIGNED_OK, report.lines("en")
    assert report.pledge is not None and report.pledge["kind"] == "t2i"


def test_without_unique_id_the_whole_graph_counts(
    folders: ComfyFolders, identity: Identity, caplog: pytest.LogCaptureFixture
) -> None:
    # an old ComfyUI without UNIQUE_ID: more inputs may be counted, never fewer
    with caplog.at_level(logging.WARNING, "myself_i2i.comfyui"):
        with pytest.raises(PledgeRefused, match=r"other\.png"):
            _run(folders, identity, two_branch_graph("other.png"), unique_id=None)
        assert "whole graph" in caplog.text
    assert _outputs(folders) == []


def test_branch_declares_exactly_its_controlnet_and_ipadapter_images(
    folders: ComfyFolders,
    identity: Identity,
    make_source: Callable[[Path, int], Path],
    register: Callable[[Path], None],
) -> None:
    pose = make_source(folders.input_dir / "pose.png", 4)
    ref = make_source(folders.input_dir / "ref.png", 6)
    register(pose)
    register(ref)
    make_source(folders.input_dir / "unrelated.png", 7)  # not registered: previewed elsewhere
    res = _run(folders, identity, controlnet_ipadapter_graph("pose.png", "ref.png"), n=1)
    assert not res.t2i and set(res.sources) == {pose, ref}
    (f,) = _outputs(folders)
    report = verify_image(f)
    assert report.verdict in SIGNED_OK, report.lines("en")
    assert report.pledge is not None
    assert sorted(s["title"] for s in report.pledge["sources"]) == ["pose.png", "ref.png"]


def test_disable_metadata_writes_no_graph_but_still_signs(
    folders: ComfyFolders, identity: Identity
) -> None:
    _run(folders, identity, two_branch_graph(), n=1, disable_metadata=True)
    (f,) = _outputs(folders)
    with Image.open(f) as im:
        assert not {"prompt", "workflow"} & set(im.text)  # type: ignore[attr-defined]
    assert read_generation_metadata(f) is None
    report = verify_image(f)
    assert report.verdict in SIGNED_OK, report.lines("en")
    assert report.pledge is not None and report.pledge["kind"] == "t2i"
    assert report.pledge["generator"]["software"] == "ComfyUI"


def test_disable_metadata_is_read_from_comfy_cli_args(monkeypatch: pytest.MonkeyPatch) -> None:
    # comfy/cli_args.py: `args = parser.parse_args()`, `--disable-metadata` store_true
    monkeypatch.delitem(sys.modules, "comfy.cli_args", raising=False)
    assert metadata_disabled() is False  # outside ComfyUI
    fake = SimpleNamespace(args=SimpleNamespace(disable_metadata=True))
    monkeypatch.setitem(sys.modules, "comfy.cli_args", fake)
    assert metadata_disabled() is True
    fake.args = SimpleNamespace()  # an args object without the flag: metadata kept
    assert metadata_disabled() is False


def test_node_reports_through_logging_not_print(
    folders: ComfyFolders,
    identity: Identity,
    make_source: Callable[[Path, int], Path],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    make_source(folders.input_dir / "someone_elses.png", 5)
    with caplog.at_level(logging.INFO, "myself_i2i.comfyui"):
        _run(folders, identity, t2i_graph(), n=1, log=None)
        _run(
            folders,
            identity,
            i2i_graph("someone_elses.png"),
            n=1,
            log=None,
            save_unsigned_on_refusal=True,
        )
    levels = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert any(lv == logging.INFO and "✔ signed test_00001_.png" in m for lv, m in levels)
    assert any(lv == logging.WARNING and "UNSIGNED test_00002_.png" in m for lv, m in levels)
    assert capsys.readouterr().out == ""


def test_verify_node_is_changed_follows_the_file_content(
    folders: ComfyFolders, identity: Identity
) -> None:
    _run(folders, identity, t2i_graph(), n=2)
    first, second = _outputs(folders)
    target = folders.input_dir / "check.png"
    target.write_bytes(first.read_bytes())
    before = verify_fingerprint("check.png", folders)
    assert before == verify_fingerprint("check.png", folders)
    target.write_bytes(second.read_bytes())  # a new picture under the same name
    assert verify_fingerprint("check.png", folders) != before
    assert verify_fingerprint("", folders) == "no file"
    assert verify_fingerprint("gone.png", folders).startswith("unreadable")
    # the node's classmethod, called the way execution.IsChangedCache.get calls it
    assert isinstance(MyselfI2IVerifyImage.IS_CHANGED(image_path=str(target), language="en"), str)
    assert MyselfI2IVerifyImage.IS_CHANGED(image_path=str(target)) == verify_fingerprint(
        str(target)
    )


def test_refusal_command_runs_as_printed(
    folders: ComfyFolders, identity: Identity, make_source: Callable[[Path, int], Path]
) -> None:
    # an input under a folder with a space (e.g. "C:\\Users\\My Name\\ComfyUI\\input")
    make_source(folders.input_dir / "my pics" / "sketch.png", 5)
    with pytest.raises(PledgeRefused) as exc:
        _run(folders, identity, i2i_graph("my pics/sketch.png"), n=1)
    text = exc.value.text.en
    (cmd,) = [c for c in text.split("`")[1::2] if c.startswith("myself-i2i ")]
    result = CliRunner().invoke(app, shlex.split(cmd)[1:])
    assert result.exit_code == 0, (cmd, result.output)
    res = _run(folders, identity, i2i_graph("my pics/sketch.png"), n=1)  # now registered
    assert res.outcomes[0].signed
