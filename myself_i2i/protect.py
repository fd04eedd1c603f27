"""Protect: an artist signs their own drawing with "not for i2i without my permission".

Steps of :func:`protect_artwork` (numbered in the code):

1. check the file: refuse one that carries a C2PA manifest (someone else's, or already
   signed) and one whose metadata says it was AI-generated (protect is for people's work);
2. embed the soft-binding watermark (before any hash is taken) and take the fingerprint;
3. write the do-not-use XMP (IPTC ``plus:DataMining`` and ``Iptc4xmpExt:DigitalSourceType``)
   into the re-encoded copy;
4. build the manifest: ``c2pa.created`` with the IPTC digital source type of human digital
   creation, our :data:`PROTECTION_LABEL` assertion (``schemas/protection.schema.json``),
   ``cawg.training-mining`` with ``notAllowed`` for AI inference (and, by default, for
   training and data mining), the soft-binding assertions, a thumbnail;
5. sign into a temporary file beside the target, fsync, rename (atomic; original untouched);
6. keep the manifest store in the local repository and publish it to the configured
   repositories, so a copy stripped by X still leads back to the statement.

:func:`find_protection` is the other half: where i2i happens, is this picture someone's
protected artwork (embedded manifest, or watermark / fingerprint in the repositories)?
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import io
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from myself_i2i import __version__
from myself_i2i._internal import c2pa_backend
from myself_i2i._internal.containers import manifest_store_bytes
from myself_i2i.errors import AlreadySigned, ConfigError, MyselfI2IError, PledgeRefused
from myself_i2i.i18n import Text
from myself_i2i.identity import Identity
from myself_i2i.images import (
    SUPPORTED_FORMATS,
    ImageHashes,
    check_path,
    hashes_of,
    open_image,
    perceptual_hash,
    pixel_sha256,
    thumbnail_jpeg,
)
from myself_i2i.models import PROTECTION_LABEL, PROTECTION_LABELS

if TYPE_CHECKING:
    from myself_i2i.grants import Artwork, Grant
    from myself_i2i.repository import Repository
    from myself_i2i.sign import SignOptions

__all__ = [
    "DIGITAL_CAPTURE",
    "DIGITAL_CREATION",
    "PROTECTION_LABEL",
    "PROTECTION_LABELS",
    "Clearance",
    "ProtectOptions",
    "ProtectResult",
    "Protection",
    "Use",
    "artwork_of",
    "check_source_protection",
    "find_protection",
    "protect_artwork",
    "refusal_for",
    "refuse_protected_image",
]

#: IPTC digital source types (https://cv.iptc.org/newscodes/digitalsourcetype/).
DIGITAL_CREATION = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCreation"
DIGITAL_CAPTURE = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
_AI_SOURCE_TYPES = ("trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia")

_PLUS_VOCAB = "http://ns.useplus.org/ldf/vocab/"
_NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "plus": "http://ns.useplus.org/ldf/xmp/1.0/",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
}

STATEMENT = Text(
    "Drawn by a person. Do not use this picture as an image-to-image (i2i) source or for AI "
    "training without my permission. Ask me for a signed grant (myself-i2i permit).",
    "人が描いた絵です。許可なく i2i（画像から画像の生成）の素材や AI の学習に使わないでください。"
    "使いたい場合は署名付きの許可証（myself-i2i permit）をお願いしてください。",
)


class Use(str, enum.Enum):
    """A CAWG training-and-mining ``use`` value."""

    NOT_ALLOWED = "notAllowed"
    ALLOWED = "allowed"
    CONSTRAINED = "constrained"

    @classmethod
    def parse(cls, value: str) -> Use:
        """Parse ``notAllowed`` / ``allowed`` / ``constrained`` (any case, ``-`` or ``_``).

        Raises:
            ConfigError: another value.
        """
        v = value.strip().replace("-", "").replace("_", "").lower()
        for u in cls:
            if u.value.lower() == v:
                return u
        raise ConfigError(
            f"unknown use {value!r}; use notAllowed, allowed or constrained.",
            f"{value!r} は使えません。notAllowed・allowed・constrained のどれかを指定してください。",
        )


@dataclass(frozen=True)
class ProtectOptions:
    """How to protect. AI inference (use as a model's input) is always ``notAllowed``."""

    ai_training: Use = Use.NOT_ALLOWED  #: ``cawg.ai_training``
    ai_generative_training: Use = Use.NOT_ALLOWED  #: ``cawg.ai_generative_training``
    data_mining: Use = Use.NOT_ALLOWED  #: ``cawg.data_mining``
    photo: bool = False  #: a photograph (digitalCapture) rather than a drawing
    contact: str | None = None  #: where to ask for a grant (a profile URL, an address)
    watermark: bool = True
    keep_in_repository: bool = True  #: the local manifest repository
    publish: bool = True  #: also the repositories in settings.json


@dataclass(frozen=True)
class ProtectResult:
    """What protecting produced."""

    input: Path
    output: Path
    manifest_store: bytes = field(repr=False)
    locator: bytes | None
    fingerprint: str
    published: tuple[str, ...] = ()
    notes_text: tuple[Text, ...] = ()


@dataclass(frozen=True)
class Protection:
    """A protected artwork found where i2i happens."""

    artist: str  #: the signer's name (certificate common name)
    token: str | None  #: the artist's key token (None: the signer is unconfirmed)
    route: str  #: "embedded", "watermark" or "fingerprint"
    repository: str | None
    created: str | None
    title: str | None
    contact: str | None
    locator: str | None  #: the protection watermark's locator (hex)
    fingerprint: str | None  #: the fingerprint signed in the protection manifest

    def to_dict(self) -> dict[str, Any]:
        return {
            "artist": self.artist,
            "token": self.token,
            "route": self.route,
            "repository": self.repository,
            "created": self.created,
            "title": self.title,
            "contact": self.contact,
        }


def default_output(path: Path) -> Path:
    """``drawing.png`` → ``drawing.protected.png`` beside it."""
    return path.with_name(f"{path.stem}.protected{path.suffix}")


# --- XMP ---------------------------------------------------------------------------------------


def _datamining_value(opts: ProtectOptions) -> tuple[str, str | None]:
    """The ``plus:DataMining`` value and, if it needs one, ``plus:OtherConstraints`` text."""
    if opts.data_mining is not Use.ALLOWED:
        return _PLUS_VOCAB + "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING", None
    if opts.ai_training is not Use.ALLOWED:
        return _PLUS_VOCAB + "DMI-PROHIBITED-AIMLTRAINING", None
    if opts.ai_generative_training is not Use.ALLOWED:
        return _PLUS_VOCAB + "DMI-PROHIBITED-GENAIMLTRAINING", None
    # Only inference is refused: the PLUS vocabulary has no code for it.
    return _PLUS_VOCAB + "DMI-PROHIBITED-SEECONSTRAINT", STATEMENT.en


def _xmp(existing: bytes | str | None, opts: ProtectOptions) -> bytes:
    """An XMP packet with our properties, merged into ``existing`` when that parses."""
    for prefix, uri in _NS.items():
        ET.register_namespace(prefix, uri)
    rdf = _NS["rdf"]
    root: ET.Element | None = None
    if existing:
        from myself_i2i.signals import _parse_xmp

        root = _parse_xmp(existing)
    if root is None or root.find(f".//{{{rdf}}}RDF") is None:
        root = ET.Element(f"{{{_NS['x']}}}xmpmeta")
        ET.SubElement(root, f"{{{rdf}}}RDF")
    rdf_el = root.find(f".//{{{rdf}}}RDF")
    assert rdf_el is not None
    desc = rdf_el.find(f"{{{rdf}}}Description")
    if desc is None:
        desc = ET.SubElement(rdf_el, f"{{{rdf}}}Description", {f"{{{rdf}}}about": ""})
    value, constraint = _datamining_value(opts)
    props = {
        f"{{{_NS['plus']}}}DataMining": value,
        f"{{{_NS['Iptc4xmpExt']}}}DigitalSourceType": DIGITAL_CAPTURE
        if opts.photo
        else DIGITAL_CREATION,
    }
    if constraint:
        props[f"{{{_NS['plus']}}}OtherConstraints"] = constraint
    for d in rdf_el.findall(f"{{{rdf}}}Description"):  # one value of each, ours
        for key in props:
            d.attrib.pop(key, None)
            for child in d.findall(key):
                d.remove(child)
    desc.attrib.update(props)
    body = ET.tostring(root, encoding="unicode")
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>' + body + '<?xpacket end="w"?>'
    ).encode("utf-8")


