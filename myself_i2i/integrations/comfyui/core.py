"""The logic of the ComfyUI nodes, importable without ComfyUI.

:func:`save_signed_batch` is what the "Save Image (#Myself_i2i signed)" node runs:

1. turn the IMAGE batch into 8-bit pictures, exactly as ComfyUI's own SaveImage does;
2. cut the API graph down to the branch that feeds THIS node (:func:`branch_of`, walked back
   from the node's ``UNIQUE_ID``): a LoadImage that only feeds another output of the same
   queue is not an input of these pictures;
3. find every image input of that branch (:func:`myself_i2i.genmeta.comfy_image_inputs`)
   and the file each one read; no inputs → t2i, inputs → i2i with those files as sources;
4. per picture: write the unsigned file with the branch (``prompt``) and the editor graph
   (``workflow`` and other ``extra_pnginfo`` keys) in a temporary folder — no text at all
   when ComfyUI runs with ``--disable-metadata`` — then :func:`myself_i2i.sign.sign_image`
   it to the final name (the signer keeps the text);
5. a refusal (source not registered / permitted, do-not-use signal, ...) raises, so nothing
   is written — or, when the user chose so, the picture is saved unsigned with the reason.

Everything the node says goes through :mod:`logging` (logger ``myself_i2i.comfyui``), which
is how ComfyUI's own code logs: its handlers put it in the console and the log file.

:func:`verify_for_node` is the "Verify image (#Myself_i2i)" node.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image

from myself_i2i.errors import MyselfI2IError, PledgeRefused
from myself_i2i.genmeta import ImageInput, comfy_image_inputs
from myself_i2i.i18n import Lang
from myself_i2i.identity import Identity
from myself_i2i.integrations._common import (
    Outcome,
    for_host,
    load_identity,
    quote_commands,
)
from myself_i2i.models import Generator, SourceSpec
from myself_i2i.sign import SignOptions, sign_image

#: Output formats offered by the node, with the file suffix and the Pillow format.
FORMATS: dict[str, tuple[str, str]] = {
    "PNG": (".png", "PNG"),
    "JPEG": (".jpg", "JPEG"),
    "WebP": (".webp", "WEBP"),
}
Mode = Literal["auto", "t2i"]

_ANNOTATION = re.compile(r"^(?P<name>.*?)\s*\[(?P<kind>input|output|temp)\]\s*$")
# ComfyUI writes graph text into JPEG/WebP EXIF IFD0 string tags as "key:json":
# Model (0x0110) holds the API graph, Make (0x010F) and down hold extra_pnginfo keys.
_EXIF_PROMPT_TAG = 0x0110
_EXIF_EXTRA_TAGS = (0x010F, 0x010E, 0x010D, 0x010C)

logger = logging.getLogger("myself_i2i.comfyui")


# --------------------------------------------------------------------------- folders


def _folder_paths() -> Any:
    """ComfyUI's ``folder_paths`` module (only importable inside ComfyUI).

    Raises:
        ImportError: not running inside ComfyUI.
    """
    import importlib

    return importlib.import_module("folder_paths")


@dataclass(frozen=True)
class ComfyFolders:
    """ComfyUI's input / output / temp folders (injectable for tests and other hosts)."""

    input_dir: Path
    output_dir: Path
    temp_dir: Path | None = None

    @classmethod
    def from_comfyui(cls) -> ComfyFolders:
        """The folders of the running ComfyUI (``folder_paths``)."""
        folder_paths = _folder_paths()
        return cls(
            input_dir=Path(folder_paths.get_input_directory()),
            output_dir=Path(folder_paths.get_output_directory()),
            temp_dir=Path(folder_paths.get_temp_directory()),
        )

    def resolve(self, name: str) -> Path:
        """The file a loader node read: ``"sub/a.png"``, ``"a.png [output]"``...

        Like ComfyUI's ``get_annotated_filepath``: no annotation means the input folder.
        """
        base = self.input_dir
        m = _ANNOTATION.match(name)
        if m:
            name = m.group("name")
            kind = m.group("kind")
            if kind == "output":
                base = self.output_dir
            elif kind == "temp" and self.temp_dir is not None:
                base = self.temp_dir
        p = Path(name)
        return p if p.is_absolute() else base / p


# --------------------------------------------------------------------------- pixels


