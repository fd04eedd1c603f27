"""AUTOMATIC1111 stable-diffusion-webui and Forge "infotext" (PNG ``parameters``, EXIF UserComment).

The infotext is the prompt, an optional ``Negative prompt:`` part, and a last line of
``Key: value`` pairs separated by commas (values with commas or colons are JSON-quoted)::

    1girl, solo <lora:flat:0.8>
    Negative prompt: lowres
    Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x768, Model hash: 6ce0161689,
    Model: anything-v5, Denoising strength: 0.5, Hires upscale: 2, Version: v1.10.1

img2img vs txt2img: "Denoising strength" is written by img2img AND by txt2img with
Hires fix, so it counts as img2img only when no ``Hires ...`` field is present.
"""

from __future__ import annotations

import json
import re

from myself_i2i.genmeta._types import GenerationMetadata, GenKind, ImageInput, to_float
from myself_i2i.models import Generator, Lora

#: ``Key: value`` pairs of the last infotext line (same grammar as the webui's own parser).
_RE_PARAM = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
_RE_TRAILER = re.compile(r"^(?:Negative )?Template:")
_RE_LORA = re.compile(r"<(lora|lyco):([^:>]+)((?::[^:>]*)*)>", re.IGNORECASE)
_RE_FORGE_VERSION = re.compile(r"^f\d")
_RE_CONTROLNET_KEY = re.compile(r"^ControlNet(?:[ -](\d+))?$")
_RE_CONTROLNET_LEGACY = re.compile(r"^ControlNet-(\d+) (\w[\w ]*)$")
#: The oldest sd-webui-controlnet infotext (early 2023): one unit as flat keys,
#: ``ControlNet Enabled: True, ControlNet Module: canny, ControlNet Model: ...``.
_RE_ADETAILER = re.compile(r"^ADetailer [\w ]+?( \d\w\w)?$")
_RE_CONTROLNET_FLAT = re.compile(r"^ControlNet ([A-Za-z][\w ]*)$")
#: reForge's version is ``f<reforge version>-v1.10.1RC...`` (modules_forge/forge_version.py
#: of Panchovix/stable-diffusion-webui-reForge); Forge's is ``f0.0.17v1.8.0rc...`` or
#: ``f2.0.1v1.10.1...``.
_RE_REFORGE_VERSION = re.compile(r"^f\d[\w.]*-v1\.10\.1RC")
#: A1111 sampler names are words with spaces ("DPM++ 2M", "Euler a"); ComfyUI's are
#: identifiers (``euler_ancestral``, ``dpmpp_2m_karras``): a ComfyUI save node wrote the text.
_RE_COMFY_SAMPLER = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)+$")

SOFTWARE_A1111 = "AUTOMATIC1111 stable-diffusion-webui"
SOFTWARE_FORGE = "Stable Diffusion WebUI Forge"
SOFTWARE_FORGE_CLASSIC = "Stable Diffusion WebUI Forge - Classic"
SOFTWARE_FORGE_NEO = "Stable Diffusion WebUI Forge - Neo"
SOFTWARE_REFORGE = "Stable Diffusion WebUI reForge"
SOFTWARE_SDNEXT = "SD.Next"
SOFTWARE_COMFYUI = "ComfyUI"
SOFTWARE_CIVITAI = "Civitai"

#: SD.Next's ``Operations:`` words that mean an image was fed to the model.
_SDNEXT_IMAGE_OPS = {"img2img", "inpaint", "outpaint", "control", "instruct", "ipadapter", "edit"}
#: Keys only SD.Next writes (older SD.Next infotexts have no ``App:``).
_SDNEXT_KEYS = ("App", "Operations", "Pipeline", "Parser", "Latent sampler")

#: Fields only img2img (or inpaint) writes.
_IMG2IMG_MARKERS: dict[str, str] = {
    "Init image hash": "img2img init image",
    "Image CFG scale": "instruct-pix2pix image",
    "Noise multiplier": "img2img init image",
}
_INPAINT_MARKERS = (
    "Mask blur",
    "Inpaint area",
    "Masked content",
    "Mask mode",
    "Masked area padding",
    "Inpaint full res",
    "Inpaint full res padding",
    "Soft inpainting enabled",
)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        try:
            out = json.loads(value)
        except ValueError:
            return value
        return out if isinstance(out, str) else value
    return value


