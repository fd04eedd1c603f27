"""ComfyUI: the API graph (PNG text ``prompt``) and the editor graph (``workflow``).

API graph: ``{node_id: {"class_type": str, "inputs": {name: value | [src_id, out_index]}}}``.
An image loader counts as an input only when it reaches an output node (SaveImage,
PreviewImage, ...) along links, walked backwards from the outputs. A loader that only
reaches preview nodes, while the graph also saves images it does not reach, is left out
(the saved picture does not depend on it).
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Iterable
from typing import Any

from myself_i2i.genmeta._types import (
    GenerationMetadata,
    GenKind,
    ImageInput,
    load_json,
    metadata_error,
    pick,
    to_float,
)
from myself_i2i.models import Generator, Lora

SOFTWARE = "ComfyUI"

Graph = dict[str, dict[str, Any]]

_KNOWN_LOADERS = {
    "LoadImage",
    "LoadImageMask",
    "LoadImageOutput",
    "WebcamCapture",
    "LoadImageFromUrl",
    "LoadImagesFromDir",
    "Image Load",
    "Load Image Batch",
    "VHS_LoadImages",
    "VHS_LoadImagesPath",
    "VHS_LoadVideo",
    "VHS_LoadVideoPath",
    "ETN_LoadImageBase64",
    "ETN_LoadMaskBase64",
    "LoadLatent",
}
_NOT_IMAGE_LOADER_WORDS = (
    "model",
    "checkpoint",
    "lora",
    "vae",
    "clip",
    "unet",
    "controlnet",
    "control_net",
    "upscale",
    "ipadapter",
    "insightface",
    "embedding",
    "photomaker",
    "style",
    "gguf",
)
_IMAGE_NAME_KEYS = ("image", "image_path", "path", "file", "filename", "video", "directory", "url")
_IMAGE_EXT = re.compile(
    r"\.(png|jpe?g|webp|bmp|gif|tiff?|avif|heic|mp4|webm|mov)(\s*\[\w+\])?$", re.IGNORECASE
)
_KNOWN_OUTPUTS = {
    "SaveImage",
    "PreviewImage",
    "SaveAnimatedWEBP",
    "SaveAnimatedPNG",
    "SaveWEBM",
    "SaveVideo",
    "SaveImageWebsocket",
    "Image Save",
    "VHS_VideoCombine",
    "ETN_SendImageWebSocket",
}
_MODEL_KEYS = ("ckpt_name", "unet_name")


# --------------------------------------------------------------------------- graph helpers


def _is_link(value: Any, graph: Graph) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str | int)
        and not isinstance(value[0], bool)
        and str(value[0]) in graph
        and isinstance(value[1], int)
    )


def _inputs(node: dict[str, Any]) -> dict[str, Any]:
    inputs = node.get("inputs")
    return inputs if isinstance(inputs, dict) else {}


def _links_of(node: dict[str, Any], graph: Graph) -> Iterable[tuple[str, str]]:
    """(input name, source node id) of every linked input."""
    for name, value in _inputs(node).items():
        if _is_link(value, graph):
            yield name, str(value[0])


def _class(node: dict[str, Any]) -> str:
    c = node.get("class_type")
    return c if isinstance(c, str) else ""


def is_image_loader(node: dict[str, Any]) -> bool:
    """Whether a node reads an image (or video / latent) from outside the graph."""
    cls = _class(node)
    if cls in _KNOWN_LOADERS:
        return True
    low = cls.lower().replace(" ", "")
    if "load" in low and any(w in low for w in ("image", "video", "mask", "frames")):
        return not any(w in low for w in _NOT_IMAGE_LOADER_WORDS)
    # any other node naming an image file in an unlinked input is a loader too
    for key in ("image", "image_path"):
        v = _inputs(node).get(key)
        if isinstance(v, str) and _IMAGE_EXT.search(v.strip()):
            return True
    return False


def _image_name(node: dict[str, Any]) -> str:
    inputs = _inputs(node)
    cls = _class(node)
    if "base64" in cls.lower():
        return ""
    for key in _IMAGE_NAME_KEYS:
        v = inputs.get(key)
        if isinstance(v, str) and v.strip():
            return v.strip()
    return ""


def _is_output(node_id: str, node: dict[str, Any], consumed: set[str]) -> bool:
    cls = _class(node)
    if cls in _KNOWN_OUTPUTS:
        return True
    low = cls.lower()
    if "load" in low or is_image_loader(node):
        return False
    return any(w in low for w in ("save", "preview", "send", "videocombine")) or (
        low.endswith("output") and node_id not in consumed
    )


def _is_preview(node: dict[str, Any]) -> bool:
    return "preview" in _class(node).lower()


def _ancestors(start: str, graph: Graph) -> set[str]:
    seen = {start}
    todo = [start]
    while todo:
        nid = todo.pop()
        for _name, src in _links_of(graph[nid], graph):
            if src not in seen:
                seen.add(src)
                todo.append(src)
    return seen


def _consumers(graph: Graph) -> dict[str, list[tuple[str, str, int]]]:
    """For each node, the (consumer id, input name, output slot) triples that read from it."""
    out: dict[str, list[tuple[str, str, int]]] = {nid: [] for nid in graph}
    for nid, node in graph.items():
        for name, value in _inputs(node).items():
            if _is_link(value, graph):
                out[str(value[0])].append((nid, name, int(value[1])))
    return out


#: Output types through which a loader passes pixels (or latents) on.
_IMAGE_TYPES = {"IMAGE", "MASK", "LATENT", "VIDEO", "*"}
#: Output slots of loaders that also output text, when the editor graph is not there to
#: tell the types: the SD Prompt Reader node (receyuki/comfyui-prompt-reader-node) outputs
#: IMAGE, MASK, then prompts, seed, steps... read from the file's own metadata.
_KNOWN_IMAGE_SLOTS: dict[str, frozenset[int]] = {"SDPromptReader": frozenset({0, 1})}


def _image_slots(node: dict[str, Any]) -> frozenset[int] | None:
    """The loader's output slots that carry pixels; None when unknown (then: all)."""
    types = node.get("_outputs")
    if isinstance(types, list) and types:
        return frozenset(
            i for i, t in enumerate(types) if isinstance(t, str) and t.upper() in _IMAGE_TYPES
        )
    return _KNOWN_IMAGE_SLOTS.get(_class(node))