# --- refusals ----------------------------------------------------------------------------------


def _ai_generated(img: Image.Image, xmp: bytes | str | None) -> str | None:
    """Why the file's own metadata says it was AI-generated, or None."""
    from myself_i2i.genmeta import read_generation_metadata

    meta = read_generation_metadata(img)
    if meta is not None:
        return f"{meta.source} generation metadata"
    text = xmp.decode("utf-8", "replace") if isinstance(xmp, bytes) else (xmp or "")
    for t in _AI_SOURCE_TYPES:
        if t in text:
            return f"IPTC digital source type {t}"
    return None


def _refuse_manifest(path: Path, data: bytes, mime: str, identity: Identity) -> AlreadySigned:
    from myself_i2i.signers import confirm_signer

    who = "someone"
    own = False
    try:
        read = c2pa_backend.read_manifest(data, mime, name=str(path))
        store = manifest_store_bytes(data)
        if read is not None and read.active is not None and read.active.signature is not None:
            who = read.active.signature.common_name or who
            confirmed = confirm_signer(data, mime, store) if store else None
            own = confirmed is not None and confirmed.token == identity.token
            if own and read.active.assertion(*PROTECTION_LABELS) is not None:
                return AlreadySigned(
                    f"{path}: already protected by you. Post this file as it is.",
                    f"{path}: すでにあなたが保護しています。このファイルをそのまま投稿してください。",
                )
    except MyselfI2IError:
        pass
    if own:
        return AlreadySigned(
            f"{path}: already carries your C2PA manifest. Protect the unsigned original drawing.",
            f"{path}: すでにあなたの C2PA マニフェストがあります。署名前の元の絵を保護してください。",
        )
    return AlreadySigned(
        f"{path}: carries a C2PA manifest signed by {who}. Protect only your own unsigned "
        "drawing (signing over another's manifest would claim their history).",
        f"{path}: {who} が署名した C2PA マニフェストがあります。保護できるのは署名前の自分の絵"
        "だけです（他人のマニフェストの上に署名すると、その履歴を自分のものと主張することになります）。",
    )


