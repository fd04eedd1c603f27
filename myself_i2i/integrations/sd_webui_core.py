"""The logic of the AUTOMATIC1111 / Forge extension, importable without the webui.

The extension's ``scripts/myself_i2i_sign.py`` only wires two callbacks to this module:

- ``script_callbacks.on_ui_settings`` → :func:`register_settings` (a "#Myself_i2i" section in
  Settings: enable, hashtag, pledge on/off, refuse vs warn, watermark);
- ``script_callbacks.on_image_saved`` → :func:`on_image_saved`, which signs the file the
  webui has just written, in place.

What saved the picture comes first (the webui's ``modules/images.py`` ``save_image`` is called
from many places, with ``p`` set or not):

0. no processing object (``p`` is None: the Extras tab, ``save_init_img``'s copy of an
   img2img init image) → not a generation: never signed, a note is logged;
   an object that is not a processing (the Save button passes ``ui_common.save_files``'s
   ``MyObject`` built from the gallery's JSON: no ``init_images``, no ``script_args``) →
   the image inputs are unknown, so it is signed t2i only when its infotext proves t2i.

For a real processing object the claim is decided from ``p`` (not from the infotext, which
the webui writes from the same object but with less detail):

1. ``p.init_images`` (img2img) → each PIL picture is written to a temporary PNG and declared
   as a source. The registry matches pixels and perceptual hashes, not file names, so a
   temporary PNG of an init image matches the registered original (exactly when the pixels
   are unchanged, perceptually when the webui converted it, e.g. RGBA → RGB);
2. ``p.image_mask`` (inpaint) → declared too, unless it is a plain black-and-white mask: a
   two-tone region mask drawn over the picture carries no one's artwork, and the infotext
   counts inpainting as one input (the init image);
3. ControlNet units in ``p.script_args`` (objects with ``enabled`` and ``image``, the shape
   of sd-webui-controlnet's / Forge's ``ControlNetUnit``) → their images are declared;
   an enabled unit without its own image uses the img2img init image, so that is declared
   again for it (the infotext lists every unit as an input). Forge's batch and merge input
   modes read files instead (``batch_image_dir`` / ``batch_mask_dir``,
   ``batch_input_gallery`` / ``batch_mask_gallery``): those files are declared as they are;
4. nothing → t2i. The webui knows it ran txt2img, so metadata that cannot tell (Hires fix
   writes "Denoising strength") does not block signing.

The webui cannot cancel a save from this callback, so a refusal leaves the file unsigned and
says why: one log line in "refuse" mode, a banner plus a ``NAME.unsigned.txt`` note beside the
picture in "warn" mode. Commands in a refusal run as printed: an image the webui only held in
memory is kept under the myself_i2i folder (``webui-inputs/``) so that
``myself-i2i sources add`` and the following ``myself-i2i sign`` can read it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import shlex
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image

from myself_i2i.errors import MyselfI2IError, PledgeRefused
from myself_i2i.i18n import Text
from myself_i2i.identity import Identity
from myself_i2i.images import SUFFIX_FORMATS
from myself_i2i.integrations._common import Outcome, load_identity, quote_commands
from myself_i2i.models import SourceSpec
from myself_i2i.sign import SignOptions, sign_image

log = logging.getLogger("myself_i2i.sd_webui")

SECTION = ("myself_i2i", "#Myself_i2i")
OnRefusal = Literal["refuse", "warn"]


@dataclass(frozen=True)
class WebuiSettings:
    """The extension's settings (Settings → #Myself_i2i). Defaults are what a new user gets."""

    enabled: bool = True  #: sign every saved picture
    hashtag: str = "#Myself_i2i"
    pledge: bool = True  #: off: provenance only (C2PA manifest without the pledge)
    on_refusal: OnRefusal = "refuse"  #: "refuse": leave unsigned + log; "warn": louder
    watermark: bool = True

    @classmethod
    def from_opts(cls, opts: Any) -> WebuiSettings:
        """Read ``shared.opts`` (missing keys keep their defaults)."""
        d = cls()
        mode = str(getattr(opts, "myself_i2i_on_refusal", d.on_refusal))
        return cls(
            enabled=bool(getattr(opts, "myself_i2i_enabled", d.enabled)),
            hashtag=str(getattr(opts, "myself_i2i_hashtag", d.hashtag)),
            pledge=bool(getattr(opts, "myself_i2i_pledge", d.pledge)),
            on_refusal="warn" if mode == "warn" else "refuse",
            watermark=bool(getattr(opts, "myself_i2i_watermark", d.watermark)),
        )


