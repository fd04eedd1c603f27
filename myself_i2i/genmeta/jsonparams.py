"""Generation parameters stored as JSON: Fooocus, RuinedFooocus, SwarmUI, Hugging Face
Spaces, Tensor.Art and other UIs that put a JSON object where A1111 puts its infotext.

- **Fooocus** (``parameters`` JSON, ``fooocus_scheme`` chunk): Fooocus logs prompt, styles,
  models and LoRAs, but never its image inputs (Image Prompt, Upscale/Vary, Inpaint,
  Enhance: see ``save_and_log`` in Fooocus' modules/async_worker.py). Its JSON is read as
  text to image unless it names an image input itself (``upscale_fast``), and the reason
  says that Fooocus does not record image inputs.
- **SwarmUI** (``parameters`` / EXIF UserComment JSON with ``sui_image_params``): image
  inputs are parameters of their own - ``initimage`` / ``initimagecreativity`` (init image),
  ``maskimage``, ``promptimages`` (image prompts), ``controlnet...`` (ControlNet, fed the init
  image when no control image is given), ``revision...``, ``usereferenceonly``,
  ``videoendimage`` (T2IParamTypes.cs of mcmonkeyprojects/SwarmUI).
- **Other JSON**: keys naming an init / input / reference / mask / control image, an
  ``img2img`` / ``inpaint`` mode, or a denoising strength below 1 without an upscaler.
"""

from __future__ import annotations

import json
import re
from typing import Any

from myself_i2i.genmeta._types import GenerationMetadata, GenKind, ImageInput, to_float
from myself_i2i.models import Generator, Lora

_SWARM_IMAGE_PARAMS: tuple[tuple[str, str], ...] = (
    ("initimage", "img2img init image"),
    ("maskimage", "inpaint mask"),
    ("promptimages", "image prompt"),
    ("controlnet", "ControlNet"),
    ("revision", "image prompt (CLIP vision)"),
    ("usereferenceonly", "reference image"),
    ("videoendimage", "video end image"),
)
_RE_IMAGE_KEY = re.compile(
    r"(?:^|_)(?:init|input|source|src|reference|ref|mask|control|controlnet|ip_?adapter|"
    r"image_?prompt|vibe|character_?reference)_?(?:image|img|images|imgs|picture)s?$"
    r"|^(?:img2img|image2image|inpaint|inpainting|outpaint|controlnets?|ip_?adapters?|"
    r"init_?images?|input_?images?|reference_?images?|mask)$",
    re.IGNORECASE,
)
_DENOISE_KEYS = ("denoise", "denoising_strength", "denoising strength", "strength")
_UPSCALE_WORDS = ("upscal", "hires", "highres", "refine")


def loads_object(text: str) -> dict[str, Any] | None:
    """``text`` as a JSON object, or None when it is not one."""
    text = text.strip()
    if not text.startswith("{"):
        return None
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return obj if isinstance(obj, dict) else None


def _present(value: Any) -> bool:
    if value is None or value is False:
        return False
    if isinstance(value, str | list | dict | tuple):
        return bool(value) and value not in ("None", "none", "Disabled", "disabled", "false")
    return True


def _norm(key: str) -> str:
    return re.sub(r"[\s\-]+", "_", key.strip().lower())


def image_keys(data: dict[str, Any]) -> list[str]:
    """Top-level keys of a JSON parameter object that hold an image fed to the model."""
    keys = [k for k, v in data.items() if _RE_IMAGE_KEY.search(_norm(k)) and _present(v)]
    upscaled = any(
        any(w in _norm(k) for w in _UPSCALE_WORDS) and _present(v) for k, v in data.items()
    )
    for k in _DENOISE_KEYS:
        for key, v in data.items():
            if _norm(key) == _norm(k):
                x = to_float(v)
                if x is not None and 0 < x < 1 and not upscaled:
                    keys.append(key)
    return keys