# --- protect -----------------------------------------------------------------------------------


def _training_mining(opts: ProtectOptions) -> dict[str, Any]:
    def entry(use: Use) -> dict[str, Any]:
        d: dict[str, Any] = {"use": use.value}
        if use is not Use.ALLOWED:
            d["constraint_info"] = STATEMENT.en
        return d

    return {
        "entries": {
            "cawg.ai_inference": entry(Use.NOT_ALLOWED),
            "cawg.ai_generative_training": entry(opts.ai_generative_training),
            "cawg.ai_training": entry(opts.ai_training),
            "cawg.data_mining": entry(opts.data_mining),
        }
    }


def protection_assertion(
    identity: Identity, opts: ProtectOptions, pixel_sha256: str | None = None
) -> dict[str, Any]:
    """The :data:`PROTECTION_LABEL` assertion (checked against its schema).

    Raises:
        ManifestError: it would not match ``schemas/protection.schema.json`` (a bug).
    """
    from myself_i2i.errors import ManifestError
    from myself_i2i.pledge import schema_errors

    data: dict[str, Any] = {
        "version": 1,
        "scope": ["i2i", "ai-training"],
        "permission": "signed-grant",
        "artist": {"name": identity.name},
        "statement": STATEMENT.to_dict(),
        "created": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
    }
    if opts.contact:
        data["contact"] = opts.contact[:500]
    if pixel_sha256:
        data["pixelSha256"] = pixel_sha256
    errors = schema_errors(data, "protection.schema.json")
    if errors:
        raise ManifestError(
            f"internal: protection assertion off-schema: {errors[0]}",
            f"内部エラー：保護アサーションがスキーマに合いません：{errors[0]}",
        )
    return data


