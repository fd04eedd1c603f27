"""Signing: put a C2PA manifest with the #Myself_i2i pledge into an AI image.

Steps of :func:`sign_image` (numbered in the code):

1. check the image and refuse one that is already signed;
2. resolve every declared source (registry, own signed t2i output, explicit permission),
   refusing sources that are not permitted or carry an artist's do-not-use signal;
3. cross-check the claim against the image's own generation metadata;
4. embed the soft-binding watermark (before any hash is taken) and take the fingerprint;
5. build the manifest: ``c2pa.created`` (trainedAlgorithmicMedia) referencing the sources
   as ``inputTo`` ingredients, the pledge assertion, soft-binding assertions, our own
   thumbnail;
6. remove what a killed ``sign`` left in the target's folder, then sign into a new
   temporary file there (``.mi2i-sign.<pid>.<random>.tmp``, locked while written) and fsync;
7. keep the manifest store in the local manifest repository, BEFORE the signed file
   appears, so a crash between the two never leaves a signed output the repository lacks
   (at worst the repository keeps a manifest whose file never appeared, which is harmless);
   if the repository refuses it (e.g. its index is locked), it is kept aside in
   ``$MYSELF_I2I_HOME/repository-pending`` and added at the next sign;
8. rename the temporary file onto the target (atomic; nothing partial).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from myself_i2i import __version__
from myself_i2i._internal import c2pa_backend
from myself_i2i._internal.containers import manifest_store_bytes, webp_is_lossless
from myself_i2i._internal.pngdeflate import save_png
from myself_i2i.errors import (
    AlreadySigned,
    ConfigError,
    InputError,
    MyselfI2IError,
    PledgeRefused,
)
from myself_i2i.i18n import Text
from myself_i2i.identity import Identity
from myself_i2i.images import (
    SUPPORTED_FORMATS,
    THUMBNAIL_EDGE,
    check_path,
    format_for_suffix,
    hashes_of,
    open_image,
    perceptual_hash,
    thumbnail_jpeg,
)
from myself_i2i.models import (
    HASHTAGS,
    Evidence,
    Generator,
    PledgeKind,
    Relation,
    SourceRecord,
    SourceSpec,
)
from myself_i2i.pledge import PLEDGE_LABEL, Pledge, metadata_conflict

if TYPE_CHECKING:
    pass

#: Short side below which the watermark is skipped (it needs enough 4x4 blocks).
WATERMARK_MIN_SIDE = 256


@dataclass(frozen=True)
class SignOptions:
    """How to sign. Defaults are what the CLI does without flags."""

    hashtag: str = "#Myself_i2i"  #: the hashtag the pledge carries (``#Myself_i2i`` or ``#Noi2i``)
    source_thumbnails: bool = True  #: embed a small thumbnail of each source
    watermark: bool = True  #: embed the invisible locator watermark (soft binding)
    in_place: bool = False  #: replace the input file (otherwise write a new file)
    #: replace an existing output file (the CLI asks for ``--overwrite``; plugins number
    #: their own outputs)
    overwrite: bool = True
    allow_unclear_metadata: bool = False  #: sign t2i even when metadata cannot tell t2i from i2i
    use_registry: bool = True  #: accept sources registered with ``sources add``
    keep_in_repository: bool = True  #: keep the manifest in the local manifest repository
    pledge: bool = True  #: include the pledge assertion (off: provenance only)
    #: artists' signed grants (``.grant`` file bytes); each covers the source it matches
    grants: tuple[bytes, ...] = ()
    #: look sources (and the image) up as protected artworks in the configured repositories
    check_protection: bool = True


@dataclass(frozen=True)
class ResolvedSource:
    """A source after the checks: its record and why it is permitted."""

    spec: SourceSpec
    record: SourceRecord
    reason: str  # e.g. "registry (exact)", "own signed t2i output", "explicit permission"
    #: the file as read once for hashing, the ingredient and its thumbnail
    data: bytes = field(default=b"", repr=False)
    mime: str = "image/png"
    thumbnail: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class SignResult:
    """What signing produced."""

    input: Path
    output: Path
    pledge: Pledge | None
    manifest_store: bytes
    locator: bytes | None
    fingerprint: str
    sources: tuple[ResolvedSource, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    notes_text: tuple[Text, ...] = field(default_factory=tuple)  # ``notes`` in en and ja


def normalize_hashtag(tag: str) -> str:
    """``#myself_i2i`` / ``＃Noi2i`` / ``noi2i`` → the canonical hashtag.

    Raises:
        ConfigError: not one of the pledge hashtags.
    """
    import unicodedata

    t = unicodedata.normalize("NFKC", tag.strip())
    if not t.startswith("#"):
        t = "#" + t
    for h in HASHTAGS:
        if t.lower() == h.lower():
            return h
    raise ConfigError(
        f"unknown hashtag {tag!r}; use #Myself_i2i or #Noi2i.",
        f"ハッシュタグ {tag!r} は使えません。#Myself_i2i か #Noi2i を指定してください。",
    )


def check_output_target(target: Path, fmt: str) -> None:
    """Refuse an output whose name says another format, or whose folder is missing.

    Raises:
        ConfigError: the name's suffix is another format than ``fmt``.
        InputError: the output folder does not exist.
    """
    if target.suffix and format_for_suffix(target) != fmt:
        raise ConfigError(
            f"{target}: the output name says a different format than the {fmt} input; keep the "
            "same file type.",
            f"{target}: 出力ファイル名の形式が入力（{fmt}）と違います。同じ形式にしてください。",
        )
    if not target.parent.is_dir():
        raise InputError(
            f"{target.parent}: output folder does not exist. Create it first.",
            f"{target.parent}: 出力先フォルダがありません。先に作成してください。",
        )


def default_output(path: Path) -> Path:
    """``picture.png`` → ``picture.signed.png`` beside it."""
    return path.with_name(f"{path.stem}.signed{path.suffix}")


def _refuse_not_permitted(path: Path) -> PledgeRefused:
    import shlex

    q = shlex.quote(str(path))  # the command must run as printed, spaces and all
    return PledgeRefused(
        f"{path}: this source is not registered as yours or permitted, so the pledge cannot be "
        f"signed. Register it with `myself-i2i sources add {q} --relation own-drawing` "
        "(or own-photo / own-generation), or give `--relation permitted --evidence "
        '"how the author permitted it"`.',
        f"{path}: この素材は自分のもの・許可済みとして登録されていないため、宣言に署名できません。"
        f"`myself-i2i sources add {q} --relation own-drawing`（または own-photo / "
        'own-generation）で登録するか、`--relation permitted --evidence "作者の許可の内容"` '
        "を指定してください。",
    )


def resolve_sources(
    specs: Sequence[SourceSpec], identity: Identity, options: SignOptions
) -> list[ResolvedSource]:
    """Check every declared source and decide its relation.

    Raises:
        InputError, ImageError: a source file cannot be read.
        PledgeRefused: a source is not permitted or carries a do-not-use signal.
    """
    if not specs:
        return []
    from myself_i2i.signals import find_signals
    from myself_i2i.verify import own_t2i_generation

    registry = None
    if options.use_registry:
        from myself_i2i.paths import home
        from myself_i2i.registry import DB_NAME, SourceRegistry

        reg_path = home() / DB_NAME
        if reg_path.exists():
            registry = SourceRegistry.open(reg_path)
    resolved: list[ResolvedSource] = []
    try:
        for i, spec in enumerate(specs):
            path = Path(spec.path)
            # Read and decode each source once: hashes, ingredient bytes and thumbnail.
            data = check_path(path).read_bytes()
            with open_image(data, name=str(path)) as img:
                hashes = hashes_of(img, data)
                mime = SUPPORTED_FORMATS[str(img.format)]
                thumbnail = thumbnail_jpeg(img) if options.source_thumbnails else None
            # A protected artwork of another key needs that artist's grant; a grant from
            # the artist also lifts their own do-not-use signals for this use.
            granted = None
            if options.check_protection or options.grants:
                from myself_i2i.protect import check_source_protection

                granted = check_source_protection(path, data, hashes, identity, options)
            # An artist's do-not-use signal wins over everything, even a registration.
            own_manifest_assertions = own_manifest_assertion_list(path, data, mime)
            blocking = [s for s in find_signals(path, own_manifest_assertions) if s.blocking]
            if blocking and granted is None:
                quoted = "; ".join(s.quote() for s in blocking)
                raise PledgeRefused(
                    f"{path}: the author marked this image as not to be used for AI "
                    f"({quoted}). It cannot be an i2i source under the pledge.",
                    f"{path}: 作者がこの画像の AI 利用を禁止しています（{quoted}）。"
                    "宣言のもとで i2i の素材にはできません。",
                )
            relation: Relation | None = None
            evidence: Evidence | None = spec.evidence
            reason = ""
            if granted is not None and granted.grant is not None:
                relation = Relation.PERMITTED_BY_GRANT
                reason = f"signed grant from {granted.grant.grantor_name}"
            elif spec.relation is Relation.PERMITTED:
                if evidence is None or not evidence.to_dict():
                    raise PledgeRefused(
                        f"{path}: a permitted source needs evidence of the permission. Add "
                        '`--evidence "..."` and/or `--evidence-url URL`.',
                        f"{path}: 許可を得た素材には許可の根拠が必要です。"
                        '`--evidence "..."` や `--evidence-url URL` を付けてください。',
                    )
                relation, reason = Relation.PERMITTED, "explicit permission"
            if relation is None and registry is not None:
                match = registry.lookup(hashes)
                if match is not None:
                    relation = match.entry.relation
                    evidence = evidence or match.entry.evidence
                    reason = f"registry ({match.kind.value})"
            if relation is None and granted is not None and granted.own:
                relation, reason = Relation.OWN_DRAWING, "own protected artwork"
            if relation is None and own_t2i_generation(path, identity):
                relation, reason = Relation.OWN_GENERATION, "own signed t2i output"
            if relation is None:
                raise _refuse_not_permitted(path)
            if relation is Relation.PERMITTED and (evidence is None or not evidence.to_dict()):
                raise _refuse_not_permitted(path)
            record = SourceRecord(
                sha256=hashes.sha256,
                pixel_sha256=hashes.pixel_sha256,
                phash=hashes.phash,
                width=hashes.width,
                height=hashes.height,
                relation=relation,
                title=path.name,
                evidence=evidence if relation is Relation.PERMITTED or evidence else None,
                ingredient_label=f"source{i + 1}",
                grant=granted.grant.b64() if granted is not None and granted.grant else None,
            )
            resolved.append(
                ResolvedSource(spec, record, reason, data=data, mime=mime, thumbnail=thumbnail)
            )
    finally:
        if registry is not None:
            registry.close()
    return resolved


def own_manifest_assertion_list(
    path: Path, data: bytes | None = None, mime: str | None = None
) -> list[dict[str, Any]]:
    """The assertions of a file's own active C2PA manifest (for do-not-use signals).

    ``data`` and ``mime`` are the file's content and type when the caller already has them.
    """
    if data is None:
        data = path.read_bytes()
    if manifest_store_bytes(data) is None:
        return []
    try:
        if mime is None:
            with open_image(data, name=str(path), load=False) as img:
                mime = SUPPORTED_FORMATS[str(img.format)]
        read = c2pa_backend.read_manifest(data, mime, name=str(path))
    except MyselfI2IError:
        return []
    if read is None or read.active is None:
        return []
    return [{"label": a.label, "data": a.data} for a in read.active.assertions]


def _check_metadata(
    path: Path,
    kind: PledgeKind,
    n_sources: int,
    options: SignOptions,
    img: Image.Image | None = None,
) -> Generator:
    """Step 3: the image's own generation metadata must not contradict the claim.

    ``img``: the already decoded image, so PNG text after IDAT is not decoded a second time.
    """
    from myself_i2i.genmeta import GenKind, read_generation_metadata

    meta = read_generation_metadata(img if img is not None else path)
    if meta is None:
        return Generator()
    conflict = metadata_conflict(kind, n_sources, meta)
    if conflict is not None:
        hint = (
            Text(
                "Sign it as i2i with --source for each input.",
                "各入力を --source で指定して i2i として署名してください。",
            )
            if kind is PledgeKind.T2I
            else Text(
                "Declare every input with --source.", "すべての入力を --source で指定してください。"
            )
        )
        raise PledgeRefused(
            f"{path}: its own {meta.source} metadata contradicts the pledge: {conflict.en}. "
            f"{hint.en}",
            f"{path}: 埋め込まれた {meta.source} のメタデータが宣言と矛盾します：{conflict.ja}。{hint.ja}",
        )
    if (
        kind is PledgeKind.T2I
        and meta.kind is GenKind.UNKNOWN
        and not options.allow_unclear_metadata
    ):
        why = "; ".join(meta.reasons) or "undecidable"
        raise PledgeRefused(
            f"{path}: its {meta.source} metadata does not show whether an image was used "
            f"({why}). Check it yourself, then sign with --allow-unclear-metadata.",
            f"{path}: {meta.source} のメタデータから画像入力の有無が判断できません（{why}）。"
            "ご自身で確認のうえ --allow-unclear-metadata を付けて署名してください。",
        )
    return meta.generator


def _save_like(
    img: Image.Image,
    original: Image.Image,
    fmt: str,
    out: io.BytesIO,
    source_bytes: bytes = b"",
    xmp: bytes | None = None,
) -> None:
    """Re-encode a watermarked image keeping the original's metadata and quality.

    ``xmp``: an XMP packet that replaces the original's (``protect`` writes its own).
    """
    params: dict[str, Any] = {}
    icc = original.info.get("icc_profile")
    if icc:
        params["icc_profile"] = icc
    exif = original.info.get("exif")
    if exif:
        params["exif"] = exif
    replace_xmp = xmp is not None
    if xmp is None:
        xmp = original.info.get("xmp")
    if fmt == "PNG":
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        for k, v in getattr(original, "text", {}).items():
            if replace_xmp and k == "XML:com.adobe.xmp":
                continue
            info.add_itxt(k, v) if not v.isascii() else info.add_text(k, v)
        if replace_xmp and xmp is not None:
            info.add_itxt("XML:com.adobe.xmp", xmp.decode("utf-8"))
        params["pnginfo"] = info
        save_png(img, out, **params)  # numpy filters + libdeflate: see _internal/pngdeflate
    elif fmt == "JPEG":
        if xmp:
            params["xmp"] = xmp
        # q95 whatever the original's quality: the watermark's robustness was measured
        # after a q95 save (Pillow's quality="keep" only applies to a JPEG file object,
        # which a watermarked picture never is, so it always ended here anyway).
        rgb = img if img.mode == "RGB" else img.convert("RGB")
        rgb.save(out, "JPEG", quality=95, **params)
    else:
        if xmp:
            params["xmp"] = xmp
        # A lossless WebP (VP8L bitstream) stays lossless; a lossy one is re-encoded at q95.
        lossless = webp_is_lossless(source_bytes)
        img.save(out, "WEBP", quality=95, lossless=lossless, method=4, **params)


#: Temporary files of a ``sign`` in progress: ``.mi2i-sign.<pid>.<random>.tmp``.
TEMP_PREFIX = ".mi2i-sign."
TEMP_SUFFIX = ".tmp"
_TEMP_RE = re.compile(r"\.mi2i-sign\.(\d+)\.[A-Za-z0-9_]+\.tmp")
#: A temporary file whose writer may still be alive is left alone until it is this old (s).
STALE_AFTER = 60.0
#: Names of this process's temporary files still being written (other threads may sign
#: into the same folder at the same time, e.g. a generation UI's queue).
_active: set[str] = set()
_active_lock = threading.Lock()

if sys.platform != "win32":
    import fcntl


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine (True when it cannot be told)."""
    if os.name == "nt" or pid <= 0:
        return True  # os.kill(pid, 0) would terminate the process on Windows
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: it exists, another user's
        return True
    return True


