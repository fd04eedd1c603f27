"""Read the generation metadata that AI image UIs embed, and tell t2i from i2i.

Supported: AUTOMATIC1111 / Forge / Forge Classic / Neo / reForge / SD.Next (PNG
``parameters``, JPEG/WebP EXIF UserComment in the Exif IFD or IFD0, stealth text in the
pixels' LSBs), ComfyUI (PNG ``prompt`` / ``workflow`` / ``comf``, WebP/JPEG EXIF
``prompt:``/``workflow:``, JSON UserComment of savers and Civitai), NovelAI (PNG
``Software``/``Source``/``Comment``, WebP ``{"Comment": ...}``, stealth alpha), InvokeAI
(``invokeai_metadata`` / ``invokeai_graph``, v2 ``sd-metadata``, 1.x ``Dream``), SwarmUI,
Fooocus and other JSON ``parameters``, Stability Matrix and Tensor.Art graphs.
See ``docs/generation-metadata.md`` for the decision rules.

    meta = read_generation_metadata(Path("out.png"))
    if meta is None: ...                 # no generation metadata at all
    meta.kind                            # GenKind.T2I / I2I / UNKNOWN
    meta.image_inputs                    # (ImageInput(name, role, node_id), ...)
    meta.generator                       # Generator(software, model, loras)
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from PIL import Image

from myself_i2i.genmeta._types import GenerationMetadata, GenKind, ImageInput
from myself_i2i.genmeta.a1111 import looks_like_infotext, parse_a1111_parameters
from myself_i2i.genmeta.chunks import exif_texts, png_late_texts, text_chunks
from myself_i2i.genmeta.comfyui import comfy_image_inputs, parse_comfyui
from myself_i2i.genmeta.invokeai import parse_invokeai
from myself_i2i.genmeta.jsonparams import (
    image_keys,
    is_swarmui,
    loads_object,
    parse_json_parameters,
    parse_swarmui,
)
from myself_i2i.genmeta.novelai import is_novelai, parse_novelai
from myself_i2i.genmeta.stealth import stealth_texts
from myself_i2i.images import open_image

__all__ = [
    "GenKind",
    "GenerationMetadata",
    "ImageInput",
    "comfy_image_inputs",
    "metadata_texts",
    "parse_a1111_parameters",
    "parse_texts",
    "read_generation_metadata",
    "text_chunks",
]


def _unwrap_json_comment(texts: dict[str, str]) -> None:
    """Spread a JSON ``UserComment`` into the chunks it stands for.

    - NovelAI WebP/JPEG: ``{"Comment": "...", "Software": "NovelAI", "Source": ...}``;
    - SaveImagePlus-style ComfyUI savers: ``{"prompt": {...}, "workflow": {...}}``;
    - Civitai JPEG: the ComfyUI API graph itself (``{"<id>": {"class_type": ...}}``);
    - SwarmUI JPEG/WebP: ``{"sui_image_params": ...}`` (kept as ``parameters``).
    """
    comment = texts.get("UserComment", "")
    obj = loads_object(comment)
    if obj is None:
        return
    if "Comment" in obj or str(obj.get("Software", "")).lower().startswith("novelai"):
        for k, v in obj.items():
            texts.setdefault(str(k), v if isinstance(v, str) else json.dumps(v))
    elif isinstance(obj.get("prompt"), dict) or isinstance(obj.get("workflow"), dict):
        for k in ("prompt", "workflow"):
            if isinstance(obj.get(k), dict):
                texts.setdefault(k, json.dumps(obj[k]))
    elif any(isinstance(v, dict) and "class_type" in v for v in obj.values()):
        texts.setdefault("prompt", comment)
    elif is_swarmui(obj):
        texts.setdefault("parameters", comment)


def metadata_texts(img: Image.Image) -> dict[str, str]:
    """PNG text chunks (also after the image data, and ComfyUI's ``comf`` chunks) plus
    generation text found in EXIF (``UserComment`` in the Exif IFD or IFD0, ``prompt``...).

    Raises:
        MetadataError: the PNG text chunks cannot be read.
    """
    texts = text_chunks(img)
    for key, value in png_late_texts(img).items():
        texts.setdefault(key, value)
    for key, value in exif_texts(img).items():
        texts.setdefault(key, value)
    _unwrap_json_comment(texts)
    return texts


def _is_generation_text(texts: dict[str, str]) -> bool:
    keys = (
        "parameters",
        "prompt",
        "workflow",
        "invokeai_metadata",
        "invokeai_graph",
        "sd-metadata",
        "Dream",
    )
    return (
        any(texts.get(k, "").strip() for k in keys)
        or is_novelai(texts)
        or (looks_like_infotext(texts.get("UserComment", "")))
    )


def parse_texts(texts: dict[str, str], *, what: str = "image") -> GenerationMetadata | None:
    """Decide from already extracted texts (see :func:`metadata_texts`); None if none apply.

    Raises:
        MetadataError: a chunk that should hold JSON does not.
    """
    if is_novelai(texts):
        return parse_novelai(texts, what=what)
    if any(k in texts for k in ("invokeai_metadata", "invokeai_graph", "sd-metadata", "Dream")):
        return parse_invokeai(texts, what=what)
    params_json = loads_object(texts.get("parameters", ""))
    if params_json is not None and is_swarmui(params_json):
        raw: dict[str, str] = {
            k: texts[k] for k in ("parameters", "prompt", "UserComment") if k in texts
        }
        swarm = parse_swarmui(params_json, raw)
        if swarm.kind is GenKind.T2I and texts.get("prompt", "").lstrip().startswith("{"):
            # SwarmUI also stores the ComfyUI graph it ran: an image loader in it counts.
            graph = parse_comfyui(texts, what=what)
            if graph.kind is GenKind.I2I:
                return replace(
                    swarm,
                    kind=GenKind.I2I,
                    image_inputs=graph.image_inputs,
                    reasons=(*swarm.reasons, *graph.reasons),
                )
        return swarm
    if texts.get("prompt", "").lstrip().startswith(("{", "[")) or _is_comfy_workflow(
        texts.get("workflow")
    ):
        meta = parse_comfyui(texts, what=what)
        extra = loads_object(texts.get("generation_data", "")) or {}
        project = loads_object(texts.get("smproj", "")) or {}
        ptype = str(project.get("ProjectType", ""))
        if meta.kind is not GenKind.I2I and (
            image_keys(extra) or ptype in ("ImageToImage", "Inpainting", "Upscale")
        ):
            why = f"ProjectType {ptype}" if ptype else ", ".join(image_keys(extra))
            return replace(
                meta,
                kind=GenKind.I2I,
                image_inputs=(ImageInput(name="", role="image input"),),
                reasons=(
                    *meta.reasons,
                    f"the service's own parameters name an image input ({why})",
                ),
            )
        return meta
    if params_json is not None:
        return parse_json_parameters(params_json, texts, {"parameters": texts["parameters"]})
    if texts.get("parameters", "").strip():
        return parse_a1111_parameters(texts["parameters"])
    comment = texts.get("UserComment", "")
    if comment and looks_like_infotext(comment):
        meta = parse_a1111_parameters(comment)
        return replace(meta, raw={"UserComment": comment})
    return None


def _is_comfy_workflow(text: str | None) -> bool:
    return bool(text) and '"nodes"' in str(text)


def _with_stealth(img: Image.Image, what: str) -> GenerationMetadata | None:
    """Read the pixel-LSB "stealth" infotext (A1111/Forge extension, NovelAI)."""
    hidden = stealth_texts(img)
    if not hidden:
        return None
    where = hidden.pop("stealth")
    meta = parse_texts(hidden, what=what)
    if meta is None:
        return None
    note = f"read from the stealth infotext hidden in the {where} channel(s) of the pixels"
    return replace(meta, reasons=(note, *meta.reasons))


def _read(img: Image.Image, what: str) -> GenerationMetadata | None:
    texts = metadata_texts(img)
    if not _is_generation_text(texts):
        hidden = _with_stealth(img, what)
        if hidden is not None:
            return hidden
    return parse_texts(texts, what=what)


def read_generation_metadata(source: Path | Image.Image) -> GenerationMetadata | None:
    """Read and interpret the generation metadata embedded in an image.

    Returns None when the image carries no generation metadata at all.

    Raises:
        InputError, ImageError: ``source`` is a path that is not a usable image.
        MetadataError: generation metadata is present but malformed.
    """
    if isinstance(source, Path):
        img = open_image(source, load=False)
        try:
            return _read(img, str(source))
        finally:
            img.close()
    return _read(source, "image")