def split_infotext(text: str) -> tuple[str, str, dict[str, str]]:
    """Split an infotext into (prompt, negative prompt, parameters)."""
    lines = text.strip().replace("\r\n", "\n").split("\n")
    params: dict[str, str] = {}
    # The parameter line is the last one, except that sd-dynamic-prompts (older versions)
    # appended "Template: ..." / "Negative Template: ..." lines after it.
    end = len(lines)
    while end > 1 and _RE_TRAILER.match(lines[end - 1]):
        end -= 1
    for cut in dict.fromkeys((len(lines), end)):
        found = _RE_PARAM.findall(lines[cut - 1]) if cut > 0 else []
        if len(found) >= 3:
            lines = lines[: cut - 1]
            for k, v in found:
                params[k.strip()] = _unquote(v.strip())
            break
    prompt_lines: list[str] = []
    negative_lines: list[str] = []
    in_negative = False
    for line in lines:
        if line.startswith("Negative prompt:"):
            in_negative = True
            line = line[len("Negative prompt:") :].strip()
        (negative_lines if in_negative else prompt_lines).append(line)
    return "\n".join(prompt_lines).strip(), "\n".join(negative_lines).strip(), params


def _lora_weight(args: str) -> float | None:
    """Weight from the ``:...`` tail of ``<lora:name:...>`` (1.0 when absent)."""
    parts = [p.strip() for p in args.split(":") if p.strip()]
    if not parts:
        return 1.0
    for p in parts:  # named form: <lora:x:te=0.5:unet=0.8>
        key, sep, val = p.partition("=")
        if sep and key.strip().lower() == "unet":
            return to_float(val)
    first = parts[0]
    key, sep, val = first.partition("=")
    return to_float(val if sep else first)


def _loras(prompt_texts: list[str], params: dict[str, str]) -> tuple[Lora, ...]:
    seen: dict[str, Lora] = {}
    for text in prompt_texts:
        for _kind, name, args in _RE_LORA.findall(text):
            name = name.strip()
            if name and name not in seen:
                seen[name] = Lora(name=name, weight=_lora_weight(args))
    for name in _lora_hash_names(params):
        if name not in seen:
            seen[name] = Lora(name=name, weight=None)
    # sd-webui-additional-networks: "AddNet Module 1: LoRA, AddNet Model 1: name(hash), ..."
    for key, value in params.items():
        m = re.match(r"^AddNet Model (\d+)$", key)
        if m:
            name = re.sub(r"\([0-9a-fA-F]+\)$", "", value).strip()
            if name and name not in seen:
                w = to_float(params.get(f"AddNet Weight A {m.group(1)}", ""))
                seen[name] = Lora(name=name, weight=w)
    return tuple(seen.values())


def _lora_hash_names(params: dict[str, str]) -> list[str]:
    names: list[str] = []
    lh = params.get("Lora hashes", "")
    for item in lh.split(","):
        name, sep, _h = item.rpartition(":")
        if sep and name.strip():
            names.append(name.strip())
    hashes = params.get("Hashes", "")
    if hashes.startswith("{"):
        try:
            d = json.loads(hashes)
        except ValueError:
            d = {}
        if isinstance(d, dict):
            for k in d:
                if isinstance(k, str) and k.lower().startswith(("lora:", "lyco:")):
                    names.append(k.split(":", 1)[1].strip())
    return names


def _with_version(name: str, version: str) -> str:
    return f"{name} {version}" if version else name


def _software(params: dict[str, str]) -> str:
    """The UI that wrote the infotext, from ``Version`` and the keys only some UIs write."""
    version = params.get("Version", "").strip()
    low = version.lower()
    app = params.get("App", "").strip()
    if app.lower() == "sd.next" or (
        app == "" and any(k in params for k in _SDNEXT_KEYS[1:]) and "Version" in params
    ):
        return _with_version(SOFTWARE_SDNEXT, version)
    if app.lower() in ("huggingface.co", "diffusers"):
        return "Hugging Face diffusers"
    if app:
        return app
    if "Civitai resources" in params or "Civitai metadata" in params:
        return SOFTWARE_CIVITAI
    if low == "comfyui" or (
        not version
        and (
            _RE_COMFY_SAMPLER.match(params.get("Sampler", "").strip()) is not None
            or params.get("Model", "").strip().lower().endswith((".safetensors", ".ckpt"))
        )
    ):
        return SOFTWARE_COMFYUI
    if low.startswith("fooocus"):
        return version
    if low.startswith("classic"):
        return _with_version(SOFTWARE_FORGE_CLASSIC, version[len("classic") :].lstrip(" -"))
    if low.startswith("neo"):
        return _with_version(SOFTWARE_FORGE_NEO, version[len("neo") :].lstrip(" -"))
    if _RE_REFORGE_VERSION.match(version):
        return _with_version(SOFTWARE_REFORGE, version)
    if _RE_FORGE_VERSION.match(version):
        return _with_version(SOFTWARE_FORGE, version)
    return _with_version(SOFTWARE_A1111, version)