def _locked_by_someone(path: Path) -> bool:
    """Whether a writer still holds the lock of ``path`` (False without flock)."""
    if sys.platform == "win32":  # no flock: the writer's pid and the file's age decide
        return False
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return True  # cannot look: leave it alone
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # releases our test lock
    return False


def remove_stale_temps(folder: Path) -> list[Path]:
    """Remove temporary files that a killed or crashed ``sign`` left in ``folder``.

    Only our own files are touched: a regular file (never a link), named
    ``.mi2i-sign.<pid>.<random>.tmp``, owned by the current user, not locked by a writer,
    and either written by a process that is gone or older than :data:`STALE_AFTER`
    seconds. Never raises; returns what was removed.
    """
    removed: list[Path] = []
    now = time.time()
    me = os.getpid()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = _TEMP_RE.fullmatch(entry.name)
        if m is None:
            continue
        with _active_lock:
            if entry.name in _active:
                continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        if hasattr(os, "getuid") and st.st_uid != os.getuid():
            continue
        pid = int(m.group(1))
        # our own pid but not one of our active files: a leftover of a failed unlink, or of
        # an earlier process that had the same pid
        gone = pid == me or not _pid_alive(pid)
        if not (gone or now - st.st_mtime > STALE_AFTER):
            continue
        path = Path(entry.path)
        if _locked_by_someone(path):
            continue
        with contextlib.suppress(OSError):
            path.unlink()
            removed.append(path)
    return removed