def register_settings(shared: Any, gr: Any | None = None) -> None:
    """Add the settings section (``shared.opts.add_option`` with ``shared.OptionInfo``)."""
    radio = getattr(gr, "Radio", None)
    info = shared.OptionInfo
    opts = shared.opts
    opts.add_option(
        "myself_i2i_enabled",
        info(
            True,
            "Sign every saved image with C2PA (#Myself_i2i) / 保存する画像に署名する",
            section=SECTION,
        ),
    )
    opts.add_option(
        "myself_i2i_hashtag",
        info(
            "#Myself_i2i",
            "Hashtag of the pledge / 宣言のハッシュタグ",
            radio,
            {"choices": ["#Myself_i2i", "#Noi2i"]},
            section=SECTION,
        ),
    )
    opts.add_option(
        "myself_i2i_pledge",
        info(
            True,
            "Include the pledge (off: provenance only) / 宣言を含める（オフ: 来歴のみ）",
            section=SECTION,
        ),
    )
    opts.add_option(
        "myself_i2i_on_refusal",
        info(
            "refuse",
            "When the pledge cannot be signed / 宣言に署名できないとき",
            radio,
            {"choices": ["refuse", "warn"]},
            section=SECTION,
        ),
    )
    opts.add_option(
        "myself_i2i_watermark",
        info(True, "Invisible locator watermark / 見えない透かし", section=SECTION),
    )


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class DeclaredSource:
    """An image the webui fed to the model, as a file for hashing."""

    role: str  #: "img2img init image", "inpaint mask", "ControlNet 0", ...
    path: Path
    temporary: bool = True  #: written from memory (False: a file the webui itself read)


def is_processing(p: Any) -> bool:
    """Whether ``p`` is a generation's processing object, which records its image inputs.

    ``StableDiffusionProcessing`` has ``script_args`` (and img2img ``init_images``); the Save
    button's stand-in (``ui_common.save_files``: ``MyObject(json.loads(js_data))``, the
    fields of ``Processed.js()``) has neither.
    """
    return p is not None and (hasattr(p, "script_args") or hasattr(p, "init_images"))


def _as_pil(value: Any) -> Image.Image | None:
    if value is None:
        return None
    if isinstance(value, Image.Image):
        return value
    arr = np.asarray(value)
    if arr.ndim not in (2, 3) or arr.size == 0:
        return None
    if arr.dtype != np.uint8:
        arr = np.clip(arr * 255.0 if arr.max() <= 1.0 else arr, 0, 255).astype(np.uint8)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    return Image.fromarray(arr)


def _unit_images(image: Any) -> Iterator[tuple[str, Any]]:
    """(part, picture) of a ControlNet unit's ``image`` in its known shapes."""
    if image is None:
        return
    if isinstance(image, dict):
        yield "image", image.get("image")
        if image.get("mask") is not None:
            yield "mask", image["mask"]
    elif isinstance(image, tuple) and len(image) == 2:
        yield "image", image[0]
        yield "mask", image[1]
    elif isinstance(image, list):
        for item in image:
            yield from _unit_images(item)
    else:
        yield "image", image


def is_plain_mask(img: Image.Image) -> bool:
    """True for a two-tone (black / white) region mask, which carries no artwork."""
    gray = np.asarray(img.convert("L"))
    return np.unique(gray).size <= 2