def protect_artwork(
    artwork: Path,
    identity: Identity,
    *,
    output: Path | None = None,
    options: ProtectOptions | None = None,
) -> ProtectResult:
    """Sign ``artwork`` (the artist's own drawing) as protected and write the protected copy.

    Raises:
        InputError, ImageError: the file cannot be read, or the output folder is missing.
        AlreadySigned: the file already carries a C2PA manifest.
        PledgeRefused: its metadata says it was AI-generated.
        ConfigError: the output names another format, or would overwrite the original.
        ManifestError: c2pa refused to build the manifest.
        RepositoryError: a configured repository cannot be written.
    """
    from myself_i2i.sign import (
        _atomic_target,
        _save_like,
        _sign_into,
        release_temp,
        remove_stale_temps,
    )
    from myself_i2i.softbinding import soft_binding_assertions

    opts = options or ProtectOptions()
    # 1. Check the file.
    data = check_path(artwork).read_bytes()
    img = open_image(data, name=str(artwork))
    try:
        fmt = "JPEG" if img.format == "MPO" else str(img.format)
        mime = SUPPORTED_FORMATS[fmt]
        if manifest_store_bytes(data) is not None:
            raise _refuse_manifest(artwork, data, mime, identity)
        existing_xmp = img.info.get("xmp") or img.info.get("XML:com.adobe.xmp")
        ai = _ai_generated(img, existing_xmp)
        if ai is not None:
            raise PledgeRefused(
                f"{artwork}: its {ai} says it was made by AI. Protect is for pictures people "
                "made themselves; sign AI images with `myself-i2i sign`.",
                f"{artwork}: {ai} から AI で生成された画像です。保護は人が自分で作った絵のための"
                "ものです。AI 画像は `myself-i2i sign` で署名してください。",
            )
        target = output or default_output(artwork)
        if target.is_dir():
            target = target / default_output(artwork).name
        if target.resolve() == artwork.resolve():
            raise ConfigError(
                f"{target}: the output would overwrite the original; choose another name.",
                f"{target}: 出力先が元の絵と同じです。別の名前を指定してください。",
            )
        from myself_i2i.sign import check_output_target

        check_output_target(target, fmt)

        # 2. Soft binding: watermark, then fingerprint of the marked pixels.
        from myself_i2i.sign import WATERMARK_MIN_SIDE

        notes: list[Text] = []
        locator: bytes | None = None
        work = img
        if opts.watermark and min(img.size) >= WATERMARK_MIN_SIDE:
            from myself_i2i.softbinding.watermark import embed, new_locator

            locator = new_locator()
            work = embed(img, locator)
        elif opts.watermark:
            notes.append(
                Text(
                    f"{artwork}: {img.width}x{img.height} is too small for the watermark; "
                    "protected with the fingerprint only.",
                    f"{artwork}: {img.width}x{img.height} は透かしには小さすぎるため、指紋だけで"
                    "保護しました。",
                )
            )
        fingerprint = perceptual_hash(work)
        thumb = thumbnail_jpeg(work)
        # 3. Re-encode with the do-not-use XMP.
        buf = io.BytesIO()
        _save_like(work, img, fmt, buf, data, xmp=_xmp(existing_xmp, opts))
        asset = buf.getvalue()
        with open_image(asset, name=str(artwork)) as encoded:  # the pixels as posted
            pixels = pixel_sha256(encoded)
    finally:
        img.close()

    # 4. The manifest.
    actions: list[dict[str, Any]] = [
        {
            "action": "c2pa.created",
            "digitalSourceType": DIGITAL_CAPTURE if opts.photo else DIGITAL_CREATION,
            "softwareAgent": {"name": "myself_i2i protect", "version": __version__},
        }
    ]
    if locator is not None:
        actions.append(
            {
                "action": "c2pa.watermarked",
                "parameters": {"description": "myself_i2i locator watermark for soft binding"},
            }
        )
    manifest: dict[str, Any] = {
        "claim_generator_info": [{"name": "myself_i2i", "version": __version__}],
        "title": target.name,
        "format": mime,
        "thumbnail": {"format": "image/jpeg", "identifier": "claim-thumbnail.jpg"},
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": actions}},
            {"label": PROTECTION_LABEL, "data": protection_assertion(identity, opts, pixels)},
            {"label": "cawg.training-mining", "data": _training_mining(opts)},
            *soft_binding_assertions(locator, fingerprint),
        ],
    }

    # 5. Sign into a temporary file beside the target (after removing a killed run's),
    #    then rename; the temporary file is always unregistered, whatever happens.
    remove_stale_temps(target.parent)
    fd, tmp = _atomic_target(target)
    try:
        store = _sign_into(
            fd,
            identity,
            asset=asset,
            mime=mime,
            manifest=manifest,
            resources={"claim-thumbnail.jpg": thumb},
            ingredients=(),
            name=str(artwork),
        )
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    finally:
        release_temp(tmp)

    # 6. Keep and publish the manifest, so a stripped copy leads back to it.
    published: tuple[str, ...] = ()
    if opts.keep_in_repository or opts.publish:
        from myself_i2i.softbinding.publish import publish_manifest

        published, more = publish_manifest(
            store,
            locator=locator,
            fingerprint=fingerprint,
            title=target.name,
            local=opts.keep_in_repository,
            configured=opts.publish,
        )
        notes.extend(more)
    return ProtectResult(
        input=artwork,
        output=target,
        manifest_store=store,
        locator=locator,
        fingerprint=fingerprint,
        published=published,
        notes_text=tuple(notes),
    )


