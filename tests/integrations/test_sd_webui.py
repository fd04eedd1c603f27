"""The A1111 / Forge extension, called with objects shaped like the webui's (no webui)."""

from __future__ import annotations

import enum
import logging
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from typer.testing import CliRunner

from myself_i2i.cli import app
from myself_i2i.identity import Identity
from myself_i2i.integrations import sd_webui_core as core
from myself_i2i.report import Verdict
from myself_i2i.testing import illustration
from myself_i2i.verify import verify_image

SIGNED_OK = (Verdict.VERIFIED, Verdict.UNTRUSTED)
TXT2IMG = (
    "a cat\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, "
    "Size: 64x64, Model: anything-v5, Version: v1.10.1"
)
HIRES = TXT2IMG + ", Denoising strength: 0.5, Hires upscale: 2, Hires upscaler: Latent"
IMG2IMG = TXT2IMG + ", Denoising strength: 0.6"
INPAINT = IMG2IMG + ", Mask blur: 4, Inpaint area: Only masked"
CONTROLNET = TXT2IMG + ', ControlNet 0: "Module: none, Model: control_openpose, Weight: 1"'


@dataclass
class Processing:
    """The fields of ``modules/processing.py`` ``StableDiffusionProcessing`` that are read
    (``init_images`` / ``image_mask`` only on img2img; ``script_args`` on both)."""

    init_images: list[Any] = field(default_factory=list)
    image_mask: Any = None
    script_args: tuple[Any, ...] = ()
    extra_generation_params: dict[str, Any] = field(default_factory=dict)


@dataclass
class ControlNetUnit:
    """The fields of Forge's ``lib_controlnet.external_code.ControlNetUnit`` that are read."""

    enabled: bool = True
    image: Any = None
    module: str = "none"
    model: str = "control_openpose"
    input_mode: Any = "simple"  # Forge: InputMode enum, values "simple" / "batch" / "merge"
    batch_image_dir: str = ""
    batch_mask_dir: str = ""
    batch_input_gallery: list[Any] | None = None
    batch_mask_gallery: list[Any] | None = None


class InputMode(enum.Enum):
    """Forge's ``lib_controlnet.enums.InputMode``."""

    SIMPLE = "simple"
    BATCH = "batch"
    MERGE = "merge"


class SaveButtonObject:
    """What the Save button passes as ``p``: ``ui_common.save_files`` builds ``MyObject`` from
    the gallery's JSON (``Processed.js()``), so it has no ``init_images`` / ``script_args``."""

    def __init__(self, infotext: str) -> None:
        self.prompt = "a cat"
        self.seed = 1
        self.infotexts = [infotext]
        self.index_of_first_image = 0
        self.batch_index = -1


@dataclass
class ImageSaveParams:
    """``modules/script_callbacks.ImageSaveParams(image, p, filename, pnginfo)``."""

    image: Image.Image
    p: Any
    filename: str
    pnginfo: dict[str, Any]


class Opts:
    """``shared.opts`` with the extension's keys, and add_option recording."""

    def __init__(self, **values: Any) -> None:
        self.added: dict[str, Any] = {}
        for k, v in values.items():
            setattr(self, f"myself_i2i_{k}", v)

    def add_option(self, key: str, info: Any) -> None:
        self.added[key] = info


def webui_save(path: Path, infotext: str, seed: int = 0) -> tuple[Image.Image, Path]:
    """Write a picture the way the webui does: PNG with the infotext in ``parameters``."""
    img = illustration(64, 64, seed=seed)
    info = PngInfo()
    info.add_text("parameters", infotext)
    img.save(path, "PNG", pnginfo=info)
    return img, path


def _kind(path: Path) -> str:
    report = verify_image(path)
    assert report.verdict in SIGNED_OK, report.lines("en")
    assert report.pledge is not None
    return str(report.pledge["kind"])


FAST = core.WebuiSettings(watermark=False)


def test_txt2img_is_signed_t2i_in_place(tmp_path: Path, identity: Identity) -> None:
    img, path = webui_save(tmp_path / "00001-1.png", TXT2IMG)
    params = ImageSaveParams(img, Processing(), str(path), {"parameters": TXT2IMG})
    out = core.on_image_saved(params, Opts(watermark=False), identity=identity)
    assert out is not None and out.signed
    assert _kind(path) == "t2i"
    with Image.open(path) as im:
        assert im.text["parameters"] == TXT2IMG  # type: ignore[attr-defined]


def test_txt2img_with_hires_fix_is_still_t2i(tmp_path: Path, identity: Identity) -> None:
    _img, path = webui_save(tmp_path / "hires.png", HIRES)
    out = core.sign_saved_image(path, Processing(), FAST, identity=identity)
    assert out is not None and out.signed and _kind(path) == "t2i"