def controlnet_units(p: Any) -> list[tuple[str, Any]]:
    """Enabled ControlNet-style units of ``p`` as (label, unit)."""
    units: list[tuple[str, Any]] = []
    for arg in getattr(p, "script_args", None) or ():
        looks_like_unit = hasattr(arg, "image") or hasattr(arg, "batch_image_dir")
        if hasattr(arg, "enabled") and looks_like_unit and getattr(arg, "enabled", False):
            units.append((f"ControlNet {len(units)}", arg))
    return units


#: What Forge's ControlNet reads from a batch folder (``get_input_data`` in
#: extensions-builtin/sd_forge_controlnet/scripts/controlnet.py).
_FORGE_BATCH_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


def _input_mode(unit: Any) -> str:
    """``simple`` / ``batch`` / ``merge`` (Forge's ``InputMode`` enum or its value)."""
    mode = getattr(unit, "input_mode", "simple")
    return str(getattr(mode, "value", mode)).lower()


def _gallery_path(item: Any) -> str | None:
    """A file path out of a Gradio gallery item (``(path, caption)``, ``{"name": path}``, str)."""
    if isinstance(item, str | os.PathLike):
        return os.fspath(item)
    if isinstance(item, list | tuple) and item:
        return _gallery_path(item[0])
    if isinstance(item, dict):
        for key in ("name", "path", "image"):
            if key in item:
                return _gallery_path(item[key])
    return None


def _folder_images(folder: str, suffixes: tuple[str, ...] | None) -> list[Path]:
    base = Path(folder)
    if not folder or not base.is_dir():
        return []
    files = sorted(f for f in base.iterdir() if f.is_file())
    return [f for f in files if suffixes is None or f.suffix.lower() in suffixes]


def unit_files(label: str, unit: Any) -> list[tuple[str, Path, bool]]:
    """(role, file, is_mask) of a Forge ControlNet unit in batch or merge mode.

    Batch mode (``batch_image_dir``, ``batch_mask_dir``) and merge mode
    (``batch_input_gallery``, ``batch_mask_gallery``) read every listed file into one
    generation (Forge's ``ControlNetForForgeOfficial.get_input_data``), so all are declared.
    """
    mode = _input_mode(unit)
    out: list[tuple[str, Path, bool]] = []
    if mode == "batch":
        for f in _folder_images(
            str(getattr(unit, "batch_image_dir", "") or ""), _FORGE_BATCH_SUFFIXES
        ):
            out.append((f"{label} batch image", f, False))
        for f in _folder_images(str(getattr(unit, "batch_mask_dir", "") or ""), None):
            out.append((f"{label} batch mask", f, True))
    elif mode == "merge":
        for item in getattr(unit, "batch_input_gallery", None) or ():
            if (path := _gallery_path(item)) is not None:
                out.append((f"{label} merge image", Path(path), False))
        for item in getattr(unit, "batch_mask_gallery", None) or ():
            if (path := _gallery_path(item)) is not None:
                out.append((f"{label} merge mask", Path(path), True))
    return out


def _file_is_plain_mask(path: Path) -> bool:
    try:
        with Image.open(path) as im:
            return is_plain_mask(im)
    except (OSError, ValueError):
        return False  # unreadable: declared, and signing says why it cannot be hashed


