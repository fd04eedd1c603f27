"""The cases of issue 10 section 1, each in the shape the real writer produces.

Shapes come from the writers' sources (cited per test); the corpus test covers the same
cases on metadata copied from real files.
"""

from __future__ import annotations

import gzip
import io
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import piexif
import piexif.helper
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from myself_i2i.genmeta import GenKind, read_generation_metadata
from myself_i2i.genmeta.a1111 import parse_a1111_parameters
from tests.genmeta.genmeta_files import jpeg_with_comment, picture, png_with_text
from tests.genmeta.make_carriers import carrier, png_chunks

T2I_LINE = (
    "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512, Model hash: abc, Model: m"
)


# --------------------------------------------------------------------------- A1111 infotext


def test_oldest_controlnet_infotext_is_an_image_input() -> None:
    # sd-webui-controlnet early 2023 (Mikubill samples/mahiro-out.png).
    meta = parse_a1111_parameters(
        "1girl\n" + T2I_LINE + ", ControlNet Enabled: True, ControlNet Module: canny, "
        "ControlNet Model: control_sd15_canny(fef5e48e)"
    )
    assert meta.kind is GenKind.I2I
    assert [i.role for i in meta.image_inputs] == ["ControlNet"]


def test_disabled_oldest_controlnet_is_not_an_input() -> None:
    meta = parse_a1111_parameters(
        "1girl\n" + T2I_LINE + ", ControlNet Enabled: False, ControlNet Module: canny"
    )
    assert meta.kind is GenKind.T2I


_ADETAILER = (
    ", ADetailer model: face_yolov8n.pt, ADetailer confidence: 0.3, ADetailer mask blur: 4, "
    "ADetailer denoising strength: 0.4, ADetailer inpaint only masked: True, "
    "ADetailer inpaint padding: 32, ADetailer version: 24.3.0"
)


def test_adetailer_leak_in_txt2img_is_not_img2img() -> None:
    # Bing-su/adetailer before v24.4: its inpaint pass leaked its settings into txt2img.
    meta = parse_a1111_parameters(
        "1girl\n" + T2I_LINE + ", Denoising strength: 0.4, Mask blur: 4, "
        "Inpaint area: Only masked, Masked area padding: 32" + _ADETAILER
    )
    assert meta.kind is GenKind.T2I, meta.reasons
    assert any("ADetailer" in r for r in meta.reasons)


def test_real_inpaint_with_adetailer_stays_img2img() -> None:
    meta = parse_a1111_parameters(
        "1girl\n" + T2I_LINE + ", Denoising strength: 0.75, Mask blur: 4, "
        "Inpaint area: Only masked, Masked area padding: 32" + _ADETAILER
    )
    assert meta.kind is GenKind.I2I


def test_img2img_with_adetailer_and_own_denoising_stays_img2img() -> None:
    meta = parse_a1111_parameters("1girl\n" + T2I_LINE + ", Denoising strength: 0.6" + _ADETAILER)
    assert meta.kind is GenKind.I2I


def test_sdnext_operations_field_decides() -> None:
    line = "Steps: 20, Size: 512x512, Seed: 1, CFG scale: 4, App: SD.Next, Version: e05559d"
    t2i = parse_a1111_parameters("a\n" + line + ", Operations: txt2img, Model: m")
    i2i = parse_a1111_parameters("a\n" + line + ", Operations: img2img, Model: m")
    assert (t2i.kind, i2i.kind) == (GenKind.T2I, GenKind.I2I)
    assert t2i.generator.software == "SD.Next e05559d"


