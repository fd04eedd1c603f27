"""API graphs shaped like the ones ComfyUI passes as the hidden PROMPT input.

ComfyUI's ``execution.get_input_data`` fills ``PROMPT`` with
``dynprompt.get_original_prompt()`` (the whole queued API graph, ``{id: {"class_type",
"inputs"}}`` with links as ``[node_id, output_index]``) and ``UNIQUE_ID`` with the id of the
node being executed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from myself_i2i.testing import illustration

SAVE_ID = "9"


def _base(latent: list[Any], positive: list[Any]) -> dict[str, Any]:
    return {
        "4": {
            "class_type": "CheckpointLoaderSimple",
            "inputs": {"ckpt_name": "anything-v5.safetensors"},
        },
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat", "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["4", 1]}},
        "3": {
            "class_type": "KSampler",
            "inputs": {
                "seed": 1,
                "steps": 20,
                "cfg": 7.0,
                "sampler_name": "euler",
                "scheduler": "normal",
                "denoise": 0.6,
                "model": ["4", 0],
                "positive": positive,
                "negative": ["7", 0],
                "latent_image": latent,
            },
        },
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        SAVE_ID: {
            "class_type": "MyselfI2ISaveImage",
            "inputs": {"images": ["8", 0], "filename_prefix": "test", "format": "PNG"},
        },
    }


def t2i_graph() -> dict[str, Any]:
    g = _base(["5", 0], ["6", 0])
    g["5"] = {
        "class_type": "EmptyLatentImage",
        "inputs": {"width": 64, "height": 64, "batch_size": 2},
    }
    return g


def i2i_graph(image: str = "source.png") -> dict[str, Any]:
    """LoadImage → VAEEncode → KSampler → VAEDecode → save."""
    g = _base(["11", 0], ["6", 0])
    g["10"] = {"class_type": "LoadImage", "inputs": {"image": image, "upload": "image"}}
    g["11"] = {"class_type": "VAEEncode", "inputs": {"pixels": ["10", 0], "vae": ["4", 2]}}
    return g


def controlnet_graph(image: str = "pose.png") -> dict[str, Any]:
    """t2i latent, but a ControlNet image conditions the positive prompt."""
    g = t2i_graph()
    g["12"] = {"class_type": "LoadImage", "inputs": {"image": image, "upload": "image"}}
    g["13"] = {
        "class_type": "ControlNetLoader",
        "inputs": {"control_net_name": "control_openpose.safetensors"},
    }
    g["14"] = {
        "class_type": "ControlNetApply",
        "inputs": {
            "conditioning": ["6", 0],
            "control_net": ["13", 0],
            "image": ["12", 0],
            "strength": 1.0,
        },
    }
    g["3"]["inputs"]["positive"] = ["14", 0]
    return g


def unconnected_loader_graph(image: str = "stray.png") -> dict[str, Any]:
    """A t2i graph with a LoadImage left on the canvas, connected to nothing."""
    g = t2i_graph()
    g["20"] = {"class_type": "LoadImage", "inputs": {"image": image, "upload": "image"}}
    return g


def workflow_for(prompt: dict[str, Any]) -> dict[str, Any]:
    """A small editor graph (what EXTRA_PNGINFO["workflow"] holds)."""
    return {
        "last_node_id": 20,
        "nodes": [
            {"id": int(k), "type": v["class_type"], "widgets_values": []} for k, v in prompt.items()
        ],
        "links": [],
        "version": 0.4,
    }


def batch(n: int = 2, size: int = 64, seed: int = 0) -> np.ndarray:
    """An IMAGE batch as ComfyUI hands it over: float32 [B,H,W,C] in 0..1."""
    rng = np.random.default_rng(seed)
    frames = [
        np.asarray(illustration(size, size, seed=seed + i), np.float32) / 255.0 for i in range(n)
    ]
    out = np.stack(frames) + rng.normal(0, 0.001, (n, size, size, 3)).astype(np.float32)
    return out.astype(np.float32)


def two_branch_graph(other_image: str = "other.png") -> dict[str, Any]:
    """A t2i branch into our save node beside an i2i branch into ComfyUI's own SaveImage.

    One queued prompt holds both: ComfyUI passes the whole graph as ``PROMPT`` to every
    output node, and our node's ``UNIQUE_ID`` is ``SAVE_ID``.
    """
    g = t2i_graph()
    g["30"] = {"class_type": "LoadImage", "inputs": {"image": other_image, "upload": "image"}}
    g["31"] = {"class_type": "VAEEncode", "inputs": {"pixels": ["30", 0], "vae": ["4", 2]}}
    g["32"] = {
        "class_type": "KSampler",
        "inputs": {**g["3"]["inputs"], "latent_image": ["31", 0]},
    }
    g["33"] = {"class_type": "VAEDecode", "inputs": {"samples": ["32", 0], "vae": ["4", 2]}}
    g["34"] = {
        "class_type": "SaveImage",
        "inputs": {"images": ["33", 0], "filename_prefix": "ComfyUI"},
    }
    g["40"] = {"class_type": "LoadImage", "inputs": {"image": "preview.png", "upload": "image"}}
    g["41"] = {"class_type": "PreviewImage", "inputs": {"images": ["40", 0]}}
    return g


def controlnet_ipadapter_graph(pose: str, reference: str) -> dict[str, Any]:
    """ControlNet and IP-Adapter images feed our node; an unrelated LoadImage is previewed."""
    g = controlnet_graph(pose)
    g["15"] = {"class_type": "LoadImage", "inputs": {"image": reference, "upload": "image"}}
    g["16"] = {
        "class_type": "IPAdapterModelLoader",
        "inputs": {"ipadapter_file": "ip-adapter_sd15.safetensors"},
    }
    g["17"] = {
        "class_type": "IPAdapterAdvanced",
        "inputs": {"model": ["4", 0], "ipadapter": ["16", 0], "image": ["15", 0], "weight": 0.8},
    }
    g["3"]["inputs"]["model"] = ["17", 0]
    g["40"] = {"class_type": "LoadImage", "inputs": {"image": "unrelated.png", "upload": "image"}}
    g["41"] = {"class_type": "PreviewImage", "inputs": {"images": ["40", 0]}}
    return g