def declared_sources(p: Any, folder: Path) -> list[DeclaredSource]:
    """Write every image ``p`` fed to the model into ``folder``; see the module docstring."""
    out: list[DeclaredSource] = []

    def add(role: str, img: Image.Image) -> None:
        path = folder / f"source_{len(out) + 1}.png"
        img.save(path, "PNG")
        out.append(DeclaredSource(role=role, path=path))

    inits = [im for im in (getattr(p, "init_images", None) or []) if _as_pil(im) is not None]
    for im in inits:
        add("img2img init image", _as_pil(im))  # type: ignore[arg-type]
    mask = _as_pil(getattr(p, "image_mask", None))
    if mask is not None and not is_plain_mask(mask):
        add("inpaint mask", mask)
    for label, unit in controlnet_units(p):
        if _input_mode(unit) in ("batch", "merge"):
            for role, path, is_mask in unit_files(label, unit):
                if is_mask and _file_is_plain_mask(path):
                    continue
                out.append(DeclaredSource(role=role, path=path, temporary=False))
            continue
        parts = [(part, _as_pil(v)) for part, v in _unit_images(unit.image)]
        images = [(part, im) for part, im in parts if im is not None]
        if not any(part == "image" for part, _ in images) and inits:
            add(f"{label} (img2img init image)", _as_pil(inits[0]))  # type: ignore[arg-type]
        for part, im in images:
            if part == "mask" and is_plain_mask(im):
                continue
            add(f"{label} {part}", im)
    return out


# --------------------------------------------------------------------------- signing


def _unsigned_note(path: Path) -> Path:
    return path.with_name(f"{path.name}.unsigned.txt")


NOT_A_GENERATION = Text(
    "saved without a generation (Extras tab, a copy of an img2img init image, ...): it is "
    "not signed, since nothing shows how the picture was made or whose it is.",
    "生成ではない保存（Extras タブ、img2img の元画像のコピーなど）のため署名しません。"
    "画像の作り方も誰の画像かも分からないためです。",
)


def _save_button_refusal(path: Path, meta_kind: str, inputs: str) -> Text:
    if meta_kind == "i2i":
        return Text(
            f"saved with the Save button, which hands over no record of the image inputs, and "
            f"its infotext shows image inputs ({inputs}). Sign it yourself, declaring each "
            "input with --source (myself-i2i sign --in-place).",
            f"保存ボタンでの保存で、画像入力の記録が渡されず、インフォテキストには画像入力"
            f"（{inputs}）があります。各入力を --source で指定してご自身で署名してください"
            "（myself-i2i sign --in-place）。",
        )
    return Text(
        "saved with the Save button, which hands over no record of the image inputs, and "
        "its infotext does not prove a text-only generation, so it is not signed t2i.",
        "保存ボタンでの保存で、画像入力の記録が渡されず、インフォテキストからテキストのみの生成"
        "と確認できないため、t2i として署名しません。",
    )


def _infotext_kind(infotext: str | None, path: Path) -> tuple[str, str]:
    """(kind, inputs) the infotext shows: ``t2i`` / ``i2i`` / ``unknown`` / ``none``."""
    from myself_i2i.genmeta import parse_texts, read_generation_metadata

    try:
        if infotext:
            meta = parse_texts({"parameters": infotext}, what=str(path))
        else:
            meta = read_generation_metadata(path)
    except MyselfI2IError:
        return "unknown", ""
    if meta is None:
        return "none", ""
    inputs = ", ".join(f"{i.role}{' ' + repr(i.name) if i.name else ''}" for i in meta.image_inputs)
    return meta.kind.value, inputs