def _model(params: dict[str, str]) -> str | None:
    name = params.get("Model", "").strip()
    h = params.get("Model hash", "").strip()
    if name and h:
        return f"{name} [{h}]"
    return name or (f"[{h}]" if h else None)


def _controlnet_units(params: dict[str, str]) -> list[tuple[str, dict[str, str]]]:
    """ControlNet units as (label, fields) from the current and older infotext formats."""
    units: list[tuple[str, dict[str, str]]] = []
    legacy: dict[str, dict[str, str]] = {}
    for key, value in params.items():
        m = _RE_CONTROLNET_KEY.match(key)
        if m:
            fields: dict[str, str] = {}
            for item in value.split(","):
                k, sep, v = item.partition(":")
                if sep:
                    fields[k.strip().lower()] = v.strip()
            units.append((key, fields))
            continue
        m2 = _RE_CONTROLNET_LEGACY.match(key)
        if m2:
            legacy.setdefault(f"ControlNet {m2.group(1)}", {})[m2.group(2).strip().lower()] = (
                value.strip()
            )
            continue
        m3 = _RE_CONTROLNET_FLAT.match(key)
        if m3:
            legacy.setdefault("ControlNet", {})[m3.group(1).strip().lower()] = value.strip()
    for label, fields in legacy.items():
        if fields.get("enabled", "True").lower() != "false":
            units.append((label, fields))
    return units


def _unit_role(fields: dict[str, str]) -> str:
    module = (fields.get("module") or fields.get("preprocessor") or "").lower()
    model = fields.get("model", "").lower()
    text = f"{module} {model}"
    if "ip-adapter" in text or "ip_adapter" in text or "ipadapter" in text:
        return "IP-Adapter"
    if "instant_id" in text or "instantid" in text:
        return "InstantID"
    if module.startswith("reference"):
        return "ControlNet reference"
    if "revision" in module or "clip_vision" in module or module.startswith("t2ia_style"):
        return "image prompt (CLIP vision)"
    return "ControlNet"


def _same_number(a: str | None, b: str | None) -> bool:
    x, y = to_float(a), to_float(b)
    return x is not None and y is not None and abs(x - y) < 1e-6


def _adetailer_leak(params: dict[str, str], hires: list[str]) -> list[str]:
    """The img2img-looking fields that are ADetailer's own settings, leaked into txt2img.

    ADetailer runs an inpaint pass on detected faces/hands; before v24.4 its pass could
    overwrite or add ``Denoising strength``, ``Mask blur``, ``Inpaint area`` and
    ``Masked area padding`` in the txt2img infotext (Bing-su/adetailer CHANGELOG, v24.4.0).
    A field counts as leaked only when its value is ADetailer's own (same denoising
    strength, mask blur, padding, "Only masked" when ADetailer inpaints only masked), so a
    real img2img inpaint with different values is still seen as one.
    """
    units = sorted({m.group(1) or "" for k in params for m in [_RE_ADETAILER.match(k)] if m})
    if not any(f"ADetailer model{u}" in params for u in units):
        return []

    def ad(field: str) -> list[str]:
        return [params[f"ADetailer {field}{u}"] for u in units if f"ADetailer {field}{u}" in params]

    leaked: list[str] = []
    ds = params.get("Denoising strength")
    if ds is not None and (hires or any(_same_number(ds, v) for v in ad("denoising strength"))):
        leaked.append("Denoising strength")
    if "Mask blur" in params and any(_same_number(params["Mask blur"], v) for v in ad("mask blur")):
        leaked.append("Mask blur")
    area = params.get("Inpaint area", "").strip().lower()
    if area == "only masked" and any(
        v.strip().lower() == "true" for v in ad("inpaint only masked")
    ):
        leaked.append("Inpaint area")
    if "Masked area padding" in params and any(
        _same_number(params["Masked area padding"], v) for v in ad("inpaint padding")
    ):
        leaked.append("Masked area padding")
    others = [k for k in _INPAINT_MARKERS if k in params and k not in leaked]
    if others or any(k in params for k in _IMG2IMG_MARKERS):
        return []  # a real img2img/inpaint field is there too: keep everything
    if "Denoising strength" in params and "Denoising strength" not in leaked:
        return []
    return leaked