def _descendants(
    start: str, graph: Graph, consumers: dict[str, list[tuple[str, str, int]]]
) -> set[str]:
    """Nodes fed by ``start``'s pixel outputs, directly or further down."""
    slots = _image_slots(graph[start])
    first = [c for c, _n, slot in consumers[start] if slots is None or slot in slots]
    seen = set(first)
    todo = list(first)
    while todo:
        nid = todo.pop()
        for cid, _name, _slot in consumers[nid]:
            if cid not in seen:
                seen.add(cid)
                todo.append(cid)
    return seen


def _role(
    loader_id: str,
    graph: Graph,
    consumers: dict[str, list[tuple[str, str, int]]],
    allowed: set[str],
) -> tuple[str, list[str]]:
    """What the loaded image is used for (nearest telling consumer) and the path to it."""
    loader_cls = _class(graph[loader_id])
    is_mask = "mask" in loader_cls.lower()
    parent: dict[str, str] = {}
    queue: deque[str] = deque([loader_id])
    seen = {loader_id}
    while queue:
        nid = queue.popleft()
        for cid, name, _slot in consumers[nid]:
            if cid not in allowed or cid in seen:
                continue
            seen.add(cid)
            parent[cid] = nid
            role = _consumer_role(_class(graph[cid]), name, is_mask)
            if role:
                path = [cid]
                while path[-1] in parent and parent[path[-1]] != loader_id:
                    path.append(parent[path[-1]])
                return role, [f"{_class(graph[p])} {p}" for p in reversed(path)]
            queue.append(cid)
    return loader_cls or "image loader", []


def _consumer_role(cls: str, input_name: str, is_mask: bool) -> str | None:
    low = cls.lower().replace(" ", "").replace("-", "").replace("_", "")
    name = input_name.lower()
    if "ipadapter" in low:
        return "IP-Adapter"
    if "instantid" in low or "pulid" in low or "photomaker" in low:
        return "identity reference"
    if "controlnet" in low or "t2iadapter" in low or "controlnetapply" in low:
        return "ControlNet"
    if "mask" in name or (is_mask and ("inpaint" in low or "mask" in low)):
        return "inpaint mask"
    if "inpaint" in low:
        return "inpaint image"
    if "clipvisionencode" in low or "stylemodel" in low or "unclip" in low or "redux" in low:
        return "image prompt (CLIP vision)"
    if "vaeencode" in low or "sampler" in low or "detailer" in low:
        return "img2img init image"
    if "referencelatent" in low or "kontext" in low:
        return "reference image"
    return None