def sign_saved_image(
    filename: str | Path,
    p: Any,
    settings: WebuiSettings,
    *,
    identity: Identity | None = None,
    emit: Callable[[str], None] | None = None,
    infotext: str | None = None,
) -> Outcome | None:
    """Sign the picture the webui just saved at ``filename``, in place.

    Args:
        filename: the file actually written.
        p: the processing object the webui passed (None outside a generation).
        infotext: the ``parameters`` text the webui wrote (default: read from the file).

    Returns None when disabled or the file type cannot carry a manifest. A save that is no
    generation, or a refusal, returns an unsigned :class:`Outcome` with the reason (the file
    is left as the webui wrote it).

    Raises:
        IdentityError, ImageError, ManifestError, ConfigError: a problem that is not about
            the pledge (no identity, damaged file...). The webui prints these.
    """
    say = emit or log.warning
    path = Path(filename)
    if not settings.enabled or path.suffix.lower() not in SUFFIX_FORMATS:
        return None
    # 0. what saved it
    if p is None:
        skipped = Outcome(path=path, signed=False, reason=NOT_A_GENERATION)
        say(f"[myself_i2i] {skipped.line('en')}")
        say(f"[myself_i2i] {skipped.line('ja')}")
        return skipped
    processing = is_processing(p)
    options = SignOptions(
        hashtag=settings.hashtag,
        pledge=settings.pledge,
        watermark=settings.watermark,
        in_place=True,
    )
    with tempfile.TemporaryDirectory(prefix="myself_i2i_webui_") as tmp:
        sources = declared_sources(p, Path(tmp)) if settings.pledge and processing else []
        t2i = settings.pledge and not sources
        if t2i and processing:
            # the webui ran txt2img with no image input; metadata that cannot tell
            # (Hires fix's "Denoising strength") must not block it
            options = dataclasses.replace(options, allow_unclear_metadata=True)
        elif t2i:
            kind, inputs = _infotext_kind(infotext, path)
            if kind != "t2i":
                outcome = Outcome(
                    path=path, signed=False, reason=_save_button_refusal(path, kind, inputs)
                )
                _report_refusal(outcome, settings, say)
                return outcome
        signer = identity or load_identity()
        try:
            res = sign_image(
                path,
                signer,
                t2i=t2i,
                sources=[SourceSpec(path=s.path) for s in sources],
                options=options,
            )
        except PledgeRefused as e:
            kept = _keep_sources(sources)
            reason = _with_commands(e.text, path, kept, settings)
            outcome = Outcome(path=path, signed=False, reason=reason)
            _report_refusal(outcome, settings, say)
            return outcome
    outcome = Outcome(path=path, signed=True, result=res)
    log.info("[myself_i2i] %s", outcome.line("en"))
    return outcome


def kept_inputs_dir() -> Path:
    """Where images the webui only held in memory are kept for the printed commands."""
    from myself_i2i.paths import ensure_home

    return ensure_home() / "webui-inputs"


def _keep_sources(sources: Iterable[DeclaredSource]) -> list[tuple[DeclaredSource, Path]]:
    """Each source with a path that outlives the callback (content-addressed copies)."""
    kept: list[tuple[DeclaredSource, Path]] = []
    for s in sources:
        if not s.temporary:
            kept.append((s, s.path))
            continue
        try:
            digest = hashlib.sha256(s.path.read_bytes()).hexdigest()[:20]
            folder = kept_inputs_dir()
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"{digest}{s.path.suffix}"
            if not target.exists():
                shutil.copyfile(s.path, target)
            kept.append((s, target))
        except OSError as e:
            log.warning("[myself_i2i] cannot keep %s (%s): %s", s.role, s.path, e)
            kept.append((s, s.path))
    return kept


def _with_commands(
    text: Text, picture: Path, kept: list[tuple[DeclaredSource, Path]], settings: WebuiSettings
) -> Text:
    """The refusal with commands that run as printed.

    Temporary file names mean nothing to the user and are gone after the callback: each is
    replaced by its kept copy (quoted for the shell) and named by its role. When the fix is
    to register the sources, the command that signs the picture afterwards is added.
    """
    en, ja = text.en, text.ja
    for s, path in kept:
        for old in (str(s.path), s.path.name):
            if s.temporary:
                en = en.replace(old, shlex.quote(str(path)))
                ja = ja.replace(old, shlex.quote(str(path)))
    quoted = quote_commands(Text(en, ja), (path for _s, path in kept))
    en, ja = quoted.en, quoted.ja
    if kept:
        roles = "; ".join(f"{s.role}: {shlex.quote(str(path))}" for s, path in kept)
        en += f" Inputs: {roles}."
        ja += f" 入力: {roles}。"
    if "myself-i2i sources add" in text.en and kept:
        cmd = " ".join(
            [
                "myself-i2i sign",
                shlex.quote(str(picture)),
                "--in-place",
                *(f"--source {shlex.quote(str(path))}" for _s, path in kept),
                f"--hashtag {shlex.quote(settings.hashtag)}",
                *([] if settings.watermark else ["--no-watermark"]),
            ]
        )
        en += f" Then sign the picture: `{cmd}`."
        ja += f" その後、画像に署名: `{cmd}`。"
    return Text(en, ja)


