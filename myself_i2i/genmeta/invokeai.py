"""InvokeAI: PNG text ``invokeai_metadata`` (v3+, JSON) and ``sd-metadata`` (v2, JSON).

``generation_mode`` names the mode: ``txt2img``/``img2img``/``inpaint``/``outpaint``,
prefixed for other model families (``sdxl_img2img``, ``flux_inpaint``, ...).
ControlNet, T2I-Adapter and IP-Adapter lists carry the names of their images.
"""

from __future__ import annotations

import shlex
from typing import Any

from myself_i2i.genmeta._types import (
    GenerationMetadata,
    GenKind,
    ImageInput,
    load_json,
    pick,
    to_float,
)
from myself_i2i.models import Generator, Lora

SOFTWARE = "InvokeAI"


def _model_name(m: Any) -> str | None:
    if isinstance(m, str):
        return m or None
    if isinstance(m, dict):
        for key in ("name", "model_name"):
            v = m.get(key)
            if isinstance(v, str) and v:
                return v
    return None


def _image_name(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, dict):
        name = v.get("image_name")
        if isinstance(name, str):
            return name
        if "image" in v:
            return _image_name(v["image"])
    return ""


def _loras(items: Any) -> tuple[Lora, ...]:
    out: list[Lora] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        name = _model_name(item.get("model")) or _model_name(item.get("lora"))
        if name:
            out.append(Lora(name=name, weight=to_float(item.get("weight"))))
    return tuple(out)


def parse_invokeai(chunks: dict[str, str], *, what: str = "image") -> GenerationMetadata:
    """Read InvokeAI metadata.

    Raises:
        MetadataError: the JSON is malformed.
    """
    if "invokeai_metadata" in chunks:
        return _with_graph(_parse_v3(chunks, what), chunks, what)
    if "invokeai_graph" in chunks:
        base = GenerationMetadata(
            "invokeai",
            GenKind.T2I,
            Generator(software=SOFTWARE),
            (),
            ("InvokeAI graph without invokeai_metadata",),
            pick(chunks, ("invokeai_graph",)),
        )
        return _with_graph(base, chunks, what)
    if "sd-metadata" in chunks:
        return _parse_v2(chunks, what)
    return parse_dream(chunks["Dream"])


def _graph_images(data: Any) -> list[tuple[str, str]]:
    """(node id, image name) of every gallery image a graph node takes as a field.

    InvokeAI passes images between the gallery and the graph as ``ImageField`` values,
    ``{"image_name": ...}`` (image-to-latents, ControlNet, IP-Adapter, masks, ...); a
    text-to-image graph has none.
    """
    nodes = data.get("nodes") if isinstance(data, dict) else None
    items = nodes.items() if isinstance(nodes, dict) else enumerate(nodes or [])
    found: list[tuple[str, str]] = []
    for key, node in items:
        if not isinstance(node, dict):
            continue
        nid = str(node.get("id", key))
        for value in node.values():
            values = value if isinstance(value, list) else [value]
            for v in values:
                if isinstance(v, dict) and isinstance(v.get("image_name"), str):
                    found.append((nid, v["image_name"]))
    return found


def _with_graph(meta: GenerationMetadata, chunks: dict[str, str], what: str) -> GenerationMetadata:
    """Upgrade to i2i when the stored graph takes a gallery image (never downgrades)."""
    if "invokeai_graph" not in chunks:
        return meta
    data = load_json(chunks["invokeai_graph"], what=what, key="invokeai_graph")
    images = _graph_images(data)
    raw = {**meta.raw, **pick(chunks, ("invokeai_graph",))}
    if not images:
        reason = "invokeai_graph: no node takes an image from the gallery"
        # The stored graph is the one that ran: without an image field nothing came in.
        kind = GenKind.T2I if meta.kind is GenKind.UNKNOWN else meta.kind
        return GenerationMetadata(
            meta.source, kind, meta.generator, meta.image_inputs, (*meta.reasons, reason), raw
        )
    inputs = meta.image_inputs or tuple(
        ImageInput(name=name, role="image input", node_id=nid) for nid, name in images
    )
    reason = "invokeai_graph: " + ", ".join(f"{nid} takes {name!r}" for nid, name in images[:3])
    return GenerationMetadata(
        meta.source, GenKind.I2I, meta.generator, inputs, (*meta.reasons, reason), raw
    )


#: Options of InvokeAI 1.x/2.x's ``dream>`` command line that feed an image to the model:
#: ``-I/--init_img`` (init image), ``-M/--init_mask``, ``-tm/--text_mask`` (inpaint mask),
#: ``--init_color``, ``-f/--strength`` (only meaningful with an init image).
_DREAM_IMAGE_OPTIONS = {
    "-I": "img2img init image",
    "--init_img": "img2img init image",
    "-M": "inpaint mask",
    "--init_mask": "inpaint mask",
    "-tm": "inpaint mask",
    "--text_mask": "inpaint mask",
    "--init_color": "img2img init image",
    "-f": "img2img init image",
    "--strength": "img2img init image",
}