def to_uint8_batch(images: Any) -> np.ndarray:
    """An IMAGE batch (torch tensor or numpy, ``[B,H,W,C]`` floats 0..1) as uint8 ``[B,H,W,C]``.

    Rounds like ComfyUI's SaveImage (clip, then truncate), so the signed pixels are the ones
    ComfyUI would have saved.

    Raises:
        ConfigError: not an image batch.
    """
    from myself_i2i.errors import ConfigError

    arr = images.detach().cpu().numpy() if hasattr(images, "detach") else images
    arr = arr.cpu().numpy() if hasattr(arr, "cpu") else np.asarray(arr)
    if arr.ndim == 3:
        arr = arr[None, ...]
    if arr.ndim != 4 or arr.shape[-1] not in (1, 3, 4) or arr.shape[0] == 0:
        raise ConfigError(
            f"expected an IMAGE batch [B,H,W,C], got shape {tuple(arr.shape)}.",
            f"IMAGE バッチ [B,H,W,C] が必要ですが、形状 {tuple(arr.shape)} が渡されました。",
        )
    out: np.ndarray = np.clip(255.0 * arr.astype(np.float32), 0, 255).astype(np.uint8)
    return out


def _pil(frame: np.ndarray) -> Image.Image:
    if frame.shape[-1] == 1:
        return Image.fromarray(frame[..., 0], "L")
    return Image.fromarray(frame, "RGBA" if frame.shape[-1] == 4 else "RGB")


# --------------------------------------------------------------------------- metadata


def _graph_texts(
    prompt: Mapping[str, Any] | None, extra_pnginfo: Mapping[str, Any] | None
) -> dict[str, str]:
    texts: dict[str, str] = {}
    if prompt is not None:
        texts["prompt"] = json.dumps(prompt)
    for key, value in (extra_pnginfo or {}).items():
        texts[str(key)] = json.dumps(value)
    return texts


def write_with_metadata(img: Image.Image, path: Path, fmt: str, texts: Mapping[str, str]) -> None:
    """Save ``img`` with the graph texts the way ComfyUI embeds them.

    PNG: one text chunk per key. JPEG / WebP: ``key:json`` in EXIF IFD0 text tags; a JPEG
    EXIF block is limited to 64 KiB, so a too-large editor graph is left out there (the
    API graph, which decides t2i / i2i, is kept when it fits).
    """
    pil_fmt = FORMATS[fmt][1]
    if pil_fmt == "PNG":
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        for k, v in texts.items():
            info.add_text(k, v)
        img.save(path, "PNG", pnginfo=info, compress_level=4)
        return
    rgb = img.convert("RGBA" if pil_fmt == "WEBP" and img.mode == "RGBA" else "RGB")
    keys = list(texts)
    while True:
        exif = Image.Exif()
        extra = iter(_EXIF_EXTRA_TAGS)
        for k in keys:
            tag = _EXIF_PROMPT_TAG if k == "prompt" else next(extra, None)
            if tag is not None:
                exif[tag] = f"{k}:{texts[k]}"
        try:
            if pil_fmt == "JPEG":
                rgb.save(path, "JPEG", quality=95, exif=exif.tobytes())
            else:
                rgb.save(path, "WEBP", quality=95, exif=exif.tobytes())
            return
        except (ValueError, OSError):
            if not keys:
                raise
            # drop the largest non-prompt text first (the editor graph), then the prompt
            others = [k for k in keys if k != "prompt"] or keys
            keys.remove(max(others, key=lambda k: len(texts[k])))


# --------------------------------------------------------------------------- sources


def _link_source(value: Any, graph: Mapping[str, Any]) -> str | None:
    """The node id a linked input reads from (``[node_id, output_index]``), else None."""
    if (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str | int)
        and not isinstance(value[0], bool)
        and isinstance(value[1], int)
        and str(value[0]) in graph
    ):
        return str(value[0])
    return None


def branch_of(prompt: Mapping[str, Any], node_id: str | None) -> dict[str, Any] | None:
    """The part of the API graph that feeds ``node_id``: the node and all its ancestors.

    ``node_id`` is the save node's hidden ``UNIQUE_ID`` (ComfyUI's ``execution.get_input_data``
    passes the executing node's id, a key of the ``PROMPT`` it passes too). Returns None when
    the id is not in the graph (e.g. an old ComfyUI without ``UNIQUE_ID``); callers then
    analyse the whole graph, which may count more inputs but never fewer.
    """
    if node_id is None or str(node_id) not in prompt:
        return None
    keep = {str(node_id)}
    todo = [str(node_id)]
    while todo:
        node = prompt.get(todo.pop())
        inputs = node.get("inputs") if isinstance(node, Mapping) else None
        if not isinstance(inputs, Mapping):
            continue
        for value in inputs.values():
            src = _link_source(value, prompt)
            if src is not None and src not in keep:
                keep.add(src)
                todo.append(src)
    return {k: v for k, v in prompt.items() if str(k) in keep}