def _sdnext_image_ops(params: dict[str, str]) -> str:
    """SD.Next's ``Operations`` words that mean an image input ("" when none)."""
    ops = params.get("Operations", "")
    words = {w for w in re.split(r"[^a-z0-9]+", ops.lower()) if w}
    return ", ".join(sorted(words & _SDNEXT_IMAGE_OPS))


def parse_a1111_parameters(text: str) -> GenerationMetadata:
    """Read an AUTOMATIC1111 / Forge infotext and decide t2i vs i2i.

    Never raises for odd text: an infotext without its parameter line gives
    ``GenKind.UNKNOWN`` with a reason.
    """
    prompt, _negative, params = split_infotext(text)
    hires_prompts = [params.get("Hires prompt", ""), params.get("Hires negative prompt", "")]
    generator = Generator(
        software=_software(params),
        model=_model(params),
        loras=_loras([prompt, *hires_prompts], params),
    )
    reasons: list[str] = []
    inputs: list[ImageInput] = []
    raw = {"parameters": text}
    if not params:
        if text.lstrip().startswith("{"):
            reasons.append("the 'parameters' text is JSON (another UI's format), not an infotext")
        else:
            reasons.append("the infotext has no 'Steps: ..., Sampler: ...' parameter line")
        generator = Generator(model=None, loras=generator.loras)
        return GenerationMetadata("a1111", GenKind.UNKNOWN, generator, (), tuple(reasons), raw)

    hires = sorted(k for k in params if k.startswith("Hires ") or k.startswith("Hires_"))
    leaked = _adetailer_leak(params, hires)
    if leaked:
        reasons.append(
            f"{', '.join(leaked)} copy ADetailer's own inpaint-pass settings (ADetailer before "
            "v24.4 leaked them into the txt2img infotext): not an input image"
        )
    inpaint = [k for k in _INPAINT_MARKERS if k in params and k not in leaked]
    img2img = [k for k in _IMG2IMG_MARKERS if k in params]
    ops = _sdnext_image_ops(params)
    if ops:
        reasons.append(f"SD.Next 'Operations: {params['Operations']}': an image was fed ({ops})")
        if not inpaint and not img2img:
            inputs.append(ImageInput(name="", role="img2img init image"))
    if inpaint:
        reasons.append(f"inpaint fields present ({', '.join(inpaint)}): img2img inpaint")
        inputs.append(ImageInput(name="", role="inpaint image"))
    if img2img:
        reasons.append(f"img2img-only fields present ({', '.join(img2img)})")
        if not inputs:
            role = _IMG2IMG_MARKERS[img2img[0]]
            if "Image CFG scale" in img2img:
                role = _IMG2IMG_MARKERS["Image CFG scale"]
            inputs.append(ImageInput(name="", role=role))
    if "Denoising strength" in params and "Denoising strength" not in leaked:
        if hires:
            reasons.append(
                "'Denoising strength' comes with Hires fix fields "
                f"({', '.join(hires[:3])}): the txt2img Hires fix pass, not an input image"
            )
        else:
            reasons.append("'Denoising strength' without any Hires fix field: img2img")
            if not inputs:
                inputs.append(ImageInput(name="", role="img2img init image"))

    for label, fields in _controlnet_units(params):
        module = fields.get("module") or fields.get("preprocessor") or "none"
        model = fields.get("model", "")
        role = _unit_role(fields)
        inputs.append(ImageInput(name="", role=role, node_id=label))
        note = (
            "the control image was given directly"
            if module.lower() in ("none", "")
            else f"preprocessor {module}"
        )
        reasons.append(
            f"{label} ({role}, {note}{', model ' + model if model else ''}) feeds an image "
            "to the model"
        )

    kind = GenKind.I2I if inputs else GenKind.T2I
    if not inputs:
        reasons.append("no img2img, inpaint or ControlNet field in the infotext: txt2img")
    return GenerationMetadata("a1111", kind, generator, tuple(inputs), tuple(reasons), raw)


def looks_like_infotext(text: str) -> bool:
    """True when ``text`` ends with an A1111-style parameter line (used for EXIF comments)."""
    _p, _n, params = split_infotext(text)
    return "Steps" in params or ("Sampler" in params and "Seed" in params)