# Share of one signature done after each step (1024² PNG with the watermark, measured in
# docs/performance.md): decode and checks, embed, re-encode and thumbnail, c2pa.
_SHARE_CHECKED = 0.15
_SHARE_EMBEDDED = 0.4
_SHARE_ENCODED = 0.8
_SHARE_SIGNED = 0.95


def _atomic_target(target: Path) -> tuple[int, Path]:
    """A new temporary file beside ``target``, locked (where flock exists) and registered."""
    with _active_lock:
        fd, tmp = tempfile.mkstemp(
            prefix=f"{TEMP_PREFIX}{os.getpid()}.", suffix=TEMP_SUFFIX, dir=target.parent
        )
        _active.add(Path(tmp).name)
    if sys.platform != "win32":
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd, Path(tmp)


def _sign_into(
    fd: int,
    identity: Identity,
    *,
    asset: bytes,
    mime: str,
    manifest: dict[str, Any],
    resources: dict[str, bytes],
    ingredients: Sequence[c2pa_backend.IngredientInput],
    name: str,
) -> bytes:
    """c2pa-sign ``asset`` into the temporary file ``fd`` of :func:`_atomic_target`.

    The file is flushed to disk and closed; returns the manifest store.
    """
    with os.fdopen(fd, "w+b") as dest:
        store = c2pa_backend.sign(
            source=io.BytesIO(asset),
            dest=dest,
            mime=mime,
            manifest=manifest,
            resources=resources,
            ingredients=ingredients,
            chain_pem=identity.chain_pem,
            private_key_pem=identity.private_key_pem(),
            name=name,
        )
        dest.flush()
        os.fsync(dest.fileno())
    return store


