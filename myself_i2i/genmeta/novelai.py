"""NovelAI: PNG text ``Software`` = "NovelAI", ``Source`` (model), ``Comment`` (JSON).

``Comment`` holds the request parameters. ``request_type`` tells the mode:
``PromptGenerateRequest`` (text to image), ``Img2ImgRequest`` (image to image, also the
"enhance" upscale), ``NativeInfillingRequest`` (inpaint). Vibe transfer images appear as
``reference_information_extracted_multiple`` / ``reference_strength_multiple`` lists,
V4.5 character references as ``director_reference_*`` lists.

Older images have no ``request_type``; their comments carry ``strength`` and ``noise``
even for text to image (UI defaults), so those alone do not prove img2img.
"""

from __future__ import annotations

from typing import Any

from myself_i2i.genmeta._types import GenerationMetadata, GenKind, ImageInput, load_json, pick
from myself_i2i.models import Generator

SOFTWARE = "NovelAI"

_T2I_TYPES = {"PromptGenerateRequest"}
_I2I_TYPES = {"Img2ImgRequest": "img2img init image", "NativeInfillingRequest": "inpaint image"}
_REFERENCE_KEYS = (
    ("reference_information_extracted_multiple", "vibe transfer reference"),
    ("reference_strength_multiple", "vibe transfer reference"),
    ("reference_image_multiple", "vibe transfer reference"),
    ("director_reference_strength_values", "character reference"),
    ("director_reference_descriptions", "character reference"),
    ("director_reference_images", "character reference"),
)


def is_novelai(chunks: dict[str, str]) -> bool:
    if chunks.get("Software", "").strip().lower().startswith("novelai"):
        return True
    comment = chunks.get("Comment", "")
    source = chunks.get("Source", "")
    return (
        bool(comment)
        and ("NovelAI" in source or "Stable Diffusion XL" in source)
        and ('"request_type"' in comment or '"signed_hash"' in comment or '"uc"' in comment)
    )


def _count(value: Any) -> int:
    if isinstance(value, list):
        return len(value)
    return 1 if value not in (None, "", 0, False) else 0


def parse_novelai(chunks: dict[str, str], *, what: str = "image") -> GenerationMetadata:
    """Read NovelAI text chunks.

    Raises:
        MetadataError: ``Comment`` is not JSON.
    """
    raw = pick(chunks, ("Software", "Source", "Comment", "Description", "Title", "Generation time"))
    source = chunks.get("Source", "").strip() or None
    generator = Generator(software=SOFTWARE, model=source)
    reasons: list[str] = []
    if "Comment" not in chunks:
        reasons.append("NovelAI image without its 'Comment' parameters: cannot tell")
        return GenerationMetadata("novelai", GenKind.UNKNOWN, generator, (), tuple(reasons), raw)
    data = load_json(chunks["Comment"], what=what, key="Comment")
    if not isinstance(data, dict):
        data = {}
    inputs: list[ImageInput] = []
    request_type = data.get("request_type")
    kind = GenKind.UNKNOWN
    if isinstance(request_type, str) and request_type in _I2I_TYPES:
        role = _I2I_TYPES[request_type]
        inputs.append(ImageInput(name="", role=role))
        reasons.append(f"request_type {request_type}: an image was the starting point")
        kind = GenKind.I2I
    elif isinstance(request_type, str) and request_type in _T2I_TYPES:
        reasons.append(f"request_type {request_type}: text to image")
        kind = GenKind.T2I
    elif isinstance(request_type, str):
        reasons.append(f"unknown request_type {request_type!r}")
    else:
        reasons.append(
            "no request_type in the Comment (older NovelAI image); 'strength' and 'noise' "
            "are written for text to image too, so the mode cannot be told"
        )
    seen_roles: set[str] = set()
    for key, role in _REFERENCE_KEYS:
        n = _count(data.get(key))
        if n and role not in seen_roles:
            seen_roles.add(role)
            inputs.extend(ImageInput(name="", role=role) for _ in range(n))
            reasons.append(f"{key} lists {n} {role} image(s) fed to the model")
            kind = GenKind.I2I
    single = data.get("reference_strength")
    if (
        "vibe transfer reference" not in seen_roles
        and isinstance(single, int | float)
        and (data.get("reference_information_extracted") is not None)
    ):
        inputs.append(ImageInput(name="", role="vibe transfer reference"))
        reasons.append("reference_strength / reference_information_extracted: vibe transfer")
        kind = GenKind.I2I
    return GenerationMetadata("novelai", kind, generator, tuple(inputs), tuple(reasons), raw)