def test_img2img_init_image_matches_registered_original(
    tmp_path: Path,
    identity: Identity,
    make_source: Callable[[Path, int], Path],
    register: Callable[[Path], None],
) -> None:
    original = make_source(tmp_path / "my_drawing.png", 7)
    register(original)
    init = Image.open(original).convert("RGB")  # what the webui hands to p.init_images
    _img, path = webui_save(tmp_path / "i2i.png", IMG2IMG)
    out = core.sign_saved_image(path, Processing(init_images=[init]), FAST, identity=identity)
    assert out is not None and out.signed, out and out.reason
    assert _kind(path) == "self-sourced-i2i"
    assert out.result is not None
    assert out.result.sources[0].reason.startswith("registry")


def test_unregistered_init_image_stays_unsigned_with_reason(
    tmp_path: Path, identity: Identity, caplog: pytest.LogCaptureFixture
) -> None:
    _img, path = webui_save(tmp_path / "i2i.png", IMG2IMG)
    before = path.read_bytes()
    p = Processing(init_images=[illustration(80, 80, seed=42)])
    messages: list[str] = []
    out = core.sign_saved_image(path, p, FAST, identity=identity, emit=messages.append)
    assert out is not None and not out.signed and out.reason is not None
    assert "img2img init image" in out.reason.en  # the role, not a temp file name
    assert "myself_i2i_webui_" not in out.reason.en  # the callback's temporary folder is gone
    assert path.read_bytes() == before
    assert any("saved UNSIGNED" in m for m in messages)
    assert any("未署名" in m for m in messages)
    assert not (tmp_path / "i2i.png.unsigned.txt").exists()


def test_warn_mode_is_louder_and_leaves_a_note(tmp_path: Path, identity: Identity) -> None:
    _img, path = webui_save(tmp_path / "i2i.png", IMG2IMG)
    p = Processing(init_images=[illustration(80, 80, seed=42)])
    messages: list[str] = []
    settings = core.WebuiSettings(watermark=False, on_refusal="warn")
    out = core.sign_saved_image(path, p, settings, identity=identity, emit=messages.append)
    assert out is not None and not out.signed
    assert any("NOT SIGNED" in m for m in messages)
    note = (tmp_path / "i2i.png.unsigned.txt").read_text("utf-8")
    assert "not registered" in note and "登録" in note


def test_inpaint_plain_mask_is_not_a_source_but_a_painted_one_is(
    tmp_path: Path,
    identity: Identity,
    make_source: Callable[[Path, int], Path],
    register: Callable[[Path], None],
) -> None:
    original = make_source(tmp_path / "mine.png", 8)
    register(original)
    init = Image.open(original).convert("RGB")
    mask = Image.new("L", (96, 96), 0)
    mask.paste(255, (10, 10, 50, 50))
    _img, path = webui_save(tmp_path / "inpaint.png", INPAINT)
    out = core.sign_saved_image(
        path, Processing(init_images=[init], image_mask=mask), FAST, identity=identity
    )
    assert out is not None and out.signed and out.result is not None
    assert len(out.result.sources) == 1
    # a grey-level "mask" that is really someone's picture is declared, and refused
    _img, path2 = webui_save(tmp_path / "inpaint2.png", INPAINT)
    picture_mask = illustration(96, 96, seed=99).convert("L")
    out2 = core.sign_saved_image(
        path2, Processing(init_images=[init], image_mask=picture_mask), FAST, identity=identity
    )
    assert out2 is not None and not out2.signed and out2.reason is not None
    assert "inpaint mask" in out2.reason.en


def test_controlnet_unit_image_is_declared(
    tmp_path: Path,
    identity: Identity,
    make_source: Callable[[Path, int], Path],
    register: Callable[[Path], None],
) -> None:
    pose = make_source(tmp_path / "pose.png", 9)
    register(pose)
    arr = np.asarray(Image.open(pose).convert("RGB"))
    unit = ControlNetUnit(image={"image": arr, "mask": np.zeros(arr.shape[:2], np.uint8)})
    p = Processing(script_args=(0, "x", unit, ControlNetUnit(enabled=False)))
    _img, path = webui_save(tmp_path / "cn.png", CONTROLNET)
    out = core.sign_saved_image(path, p, FAST, identity=identity)
    assert out is not None and out.signed, out and out.reason
    assert _kind(path) == "self-sourced-i2i"

    # the same unit with someone else's picture: refused, naming the unit
    other = ControlNetUnit(image=np.asarray(illustration(96, 96, seed=77)))
    _img, path2 = webui_save(tmp_path / "cn2.png", CONTROLNET)
    out2 = core.sign_saved_image(path2, Processing(script_args=(other,)), FAST, identity=identity)
    assert out2 is not None and not out2.signed and out2.reason is not None
    assert "ControlNet 0 image" in out2.reason.en


