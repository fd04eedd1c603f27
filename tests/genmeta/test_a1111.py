"""AUTOMATIC1111 / Forge infotext: t2i vs i2i, model, LoRAs, PNG / JPEG / WebP carriers."""

from __future__ import annotations

from pathlib import Path

import pytest

from myself_i2i.genmeta import GenKind, parse_a1111_parameters, read_generation_metadata
from myself_i2i.genmeta.chunks import decode_user_comment
from myself_i2i.models import Lora
from tests.genmeta.genmeta_files import jpeg_with_comment, png_with_text, webp_with_comment

PROMPT = (
    "masterpiece, best quality, 1girl, solo, school uniform, cherry blossoms, "
    "<lora:flat_color_v2:0.8>, <lora:detail-tweaker:0.5>\n"
    "Negative prompt: lowres, bad anatomy, (worst quality:1.4), watermark\n"
)
T2I = PROMPT + (
    "Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 2840193562, "
    "Size: 832x1216, Model hash: 6ce0161689, Model: animagine-xl-3.1, "
    'Lora hashes: "flat_color_v2: 7a4b0e2c11d3, detail-tweaker: e8f1c0d2a9b7", '
    "Version: v1.10.1"
)
T2I_HIRES = PROMPT + (
    "Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 2840193562, "
    "Size: 512x768, Model hash: 6ce0161689, Model: anything-v5, Denoising strength: 0.45, "
    "Clip skip: 2, Hires upscale: 2, Hires steps: 15, Hires upscaler: R-ESRGAN 4x+ Anime6B, "
    'Lora hashes: "flat_color_v2: 7a4b0e2c11d3, detail-tweaker: e8f1c0d2a9b7", '
    "Version: v1.9.4"
)
IMG2IMG = PROMPT + (
    "Steps: 30, Sampler: Euler a, Schedule type: Automatic, CFG scale: 7, Seed: 77, "
    "Size: 768x1024, Model hash: 6ce0161689, Model: anything-v5, Denoising strength: 0.6, "
    "Version: v1.10.1"
)
INPAINT = PROMPT + (
    "Steps: 30, Sampler: Euler a, CFG scale: 7, Seed: 77, Size: 768x1024, "
    "Model hash: 6ce0161689, Model: anything-v5-inpainting, Denoising strength: 0.75, "
    "Mask blur: 4, Inpaint area: Only masked, Masked area padding: 32, Version: v1.10.1"
)
CONTROLNET = PROMPT + (
    "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 5, Size: 512x512, "
    "Model hash: 6ce0161689, Model: anything-v5, "
    'ControlNet 0: "Module: canny, Model: control_v11p_sd15_canny [d14c016b], Weight: 1.0, '
    "Resize Mode: Crop and Resize, Processor Res: 512, Threshold A: 100.0, "
    "Threshold B: 200.0, Guidance Start: 0.0, Guidance End: 1.0, Pixel Perfect: False, "
    'Control Mode: Balanced", '
    'ControlNet 1: "Module: ip-adapter_clip_sd15, Model: ip-adapter_sd15 [6a3f6166], '
    "Weight: 0.7, Resize Mode: Crop and Resize, Guidance Start: 0.0, Guidance End: 1.0, "
    'Pixel Perfect: False, Control Mode: Balanced", Version: v1.10.1'
)
FORGE = (
    "1girl, looking at viewer\n"
    "Negative prompt: lowres\n"
    "Steps: 25, Sampler: Euler a, Schedule type: Simple, CFG scale: 1, Distilled CFG Scale: 3.5, "
    "Seed: 1234, Size: 896x1152, Model hash: 4e5b5c1f0b, Model: flux1-dev-bnb-nf4-v2, "
    "Version: f2.0.1v1.10.1-previous-636-gb835f24a, Module 1: ae"
)


def test_txt2img_plain_is_t2i() -> None:
    meta = parse_a1111_parameters(T2I)
    assert meta.source == "a1111"
    assert meta.kind is GenKind.T2I
    assert meta.image_inputs == ()
    assert meta.generator.software == "AUTOMATIC1111 stable-diffusion-webui v1.10.1"
    assert meta.generator.model == "animagine-xl-3.1 [6ce0161689]"


def test_hires_fix_denoising_strength_is_still_t2i() -> None:
    meta = parse_a1111_parameters(T2I_HIRES)
    assert meta.kind is GenKind.T2I
    assert meta.image_inputs == ()
    assert any("Hires fix" in r for r in meta.reasons)


def test_img2img_is_i2i() -> None:
    meta = parse_a1111_parameters(IMG2IMG)
    assert meta.kind is GenKind.I2I
    assert [i.role for i in meta.image_inputs] == ["img2img init image"]


def test_inpaint_is_i2i() -> None:
    meta = parse_a1111_parameters(INPAINT)
    assert meta.kind is GenKind.I2I
    assert meta.image_inputs[0].role == "inpaint image"
    assert any("Mask blur" in r for r in meta.reasons)


@pytest.mark.parametrize(
    ("extra", "role"),
    [
        ("Init image hash: 5b2c1f0e", "img2img init image"),
        ("Image CFG scale: 1.5", "instruct-pix2pix image"),
    ],
)
def test_other_img2img_markers(extra: str, role: str) -> None:
    text = T2I.replace("Version: v1.10.1", f"{extra}, Version: v1.10.1")
    meta = parse_a1111_parameters(text)
    assert meta.kind is GenKind.I2I
    assert meta.image_inputs[0].role == role


