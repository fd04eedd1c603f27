"""ComfyUI API / editor graphs: which loaded images reach the output."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from myself_i2i.errors import MetadataError
from myself_i2i.genmeta import GenKind, comfy_image_inputs, read_generation_metadata
from myself_i2i.models import Lora
from tests.genmeta.genmeta_files import png_with_text, webp_comfy

#: The default text-to-image graph, as ComfyUI embeds it in PNG text "prompt".
T2I: dict[str, Any] = {
    "3": {
        "class_type": "KSampler",
        "inputs": {
            "seed": 156680208700286,
            "steps": 20,
            "cfg": 8,
            "sampler_name": "euler",
            "scheduler": "normal",
            "denoise": 1,
            "model": ["10", 0],
            "positive": ["6", 0],
            "negative": ["7", 0],
            "latent_image": ["5", 0],
        },
        "_meta": {"title": "KSampler"},
    },
    "4": {
        "class_type": "CheckpointLoaderSimple",
        "inputs": {"ckpt_name": "animagine-xl-3.1.safetensors"},
    },
    "5": {
        "class_type": "EmptyLatentImage",
        "inputs": {"width": 832, "height": 1216, "batch_size": 1},
    },
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "1girl, solo", "clip": ["10", 1]}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "lowres", "clip": ["10", 1]}},
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
    "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]}},
    "10": {
        "class_type": "LoraLoader",
        "inputs": {
            "lora_name": "flat_color_v2.safetensors",
            "strength_model": 0.8,
            "strength_clip": 1.0,
            "model": ["4", 0],
            "clip": ["4", 1],
        },
    },
}


def img2img_graph() -> dict[str, Any]:
    g = copy.deepcopy(T2I)
    g["11"] = {"class_type": "LoadImage", "inputs": {"image": "sketch_0412.png", "upload": "image"}}
    g["12"] = {"class_type": "VAEEncode", "inputs": {"pixels": ["11", 0], "vae": ["4", 2]}}
    g["3"]["inputs"]["latent_image"] = ["12", 0]
    g["3"]["inputs"]["denoise"] = 0.6
    del g["5"]
    return g


def controlnet_ipadapter_graph() -> dict[str, Any]:
    g = copy.deepcopy(T2I)
    g.update(
        {
            "20": {
                "class_type": "LoadImage",
                "inputs": {"image": "pose_ref.png", "upload": "image"},
            },
            "21": {
                "class_type": "ControlNetLoader",
                "inputs": {"control_net_name": "control_v11p_sd15_openpose.pth"},
            },
            "22": {
                "class_type": "DWPreprocessor",
                "inputs": {"image": ["20", 0], "resolution": 512},
            },
            "23": {
                "class_type": "ControlNetApplyAdvanced",
                "inputs": {
                    "strength": 0.9,
                    "start_percent": 0,
                    "end_percent": 1,
                    "positive": ["6", 0],
                    "negative": ["7", 0],
                    "control_net": ["21", 0],
                    "image": ["22", 0],
                },
            },
            "30": {
                "class_type": "LoadImage",
                "inputs": {"image": "style_ref.jpg", "upload": "image"},
            },
            "31": {
                "class_type": "IPAdapterUnifiedLoader",
                "inputs": {"preset": "PLUS", "model": ["10", 0]},
            },
            "32": {
                "class_type": "IPAdapterAdvanced",
                "inputs": {
                    "weight": 0.7,
                    "model": ["31", 0],
                    "ipadapter": ["31", 1],
                    "image": ["30", 0],
                },
            },
        }
    )
    g["3"]["inputs"].update(model=["32", 0], positive=["23", 0], negative=["23", 1])
    return g


def write(tmp_path: Path, prompt: dict[str, Any] | str, workflow: str | None = None) -> Path:
    chunks = {"prompt": prompt if isinstance(prompt, str) else json.dumps(prompt)}
    if workflow is not None:
        chunks["workflow"] = workflow
    return png_with_text(tmp_path / "ComfyUI_00001_.png", chunks)


def test_t2i_graph(tmp_path: Path) -> None:
    meta = read_generation_metadata(write(tmp_path, T2I))
    assert meta is not None
    assert meta.source == "comfyui"
    assert meta.kind is GenKind.T2I
    assert meta.image_inputs == ()
    assert meta.generator.software == "ComfyUI"
    assert meta.generator.model == "animagine-xl-3.1.safetensors"
    assert meta.generator.loras == (Lora("flat_color_v2.safetensors", 0.8),)


def test_loadimage_vaeencode_is_i2i(tmp_path: Path) -> None:
    meta = read_generation_metadata(write(tmp_path, img2img_graph()))
    assert meta is not None
    assert meta.kind is GenKind.I2I
    [inp] = meta.image_inputs
    assert (inp.name, inp.role, inp.node_id) == ("sketch_0412.png", "img2img init image", "11")
    assert any("VAEEncode 12" in r and "SaveImage node 9" in r for r in meta.reasons)


def test_controlnet_and_ipadapter_are_both_listed() -> None:
    inputs = comfy_image_inputs(controlnet_ipadapter_graph())
    assert {(i.name, i.role) for i in inputs} == {
        ("pose_ref.png", "ControlNet"),
        ("style_ref.jpg", "IP-Adapter"),
    }


def test_unconnected_loadimage_is_not_an_input(tmp_path: Path) -> None:
    g = copy.deepcopy(T2I)
    g["40"] = {
        "class_type": "LoadImage",
        "inputs": {"image": "someone_else.png", "upload": "image"},
    }
    meta = read_generation_metadata(write(tmp_path, g))
    assert meta is not None
    assert meta.kind is GenKind.T2I
    assert meta.image_inputs == ()
    assert any("node 40" in r and "not connected" in r for r in meta.reasons)


def test_loader_only_previewed_is_not_counted_when_graph_saves() -> None:
    g = copy.deepcopy(T2I)
    g["40"] = {"class_type": "LoadImage", "inputs": {"image": "ref.png", "upload": "image"}}
    g["41"] = {"class_type": "PreviewImage", "inputs": {"images": ["40", 0]}}
    assert comfy_image_inputs(g) == []


def test_unreachable_lora_and_model_are_ignored(tmp_path: Path) -> None:
    g = copy.deepcopy(T2I)
    g["50"] = {
        "class_type": "LoraLoaderModelOnly",
        "inputs": {"lora_name": "unused.safetensors", "strength_model": 1.0, "model": ["4", 0]},
    }
    meta = read_generation_metadata(write(tmp_path, g))
    assert meta is not None
    assert [lo.name for lo in meta.generator.loras] == ["flat_color_v2.safetensors"]


def test_inpaint_mask_loader() -> None:
    g = img2img_graph()
    g["13"] = {
        "class_type": "LoadImageMask",
        "inputs": {"image": "mask.png", "channel": "alpha", "upload": "image"},
    }
    g["14"] = {
        "class_type": "SetLatentNoiseMask",
        "inputs": {"samples": ["12", 0], "mask": ["13", 0]},
    }
    g["3"]["inputs"]["latent_image"] = ["14", 0]
    roles = {i.name: i.role for i in comfy_image_inputs(g)}
    assert roles == {"sketch_0412.png": "img2img init image", "mask.png": "inpaint mask"}


def test_unknown_loader_class_and_unknown_output_class() -> None:
    g = img2img_graph()
    g["11"] = {
        "class_type": "Image Load",
        "inputs": {"image_path": "./in/photo.jpg", "RGBA": "false"},
    }
    g["9"] = {"class_type": "Image Saver Plus", "inputs": {"images": ["8", 0]}}
    [inp] = comfy_image_inputs(g)
    assert inp.name == "./in/photo.jpg"


def test_malformed_prompt_json_raises_metadata_error(tmp_path: Path) -> None:
    path = write(tmp_path, '{"3": {"class_type": "KSampler", "inputs": {')
    with pytest.raises(MetadataError) as e:
        read_generation_metadata(path)
    assert "prompt" in e.value.message("en")
    assert "メタデータ" in e.value.message("ja")


def test_prompt_that_is_not_a_graph_raises(tmp_path: Path) -> None:
    with pytest.raises(MetadataError):
        read_generation_metadata(write(tmp_path, "[1, 2, 3]"))


def test_webp_exif_prompt(tmp_path: Path) -> None:
    path = webp_comfy(tmp_path / "a.webp", img2img_graph(), {"nodes": [], "links": []})
    meta = read_generation_metadata(path)
    assert meta is not None and meta.kind is GenKind.I2I


# --------------------------------------------------------------------------- editor graph


def editor_workflow(with_loader_linked: bool) -> dict[str, Any]:
    nodes = [
        {
            "id": 4,
            "type": "CheckpointLoaderSimple",
            "mode": 0,
            "inputs": [],
            "widgets_values": ["sd_xl_base_1.0.safetensors"],
        },
        {
            "id": 11,
            "type": "LoadImage",
            "mode": 0,
            "inputs": [],
            "widgets_values": ["photo_2024.png", "image"],
        },
        {
            "id": 12,
            "type": "VAEEncode",
            "mode": 0,
            "inputs": [
                {"name": "pixels", "type": "IMAGE", "link": 1 if with_loader_linked else None},
                {"name": "vae", "type": "VAE", "link": 2},
            ],
            "widgets_values": [],
        },
        {
            "id": 3,
            "type": "KSampler",
            "mode": 0,
            "inputs": [
                {"name": "model", "type": "MODEL", "link": 3},
                {"name": "latent_image", "type": "LATENT", "link": 4},
            ],
            "widgets_values": [1, "randomize", 20, 7, "euler", "normal", 0.6],
        },
        {
            "id": 8,
            "type": "VAEDecode",
            "mode": 0,
            "inputs": [
                {"name": "samples", "type": "LATENT", "link": 5},
                {"name": "vae", "type": "VAE", "link": 6},
            ],
        },
        {
            "id": 9,
            "type": "SaveImage",
            "mode": 0,
            "inputs": [{"name": "images", "type": "IMAGE", "link": 7}],
            "widgets_values": ["ComfyUI"],
        },
    ]
    links = [
        [2, 4, 2, 12, 1, "VAE"],
        [3, 4, 0, 3, 0, "MODEL"],
        [4, 12, 0, 3, 1, "LATENT"],
        [5, 3, 0, 8, 0, "LATENT"],
        [6, 4, 2, 8, 1, "VAE"],
        [7, 8, 0, 9, 0, "IMAGE"],
    ]
    if with_loader_linked:
        links.append([1, 11, 0, 12, 0, "IMAGE"])
    return {"last_node_id": 12, "last_link_id": 7, "nodes": nodes, "links": links, "version": 0.4}


def test_workflow_only_i2i(tmp_path: Path) -> None:
    path = png_with_text(tmp_path / "w.png", {"workflow": json.dumps(editor_workflow(True))})
    meta = read_generation_metadata(path)
    assert meta is not None
    assert meta.kind is GenKind.I2I
    assert meta.image_inputs[0].name == "photo_2024.png"
    assert meta.generator.model == "sd_xl_base_1.0.safetensors"
    assert any("editor graph" in r for r in meta.reasons)


def test_workflow_only_unlinked_loader_is_t2i(tmp_path: Path) -> None:
    path = png_with_text(tmp_path / "w.png", {"workflow": json.dumps(editor_workflow(False))})
    meta = read_generation_metadata(path)
    assert meta is not None and meta.kind is GenKind.T2I


def test_workflow_only_with_wireless_nodes_is_unknown(tmp_path: Path) -> None:
    wf = editor_workflow(False)
    wf["nodes"].append(
        {"id": 30, "type": "GetNode", "mode": 0, "inputs": [], "widgets_values": ["IMG"]}
    )
    path = png_with_text(tmp_path / "w.png", {"workflow": json.dumps(wf)})
    meta = read_generation_metadata(path)
    assert meta is not None and meta.kind is GenKind.UNKNOWN


def test_malformed_workflow_only_raises(tmp_path: Path) -> None:
    path = png_with_text(tmp_path / "w.png", {"workflow": '{"nodes": [ {"id": 1,'})
    with pytest.raises(MetadataError):
        read_generation_metadata(path)


def test_malformed_workflow_is_ignored_when_prompt_is_fine(tmp_path: Path) -> None:
    meta = read_generation_metadata(write(tmp_path, T2I, workflow="{broken"))
    assert meta is not None and meta.kind is GenKind.T2I