def test_infotext_with_controlnet_but_no_unit_found_is_refused(
    tmp_path: Path, identity: Identity
) -> None:
    # the processing object shows no unit (an unknown extension), the infotext does: no t2i
    _img, path = webui_save(tmp_path / "cn.png", CONTROLNET)
    out = core.sign_saved_image(path, Processing(), FAST, identity=identity)
    assert out is not None and not out.signed and out.reason is not None
    assert "ControlNet" in out.reason.en


def test_disabled_or_unsupported_files_are_left_alone(tmp_path: Path, identity: Identity) -> None:
    _img, path = webui_save(tmp_path / "a.png", TXT2IMG)
    off = core.WebuiSettings(enabled=False)
    assert core.sign_saved_image(path, Processing(), off, identity=identity) is None
    assert core.sign_saved_image(tmp_path / "a.avif", Processing(), FAST, identity=identity) is None


def test_settings_registration_and_reading() -> None:
    class OptionInfo:
        def __init__(
            self, default: Any, label: str, component: Any = None, args: Any = None, **kw: Any
        ) -> None:
            self.default, self.label, self.section = default, label, kw.get("section")

    class Shared:
        opts = Opts()

    Shared.OptionInfo = OptionInfo  # type: ignore[attr-defined]
    core.register_settings(Shared)
    added = Shared.opts.added
    assert set(added) == {
        "myself_i2i_enabled",
        "myself_i2i_hashtag",
        "myself_i2i_pledge",
        "myself_i2i_on_refusal",
        "myself_i2i_watermark",
    }
    assert all(i.section == core.SECTION for i in added.values())
    s = core.WebuiSettings.from_opts(Opts(enabled=False, hashtag="#Noi2i", on_refusal="warn"))
    assert (s.enabled, s.hashtag, s.on_refusal, s.pledge) == (False, "#Noi2i", "warn", True)


