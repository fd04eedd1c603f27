"""Step 1 of verification: read the file and its manifest (or recover it) into a Context."""

from __future__ import annotations

from PIL import Image

from myself_i2i._internal import c2pa_backend
from myself_i2i._internal.containers import manifest_store_bytes
from myself_i2i.errors import ConfigError, ImageError, ManifestError
from myself_i2i.formats import DECODABLE, format_name, sniff_mime
from myself_i2i.identity import normalize_token
from myself_i2i.images import open_image
from myself_i2i.keyring import Keyring
from myself_i2i.posttext import read_post
from myself_i2i.report import Finding
from myself_i2i.verify.context import Context
from myself_i2i.verify.messages import finding
from myself_i2i.verify.options import VerifyOptions


def _mime(data: bytes, name: str) -> str:
    """The file's type by content, if c2pa reads it.

    Raises:
        ImageError: not a kind of file c2pa reads (one line, nothing else is tried).
    """
    mime = sniff_mime(data)
    if mime is None:
        raise ImageError(
            f"{name}: not an image or media file that C2PA can carry. Give the downloaded "
            "file itself (PNG, JPEG, WebP, GIF, TIFF/DNG, HEIC, AVIF, SVG, MP4, ...).",
            f"{name}: C2PA を格納できる画像・メディアファイルではありません。ダウンロードした"
            "ファイルそのもの（PNG・JPEG・WebP・GIF・TIFF/DNG・HEIC・AVIF・SVG・MP4 など）を指定してください。",
        )
    if mime not in c2pa_backend.supported_mime_types():
        raise ImageError(
            f"{name}: {format_name(mime)} files cannot be read by c2pa here.",
            f"{name}: {format_name(mime)} 形式は c2pa で読めません。",
        )
    return mime


def _own_token(opts: VerifyOptions) -> str | None:
    if opts.own_token is not None:
        return normalize_token(opts.own_token)
    if not opts.use_own_identity:
        return None
    from myself_i2i.identity import IdentityStore, personal_token

    store = IdentityStore.default()
    try:
        if not store.exists():
            return None
        ca = store.public()[2]
        return personal_token(ca)
    except Exception:  # a damaged identity must not stop verification
        return None


def _expected_token(opts: VerifyOptions) -> str | None:
    if not opts.key_token:
        return None
    tok = normalize_token(opts.key_token)
    if tok is None:
        raise ConfigError(
            f"{opts.key_token!r} is not a key token (mi2i:XXXX-XXXX-XXXX-XXXX-XXXX).",
            f"{opts.key_token!r} はキートークン（mi2i:XXXX-XXXX-XXXX-XXXX-XXXX）ではありません。",
        )
    return tok


def _recovery_findings(ctx: Context, rec: object) -> list[Finding]:
    from myself_i2i.recovery import Recovered

    assert isinstance(rec, Recovered)
    out: list[Finding] = []
    if rec.route is not None:
        repo = str(rec.info.get("repository"))
        out.append(
            finding(
                f"recovery.{rec.route}",
                {"repository": repo},
                repository=repo,
                distance=rec.info.get("distance"),
            )
        )
        out.append(finding("hash.not_checkable"))
        if rec.route == "fingerprint":
            out.append(finding("recovery.fingerprint_only"))
        return out
    for r in rec.rejected:
        out.append(
            finding(
                "recovery.rejected",
                {k: v for k, v in r.items() if v is not None},
                route=r["route"],
                reason=r["reason"],
            )
        )
    if not rec.rejected:
        out.append(finding("recovery.not_found", count=rec.searched))
    return out


def read_or_recover(data: bytes, name: str, opts: VerifyOptions) -> Context:
    """Build the verification context: the file's type, its manifest, or a recovered one.

    Raises:
        ImageError: not a file c2pa reads, or a PNG/JPEG/WebP that is corrupt or a bomb.
        ConfigError: a malformed expected key token.
    """
    # 1a. What the file is. The header of a picture we decode is checked now (size bomb,
    # broken header); c2pa's hard binding covers every byte of a signed file.
    mime = _mime(data, name)
    if mime in DECODABLE:
        open_image(data, name=name, load=False).close()
    ctx = Context(
        data=data,
        name=name,
        mime=mime,
        options=opts,
        keyring=opts.keyring if opts.keyring is not None else Keyring.default(),
        post=read_post(opts.post_text) if opts.post_text is not None else None,
        expected_token=_expected_token(opts),
        own_token=_own_token(opts),
    )
    # 1b. The embedded manifest, as c2pa reads it (never fetched from a URL by default).
    ctx.store = manifest_store_bytes(data)
    try:
        ctx.read = c2pa_backend.read_manifest(data, mime, name=name, fetch_remote=opts.fetch_remote)
    except c2pa_backend.RemoteManifest as e:
        ctx.findings.append(finding("manifest.remote_not_fetched", {"url": e.url}, url=e.url))
    except c2pa_backend.UnreadableAsset as e:
        raise ImageError(e.text.en, e.text.ja) from e
    except c2pa_backend.UnsupportedFormat as e:
        raise ImageError(
            f"{name}: c2pa cannot read {format_name(mime)} files here.",
            f"{name}: {format_name(mime)} 形式は c2pa で読めません。",
        ) from e
    except ManifestError as e:
        if mime in DECODABLE and ctx.store is None:
            # No manifest in the container: c2pa tripped over a broken file, which is an
            # input error (one line), not a broken manifest.
            open_image(data, name=name).close()
        ctx.findings.append(finding("manifest.unreadable", detail=e.text))
    if ctx.read is not None and ctx.read.active is None:
        first = ctx.read.failure[0] if ctx.read.failure else None
        ctx.findings.append(
            finding(
                "manifest.no_active",
                {"c2pa": first.code if first else None},
                code=first.code if first else "-",
                explanation=(first.explanation if first else "") or "-",
            )
        )
    if ctx.read is not None or ctx.has("manifest.unreadable"):
        return ctx
    # 1c. No manifest: decode the pixels (a corrupt unsigned file is an error, since
    # nothing binds its bytes) and look for the manifest through soft binding.
    if mime not in DECODABLE:
        ctx.findings.append(finding("recovery.format_not_decodable", format=format_name(mime)))
        return ctx
    pixels: Image.Image = open_image(data, name=name)
    try:
        from myself_i2i.recovery import recover, repositories_for

        rec = recover(data, mime, name, repositories_for(opts), pixels)
    finally:
        pixels.close()
    if rec is None:
        return ctx
    ctx.findings.extend(_recovery_findings(ctx, rec))
    ctx.recovery = rec.info
    if rec.store is not None and rec.read is not None:
        ctx.store, ctx.read, ctx.detached = rec.store, rec.read, True
    return ctx