def release_temp(tmp: Path) -> None:
    """Unregister a temporary file of :func:`_atomic_target` (renamed or removed by now)."""
    with _active_lock:
        _active.discard(tmp.name)


#: Manifests the local repository could not take (e.g. its index was locked): kept here
#: and added at the next sign, so the repository still gets every signed output.
PENDING_DIR = "repository-pending"


def _pending_dir() -> Path:
    from myself_i2i.paths import home

    return home() / PENDING_DIR


def _save_pending(store: bytes, locator: bytes | None, fingerprint: str, title: str) -> bool:
    """Keep a manifest aside for the next run (the ``.json`` is written last: it marks a
    complete entry). Returns False if even that failed."""
    import hashlib
    import json

    from myself_i2i.paths import ensure_home, replace_file

    d = _pending_dir()
    stem = hashlib.sha256(store).hexdigest()[:32]
    meta: dict[str, str | None] = {
        "locator": locator.hex() if locator else None,
        "fingerprint": fingerprint,
        "title": title,
    }
    try:
        ensure_home()
        d.mkdir(mode=0o700, exist_ok=True)
        for name, data in ((f"{stem}.c2pa", store), (f"{stem}.json", json.dumps(meta).encode())):
            replace_file(d / name, data)
    except OSError:
        return False
    return True