def graph_sources(
    prompt: Mapping[str, Any], folders: ComfyFolders
) -> list[tuple[ImageInput, Path]]:
    """Every image input of the graph that reaches an output, with the file it read.

    Raises:
        MetadataError: ``prompt`` is not an API graph.
        PledgeRefused: an input has no file name (base64, webcam) or its file is missing,
            so it cannot be hashed and declared.
    """
    found: list[tuple[ImageInput, Path]] = []
    for inp in comfy_image_inputs(dict(prompt)):
        where = f"node {inp.node_id} ({inp.role})"
        if not inp.name:
            raise PledgeRefused(
                f"{where} feeds an image that has no file (e.g. base64 or webcam), so it cannot "
                "be declared as a source. Save it to ComfyUI's input folder and load it with "
                "LoadImage.",
                f"{where} の画像にはファイルがないため（base64 やウェブカメラなど）、素材として"
                "宣言できません。ComfyUI の input フォルダに保存して LoadImage で読み込んでください。",
            )
        path = folders.resolve(inp.name)
        if not path.is_file():
            raise PledgeRefused(
                f"{where}: its file {inp.name!r} is not in ComfyUI's folders ({path}), so it "
                "cannot be hashed and declared as a source.",
                f"{where}: ファイル {inp.name!r} が ComfyUI のフォルダに見つからない（{path}）ため、"
                "素材として宣言できません。",
            )
        found.append((inp, path))
    return found


# --------------------------------------------------------------------------- naming


Namer = Callable[[str, Path, int, int], tuple[Path, str, int, str]]
"""``(prefix, output_dir, width, height) -> (folder, base name, first counter, subfolder)``."""


def default_namer(
    prefix: str, output_dir: Path, width: int, height: int
) -> tuple[Path, str, int, str]:
    """ComfyUI-style ``prefix_00001_`` names, for use outside ComfyUI."""
    del width, height
    sub, _, base = prefix.replace("\\", "/").rpartition("/")
    folder = (output_dir / sub).resolve() if sub else output_dir
    if output_dir.resolve() not in (folder, *folder.parents):
        from myself_i2i.errors import ConfigError

        raise ConfigError(
            f"{prefix!r}: the filename prefix leaves the output folder.",
            f"{prefix!r}: ファイル名の接頭辞が出力フォルダの外を指しています。",
        )
    folder.mkdir(parents=True, exist_ok=True)
    pat = re.compile(rf"^{re.escape(base)}_(\d+)_\.")
    counters = [int(m.group(1)) for f in folder.iterdir() if (m := pat.match(f.name))]
    return folder, base, max(counters, default=0) + 1, sub


def comfyui_namer(
    prefix: str, output_dir: Path, width: int, height: int
) -> tuple[Path, str, int, str]:
    """ComfyUI's own naming (``folder_paths.get_save_image_path``)."""
    folder_paths = _folder_paths()
    folder, base, counter, subfolder, _prefix = folder_paths.get_save_image_path(
        prefix, str(output_dir), width, height
    )
    Path(folder).mkdir(parents=True, exist_ok=True)
    return Path(folder), str(base), int(counter), str(subfolder)


# --------------------------------------------------------------------------- saving


@dataclass(frozen=True)
class BatchResult:
    """What the save node did with one batch."""

    outcomes: tuple[Outcome, ...]
    t2i: bool
    sources: tuple[Path, ...]
    subfolder: str = ""

    def text(self) -> str:
        """The report the node shows: every picture, English then Japanese."""
        lines = [o.line("en") for o in self.outcomes]
        lines += [o.line("ja") for o in self.outcomes]
        return "\n".join(lines)

    def ui_images(self) -> list[dict[str, str]]:
        """The ``ui.images`` entries ComfyUI's front end uses to show the saved files."""
        return [
            {"filename": o.path.name, "subfolder": self.subfolder, "type": "output"}
            for o in self.outcomes
        ]


