"""NovelAI and InvokeAI PNG metadata, and images without any metadata."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from myself_i2i.errors import MetadataError
from myself_i2i.genmeta import GenKind, read_generation_metadata, text_chunks
from myself_i2i.models import Lora
from tests.genmeta.genmeta_files import picture, png_with_text

NAI_T2I_COMMENT: dict[str, Any] = {
    "prompt": "1girl, solo, silver hair, best quality, amazing quality, very aesthetic",
    "steps": 28,
    "height": 1216,
    "width": 832,
    "scale": 5.0,
    "uncond_scale": 1.0,
    "cfg_rescale": 0.0,
    "seed": 3165219870,
    "n_samples": 1,
    "hide_debug_overlay": False,
    "noise_schedule": "karras",
    "legacy_v3_extend": False,
    "reference_information_extracted_multiple": [],
    "reference_strength_multiple": [],
    "sampler": "k_euler_ancestral",
    "controlnet_strength": 1.0,
    "controlnet_model": None,
    "dynamic_thresholding": False,
    "sm": False,
    "sm_dyn": False,
    "uc": "lowres, {bad}, error, fewer, extra, missing, worst quality, jpeg artifacts",
    "request_type": "PromptGenerateRequest",
    "signed_hash": "nM6vZLFGJWW7SH2xc4lpRY9sJGbPQKXaUzhUVX/u2NvCAyLg9abn90XBCiNmwqh1hK5hk==",
}


def nai_png(tmp_path: Path, comment: dict[str, Any] | str, source: str) -> Path:
    return png_with_text(
        tmp_path / "nai.png",
        {
            "Title": "AI generated image",
            "Description": "1girl, solo, silver hair",
            "Software": "NovelAI",
            "Source": source,
            "Generation time": "4.52",
            "Comment": comment if isinstance(comment, str) else json.dumps(comment),
        },
    )


def test_novelai_t2i(tmp_path: Path) -> None:
    meta = read_generation_metadata(
        nai_png(tmp_path, NAI_T2I_COMMENT, "Stable Diffusion XL C1E1DE52")
    )
    assert meta is not None
    assert meta.source == "novelai"
    assert meta.kind is GenKind.T2I
    assert meta.generator.software == "NovelAI"
    assert meta.generator.model == "Stable Diffusion XL C1E1DE52"
    assert meta.image_inputs == ()


def test_novelai_img2img(tmp_path: Path) -> None:
    comment = dict(
        NAI_T2I_COMMENT,
        request_type="Img2ImgRequest",
        strength=0.55,
        noise=0.0,
        extra_noise_seed=3165219870,
    )
    meta = read_generation_metadata(nai_png(tmp_path, comment, "NovelAI Diffusion V4 4F49EC75"))
    assert meta is not None
    assert meta.kind is GenKind.I2I
    assert [i.role for i in meta.image_inputs] == ["img2img init image"]
    assert meta.generator.model == "NovelAI Diffusion V4 4F49EC75"


def test_novelai_inpaint(tmp_path: Path) -> None:
    comment = dict(NAI_T2I_COMMENT, request_type="NativeInfillingRequest")
    meta = read_generation_metadata(nai_png(tmp_path, comment, "Stable Diffusion XL 8BA2AF87"))
    assert meta is not None and meta.kind is GenKind.I2I


def test_novelai_vibe_transfer_lists_references(tmp_path: Path) -> None:
    comment = dict(
        NAI_T2I_COMMENT,
        reference_information_extracted_multiple=[1.0, 0.8],
        reference_strength_multiple=[0.6, 0.4],
    )
    meta = read_generation_metadata(nai_png(tmp_path, comment, "Stable Diffusion XL 7BCCAA2C"))
    assert meta is not None
    assert meta.kind is GenKind.I2I
    assert [i.role for i in meta.image_inputs] == ["vibe transfer reference"] * 2


def test_novelai_old_comment_without_request_type_is_unknown(tmp_path: Path) -> None:
    comment = {
        "steps": 28,
        "sampler": "k_euler_ancestral",
        "seed": 1,
        "strength": 0.7,
        "noise": 0.2,
        "scale": 11,
        "uc": "lowres",
    }
    meta = read_generation_metadata(nai_png(tmp_path, comment, "Stable Diffusion 81274D13"))
    assert meta is not None and meta.kind is GenKind.UNKNOWN


def test_novelai_malformed_comment(tmp_path: Path) -> None:
    with pytest.raises(MetadataError):
        read_generation_metadata(nai_png(tmp_path, '{"prompt": "x", ', "NovelAI Diffusion V4"))


def invoke_png(tmp_path: Path, metadata: dict[str, Any]) -> Path:
    return png_with_text(tmp_path / "invoke.png", {"invokeai_metadata": json.dumps(metadata)})


INVOKE_T2I: dict[str, Any] = {
    "generation_mode": "sdxl_txt2img",
    "positive_prompt": "a watercolor fox in the snow",
    "negative_prompt": "",
    "width": 1024,
    "height": 1024,
    "seed": 1719238844,
    "rand_device": "cpu",
    "cfg_scale": 6.5,
    "cfg_rescale_multiplier": 0,
    "steps": 30,
    "scheduler": "dpmpp_2m_k",
    "model": {
        "key": "6f8b0c2e-1f0a-4f7e-9a36-2d1b9f5a7c11",
        "hash": "blake3:5e1b0c0a9d",
        "name": "Juggernaut XL v9",
        "base": "sdxl",
        "type": "main",
    },
    "loras": [
        {
            "model": {
                "key": "a1",
                "hash": "blake3:aa",
                "name": "watercolor_style",
                "base": "sdxl",
                "type": "lora",
            },
            "weight": 0.75,
        }
    ],
    "app_version": "4.2.9",
}


def test_invokeai_txt2img(tmp_path: Path) -> None:
    meta = read_generation_metadata(invoke_png(tmp_path, INVOKE_T2I))
    assert meta is not None
    assert meta.source == "invokeai"
    assert meta.kind is GenKind.T2I
    assert meta.generator.software == "InvokeAI 4.2.9"
    assert meta.generator.model == "Juggernaut XL v9"
    assert meta.generator.loras == (Lora("watercolor_style", 0.75),)


def test_invokeai_img2img(tmp_path: Path) -> None:
    md = dict(
        INVOKE_T2I,
        generation_mode="sdxl_img2img",
        strength=0.6,
        init_image="2f1c9b2e-8d3a-4c55-9a0e-6b1f5c7d9e21.png",
    )
    meta = read_generation_metadata(invoke_png(tmp_path, md))
    assert meta is not None
    assert meta.kind is GenKind.I2I
    assert meta.image_inputs[0].name == "2f1c9b2e-8d3a-4c55-9a0e-6b1f5c7d9e21.png"


def test_invokeai_v3_controlnet_on_txt2img(tmp_path: Path) -> None:
    md = {
        "generation_mode": "txt2img",
        "model": {
            "model_name": "stable-diffusion-v1-5",
            "base_model": "sd-1",
            "model_type": "main",
        },
        "loras": [{"lora": {"model_name": "ghibli", "base_model": "sd-1"}, "weight": 1.0}],
        "controlnets": [
            {
                "image": {"image_name": "cn_input.png"},
                "control_model": {"model_name": "canny", "base_model": "sd-1"},
                "control_weight": 1,
                "begin_step_percent": 0,
                "end_step_percent": 1,
            }
        ],
        "app_version": "3.4.0",
    }
    meta = read_generation_metadata(invoke_png(tmp_path, md))
    assert meta is not None
    assert meta.kind is GenKind.I2I
    assert meta.generator.model == "stable-diffusion-v1-5"
    assert meta.generator.loras == (Lora("ghibli", 1.0),)
    assert [(i.name, i.role) for i in meta.image_inputs] == [("cn_input.png", "ControlNet")]


def test_no_metadata_is_none(tmp_path: Path) -> None:
    for name in ("plain.png", "plain.jpg", "plain.webp"):
        path = tmp_path / name
        picture().save(path)
        assert read_generation_metadata(path) is None
    assert read_generation_metadata(picture()) is None


def test_unrelated_png_text_is_none(tmp_path: Path) -> None:
    path = png_with_text(tmp_path / "a.png", {"Software": "GIMP 2.10", "Author": "me"})
    assert read_generation_metadata(path) is None


def test_text_chunks_round_trip(tmp_path: Path) -> None:
    from PIL import Image

    chunks = {"parameters": "1girl\nSteps: 20, Sampler: Euler a, Seed: 1", "Comment": "日本語"}
    path = png_with_text(tmp_path / "a.png", chunks, itxt=True)
    with Image.open(path) as img:
        assert text_chunks(img) == chunks
    jpg = tmp_path / "a.jpg"
    picture().save(jpg)
    with Image.open(jpg) as img:
        assert text_chunks(img) == {}


def test_pil_image_source(tmp_path: Path) -> None:
    from PIL import Image

    path = invoke_png(tmp_path, INVOKE_T2I)
    with Image.open(path) as img:
        meta = read_generation_metadata(img)
    assert meta is not None and meta.kind is GenKind.T2I
    assert "invokeai_metadata" in meta.raw


def test_plain_text_prompt_chunk_is_not_comfyui(tmp_path: Path) -> None:
    path = png_with_text(tmp_path / "a.png", {"prompt": "a cat on a sofa"})
    assert read_generation_metadata(path) is None


def test_swarmui_json_parameters_are_read_as_swarmui(tmp_path: Path) -> None:
    # Issue 10: JSON `parameters` are read as what they are, not as UNKNOWN.
    text = json.dumps({"sui_image_params": {"prompt": "a cat", "model": "x", "steps": 20}})
    meta = read_generation_metadata(png_with_text(tmp_path / "a.png", {"parameters": text}))
    assert meta is not None
    assert meta.kind is GenKind.T2I
    assert meta.generator.software == "SwarmUI"
    assert meta.generator.model == "x"


def test_swarmui_init_image_creativity_is_an_image_input(tmp_path: Path) -> None:
    params = {"prompt": "a cat", "model": "x", "initimagecreativity": 0.6, "swarm_version": "0.9"}
    text = json.dumps({"sui_image_params": params})
    meta = read_generation_metadata(png_with_text(tmp_path / "a.png", {"parameters": text}))
    assert meta is not None
    assert meta.kind is GenKind.I2I
    assert meta.generator.software == "SwarmUI 0.9"
    assert [i.role for i in meta.image_inputs] == ["img2img init image"]