def _drain_pending(repo: Any) -> None:
    """Add the manifests a previous run kept aside; each leaves the folder once added."""
    import json

    d = _pending_dir()
    if not d.is_dir():
        return
    for meta_path in sorted(d.glob("*.json")):
        store_path = meta_path.with_suffix(".c2pa")
        try:
            meta = json.loads(meta_path.read_text("utf-8"))
            store = store_path.read_bytes()
            loc = bytes.fromhex(meta["locator"]) if meta.get("locator") else None
            fingerprint, title = str(meta["fingerprint"]), str(meta.get("title", ""))
            int(fingerprint, 16)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue  # damaged: left for a person to look at, never blocks signing
        repo.add(store, locator=loc, fingerprint=fingerprint, title=title)
        for p in (meta_path, store_path):
            with contextlib.suppress(OSError):
                p.unlink()


_repository_lock = threading.Lock()


def _keep_in_repository(
    store: bytes, locator: bytes | None, fingerprint: str, title: str
) -> list[Text]:
    """Step 7: the manifest into the local repository, with what earlier runs kept aside.

    A failure is a note, not an error: the manifest is then kept aside and added at the
    next sign.
    """
    try:
        from myself_i2i.repository import LocalRepository

        with LocalRepository.open_default() as repo:
            repo.add(store, locator=locator, fingerprint=fingerprint, title=title)
            _drain_pending(repo)
    except ImportError:
        pass
    except MyselfI2IError as e:
        if _save_pending(store, locator, fingerprint, title):
            return [
                Text(
                    f"{e.text.en} The manifest was kept aside and will be added to the "
                    "repository at the next sign.",
                    f"{e.text.ja} マニフェストは別に保存し、次の署名のときにリポジトリへ追加します。",
                )
            ]
        return [e.text]
    return []