def save_signed_batch(
    images: Any,
    *,
    prompt: Mapping[str, Any] | None,
    extra_pnginfo: Mapping[str, Any] | None,
    folders: ComfyFolders,
    filename_prefix: str = "myself_i2i",
    fmt: str = "PNG",
    mode: Mode = "auto",
    options: SignOptions | None = None,
    save_unsigned_on_refusal: bool = False,
    identity: Identity | None = None,
    namer: Namer = default_namer,
    unique_id: str | None = None,
    disable_metadata: bool = False,
    log: Callable[[str], None] | None = None,
) -> BatchResult:
    """Save every picture of an IMAGE batch, signed with the pledge.

    Args:
        images: ``[B,H,W,C]`` floats in 0..1 (torch tensor or numpy array).
        prompt: the API graph (ComfyUI's hidden ``PROMPT``).
        extra_pnginfo: ComfyUI's hidden ``EXTRA_PNGINFO`` (``{"workflow": {...}}``).
        folders: where inputs are read from and outputs go.
        mode: ``"auto"`` decides t2i / i2i from the graph; ``"t2i"`` insists on text only
            (refused when the graph has image inputs).
        save_unsigned_on_refusal: on a refusal, save the pictures unsigned and say why
            instead of raising.
        identity: the signer (default: the user's, passphrase from ``MYSELF_I2I_PASSPHRASE``).
        unique_id: this node's id in ``prompt`` (ComfyUI's hidden ``UNIQUE_ID``): only the
            branch that feeds it is analysed and embedded.
        disable_metadata: ComfyUI runs with ``--disable-metadata``: embed no graph text
            (the claim is still decided from the graph in memory).
        log: where the report lines go (default: the ``myself_i2i.comfyui`` logger).

    Raises:
        PledgeRefused: the pledge would not be true (and ``save_unsigned_on_refusal`` is off);
            nothing is written. ``str(error)`` has both languages.
        IdentityError, ConfigError, MetadataError, ImageError: likewise, both languages.
    """
    try:
        return _save(
            images,
            prompt=prompt,
            extra_pnginfo=extra_pnginfo,
            folders=folders,
            filename_prefix=filename_prefix,
            fmt=fmt,
            mode=mode,
            options=options or SignOptions(),
            save_unsigned=save_unsigned_on_refusal,
            identity=identity,
            namer=namer,
            unique_id=unique_id,
            disable_metadata=disable_metadata,
            log=log,
        )
    except MyselfI2IError as e:
        logger.warning("[myself_i2i] not saved: %s", e.diagnostics())
        raise for_host(e) from None


def _save(
    images: Any,
    *,
    prompt: Mapping[str, Any] | None,
    extra_pnginfo: Mapping[str, Any] | None,
    folders: ComfyFolders,
    filename_prefix: str,
    fmt: str,
    mode: Mode,
    options: SignOptions,
    save_unsigned: bool,
    identity: Identity | None,
    namer: Namer,
    unique_id: str | None,
    disable_metadata: bool,
    log: Callable[[str], None] | None,
) -> BatchResult:
    from myself_i2i.errors import ConfigError

    if fmt not in FORMATS:
        raise ConfigError(
            f"unknown format {fmt!r}; use PNG, JPEG or WebP.",
            f"形式 {fmt!r} は使えません。PNG・JPEG・WebP のどれかにしてください。",
        )
    # 1. pixels
    batch = to_uint8_batch(images)
    # 2. the branch that feeds this node
    if prompt is not None:
        branch = branch_of(prompt, unique_id)
        if branch is None:
            logger.warning(
                "[myself_i2i] node id %r is not in the graph: every image input of the whole "
                "graph is counted",
                unique_id,
            )
        else:
            prompt = branch
    # 3. the claim, decided from the graph before anything is written
    refusal: PledgeRefused | None = None
    found: list[tuple[ImageInput, Path]] = []
    try:
        if prompt is None:
            if mode != "t2i" and options.pledge:
                raise PledgeRefused(
                    "no workflow graph reached the node, so the image inputs cannot be checked. "
                    "Choose mode t2i only if no image was used.",
                    "ワークフローのグラフが渡されなかったため画像入力を確認できません。"
                    "画像を使っていない場合のみモード t2i を選んでください。",
                )
        else:
            found = graph_sources(prompt, folders)
            if found and mode == "t2i":
                names = ", ".join(f"{i.role} {i.name!r} (node {i.node_id})" for i, _ in found)
                raise PledgeRefused(
                    f"mode t2i was chosen but the graph feeds images to the model ({names}).",
                    f"モード t2i が選ばれましたが、グラフは画像をモデルに入力しています（{names}）。",
                )
    except PledgeRefused as e:
        if not save_unsigned:
            raise
        refusal = e
    t2i = not found
    specs = [SourceSpec(path=p) for _inp, p in found]
    signer = identity if (identity is not None or refusal is not None) else load_identity()

    # 4-5. every picture of the batch
    h, w = batch.shape[1], batch.shape[2]
    folder, base, counter, subfolder = namer(filename_prefix, folders.output_dir, w, h)
    suffix = FORMATS[fmt][0]
    # like ComfyUI's SaveImage.save_images (nodes.py): no text chunks at all when
    # `args.disable_metadata`; the software is still named in the manifest
    texts = {} if disable_metadata else _graph_texts(prompt, extra_pnginfo)
    opts = dataclasses.replace(options, in_place=False)
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="myself_i2i_comfy_") as tmpdir:
        for i, frame in enumerate(batch):
            name = f"{base.replace('%batch_num%', str(i))}_{counter + i:05}_{suffix}"
            final = folder / name
            unsigned = Path(tmpdir) / name
            write_with_metadata(_pil(frame), unsigned, fmt, texts)
            if refusal is None:
                assert signer is not None
                try:
                    res = sign_image(
                        unsigned,
                        signer,
                        t2i=t2i and options.pledge,
                        sources=specs,
                        output=final,
                        options=opts,
                        generator=Generator(software="ComfyUI"),
                    )
                    outcomes.append(Outcome(path=final, signed=True, result=res))
                    continue
                except PledgeRefused as e:
                    # the library prints `myself-i2i sources add PATH`: quote PATH for the shell
                    quoted = quote_commands(e.text, (path for _i, path in found))
                    if not save_unsigned:
                        raise PledgeRefused(quoted.en, quoted.ja) from e
                    refusal = PledgeRefused(quoted.en, quoted.ja)
            shutil.move(os.fspath(unsigned), final)
            outcomes.append(Outcome(path=final, signed=False, reason=refusal.text))
    result = BatchResult(tuple(outcomes), t2i, tuple(p for _i, p in found), subfolder)
    for outcome in outcomes:
        for lang in ("en", "ja"):
            line = f"[myself_i2i] {outcome.line(lang)}"
            if log is not None:
                log(line)
            elif outcome.signed:
                logger.info("%s", line)
            else:
                logger.warning("%s", line)
    return result