def _report_refusal(outcome: Outcome, settings: WebuiSettings, say: Callable[[str], None]) -> None:
    lines = [f"[myself_i2i] {outcome.line('en')}", f"[myself_i2i] {outcome.line('ja')}"]
    if settings.on_refusal == "warn":
        bar = "!" * 78
        lines = [
            bar,
            "[myself_i2i] NOT SIGNED — do not post this with #Myself_i2i / #Noi2i",
            *lines,
        ]
        lines.append("[myself_i2i] この画像には署名していません。宣言付きで投稿しないでください。")
        lines.append(bar)
        assert outcome.reason is not None
        _unsigned_note(outcome.path).write_text(
            f"{outcome.reason.en}\n{outcome.reason.ja}\n", encoding="utf-8"
        )
    for line in lines:
        say(line)


def written_file(params: Any) -> str:
    """The file the webui actually wrote for ``params`` (``ImageSaveParams``).

    ``modules/images.py`` ``save_image`` builds ``params.filename``; with "Saving the image to
    an existing file: Add number suffix" its ``_atomically_save_image`` writes ``NAME-1.png``
    (the first free ``NAME-n``) when ``NAME.png`` exists, and ``params.filename`` keeps
    ``NAME.png``. Forge returns the name really written and sets it as
    ``image.already_saved_as`` before ``image_saved_callback(params)``; AUTOMATIC1111 1.10 sets
    ``already_saved_as`` to ``params.filename`` too. So: start from ``already_saved_as`` (or
    ``params.filename``) and take the newest of it and its ``-n`` siblings (``-1``, ``-2``...
    while they exist) that has the picture's size: the file just written is never older
    than the ones that were there.
    """
    written = getattr(getattr(params, "image", None), "already_saved_as", None)
    if isinstance(written, str | os.PathLike) and os.path.isfile(written):
        start = Path(os.fspath(written))
    else:
        start = Path(str(params.filename))
    size = getattr(getattr(params, "image", None), "size", None)
    best: tuple[int, int, Path] | None = None
    n = 0
    while True:
        cand = start if n == 0 else start.with_name(f"{start.stem}-{n}{start.suffix}")
        try:
            mtime = cand.stat().st_mtime_ns
        except OSError:
            if n == 0:
                n += 1
                continue
            break
        if _has_size(cand, size) and (best is None or (mtime, n) >= best[:2]):
            best = (mtime, n, cand)
        n += 1
        if n > 10000:  # the webui gives up long before this
            break
    return str(best[2] if best is not None else start)


def _has_size(path: Path, size: Any) -> bool:
    if not isinstance(size, tuple):
        return True
    try:
        with Image.open(path) as im:
            return bool(im.size == size)
    except (OSError, ValueError):
        return False


def _infotext_of(params: Any) -> str | None:
    pnginfo = getattr(params, "pnginfo", None)
    text = pnginfo.get("parameters") if isinstance(pnginfo, Mapping) else None
    return text if isinstance(text, str) and text.strip() else None


def on_image_saved(params: Any, opts: Any, *, identity: Identity | None = None) -> Outcome | None:
    """The ``on_image_saved`` callback: ``params`` is the webui's ``ImageSaveParams``.

    Never raises: the webui would only print a traceback, so errors are logged in both
    languages instead.
    """
    filename = written_file(params)
    try:
        return sign_saved_image(
            filename,
            params.p,
            WebuiSettings.from_opts(opts),
            identity=identity,
            infotext=_infotext_of(params),
        )
    except MyselfI2IError as e:
        log.error("[myself_i2i] %s: not signed: %s", filename, e.diagnostics())
        return None