def test_software_names() -> None:
    def sw(extra: str) -> str | None:
        return parse_a1111_parameters("a\n" + T2I_LINE + extra).generator.software

    assert sw(", Version: classic") == "Stable Diffusion WebUI Forge - Classic"
    assert sw(", Version: neo-2.28") == "Stable Diffusion WebUI Forge - Neo 2.28"
    assert sw(", Version: f1.3.0-v1.10.1RC-latest-1038-g19395bf9") == (
        "Stable Diffusion WebUI reForge f1.3.0-v1.10.1RC-latest-1038-g19395bf9"
    )
    assert sw(", Version: f2.0.1v1.10.1-previous-669-gdfdcbab6") == (
        "Stable Diffusion WebUI Forge f2.0.1v1.10.1-previous-669-gdfdcbab6"
    )
    assert sw(", Version: v1.10.1") == "AUTOMATIC1111 stable-diffusion-webui v1.10.1"
    # ComfyUI save nodes writing A1111-style text: ComfyUI sampler identifiers.
    comfy = (
        "Steps: 20, Sampler: euler_ancestral_karras, CFG scale: 5.0, Seed: 3, Model: w.safetensors"
    )
    assert parse_a1111_parameters("a\n" + comfy).generator.software == "ComfyUI"


# --------------------------------------------------------------------------- where text hides


def test_infotext_in_ifd0_user_comment(tmp_path: Path) -> None:
    # SaveImagePlus-style savers put UserComment (0x9286) in IFD0, not in the Exif IFD
    # (enslo/sd-metadata samples/jpg/comfyui-saveimage-plus.jpg has it so).
    img = picture()
    exif = img.getexif()
    exif[0x9286] = "a cat\n" + T2I_LINE
    path = tmp_path / "a.jpg"
    img.save(path, "JPEG", exif=exif)
    meta = read_generation_metadata(path)
    assert meta is not None and meta.kind is GenKind.T2I


def test_novelai_comment_wrapper_with_character_reference(tmp_path: Path) -> None:
    # NovelAI WebP: UserComment = {"Comment": "<json>", "Software": "NovelAI", ...}.
    inner = {"prompt": "1girl", "request_type": "PromptGenerateRequest"}
    inner["director_reference_strength_values"] = [0.6]  # type: ignore[assignment]
    wrapper = {"Comment": json.dumps(inner), "Software": "NovelAI", "Source": "NovelAI Diffusion"}
    path = tmp_path / "a.webp"
    comment = piexif.helper.UserComment.dump(json.dumps(wrapper), "unicode")
    picture().save(path, "WEBP", exif=piexif.dump({"Exif": {piexif.ExifIFD.UserComment: comment}}))
    meta = read_generation_metadata(path)
    assert meta is not None
    assert meta.source == "novelai" and meta.kind is GenKind.I2I
    assert [i.role for i in meta.image_inputs] == ["character reference"]


def test_civitai_graph_in_user_comment(tmp_path: Path) -> None:
    graph: dict[str, Any] = {
        "26": {"class_type": "LoadImage", "inputs": {"image": "https://civitai/blob.jpeg"}},
        "22": {"class_type": "ImageUpscaleWithModel", "inputs": {"image": ["26", 0]}},
        "12": {"class_type": "SaveImage", "inputs": {"images": ["22", 0]}},
        "extra": {"airs": []},
        "extraMetadata": "{}",
    }
    meta = read_generation_metadata(jpeg_with_comment(tmp_path / "a.jpg", json.dumps(graph)))
    assert meta is not None
    assert meta.kind is GenKind.I2I
    assert meta.generator.software == "Civitai"


def test_invokeai_dream_chunk(tmp_path: Path) -> None:
    t2i = png_with_text(tmp_path / "a.png", {"Dream": '"a cat" -s 50 -S 1 -W 512 -H 512 -C 7.5'})
    i2i = png_with_text(tmp_path / "b.png", {"Dream": '"a cat" -s 50 -I init.png -f 0.6'})
    m1, m2 = read_generation_metadata(t2i), read_generation_metadata(i2i)
    assert m1 is not None and m1.kind is GenKind.T2I
    assert m2 is not None and m2.kind is GenKind.I2I