def _commit(tmp: Path, target: Path) -> None:
    """Step 8: the signed file appears under its name, whole (rename, then sync the folder)."""
    os.replace(tmp, target)
    if os.name != "nt":
        with contextlib.suppress(OSError):
            dfd = os.open(target.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)


def sign_image(
    image: Path,
    identity: Identity,
    *,
    t2i: bool,
    sources: Sequence[SourceSpec] = (),
    output: Path | None = None,
    options: SignOptions | None = None,
    generator: Generator | None = None,
    progress: Callable[[float], None] | None = None,
) -> SignResult:
    """Sign ``image`` with the pledge and write the signed copy.

    Args:
        image: a PNG, JPEG or WebP file made by an AI model.
        identity: the signer (see :class:`~myself_i2i.identity.IdentityStore`).
        t2i: True for a text-only generation (no ``sources`` allowed).
        sources: the i2i sources (files) with optional relation / evidence.
        output: where to write; default ``NAME.signed.EXT`` (ignored with ``in_place``).
        options: :class:`SignOptions`.
        generator: software / model / LoRAs to record when the metadata does not say.
        progress: called with the share of this image done (0 to 1) after each step, from
            the signing thread (for a progress bar; the shares are measured typical times).

    Raises:
        InputError, ImageError: the image or a source cannot be read.
        PledgeRefused: the pledge would not be true (unpermitted source, do-not-use signal,
            metadata contradicting the claim, already signed).
        ManifestError: c2pa refused to build the manifest.
        ConfigError: contradictory options.
    """
    opts = options or SignOptions()
    hashtag = normalize_hashtag(opts.hashtag)
    # 1. Check the image; refuse one that is already signed.
    check_path(image)
    original_bytes = image.read_bytes()
    # Without a watermark only the thumbnail and the fingerprint need pixels, so a JPEG is
    # decoded at a reduced DCT scale (all bytes are still read: truncation is still found).
    img = open_image(
        original_bytes,
        name=str(image),
        draft=None if opts.watermark else (THUMBNAIL_EDGE, THUMBNAIL_EDGE),
    )
    fmt = "JPEG" if img.format == "MPO" else str(img.format)  # camera JPEG with MPF
    mime = SUPPORTED_FORMATS[fmt]
    tick = progress or (lambda done: None)
    if manifest_store_bytes(original_bytes) is not None:
        raise AlreadySigned(
            f"{image}: already carries a C2PA manifest. Sign the unsigned original from your "
            "generator instead (re-signing would hide the earlier history).",
            f"{image}: すでに C2PA マニフェストがあります。生成ソフトが出力した署名前の元画像に"
            "署名してください（再署名は以前の履歴を隠してしまいます）。",
        )
    if opts.pledge and opts.check_protection:
        from myself_i2i.protect import refuse_protected_image

        refuse_protected_image(image, original_bytes, identity, img)
    if t2i and sources:
        raise ConfigError(
            "--t2i means no image input: do not give --source with it.",
            "--t2i は画像入力なしという意味です。--source と同時に指定できません。",
        )
    if not t2i and not sources and opts.pledge:
        raise ConfigError(
            "say how the image was made: --t2i (text only) or --source FILE for each i2i input.",
            "生成方法を指定してください：--t2i（テキストのみ）か、i2i の入力ごとに --source FILE。",
        )
    target = image if opts.in_place else (output or default_output(image))
    if target.exists() and target.is_dir():
        target = target / default_output(image).name
    if target.resolve() == image.resolve() and not opts.in_place:
        raise ConfigError(
            f"{target}: the output would overwrite the input. Use --in-place to do that on purpose.",
            f"{target}: 出力先が入力と同じです。上書きする場合は --in-place を付けてください。",
        )
    if target.exists() and not opts.overwrite and not opts.in_place:
        raise ConfigError(
            f"{target}: already exists. Give another -o name, or add --overwrite to replace it.",
            f"{target}: すでにあります。別の -o の名前にするか、置き換えるなら --overwrite を付けてください。",
        )
    check_output_target(target, fmt)

    kind = PledgeKind.T2I if t2i else PledgeKind.SELF_SOURCED_I2I
    # 2. Resolve the sources.
    resolved = resolve_sources(sources, identity, opts) if opts.pledge else []
    # 3. Cross-check with the image's own generation metadata.
    meta_generator = (
        _check_metadata(image, kind, len(resolved), opts, img) if opts.pledge else Generator()
    )
    gen = (generator or Generator()).merged(meta_generator)
    tick(_SHARE_CHECKED)

    # 4. Soft binding: watermark first (so the hard binding covers the marked pixels).
    locator: bytes | None = None
    asset = original_bytes
    work = img
    notes: list[Text] = []
    if opts.grants:
        from myself_i2i.grants import unused_grant_notes

        notes.extend(unused_grant_notes(opts.grants, [r.record.grant for r in resolved]))
    if opts.watermark and min(img.size) < WATERMARK_MIN_SIDE:
        # Too small to carry the mark reliably: sign with the fingerprint only.
        notes.append(
            Text(
                f"{image}: {img.width}x{img.height} is too small for the invisible watermark "
                f"(short side < {WATERMARK_MIN_SIDE} px); signed with the fingerprint only.",
                f"{image}: {img.width}x{img.height} は見えない透かしには小さすぎます"
                f"（短辺 {WATERMARK_MIN_SIDE} px 未満）。指紋だけで署名しました。",
            )
        )
    elif opts.watermark:
        from myself_i2i.softbinding import new_locator
        from myself_i2i.softbinding.watermark import embed

        locator = new_locator()
        marked = embed(img, locator)
        tick(_SHARE_EMBEDDED)
        buf = io.BytesIO()
        _save_like(marked, img, fmt, buf, original_bytes)
        asset = buf.getvalue()
        work = marked
    fingerprint = perceptual_hash(work)
    # the pixels are decoded already: never decode the file a second time for the thumbnail
    thumb = thumbnail_jpeg(work)
    tick(_SHARE_ENCODED)

    # 5. Build the manifest.
    pledge = (
        Pledge.new(kind, (hashtag,), tuple(r.record for r in resolved), gen)
        if opts.pledge
        else None
    )
    actions: list[dict[str, Any]] = [
        {
            "action": "c2pa.created",
            "digitalSourceType": c2pa_backend.TRAINED_ALGORITHMIC_MEDIA,
            "softwareAgent": {"name": gen.software} if gen.software else {"name": "unknown"},
            **(
                {"parameters": {"ingredientIds": [r.record.ingredient_label for r in resolved]}}
                if resolved
                else {}
            ),
        }
    ]
    if locator is not None:
        actions.append(
            {
                "action": "c2pa.watermarked",
                "parameters": {"description": "myself_i2i locator watermark for soft binding"},
            }
        )
    assertions: list[dict[str, Any]] = [{"label": "c2pa.actions.v2", "data": {"actions": actions}}]
    if pledge is not None:
        assertions.append({"label": PLEDGE_LABEL, "data": pledge.to_assertion()})
    from myself_i2i.softbinding import soft_binding_assertions

    assertions.extend(soft_binding_assertions(locator, fingerprint))
    manifest: dict[str, Any] = {
        "claim_generator_info": [{"name": "myself_i2i", "version": __version__}],
        "title": target.name,
        "format": mime,
        "thumbnail": {"format": "image/jpeg", "identifier": "claim-thumbnail.jpg"},
        "assertions": assertions,
    }
    resources = {"claim-thumbnail.jpg": thumb}
    ingredients: list[c2pa_backend.IngredientInput] = []
    for r in resolved:
        definition: dict[str, Any] = {
            "title": r.record.title,
            "relationship": "inputTo",
            "label": r.record.ingredient_label,
            "instance_id": r.record.ingredient_label,
        }
        if r.thumbnail is not None:
            tid = f"{r.record.ingredient_label}-thumbnail.jpg"
            resources[tid] = r.thumbnail
            definition["thumbnail"] = {"format": "image/jpeg", "identifier": tid}
        ingredients.append(
            c2pa_backend.IngredientInput(definition=definition, mime=r.mime, data=r.data)
        )

    # 6. Sign into a temporary file beside the target (after removing a killed sign's).
    remove_stale_temps(target.parent)
    fd, tmp = _atomic_target(target)
    try:
        store = _sign_into(
            fd,
            identity,
            asset=asset,
            mime=mime,
            manifest=manifest,
            resources=resources,
            ingredients=ingredients,
            name=str(image),
        )
        tick(_SHARE_SIGNED)
        # 7. Keep the manifest in the local repository (for recovery after re-encoding)
        #    before the signed file exists: see the module docstring.
        if opts.keep_in_repository:
            with _repository_lock:  # a batch's threads take turns at the SQLite write lock
                notes.extend(_keep_in_repository(store, locator, fingerprint, target.name))
        if opts.in_place:
            with contextlib.suppress(OSError):
                os.chmod(tmp, image.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644)
        # 8. Rename onto the target.
        _commit(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    finally:
        release_temp(tmp)
        img.close()

    tick(1.0)
    return SignResult(
        input=image,
        output=target,
        pledge=pledge,
        manifest_store=store,
        locator=locator,
        fingerprint=fingerprint,
        sources=tuple(resolved),
        notes=tuple(n.en for n in notes),
        notes_text=tuple(notes),
    )


def default_workers() -> int:
    """Threads for a batch: the CPUs this process may use, at most 4 (memory of 4096² images)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 4))


def sign_images(
    images: Sequence[Path],
    identity: Identity,
    *,
    t2i: bool,
    sources: Sequence[SourceSpec] = (),
    output: Path | None = None,
    options: SignOptions | None = None,
    generator: Generator | None = None,
    workers: int | None = None,
    progress: Callable[[float, int], None] | None = None,
) -> Iterator[SignResult]:
    """Sign several images (each as :func:`sign_image`) on several CPU cores.

    The pixel work (decoding, the watermark's numpy, PNG/JPEG encoding, c2pa's hashing
    and signing) releases the GIL, so threads run it side by side; each manifest still
    reaches the local repository before its file appears (the threads take turns there).

    Yields:
        Each image's :class:`SignResult`, in the order of ``images``.

    Args:
        workers: threads (default :func:`default_workers`; 1 signs one after another).
        progress: called with (images done, with fractions of those in progress; total).
        Others: as :func:`sign_image` (``output`` is a folder when there are several images).

    Raises:
        The first error of :func:`sign_image`, in the order of ``images``. Images not yet
        started are not signed; those already being signed are finished first, and their
        results are yielded before the error is raised (every file written is reported).
    """
    import threading
    from concurrent.futures import Future, ThreadPoolExecutor

    opts = options or SignOptions()
    n = len(images)
    shares = [0.0] * n
    lock = threading.Lock()  # one report at a time, so the total never goes back

    def one(i: int) -> SignResult:
        def tick(done: float) -> None:
            with lock:
                shares[i] = done
                if progress is not None:
                    progress(sum(shares), n)

        return sign_image(
            images[i],
            identity,
            t2i=t2i,
            sources=sources,
            output=output,
            options=opts,
            generator=generator,
            progress=tick,
        )

    pool = ThreadPoolExecutor(max_workers=max(1, min(workers or default_workers(), n or 1)))
    try:
        futures: list[Future[SignResult]] = [pool.submit(one, i) for i in range(n)]
        for i, fut in enumerate(futures):
            try:
                res = fut.result()
            except BaseException:
                # Stop: cancel what has not started, finish and report what has.
                for later in futures[i + 1 :]:
                    later.cancel()
                for later in futures[i + 1 :]:
                    if not later.cancelled() and later.exception() is None:
                        yield later.result()
                raise
            yield res
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