# --- finding a protection ----------------------------------------------------------------------


@dataclass
class _RepoOptions:
    repositories: Sequence[Any] = ()
    use_default_repositories: bool = True


def default_repositories() -> list[Repository]:
    """The configured repositories, where other people's protections are published.

    Not the local repository: it holds only this user's own signed and protected pictures,
    whose protection by one's own key never refuses anything. (Skipping it also means
    signing on a machine with no configured repository decodes no watermark at all.)

    Raises:
        ConfigError: settings.json is malformed.
        RepositoryError: a configured repository cannot be opened.
    """
    from myself_i2i.repository import configured_repositories, open_repository

    return [open_repository(spec) for spec in configured_repositories()]


@contextlib.contextmanager
def _opened(repos: list[Repository]) -> Iterator[list[Repository]]:
    """Close the local repositories opened for one look-up (a long ``watch`` opens many)."""
    try:
        yield repos
    finally:
        for r in repos:
            close = getattr(r, "close", None)
            if close is not None:
                close()


def _protection_of(
    read: c2pa_backend.StoreRead, token: str | None, route: str, repo: str | None
) -> Protection | None:
    m = read.active
    if m is None:
        return None
    a = m.assertion(*PROTECTION_LABELS)
    if a is None or not isinstance(a.data, dict):
        return None
    from myself_i2i.softbinding import FINGERPRINT_ALG
    from myself_i2i.softbinding.watermark import WATERMARK_ALG

    sb = m.soft_bindings()
    artist = a.data.get("artist")
    name = m.signature.common_name if m.signature and m.signature.common_name else None
    if name is None and isinstance(artist, dict):
        name = str(artist.get("name", ""))
    return Protection(
        artist=name or "?",
        token=token,
        route=route,
        repository=repo,
        created=str(a.data.get("created")) if a.data.get("created") else None,
        title=m.title,
        contact=str(a.data["contact"]) if a.data.get("contact") else None,
        locator=sb[WATERMARK_ALG].hex() if WATERMARK_ALG in sb else None,
        fingerprint=sb[FINGERPRINT_ALG].hex() if FINGERPRINT_ALG in sb else None,
    )


