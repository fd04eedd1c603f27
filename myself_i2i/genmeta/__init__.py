"""Read the generation metadata that AI image UIs embed, and tell t2i from i2i.

Supported: AUTOMATIC1111 / Forge (PNG ``parameters``, JPEG/WebP EXIF UserComment),
ComfyUI (PNG ``prompt`` / ``workflow``, WebP/JPEG EXIF ``prompt:``/``workflow:``),
NovelAI (PNG ``Software``/``Source``/``Comment``) and InvokeAI (``invokeai_metadata``,
v2 ``sd-metadata``). See ``docs/generation-metadata.md`` for the decision rules.

    meta = read_generation_metadata(Path("out.png"))
    if meta is None: ...                 # no generation metadata at all
    meta.kind                            # GenKind.T2I / I2I / UNKNOWN
    meta.image_inputs                    # (ImageInput(name, role, node_id), ...)
    meta.generator                       # Generator(software, model, loras)
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from myself_i2i.genmeta._types import GenerationMetadata, GenKind, ImageInput
from myself_i2i.genmeta.a1111 import looks_like_infotext, parse_a1111_parameters
from myself_i2i.genmeta.chunks import exif_texts, text_chunks
from myself_i2i.genmeta.comfyui import comfy_image_inputs, parse_comfyui
from myself_i2i.genmeta.invokeai import parse_invokeai
from myself_i2i.genmeta.novelai import is_novelai, parse_novelai
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


def metadata_texts(img: Image.Image) -> dict[str, str]:
    """PNG text chunks plus generation text found in EXIF (``UserComment``, ``prompt``...).

    Raises:
        MetadataError: the PNG text chunks cannot be read.
    """
    texts = text_chunks(img)
    for key, value in exif_texts(img).items():
        texts.setdefault(key, value)
    return texts


def parse_texts(texts: dict[str, str], *, what: str = "image") -> GenerationMetadata | None:
    """Decide from already extracted texts (see :func:`metadata_texts`); None if none apply.

    Raises:
        MetadataError: a chunk that should hold JSON does not.
    """
    if is_novelai(texts):
        return parse_novelai(texts, what=what)
    if "invokeai_metadata" in texts or "sd-metadata" in texts:
        return parse_invokeai(texts, what=what)
    if texts.get("prompt", "").lstrip().startswith(("{", "[")) or _is_comfy_workflow(
        texts.get("workflow")
    ):
        return parse_comfyui(texts, what=what)
    if texts.get("parameters", "").strip():
        return parse_a1111_parameters(texts["parameters"])
    comment = texts.get("UserComment", "")
    if comment and looks_like_infotext(comment):
        meta = parse_a1111_parameters(comment)
        return GenerationMetadata(
            meta.source,
            meta.kind,
            meta.generator,
            meta.image_inputs,
            meta.reasons,
            {"UserComment": comment},
        )
    return None


def _is_comfy_workflow(text: str | None) -> bool:
    return bool(text) and '"nodes"' in str(text)


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
            return parse_texts(metadata_texts(img), what=str(source))
        finally:
            img.close()
    return parse_texts(metadata_texts(source))