def _string_value(value: Any, graph: Graph) -> str | None:
    """A string input, following one link to a primitive node if needed."""
    if isinstance(value, str):
        return value
    if _is_link(value, graph):
        for v in _inputs(graph[str(value[0])]).values():
            if isinstance(v, str):
                return v
    return None


def _generator(graph: Graph, nodes: Iterable[str]) -> Generator:
    models: list[str] = []
    loras: list[Lora] = []
    for nid in sorted(nodes, key=_sort_key):
        inputs = _inputs(graph[nid])
        for key in _MODEL_KEYS:
            name = _string_value(inputs.get(key), graph)
            if name and name not in models:
                models.append(name)
        lora_name = _string_value(inputs.get("lora_name"), graph)
        if lora_name:
            w = to_float(inputs.get("strength_model", inputs.get("strength")))
            loras.append(Lora(name=lora_name, weight=w))
        for v in inputs.values():  # rgthree "Power Lora Loader": {"on": true, "lora": ..., ...}
            if (
                isinstance(v, dict)
                and isinstance(v.get("lora"), str)
                and v.get("on", True)
                and v["lora"] not in ("", "None")
            ):
                loras.append(Lora(name=v["lora"], weight=to_float(v.get("strength"))))
    return Generator(
        software=SOFTWARE, model=", ".join(models) if models else None, loras=tuple(loras)
    )


def _sort_key(nid: str) -> tuple[int, str]:
    return (int(nid), "") if nid.isdigit() else (1 << 60, nid)


# --------------------------------------------------------------------------- API graph


def _validate(data: Any, *, what: str, key: str) -> Graph:
    if not isinstance(data, dict):
        raise metadata_error(what, key, "not a JSON object of nodes")
    graph: Graph = {}
    for nid, node in data.items():
        if not isinstance(node, dict) or not isinstance(node.get("class_type"), str):
            raise metadata_error(what, key, f"node {nid!r} has no class_type")
        graph[str(nid)] = node
    return graph


def _analyse(graph: Graph) -> tuple[list[ImageInput], set[str], list[str], bool]:
    """Inputs, nodes that matter, reasons, and whether the graph had an output at all."""
    consumers = _consumers(graph)
    consumed = {nid for nid, cs in consumers.items() if cs}
    outputs = [nid for nid, n in graph.items() if _is_output(nid, n, consumed)]
    reasons: list[str] = []
    if not outputs:
        outputs = [
            nid
            for nid, n in graph.items()
            if nid not in consumed and not is_image_loader(n) and any(_links_of(n, graph))
        ]
        if outputs:
            reasons.append("no save/preview node found; using the graph's end nodes as outputs")
    if not outputs:
        return [], set(), ["the graph has no output node"], False
    outputs.sort(key=_sort_key)
    reach: dict[str, set[str]] = {o: _ancestors(o, graph) for o in outputs}
    relevant: set[str] = set().union(*reach.values())
    saving = [o for o in outputs if not _is_preview(graph[o])]

    inputs: list[ImageInput] = []
    for nid in sorted(graph, key=_sort_key):
        node = graph[nid]
        if not is_image_loader(node):
            continue
        cls = _class(node)
        name = _image_name(node)
        label = f"{cls} node {nid}" + (f" ({name!r})" if name else "")
        fed = _descendants(nid, graph, consumers)
        reached = [o for o in outputs if o in fed]
        if not reached:
            if any(nid in reach[o] for o in outputs):
                reasons.append(
                    f"{label}: only its text/number outputs are used, its IMAGE/MASK outputs "
                    "reach no output: not an image input"
                )
            else:
                reasons.append(f"{label} is not connected to any output: not an input")
            continue
        if saving and all(_is_preview(graph[o]) for o in reached):
            reasons.append(f"{label} only reaches preview nodes, not the saved image: not counted")
            continue
        allowed: set[str] = set().union(*(reach[o] for o in reached)) & (fed | {nid})
        role, path = _role(nid, graph, consumers, allowed)
        inputs.append(ImageInput(name=name, role=role, node_id=nid))
        out = reached[0]
        via = f" via {' → '.join(path)}" if path else ""
        reasons.append(
            f"{label} reaches {_class(graph[out])} node {out}{via}: image input ({role})"
        )
    return inputs, relevant, reasons, True


def comfy_image_inputs(prompt: dict[str, Any]) -> list[ImageInput]:
    """Image inputs of a ComfyUI API graph (the PNG ``prompt`` chunk, or a queued prompt).

    Raises:
        MetadataError: ``prompt`` is not an API graph.
    """
    graph = _validate(prompt, what="ComfyUI graph", key="prompt")
    inputs, _relevant, _reasons, _ok = _analyse(graph)
    return inputs