def test_callback_never_raises(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # no identity in this home: the webui must not get a traceback, the log says why
    _img, path = webui_save(tmp_path / "a.png", TXT2IMG)
    params = ImageSaveParams(Image.new("RGB", (8, 8)), Processing(), str(path), {})
    with caplog.at_level(logging.ERROR, logger="myself_i2i.sd_webui"):
        assert core.on_image_saved(params, Opts()) is None
    assert "not signed" in caplog.text


# ---- what saved it: no processing object, the Save button, "Add number suffix"


def test_save_without_processing_object_is_never_signed(
    tmp_path: Path, identity: Identity, caplog: pytest.LogCaptureFixture
) -> None:
    # modules/postprocessing.py (Extras tab) and processing.py's save_init_img call
    # images.save_image without p: the picture may be anyone's
    _img, path = webui_save(tmp_path / "upscaled.png", TXT2IMG)
    before = path.read_bytes()
    params = ImageSaveParams(Image.open(path), None, str(path), {"parameters": TXT2IMG})
    with caplog.at_level(logging.WARNING, logger="myself_i2i.sd_webui"):
        out = core.on_image_saved(params, Opts(watermark=False), identity=identity)
    assert out is not None and not out.signed and out.reason is core.NOT_A_GENERATION
    assert path.read_bytes() == before
    assert "not signed" in caplog.text and "Extras" in caplog.text


def test_save_button_signs_t2i_only_when_the_infotext_proves_it(
    tmp_path: Path, identity: Identity
) -> None:
    _img, path = webui_save(tmp_path / "saved.png", TXT2IMG)
    params = ImageSaveParams(
        Image.open(path), SaveButtonObject(TXT2IMG), str(path), {"parameters": TXT2IMG}
    )
    out = core.on_image_saved(params, Opts(watermark=False), identity=identity)
    assert out is not None and out.signed and _kind(path) == "t2i"

    for name, infotext in (("i2i.png", IMG2IMG), ("cn.png", CONTROLNET), ("bare.png", "")):
        _img, path = webui_save(tmp_path / name, infotext)
        before = path.read_bytes()
        params = ImageSaveParams(
            Image.open(path), SaveButtonObject(infotext), str(path), {"parameters": infotext}
        )
        out = core.on_image_saved(params, Opts(watermark=False), identity=identity)
        assert out is not None and not out.signed and out.reason is not None, name
        assert "Save button" in out.reason.en
        assert path.read_bytes() == before


@pytest.mark.parametrize("host", ["forge", "a1111"])
def test_add_number_suffix_signs_the_file_actually_written(
    tmp_path: Path, identity: Identity, host: str
) -> None:
    # images.save_image: params.filename is "00001-seed.png"; with "Add number suffix" and
    # that name (and "-1") taken, _atomically_save_image writes "00001-seed-2.png".
    # Forge: image.already_saved_as = the written name; A1111 1.10: = params.filename.
    _old, older = webui_save(tmp_path / "00001-seed.png", TXT2IMG, seed=1)
    _old1, older1 = webui_save(tmp_path / "00001-seed-1.png", TXT2IMG, seed=3)
    before = {f: f.read_bytes() for f in (older, older1)}
    img, written = webui_save(tmp_path / "00001-seed-2.png", TXT2IMG, seed=2)
    img.already_saved_as = str(written if host == "forge" else older)  # type: ignore[attr-defined]
    params = ImageSaveParams(img, Processing(), str(older), {"parameters": TXT2IMG})
    out = core.on_image_saved(params, Opts(watermark=False), identity=identity)
    assert out is not None and out.signed and out.path == written
    assert _kind(written) == "t2i"
    assert {f: f.read_bytes() for f in before} == before  # earlier pictures are not touched


# ---- Forge ControlNet batch / merge inputs


def test_forge_controlnet_batch_folder_files_are_declared(
    tmp_path: Path,
    identity: Identity,
    make_source: Callable[[Path, int], Path],
    register: Callable[[Path], None],
) -> None:
    batch_dir, mask_dir = tmp_path / "cn_batch", tmp_path / "cn_masks"
    batch_dir.mkdir()
    mask_dir.mkdir()
    frames = [make_source(batch_dir / f"frame{i}.png", 20 + i) for i in range(2)]
    for f in frames:
        register(f)
    (batch_dir / "notes.txt").write_text("not an image")
    plain = Image.new("L", (96, 96), 0)
    plain.paste(255, (0, 0, 48, 48))
    plain.save(mask_dir / "m.png")
    unit = ControlNetUnit(
        input_mode=InputMode.BATCH, batch_image_dir=str(batch_dir), batch_mask_dir=str(mask_dir)
    )
    _img, path = webui_save(tmp_path / "batch.png", CONTROLNET)
    out = core.sign_saved_image(path, Processing(script_args=(unit,)), FAST, identity=identity)
    assert out is not None and out.signed and out.result is not None, out and out.reason
    assert sorted(s.spec.path for s in out.result.sources) == frames


def test_forge_controlnet_merge_gallery_is_declared_and_commands_run(
    tmp_path: Path,
    identity: Identity,
    make_source: Callable[[Path, int], Path],
    register: Callable[[Path], None],
) -> None:
    mine = make_source(tmp_path / "mine.png", 30)
    register(mine)
    stranger = make_source(tmp_path / "gallery dir" / "someone's.png", 31)
    # gradio gallery items: (path, caption) for images, {"name": path} for masks
    unit = ControlNetUnit(
        input_mode="merge",
        batch_input_gallery=[(str(mine), None), (str(stranger), None)],
    )
    _img, path = webui_save(tmp_path / "merge.png", CONTROLNET)
    out = core.sign_saved_image(path, Processing(script_args=(unit,)), FAST, identity=identity)
    assert out is not None and not out.signed and out.reason is not None
    assert "ControlNet 0 merge image" in out.reason.en
    _run_printed_commands(out.reason.en, expected=2)
    assert _kind(path) == "self-sourced-i2i"


def _run_printed_commands(text: str, expected: int) -> None:
    """Run every `myself-i2i ...` command of a message through the CLI entry, as printed."""
    commands = [c for c in text.split("`")[1::2] if c.startswith("myself-i2i ")]
    assert len(commands) == expected, commands
    for cmd in commands:
        result = CliRunner().invoke(app, shlex.split(cmd)[1:])
        assert result.exit_code == 0, (cmd, result.output)


def test_refusal_commands_run_as_printed(tmp_path: Path, identity: Identity) -> None:
    # an init image the webui only held in memory, saved under a folder with a space
    folder = tmp_path / "out put"
    folder.mkdir()
    _img, path = webui_save(folder / "i2i.png", IMG2IMG)
    p = Processing(init_images=[illustration(80, 80, seed=42)])
    out = core.sign_saved_image(path, p, FAST, identity=identity, emit=lambda _m: None)
    assert out is not None and not out.signed and out.reason is not None
    kept = list(core.kept_inputs_dir().iterdir())
    assert len(kept) == 1 and str(kept[0]) in out.reason.en
    _run_printed_commands(out.reason.en, expected=2)  # sources add, then sign
    assert _kind(path) == "self-sourced-i2i"
    # the Japanese text prints the same commands
    assert [c for c in out.reason.ja.split("`")[1::2] if c.startswith("myself-i2i ")] == [
        c for c in out.reason.en.split("`")[1::2] if c.startswith("myself-i2i ")
    ]