def find_protection(
    data: bytes,
    name: str,
    repos: Sequence[Repository] | None = None,
    *,
    img: Image.Image | None = None,
) -> Protection | None:
    """Is this picture someone's protected artwork? Only confirmed protections count.

    1. an embedded manifest: its protection assertion, signer confirmed by c2pa (a file
       with any other manifest is not a protected artwork);
    2. no manifest: the watermark's locator, then the fingerprint, looked up in ``repos``
       (default: the configured repositories and the local one); a manifest found must pass
       recovery's checks (valid, signs this locator, fingerprint close) and carry the
       protection assertion, and c2pa must confirm its signer's personal CA.

    Raises:
        ImageError: the picture cannot be decoded.
        RepositoryError: a repository cannot be read.
    """
    from myself_i2i.formats import DECODABLE, sniff_mime
    from myself_i2i.recovery import (
        FINGERPRINT_ROUTE_THRESHOLD,
        RECOVERY_THRESHOLD,
        check_candidate,
        other_signer_token,
    )
    from myself_i2i.signers import confirm_signer

    mime = sniff_mime(data)
    if mime is None:
        return None
    # 1. Embedded.
    store = manifest_store_bytes(data)
    if store is not None:
        try:
            read = c2pa_backend.read_manifest(data, mime, name=name)
        except MyselfI2IError:
            return None
        if read is None or read.active is None or read.active.assertion(*PROTECTION_LABELS) is None:
            return None
        if any(s.kind is not c2pa_backend.StatusKind.UNTRUSTED for s in read.failure):
            return None  # tampered: attributes nothing (its do-not-use signals still count)
        confirmed = confirm_signer(data, mime, store)
        if confirmed is None or confirmed.token is None:
            return None
        return _protection_of(read, confirmed.token, "embedded", None)
    # 2. Repositories.
    if mime not in DECODABLE:
        return None
    if repos is None:
        repos = default_repositories()
    if not repos:
        return None
    from myself_i2i.recovery import soft_binding_of

    locator, fp = soft_binding_of(data, name, img)
    tried: list[tuple[Repository, bytes, bytes | None, int, str]] = []
    if locator is not None:
        for repo in repos:
            got = repo.get(locator)
            if got is not None:
                tried.append((repo, got, locator, RECOVERY_THRESHOLD, "watermark"))
    for repo in repos:
        for cand in repo.search(fp, FINGERPRINT_ROUTE_THRESHOLD):
            got = repo.get(cand.locator)
            if got is not None:
                tried.append((repo, got, None, FINGERPRINT_ROUTE_THRESHOLD, "fingerprint"))
    for repo, got, loc, limit, route in tried:
        read2, why, _dist = check_candidate(data, mime, name, got, fp, loc, limit)
        if why is not None or read2 is None or read2.active is None:
            continue
        if read2.active.assertion(*PROTECTION_LABELS) is None:
            continue
        token = other_signer_token(data, mime, read2, got)
        if token is None:
            continue
        return _protection_of(read2, token, route, repo.name)
    return None


def refusal_for(path: Path | str, protection: Protection, why_not: Text | None = None) -> Text:
    """The words of a refusal: who protected the picture and how to ask for a grant."""
    contact_en = f" (contact: {protection.contact})" if protection.contact else ""
    contact_ja = f"（連絡先：{protection.contact}）" if protection.contact else ""
    extra_en = f" The grant given does not cover it: {why_not.en}." if why_not else ""
    extra_ja = f"渡された許可証では使えません：{why_not.ja}。" if why_not else ""
    return Text(
        f"{path}: this picture is protected by {protection.artist} ({protection.token}){contact_en}"
        f": not for i2i without their permission.{extra_en} Ask {protection.artist} for a signed "
        "grant: send them your key token (`myself-i2i identity`); they run `myself-i2i permit "
        "ARTWORK --to YOUR_TOKEN` and send you the .grant file; then sign with --grant FILE.",
        f"{path}: この絵は {protection.artist}（{protection.token}）{contact_ja}が保護しています。"
        f"許可なく i2i に使えません。{extra_ja}{protection.artist} さんに署名付きの許可証を"
        "お願いしてください：あなたの鍵トークン（`myself-i2i identity`）を伝え、相手が "
        "`myself-i2i permit ARTWORK --to あなたのトークン` で作った .grant ファイルを受け取り、"
        "--grant FILE を付けて署名します。",
    )


def artwork_of(path: Path) -> Artwork:
    """The artwork record of a file for a grant: hashes, and the locator if protected.

    Raises:
        InputError, ImageError: the file cannot be read.
    """
    from myself_i2i.grants import Artwork

    data = check_path(path).read_bytes()
    with open_image(data, name=str(path)) as img:
        h = hashes_of(img, data)
    locator: str | None = None
    if manifest_store_bytes(data) is not None:
        from myself_i2i.formats import sniff_mime
        from myself_i2i.softbinding.watermark import WATERMARK_ALG

        mime = sniff_mime(data) or "image/png"
        with contextlib.suppress(MyselfI2IError):
            read = c2pa_backend.read_manifest(data, mime, name=str(path))
            if read is not None and read.active is not None:
                loc = read.active.soft_bindings().get(WATERMARK_ALG)
                locator = loc.hex() if loc else None
    return Artwork(
        title=path.name[:300],
        sha256=h.sha256,
        pixel_sha256=h.pixel_sha256,
        phash=h.phash,
        width=h.width,
        height=h.height,
        locator=locator,
    )