def test_invokeai_graph_taking_a_gallery_image_is_i2i(tmp_path: Path) -> None:
    graph = {
        "nodes": {
            "i2l:1": {"id": "i2l:1", "type": "i2l", "image": {"image_name": "a.png"}},
            "l2i:2": {"id": "l2i:2", "type": "l2i"},
        },
        "edges": [],
    }
    meta_json = json.dumps({"generation_mode": "sdxl_txt2img", "model": {"name": "m"}})
    path = png_with_text(
        tmp_path / "a.png", {"invokeai_metadata": meta_json, "invokeai_graph": json.dumps(graph)}
    )
    meta = read_generation_metadata(path)
    assert meta is not None and meta.kind is GenKind.I2I
    only_graph = png_with_text(tmp_path / "b.png", {"invokeai_graph": json.dumps(graph)})
    meta2 = read_generation_metadata(only_graph)
    assert meta2 is not None and meta2.kind is GenKind.I2I


def test_real_stealth_payloads_are_read_without_the_text_chunks(tmp_path: Path) -> None:
    # The NovelAI and Forge carriers hold their real stealth payload in the alpha channel
    # as well as text chunks; with the chunks removed the payload alone must decide.
    corpus = Path(__file__).parent / "corpus"
    names = [
        "sd-metadata/samples__png__novelai-ref.png",
        "sd-metadata/samples__png__novelai-full.png",
        "sd-metadata/samples__png__forge.png",
    ]
    for name in names:
        data = (corpus / name).read_bytes()
        chunks = png_chunks(data)
        kept = [(k, p) for k, p in chunks if k not in (b"tEXt", b"zTXt", b"iTXt")]
        out = tmp_path / Path(name).name
        out.write_bytes(
            b"\x89PNG\r\n\x1a\n"
            + b"".join(
                struct.pack(">I", len(p)) + k + p + struct.pack(">I", zlib.crc32(k + p))
                for k, p in kept
            )
        )
        full, bare = read_generation_metadata(corpus / name), read_generation_metadata(out)
        assert full is not None and bare is not None, name
        assert bare.kind is full.kind, (name, bare.reasons)
        assert "stealth" in bare.reasons[0]


def _png_with_chunk_after_idat(path: Path, kind: bytes, payload: bytes) -> Path:
    buf = io.BytesIO()
    picture().save(buf, "PNG")
    data = buf.getvalue()
    iend = data.rindex(b"IEND") - 4
    crc = struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    chunk = struct.pack(">I", len(payload)) + kind + payload + crc
    path.write_bytes(data[:iend] + chunk + data[iend:])
    return path


def test_comfyui_animated_png_comf_chunk(tmp_path: Path) -> None:
    # comfy_extras/nodes_images.py SaveAnimatedPNG: metadata.add(b"comf", b"prompt\0" + json,
    # after_idat=True).
    graph = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "x.png"}},
        "2": {"class_type": "VAEEncode", "inputs": {"pixels": ["1", 0]}},
        "3": {"class_type": "KSampler", "inputs": {"latent_image": ["2", 0]}},
        "4": {"class_type": "SaveAnimatedPNG", "inputs": {"images": ["3", 0]}},
    }
    payload = b"prompt\0" + json.dumps(graph).encode("latin-1")
    meta = read_generation_metadata(
        _png_with_chunk_after_idat(tmp_path / "a.png", b"comf", payload)
    )
    assert meta is not None and meta.source == "comfyui" and meta.kind is GenKind.I2I


def test_text_chunk_after_image_data(tmp_path: Path) -> None:
    payload = b"parameters\0\0" + zlib.compress(("a cat\n" + T2I_LINE).encode())
    meta = read_generation_metadata(
        _png_with_chunk_after_idat(tmp_path / "a.png", b"zTXt", payload)
    )
    assert meta is not None and meta.kind is GenKind.T2I