def _str(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


# --------------------------------------------------------------------------- SwarmUI


def is_swarmui(data: dict[str, Any]) -> bool:
    return isinstance(data.get("sui_image_params"), dict)


def parse_swarmui(data: dict[str, Any], raw: dict[str, str]) -> GenerationMetadata:
    """Read SwarmUI's ``sui_image_params`` (and ``sui_models``)."""
    params: dict[str, Any] = data["sui_image_params"]
    version = _str(params.get("swarm_version"))
    model = _str(params.get("model"))
    loras: list[Lora] = []
    names = params.get("loras")
    weights = params.get("loraweights")
    if isinstance(names, list):
        for i, name in enumerate(names):
            if isinstance(name, str) and name:
                w = weights[i] if isinstance(weights, list) and i < len(weights) else None
                loras.append(Lora(name=name, weight=to_float(w)))
    generator = Generator(
        software=f"SwarmUI {version}" if version else "SwarmUI", model=model, loras=tuple(loras)
    )
    inputs: list[ImageInput] = []
    reasons: list[str] = []
    for key, value in params.items():
        low = key.lower()
        for prefix, role in _SWARM_IMAGE_PARAMS:
            if low.startswith(prefix) and _present(value):
                if not any(i.role == role for i in inputs):
                    inputs.append(ImageInput(name="", role=role))
                reasons.append(f"SwarmUI parameter '{key}': {role} fed to the model")
                break
    if inputs:
        return GenerationMetadata(
            "swarmui", GenKind.I2I, generator, tuple(inputs), tuple(reasons), raw
        )
    reasons.append(
        "SwarmUI parameters name no init image, mask, image prompt, ControlNet or reference: "
        "text to image"
    )
    return GenerationMetadata("swarmui", GenKind.T2I, generator, (), tuple(reasons), raw)


# --------------------------------------------------------------------------- other JSON


def _json_software(data: dict[str, Any], chunks: dict[str, str]) -> str:
    sw = _str(data.get("software")) or _str(data.get("Software"))
    version = _str(data.get("version")) or _str(data.get("Version"))
    if sw:
        return sw
    if "fooocus_scheme" in chunks or (version and version.lower().startswith("fooocus")):
        return version if version and version.lower().startswith("fooocus") else "Fooocus"
    if any(k in data for k in ("full_prompt", "adm_guidance", "base_model_hash", "performance")):
        return "Fooocus"
    if "num_inference_steps" in data and "guidance_scale" in data:
        return "Hugging Face Space (diffusers)"
    return "unknown (JSON parameters)"


def _json_model(data: dict[str, Any]) -> str | None:
    for key in ("base_model", "base_model_name", "Model", "model", "ckpt_name", "checkpoint"):
        v = data.get(key)
        if isinstance(v, str) and v.strip():
            return v.strip()
        if isinstance(v, dict):
            name = _str(v.get("model_name")) or _str(v.get("name"))
            if name:
                return name
    return None


def _json_loras(data: dict[str, Any]) -> tuple[Lora, ...]:
    out: list[Lora] = []
    for key, v in data.items():
        if key.startswith("lora_combined_") and isinstance(v, str):  # Fooocus "name : weight"
            name, _, w = v.rpartition(" : ")
            out.append(Lora(name=name.strip() or v, weight=to_float(w)))
    loras = data.get("loras")
    if isinstance(loras, list):
        for item in loras:
            if isinstance(item, list | tuple) and item and isinstance(item[0], str):
                weight = to_float(item[1]) if len(item) > 1 else None
                out.append(Lora(name=item[0], weight=weight))
            elif isinstance(item, dict) and _str(item.get("name")):
                out.append(Lora(name=str(item["name"]), weight=to_float(item.get("weight"))))
    return tuple(out)


def parse_json_parameters(
    data: dict[str, Any], chunks: dict[str, str], raw: dict[str, str]
) -> GenerationMetadata:
    """Read a JSON parameter object that is not SwarmUI's."""
    software = _json_software(data, chunks)
    generator = Generator(software=software, model=_json_model(data), loras=_json_loras(data))
    keys = image_keys(data)
    if "upscale_fast" in data:
        keys.append("upscale_fast")
    if keys:
        inputs = tuple(ImageInput(name="", role="image input") for _ in keys[:1])
        reason = f"the JSON parameters name an image input ({', '.join(keys)})"
        return GenerationMetadata("json", GenKind.I2I, generator, inputs, (reason,), raw)
    reasons = ["the JSON parameters name no init, mask, reference or control image: text to image"]
    if software.lower().startswith("fooocus"):
        reasons.append(
            "note: Fooocus does not record Image Prompt, Upscale/Vary, Inpaint or Enhance "
            "inputs in its metadata"
        )
    return GenerationMetadata("json", GenKind.T2I, generator, (), tuple(reasons), raw)