# --- where i2i happens ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Clearance:
    """Why a protected (or granted) source may be used: a covering grant, or it is your own."""

    grant: Grant | None = None
    match: str | None = None
    own: bool = False


def check_source_protection(
    path: Path,
    data: bytes,
    hashes: ImageHashes,
    identity: Identity,
    options: SignOptions,
    *,
    repos: Sequence[Repository] | None = None,
    now: dt.datetime | None = None,
) -> Clearance | None:
    """Before a source is used for i2i: is it protected, and does a grant cover it?

    1. look for a protection (:func:`find_protection`: embedded, watermark, fingerprint);
    2. check each grant in ``options.grants`` and the received ones (``grants add``)
       against this source and the signer's token
       (and, when protected, that the grant comes from the protecting artist);
    3. a protected artwork of another key without a covering grant is refused, naming the
       artist; a grant that matches the picture but does not cover the use is refused with
       its reason.

    Returns a :class:`Clearance` when a grant covers the source or it is the signer's own
    protected artwork, else None (the usual rules decide).

    Raises:
        PledgeRefused: protected by another artist and no grant covers it, or a bad grant.
        RepositoryError: a repository cannot be read.
    """
    from myself_i2i.grants import check_grant, received_grants

    if repos is None and options.check_protection:
        with _opened(default_repositories()) as opened:
            return check_source_protection(
                path, data, hashes, identity, options, repos=opened, now=now
            )
    # 1. Protected?
    protection: Protection | None = None
    if options.check_protection:
        protection = find_protection(data, str(path), repos or [])
    if protection is not None and protection.token == identity.token:
        return Clearance(own=True)
    # 2. Grants.
    at = now or dt.datetime.now(dt.timezone.utc)
    why_not: Text | None = None
    for raw in (*options.grants, *received_grants()):
        chk = check_grant(
            raw,
            grantee_token=identity.token,
            at=at,
            source=hashes,
            locator=protection.locator if protection else None,
            grantor_token=protection.token if protection else None,
        )
        if chk.ok and chk.grant is not None:
            from myself_i2i.grants import find_revocation

            rev = find_revocation(chk.grant, repos or [])
            if rev is None:
                return Clearance(grant=chk.grant, match=chk.match)
            why_not = Text(
                f"{chk.grant.grantor_name} revoked it on {rev.revoked.isoformat()}",
                f"{chk.grant.grantor_name} が {rev.revoked.isoformat()} に取り消しています",
            )
            continue
        codes = {c for c, _t in chk.problems}
        if chk.grant is not None and "grant.artwork_mismatch" not in codes and why_not is None:
            why_not = Text(
                "; ".join(t.en for _c, t in chk.problems), "、".join(t.ja for _c, t in chk.problems)
            )
    # 3. Refuse.
    if protection is not None:
        text = refusal_for(path, protection, why_not)
        raise PledgeRefused(text.en, text.ja)
    if why_not is not None:
        raise PledgeRefused(
            f"{path}: the grant given for this picture does not cover this use: {why_not.en}.",
            f"{path}: この絵の許可証では使えません：{why_not.ja}。",
        )
    return None


def refuse_protected_image(
    image: Path, data: bytes, identity: Identity, img: Image.Image | None = None
) -> None:
    """Refuse to put the pledge on someone's protected artwork itself (a stripped copy).

    Raises:
        PledgeRefused: the picture is a protected artwork of another key.
        RepositoryError: a repository cannot be read.
    """
    with _opened(default_repositories()) as repos:
        protection = find_protection(data, str(image), repos, img=img)
    if protection is None or protection.token == identity.token:
        return
    raise PledgeRefused(
        f"{image}: this picture is {protection.artist}'s protected artwork "
        f"({protection.token}); an AI image signed with the pledge cannot be it. Sign your own "
        "generation instead.",
        f"{image}: この画像は {protection.artist}（{protection.token}）が保護した作品そのもの"
        "です。宣言付きの AI 画像として署名できません。自分の生成画像に署名してください。",
    )