def parse_dream(text: str) -> GenerationMetadata:
    """Read the ``Dream`` chunk of InvokeAI 1.x/2.x: ``"prompt" -s 50 -S 42 -W 512 ...``.

    Never raises: a command line without options is read as it is.
    """
    raw = {"Dream": text}
    try:
        words = shlex.split(text)
    except ValueError:
        words = text.split()
    options = [w for w in words[1:] if w.startswith("-") and not _is_number(w)]
    found = [
        o
        for o in options
        if o in _DREAM_IMAGE_OPTIONS or o.split("=", 1)[0] in _DREAM_IMAGE_OPTIONS
    ]
    generator = Generator(software=SOFTWARE)
    if found:
        role = _DREAM_IMAGE_OPTIONS[found[0].split("=", 1)[0]]
        reason = f"Dream command line has {', '.join(found)}: an image was fed to the model"
        inputs = (ImageInput(name="", role=role),)
        return GenerationMetadata("invokeai", GenKind.I2I, generator, inputs, (reason,), raw)
    if not options:
        reason = "Dream text without command-line options: cannot tell"
        return GenerationMetadata("invokeai", GenKind.UNKNOWN, generator, (), (reason,), raw)
    reason = "Dream command line has no -I/--init_img, mask or strength option: text to image"
    return GenerationMetadata("invokeai", GenKind.T2I, generator, (), (reason,), raw)


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def _parse_v3(chunks: dict[str, str], what: str) -> GenerationMetadata:
    raw = pick(chunks, ("invokeai_metadata", "invokeai_graph", "invokeai_workflow"))
    data = load_json(chunks["invokeai_metadata"], what=what, key="invokeai_metadata")
    if not isinstance(data, dict):
        data = {}
    version = data.get("app_version")
    generator = Generator(
        software=f"{SOFTWARE} {version}" if isinstance(version, str) and version else SOFTWARE,
        model=_model_name(data.get("model")),
        loras=_loras(data.get("loras")),
    )
    inputs: list[ImageInput] = []
    reasons: list[str] = []
    mode = data.get("generation_mode")
    kind = GenKind.UNKNOWN
    if isinstance(mode, str) and mode:
        base = mode.rsplit("_", 1)[-1]
        if base == "txt2img":
            kind = GenKind.T2I
            reasons.append(f"generation_mode {mode}: text to image")
        elif base in ("img2img", "inpaint", "outpaint"):
            kind = GenKind.I2I
            role = {
                "img2img": "img2img init image",
                "inpaint": "inpaint image",
                "outpaint": "outpaint image",
            }[base]
            inputs.append(ImageInput(name=_image_name(data.get("init_image")), role=role))
            reasons.append(f"generation_mode {mode}: an image was the starting point")
        else:
            reasons.append(f"unknown generation_mode {mode!r}")
    elif data.get("init_image"):
        kind = GenKind.I2I
        inputs.append(ImageInput(name=_image_name(data["init_image"]), role="img2img init image"))
        reasons.append("init_image recorded: img2img")
    else:
        reasons.append("no generation_mode recorded: cannot tell")
    for key, role in (
        ("controlnets", "ControlNet"),
        ("t2iAdapters", "ControlNet"),
        ("ipAdapters", "IP-Adapter"),
        ("ref_images", "reference image"),
    ):
        items = data.get(key)
        if isinstance(items, list) and items:
            for item in items:
                name = _image_name(item.get("image")) if isinstance(item, dict) else ""
                inputs.append(ImageInput(name=name, role=role))
            reasons.append(f"{key} lists {len(items)} image(s) fed to the model")
            kind = GenKind.I2I
    return GenerationMetadata("invokeai", kind, generator, tuple(inputs), tuple(reasons), raw)


def _parse_v2(chunks: dict[str, str], what: str) -> GenerationMetadata:
    raw = pick(chunks, ("sd-metadata", "Dream"))
    data = load_json(chunks["sd-metadata"], what=what, key="sd-metadata")
    if not isinstance(data, dict):
        data = {}
    image = data.get("image") if isinstance(data.get("image"), dict) else {}
    assert isinstance(image, dict)
    version = data.get("app_version")
    model = data.get("model_weights") or data.get("model")
    generator = Generator(
        software=f"{SOFTWARE} {version}" if isinstance(version, str) and version else SOFTWARE,
        model=model if isinstance(model, str) and model else None,
    )
    t = image.get("type")
    inputs: list[ImageInput] = []
    if t == "txt2img":
        kind, reasons = GenKind.T2I, ["image type txt2img: text to image"]
    elif isinstance(t, str) and t in ("img2img", "inpaint", "outpaint"):
        name = image.get("init_image_path")
        inputs.append(
            ImageInput(name=name if isinstance(name, str) else "", role="img2img init image")
        )
        kind, reasons = GenKind.I2I, [f"image type {t}: an image was the starting point"]
    else:
        kind, reasons = GenKind.UNKNOWN, ["no image type recorded: cannot tell"]
    return GenerationMetadata("invokeai", kind, generator, tuple(inputs), tuple(reasons), raw)