def _result(graph: Graph, raw: dict[str, str], origin: str) -> GenerationMetadata:
    inputs, relevant, reasons, has_output = _analyse(graph)
    generator = _generator(graph, relevant if has_output else graph.keys())
    if not has_output:
        kind = GenKind.UNKNOWN
    elif inputs:
        kind = GenKind.I2I
        reasons.insert(0, f"{origin}: {len(inputs)} image input(s) reach the output")
    else:
        kind = GenKind.T2I
        reasons.insert(0, f"{origin}: no image loader reaches the output")
    return GenerationMetadata("comfyui", kind, generator, tuple(inputs), tuple(reasons), raw)


#: Top-level entries of an API graph that are not nodes (Civitai adds ``extra`` and
#: ``extraMetadata`` to the graph it stores in a JPEG's UserComment).
_NOT_NODES = {"extra", "extraMetadata", "extra_data", "extra_pnginfo"}


def _output_types(workflow_text: str | None) -> dict[str, list[Any]]:
    """Node id → output types, from the editor graph stored beside an API graph."""
    if not workflow_text:
        return {}
    try:
        data = json.loads(workflow_text)
    except (ValueError, RecursionError):
        return {}
    out: dict[str, list[Any]] = {}
    if isinstance(data, dict) and isinstance(data.get("nodes"), list):
        for node in data["nodes"]:
            if isinstance(node, dict) and isinstance(node.get("outputs"), list):
                out[str(node.get("id"))] = [
                    o.get("type") if isinstance(o, dict) else None for o in node["outputs"]
                ]
    return out


def _software(graph: Graph, chunks: dict[str, str]) -> str | None:
    """The service or front end that ran the ComfyUI graph, when it says so."""
    if "smproj" in chunks:
        return "Stability Matrix"
    if "generation_data" in chunks:
        return "Tensor.Art"
    if "_civitai" in chunks:
        return "Civitai"
    for node in graph.values():
        name = _inputs(node).get("ckpt_name")
        if isinstance(name, str) and name.startswith("urn:air:"):
            return "Civitai"
    return None


def _any_loader(data: Any, depth: int = 0) -> bool:
    """Whether an editor graph (subgraph definitions included) holds an active image loader."""
    if depth > 20:
        return True
    if isinstance(data, dict):
        t = data.get("type")
        if isinstance(t, str) and ("widgets_values" in data or "mode" in data):
            widgets = data.get("widgets_values")
            probe: dict[str, Any] = {"class_type": t, "inputs": {}}
            if isinstance(widgets, list) and widgets and isinstance(widgets[0], str):
                probe["inputs"]["image"] = widgets[0]
            if data.get("mode", 0) not in (2, 4) and is_image_loader(probe):
                return True
        return any(_any_loader(v, depth + 1) for v in data.values() if isinstance(v, dict | list))
    if isinstance(data, list):
        return any(_any_loader(v, depth + 1) for v in data if isinstance(v, dict | list))
    return False


def parse_comfyui(chunks: dict[str, str], *, what: str = "image") -> GenerationMetadata:
    """Read ComfyUI ``prompt`` (preferred) or ``workflow`` text.

    Raises:
        MetadataError: the JSON is malformed, or is not a ComfyUI graph.
    """
    raw = pick(chunks, ("prompt", "workflow"))
    if "prompt" in chunks:
        data = load_json(chunks["prompt"], what=what, key="prompt")
        civitai = isinstance(data, dict) and "extraMetadata" in data
        if isinstance(data, dict):
            data = {k: v for k, v in data.items() if k not in _NOT_NODES}
        graph = _validate(data, what=what, key="prompt")
        for nid, types in _output_types(chunks.get("workflow")).items():
            if nid in graph:
                graph[nid]["_outputs"] = types
        meta = _result(graph, raw, "ComfyUI API graph")
        if civitai:
            chunks = {**chunks, "_civitai": "1"}
    else:
        wf = load_json(chunks["workflow"], what=what, key="workflow")
        graph, ignored, notes = workflow_to_graph(wf, what=what)
        meta = _result(graph, raw, "ComfyUI editor graph (no API graph embedded)")
        reasons = [*meta.reasons, *ignored, *notes]
        kind = meta.kind
        if notes and kind is GenKind.T2I:
            if _any_loader(wf):
                kind = GenKind.UNKNOWN
                reasons.append("the editor graph cannot be followed completely: cannot tell")
            else:
                reasons.append(
                    "no active image loader anywhere in the editor graph, so unfollowed links "
                    "cannot bring an image in: text to image"
                )
        meta = GenerationMetadata(
            "comfyui", kind, meta.generator, meta.image_inputs, tuple(reasons), raw
        )
    software = _software(graph, chunks)
    if software is not None:
        gen = Generator(software=software, model=meta.generator.model, loras=meta.generator.loras)
        meta = GenerationMetadata(
            meta.source, meta.kind, gen, meta.image_inputs, meta.reasons, meta.raw
        )
    return meta