def test_inpaint_marker_wins_over_hires_fields() -> None:
    text = T2I_HIRES.replace("Version:", "Mask blur: 4, Version:")
    assert parse_a1111_parameters(text).kind is GenKind.I2I


def test_controlnet_units_are_image_inputs() -> None:
    meta = parse_a1111_parameters(CONTROLNET)
    assert meta.kind is GenKind.I2I
    roles = {(i.node_id, i.role) for i in meta.image_inputs}
    assert roles == {("ControlNet 0", "ControlNet"), ("ControlNet 1", "IP-Adapter")}
    assert any("preprocessor canny" in r for r in meta.reasons)


def test_controlnet_without_preprocessor_still_counts() -> None:
    text = CONTROLNET.replace("Module: canny", "Module: none")
    meta = parse_a1111_parameters(text)
    assert meta.kind is GenKind.I2I
    assert any("given directly" in r for r in meta.reasons)


def test_legacy_controlnet_format() -> None:
    text = PROMPT + (
        "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 5, Size: 512x512, "
        "ControlNet Enabled: True, ControlNet-0 Module: openpose, "
        "ControlNet-0 Model: control_sd15_openpose [fef5e48e], ControlNet-0 Weight: 1"
    )
    meta = parse_a1111_parameters(text)
    assert meta.kind is GenKind.I2I
    assert meta.image_inputs[0].role == "ControlNet"


def test_forge_version_string() -> None:
    meta = parse_a1111_parameters(FORGE)
    assert meta.generator.software is not None
    assert meta.generator.software.startswith("Stable Diffusion WebUI Forge f2.0.1")
    assert meta.generator.model == "flux1-dev-bnb-nf4-v2 [4e5b5c1f0b]"
    assert meta.kind is GenKind.T2I


def test_lora_names_and_weights() -> None:
    meta = parse_a1111_parameters(T2I)
    assert meta.generator.loras == (
        Lora("flat_color_v2", 0.8),
        Lora("detail-tweaker", 0.5),
    )


def test_lora_only_in_hashes_and_default_weight() -> None:
    text = "1girl <lora:soft_light>\n" + (
        "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512, "
        'Lora hashes: "soft_light: 11aa, style_x: 22bb", Version: v1.10.1'
    )
    meta = parse_a1111_parameters(text)
    assert meta.generator.loras == (Lora("soft_light", 1.0), Lora("style_x", None))


def test_quoted_values_and_negative_prompt_are_split() -> None:
    from myself_i2i.genmeta.a1111 import split_infotext

    prompt, negative, params = split_infotext(T2I)
    assert prompt.startswith("masterpiece") and "<lora:flat_color_v2:0.8>" in prompt
    assert negative.startswith("lowres")
    assert params["Lora hashes"] == "flat_color_v2: 7a4b0e2c11d3, detail-tweaker: e8f1c0d2a9b7"
    assert params["Size"] == "832x1216"


def test_no_parameter_line_is_unknown() -> None:
    meta = parse_a1111_parameters("just a prompt, nothing else")
    assert meta.kind is GenKind.UNKNOWN
    assert meta.reasons


def test_png_parameters_chunk(tmp_path: Path) -> None:
    path = png_with_text(tmp_path / "t2i.png", {"parameters": T2I_HIRES})
    meta = read_generation_metadata(path)
    assert meta is not None and meta.kind is GenKind.T2I
    assert meta.raw == {"parameters": T2I_HIRES}


def test_png_itxt_parameters_chunk(tmp_path: Path) -> None:
    text = IMG2IMG.replace("1girl", "1girl, 桜")
    path = png_with_text(tmp_path / "i2i.png", {"parameters": text}, itxt=True)
    meta = read_generation_metadata(path)
    assert meta is not None and meta.kind is GenKind.I2I


def test_jpeg_user_comment_unicode(tmp_path: Path) -> None:
    text = IMG2IMG.replace("1girl", "1girl, 桜の下")
    meta = read_generation_metadata(jpeg_with_comment(tmp_path / "a.jpg", text))
    assert meta is not None
    assert meta.kind is GenKind.I2I
    assert meta.generator.model == "anything-v5 [6ce0161689]"
    assert "桜の下" in meta.raw["UserComment"]


def test_jpeg_user_comment_ascii(tmp_path: Path) -> None:
    meta = read_generation_metadata(jpeg_with_comment(tmp_path / "a.jpg", T2I, "ascii"))
    assert meta is not None and meta.kind is GenKind.T2I


def test_webp_user_comment(tmp_path: Path) -> None:
    meta = read_generation_metadata(webp_with_comment(tmp_path / "c.webp", CONTROLNET))
    assert meta is not None
    assert meta.kind is GenKind.I2I
    assert len(meta.image_inputs) == 2


def test_user_comment_little_endian_and_bom() -> None:
    text = "1girl\nSteps: 20, Sampler: Euler a, Seed: 1"
    assert decode_user_comment(b"UNICODE\x00" + text.encode("utf-16-le")) == text
    assert decode_user_comment(b"UNICODE\x00" + text.encode("utf-16-be")) == text
    assert decode_user_comment(b"UNICODE\x00" + text.encode("utf-16")) == text
    assert decode_user_comment(b"ASCII\x00\x00\x00" + text.encode()) == text


def test_unrelated_user_comment_is_not_metadata(tmp_path: Path) -> None:
    path = jpeg_with_comment(tmp_path / "photo.jpg", "Holiday in Kyoto", "ascii")
    assert read_generation_metadata(path) is None