def _stealth_png(path: Path, signature: bytes, payload: bytes, *, rgb: bool = False) -> Path:
    """As sd_webui_stealth_pnginfo writes: signature, 32-bit bit length, data; column-major."""
    data = signature + struct.pack(">I", len(payload) * 8) + payload
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
    w = h = 64
    arr = np.full((w, h, 4), 200, dtype=np.uint8)  # x-major while filling
    if rgb:
        flat = arr[:, :, :3].reshape(-1)
        flat[: len(bits)] = (flat[: len(bits)] & 0xFE) | bits
        arr[:, :, :3] = flat.reshape(w, h, 3)
    else:
        flat = arr[:, :, 3].reshape(-1)
        flat[: len(bits)] = (flat[: len(bits)] & 0xFE) | bits
        arr[:, :, 3] = flat.reshape(w, h)
    Image.fromarray(np.ascontiguousarray(arr.transpose(1, 0, 2)), "RGBA").save(path, "PNG")
    return path


def test_stealth_alpha_infotext(tmp_path: Path) -> None:
    text = ("a cat\n" + T2I_LINE + ", Denoising strength: 0.5").encode()
    path = _stealth_png(tmp_path / "a.png", b"stealth_pngcomp", gzip.compress(text))
    meta = read_generation_metadata(path)
    assert meta is not None and meta.kind is GenKind.I2I
    assert "stealth" in meta.reasons[0]


def test_stealth_rgb_infotext(tmp_path: Path) -> None:
    text = ("a cat\n" + T2I_LINE).encode()
    path = _stealth_png(tmp_path / "a.png", b"stealth_rgbinfo", text, rgb=True)
    meta = read_generation_metadata(path)
    assert meta is not None and meta.kind is GenKind.T2I


def test_novelai_stealth_payload(tmp_path: Path) -> None:
    # NovelAI nai_meta.py: "stealth_pngcomp" + gzip(JSON of its text chunks).
    comment = json.dumps({"prompt": "1girl", "request_type": "Img2ImgRequest"})
    blob = json.dumps({"Software": "NovelAI", "Source": "NAI", "Comment": comment}).encode()
    path = _stealth_png(tmp_path / "a.png", b"stealth_pngcomp", gzip.compress(blob))
    meta = read_generation_metadata(path)
    assert meta is not None and meta.source == "novelai" and meta.kind is GenKind.I2I


def test_carrier_keeps_the_stealth_payload(tmp_path: Path) -> None:
    text = ("a cat\n" + T2I_LINE).encode()
    original = _stealth_png(tmp_path / "a.png", b"stealth_pnginfo", text)
    small = tmp_path / "small.png"
    small.write_bytes(carrier(original.read_bytes()))
    a, b = read_generation_metadata(original), read_generation_metadata(small)
    assert a is not None and b is not None
    assert (a.kind, a.generator) == (b.kind, b.generator)


def test_carrier_keeps_text_chunks_and_exif(tmp_path: Path) -> None:
    info = PngInfo()
    info.add_text("parameters", "a cat\n" + T2I_LINE)
    src = tmp_path / "a.png"
    picture().save(src, "PNG", pnginfo=info)
    small = Image.open(io.BytesIO(carrier(src.read_bytes())))
    assert small.size == (8, 8) and small.info["parameters"] == "a cat\n" + T2I_LINE
    jpg = jpeg_with_comment(tmp_path / "a.jpg", "a cat\n" + T2I_LINE)
    small_jpg = Image.open(io.BytesIO(carrier(jpg.read_bytes())))
    assert small_jpg.info["exif"] == Image.open(jpg).info["exif"]


# --------------------------------------------------------------------------- JSON parameters


def test_fooocus_json_is_t2i_with_a_note(tmp_path: Path) -> None:
    data = {"full_prompt": ["a cat"], "base_model": "juggernautXL", "version": "Fooocus v2.1.8"}
    path = png_with_text(
        tmp_path / "a.png", {"parameters": json.dumps(data), "fooocus_scheme": "fooocus"}
    )
    meta = read_generation_metadata(path)
    assert meta is not None and meta.kind is GenKind.T2I
    assert meta.generator.software == "Fooocus v2.1.8"
    assert meta.generator.model == "juggernautXL"
    assert any("does not record" in r for r in meta.reasons)