# --------------------------------------------------------------------------- verifying


def _verify_target(image_path: str, folders: ComfyFolders | None) -> Path | None:
    text = image_path.strip().strip('"')
    if not text:
        return None
    p = Path(text)
    if not p.is_absolute() and folders is not None:
        p = folders.resolve(str(p))
    return p


def verify_fingerprint(image_path: str, folders: ComfyFolders | None = None) -> str:
    """What the verify node's verdict depends on besides its inputs: the file's content.

    ComfyUI re-runs a node only when its inputs or its ``IS_CHANGED`` value change
    (``execution.IsChangedCache.get``); a path alone would keep the old verdict for a new
    file saved under the same name. Like ``LoadImage.IS_CHANGED`` (nodes.py) this is the
    SHA-256 of the file; a missing file gives its own value (the node then reports it).
    """
    p = _verify_target(image_path, folders)
    if p is None:
        return "no file"
    try:
        h = hashlib.sha256()
        with p.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()
    except OSError as e:
        return f"unreadable {p}: {e.__class__.__name__}"


def verify_for_node(
    image_path: str = "",
    images: Any | None = None,
    *,
    post_text: str = "",
    lang: Lang | Literal["both"] = "both",
    folders: ComfyFolders | None = None,
) -> str:
    """The verdict text of the verify node, for a file or for pictures in the graph.

    A relative ``image_path`` is looked up in ComfyUI's input folder. IMAGE pictures have
    no manifest (the graph carries pixels only), so they can only be recovered through the
    watermark / manifest repository.

    Raises:
        InputError, ImageError, ConfigError: nothing to verify, or not an image
            (``str(error)`` has both languages).
    """
    from myself_i2i.errors import ConfigError
    from myself_i2i.verify import VerifyOptions, verify_image

    opts = VerifyOptions(post_text=post_text.strip() or None)
    langs: Sequence[Lang] = ("en", "ja") if lang == "both" else (lang,)
    try:
        reports = []
        p = _verify_target(image_path, folders)
        if p is not None:
            reports.append(verify_image(p, opts))
        elif images is not None:
            with tempfile.TemporaryDirectory(prefix="myself_i2i_verify_") as tmp:
                for i, frame in enumerate(to_uint8_batch(images)):
                    p = Path(tmp) / f"image_{i + 1}.png"
                    _pil(frame).save(p, "PNG")
                    reports.append(verify_image(p, opts))
        else:
            raise ConfigError(
                "give an image path or connect an IMAGE to verify.",
                "検証する画像のパスを入力するか、IMAGE を接続してください。",
            )
    except MyselfI2IError as e:
        logger.warning("[myself_i2i] cannot verify: %s", e.diagnostics())
        raise for_host(e) from None
    out: list[str] = []
    for lg in langs:
        for r in reports:
            out.extend(r.lines(lg))
    return "\n".join(out)