# --------------------------------------------------------------------------- editor graph

#: widgets_values positions of the inputs we care about, for editor-graph nodes.
_WIDGETS: dict[str, tuple[str, ...]] = {
    "LoadImage": ("image",),
    "LoadImageMask": ("image", "channel"),
    "LoadImageOutput": ("image",),
    "CheckpointLoaderSimple": ("ckpt_name",),
    "CheckpointLoader": ("config_name", "ckpt_name"),
    "ImageOnlyCheckpointLoader": ("ckpt_name",),
    "UNETLoader": ("unet_name", "weight_dtype"),
    "UnetLoaderGGUF": ("unet_name",),
    "LoraLoader": ("lora_name", "strength_model", "strength_clip"),
    "LoraLoaderModelOnly": ("lora_name", "strength_model"),
}
_UNFOLLOWABLE = {"SetNode", "GetNode", "Anything Everywhere", "Anything Everywhere3"}


def workflow_to_graph(data: Any, *, what: str = "image") -> tuple[Graph, list[str], list[str]]:
    """Turn an editor graph (``workflow``) into an API-like graph.

    Returns the graph, notes on ignored nodes, and notes on what could not be followed.

    Muted (mode 2) and bypassed (mode 4) loaders are dropped; Reroute nodes pass links on.

    Raises:
        MetadataError: not an editor graph.
    """
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list):
        raise metadata_error(what, "workflow", "no 'nodes' list")
    links: dict[int, tuple[str, int]] = {}
    for link in data.get("links") or []:
        if isinstance(link, list) and len(link) >= 5:
            lid, src, slot = link[0], link[1], link[2]
        elif isinstance(link, dict):
            lid, src, slot = link.get("id"), link.get("origin_id"), link.get("origin_slot")
        else:
            continue
        if isinstance(lid, int) and isinstance(src, int | str) and isinstance(slot, int):
            links[lid] = (str(src), slot)
    graph: Graph = {}
    notes: list[str] = []
    ignored: list[str] = []
    types_seen: set[str] = set()
    for node in data["nodes"]:
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            continue
        nid = str(node.get("id"))
        cls = node["type"]
        types_seen.add(cls)
        mode = node.get("mode", 0)
        inputs: dict[str, Any] = {}
        for inp in node.get("inputs") or []:
            if isinstance(inp, dict) and isinstance(inp.get("link"), int):
                src = links.get(inp["link"])
                if src is not None:
                    inputs[str(inp.get("name", f"in{len(inputs)}"))] = [src[0], src[1]]
        widgets = node.get("widgets_values")
        if isinstance(widgets, list):
            for key, value in zip(_WIDGETS.get(cls, ()), widgets, strict=False):
                inputs.setdefault(key, value)
            if cls not in _WIDGETS and widgets and isinstance(widgets[0], str):
                inputs.setdefault("image" if _IMAGE_EXT.search(widgets[0]) else "_w0", widgets[0])
        api_node: dict[str, Any] = {"class_type": cls, "inputs": inputs}
        outs = node.get("outputs")
        if isinstance(outs, list):
            api_node["_outputs"] = [o.get("type") if isinstance(o, dict) else None for o in outs]
        if mode in (2, 4) and (
            is_image_loader(api_node) or "lora_name" in inputs or cls in _WIDGETS
        ):
            ignored.append(f"{cls} node {nid} is muted or bypassed: ignored")
            continue
        if mode == 2 or cls in {"Note", "MarkdownNote"}:
            continue
        graph[nid] = api_node
    if types_seen & _UNFOLLOWABLE:
        notes.append(
            "the editor graph uses wireless nodes "
            f"({', '.join(sorted(types_seen & _UNFOLLOWABLE))}) whose links are not recorded"
        )
    definitions = data.get("definitions")
    if isinstance(definitions, dict) and definitions.get("subgraphs"):
        notes.append("the editor graph contains subgraphs, whose inner nodes are not followed")
    # links pointing at dropped nodes are simply not links any more (see _is_link)
    return graph, ignored, notes