def test_json_naming_an_init_image_is_i2i(tmp_path: Path) -> None:
    data = {"prompt": "a cat", "init_image": "x.png", "software": "SomeUI"}
    meta = read_generation_metadata(
        png_with_text(tmp_path / "a.png", {"parameters": json.dumps(data)})
    )
    assert meta is not None and meta.kind is GenKind.I2I


# --------------------------------------------------------------------------- ComfyUI


def _prompt_reader_graph(image_linked: bool) -> dict[str, Any]:
    # receyuki/comfyui-prompt-reader-node SDPromptReader: IMAGE, MASK, POSITIVE, NEGATIVE...
    graph: dict[str, Any] = {
        "1": {"class_type": "SDPromptReader", "inputs": {"image": "00067-2302238556.png"}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": ["1", 2]}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512}},
        "4": {
            "class_type": "KSampler",
            "inputs": {"positive": ["2", 0], "latent_image": ["5", 0]},
        },
        "6": {"class_type": "VAEDecode", "inputs": {"samples": ["4", 0]}},
        "3": {"class_type": "SaveImage", "inputs": {"images": ["6", 0]}},
    }
    if image_linked:
        graph["7"] = {"class_type": "VAEEncode", "inputs": {"pixels": ["1", 0]}}
        graph["4"]["inputs"]["latent_image"] = ["7", 0]
    return graph


def test_prompt_reader_passing_only_text_is_not_an_image_input(tmp_path: Path) -> None:
    path = png_with_text(tmp_path / "a.png", {"prompt": json.dumps(_prompt_reader_graph(False))})
    meta = read_generation_metadata(path)
    assert meta is not None
    assert meta.kind is GenKind.T2I, meta.reasons


def test_prompt_reader_whose_image_reaches_the_sampler_is_an_input(tmp_path: Path) -> None:
    path = png_with_text(tmp_path / "a.png", {"prompt": json.dumps(_prompt_reader_graph(True))})
    meta = read_generation_metadata(path)
    assert meta is not None and meta.kind is GenKind.I2I


def _wireless_workflow(with_loader: bool) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [
        {"id": 1, "type": "CheckpointLoaderSimple", "mode": 0, "widgets_values": ["m.safetensors"]},
        {"id": 2, "type": "Anything Everywhere3", "mode": 0, "inputs": []},
        {"id": 3, "type": "KSampler", "mode": 0, "inputs": [], "outputs": [{"type": "LATENT"}]},
        {"id": 4, "type": "VAEDecode", "mode": 0, "inputs": [{"name": "samples", "link": 1}]},
        {"id": 5, "type": "SaveImage", "mode": 0, "inputs": [{"name": "images", "link": 2}]},
    ]
    if with_loader:
        nodes.append(
            {"id": 6, "type": "LoadImage", "mode": 0, "widgets_values": ["x.png", "image"]}
        )
    return {"nodes": nodes, "links": [[1, 3, 0, 4, 0, "LATENT"], [2, 4, 0, 5, 0, "IMAGE"]]}


def test_wireless_editor_graph_without_any_loader_is_t2i(tmp_path: Path) -> None:
    path = png_with_text(tmp_path / "a.png", {"workflow": json.dumps(_wireless_workflow(False))})
    meta = read_generation_metadata(path)
    assert meta is not None and meta.kind is GenKind.T2I


def test_wireless_editor_graph_with_a_loader_stays_unknown(tmp_path: Path) -> None:
    path = png_with_text(tmp_path / "a.png", {"workflow": json.dumps(_wireless_workflow(True))})
    meta = read_generation_metadata(path)
    assert meta is not None and meta.kind is not GenKind.T2I
