"""The logic of the AUTOMATIC1111 / Forge extension, importable without the webui.

The extension's ``scripts/myself_i2i_sign.py`` only wires two callbacks to this module:

- ``script_callbacks.on_ui_settings`` → :func:`register_settings` (a "#Myself_i2i" section in
  Settings: enable, hashtag, pledge on/off, refuse vs warn, watermark);
- ``script_callbacks.on_image_saved`` → :func:`on_image_saved`, which signs the file the
  webui has just written, in place.

How the claim is decided from the processing object ``p`` (not from the infotext, which the
webui writes from the same object but with less detail):

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
   again for it (the infotext lists every unit as an input);
4. nothing → t2i. The webui knows it ran txt2img, so metadata that cannot tell (Hires fix
   writes "Denoising strength") does not block signing.

The webui cannot cancel a save from this callback, so a refusal leaves the file unsigned and
says why: one log line in "refuse" mode, a banner plus a ``NAME.unsigned.txt`` note beside the
picture in "warn" mode.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image

from myself_i2i.errors import MyselfI2IError, PledgeRefused
from myself_i2i.i18n import Text
from myself_i2i.identity import Identity
from myself_i2i.images import SUFFIX_FORMATS
from myself_i2i.integrations._common import Outcome, load_identity
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
    """An image the webui fed to the model, written to a file for hashing."""

    role: str  #: "img2img init image", "inpaint mask", "ControlNet 0", ...
    path: Path


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
        if hasattr(arg, "enabled") and hasattr(arg, "image") and getattr(arg, "enabled", False):
            units.append((f"ControlNet {len(units)}", arg))
    return units


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


def sign_saved_image(
    filename: str | Path,
    p: Any,
    settings: WebuiSettings,
    *,
    identity: Identity | None = None,
    emit: Callable[[str], None] | None = None,
) -> Outcome | None:
    """Sign the picture the webui just saved at ``filename``, in place.

    Returns None when disabled or the file type cannot carry a manifest. A refusal returns
    an unsigned :class:`Outcome` with the reason (the file is left as the webui wrote it).

    Raises:
        IdentityError, ImageError, ManifestError, ConfigError: a problem that is not about
            the pledge (no identity, damaged file...). The webui prints these.
    """
    say = emit or log.warning
    path = Path(filename)
    if not settings.enabled or path.suffix.lower() not in SUFFIX_FORMATS:
        return None
    options = SignOptions(
        hashtag=settings.hashtag,
        pledge=settings.pledge,
        watermark=settings.watermark,
        in_place=True,
    )
    with tempfile.TemporaryDirectory(prefix="myself_i2i_webui_") as tmp:
        sources = declared_sources(p, Path(tmp)) if settings.pledge else []
        t2i = settings.pledge and not sources
        if t2i:
            # the webui ran txt2img with no image input; metadata that cannot tell
            # (Hires fix's "Denoising strength") must not block it
            options = dataclasses.replace(options, allow_unclear_metadata=True)
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
            reason = _with_roles(e.text, sources)
            outcome = Outcome(path=path, signed=False, reason=reason)
            _report_refusal(outcome, settings, say)
            return outcome
    outcome = Outcome(path=path, signed=True, result=res)
    log.info("[myself_i2i] %s", outcome.line("en"))
    return outcome


def _with_roles(text: Text, sources: Iterable[DeclaredSource]) -> Text:
    """Temporary file names mean nothing to the user: name what each source was."""
    en, ja = text.en, text.ja
    for s in sources:
        en = en.replace(str(s.path), s.role).replace(s.path.name, s.role)
        ja = ja.replace(str(s.path), s.role).replace(s.path.name, s.role)
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


def on_image_saved(params: Any, opts: Any, *, identity: Identity | None = None) -> Outcome | None:
    """The ``on_image_saved`` callback: ``params`` is the webui's ``ImageSaveParams``.

    Never raises: the webui would only print a traceback, so errors are logged in both
    languages instead.
    """
    try:
        return sign_saved_image(
            params.filename, params.p, WebuiSettings.from_opts(opts), identity=identity
        )
    except MyselfI2IError as e:
        log.error("[myself_i2i] %s: not signed: %s", params.filename, e.diagnostics())
        return None
