"""Verification: what a downloaded file proves about the #Myself_i2i pledge.

:func:`verify_image` returns a :class:`~myself_i2i.report.Report` and fails closed: a
verdict of ``verified`` needs a present, valid, untampered manifest, a schema-valid and
consistent pledge, and a signer who is you, in your keyring, or named by the expected key
token. Anything not checked is never reported as verified.

The shape (see ``docs/verification.md``)::

    ctx = read_or_recover(data, name, options)    # 1. typed view of the manifest
    for check in PIPELINE:                         # 2. small checks add findings
        if check.applies(ctx):
            ctx.findings.extend(check.run(ctx))
    verdict = verdict_of(ctx.findings)             # 3. one table: finding code -> verdict
"""

from __future__ import annotations

from pathlib import Path

from myself_i2i._internal import c2pa_backend
from myself_i2i._internal.containers import manifest_store_bytes
from myself_i2i.errors import ImageError, MyselfI2IError
from myself_i2i.formats import DECODABLE, format_name, sniff_mime
from myself_i2i.identity import Identity
from myself_i2i.images import check_path
from myself_i2i.models import PledgeKind
from myself_i2i.pledge import PLEDGE_LABELS, schema_errors
from myself_i2i.report import Report
from myself_i2i.verify.checks import PIPELINE
from myself_i2i.verify.context import Context
from myself_i2i.verify.options import VerifyOptions
from myself_i2i.verify.reading import read_or_recover
from myself_i2i.verify.verdicts import verdict_of

__all__ = ["VerifyOptions", "own_t2i_generation", "verify_bytes", "verify_image"]


def verify_bytes(data: bytes, name: str, options: VerifyOptions | None = None) -> Report:
    """Verify a file given as bytes (the web app's entry point). See :func:`verify_image`.

    Raises:
        ImageError: not a file c2pa reads, or a corrupt / oversized picture.
        ConfigError: a malformed expected key token.
        RepositoryError: a configured manifest repository cannot be read.
    """
    opts = options or VerifyOptions()
    # 1. Read.
    ctx = read_or_recover(data, name, opts)
    # 2. Check.
    for check in PIPELINE:
        if check.applies(ctx):
            ctx.findings.extend(check.run(ctx))
    # 3. Decide, and report.
    report = _report(ctx)
    if opts.include_thumbnails:
        report.thumbnails = _thumbnails(ctx)
    _evidence(report, ctx)
    return report


def _report(ctx: Context) -> Report:
    m = ctx.manifest
    read = ctx.read
    report = Report(
        image=ctx.name,
        verdict=verdict_of(ctx.findings),
        findings=ctx.findings,
        signer=ctx.signer,
        pledge=ctx.pledge_raw if ctx.pledge is not None else None,
        post=ctx.post.to_dict() if ctx.post else None,
        recovery=ctx.recovery,
        format=ctx.mime,
    )
    if m is not None and read is not None:
        report.ingredients = [
            {
                k: v
                for k, v in (
                    ("title", i.title),
                    ("format", i.format),
                    ("relationship", i.relationship),
                    ("instance_id", i.instance_id),
                    ("label", i.label),
                )
                if v is not None
            }
            for i in m.ingredients
        ]
        report.actions = [a.to_dict() for a in m.actions]
        report.validation_state = read.state.value
        report.validation_codes = {
            "failure": read.codes("failure"),
            "success": sorted(set(read.codes("success"))),
        }
        if read.ingredient_failures:
            report.validation_codes["ingredientFailure"] = sorted(
                {s.code for s in read.ingredient_failures}
            )
        report.parents = [
            {
                "title": p.title,
                "format": p.format,
                "claimGenerator": p.claim_generator,
                "signer": p.signature.common_name if p.signature else None,
                "issuer": p.signature.issuer if p.signature else None,
                "actions": [a.to_dict() for a in p.actions],
            }
            for p in read.parents()
        ]
        report.identities = [
            {"kind": i.kind, "names": list(i.names), "issuer": i.issuer, "label": i.label}
            for i in m.identities
        ]
    return report


def _thumbnails(ctx: Context) -> dict[str, str]:
    """Claim and ingredient thumbnails as data: URLs, keyed "claim" / ingredient key."""
    import base64

    from myself_i2i.errors import ManifestError

    m = ctx.manifest
    if m is None:
        return {}
    wanted: dict[str, tuple[str, str]] = {}
    if m.thumbnail_id:
        wanted["claim"] = (m.thumbnail_id, m.thumbnail_format or "image/jpeg")
    for ing in m.ingredients:
        if ing.thumbnail_id:
            wanted[ing.key] = (ing.thumbnail_id, ing.thumbnail_format or "image/jpeg")
    try:
        blobs = c2pa_backend.resources(
            ctx.data,
            ctx.mime,
            [uri for uri, _fmt in wanted.values()],
            manifest_store=ctx.store if ctx.detached else None,
        )
    except ManifestError:
        return {}
    out: dict[str, str] = {}
    for key, (uri, fmt) in wanted.items():
        blob = blobs.get(uri)
        if blob is not None and fmt.startswith("image/"):
            out[key] = f"data:{fmt};base64,{base64.b64encode(blob).decode()}"
    return out


def _evidence(report: Report, ctx: Context) -> None:
    """Step 4 (optional): compare with the illustrator's originals."""
    if not ctx.options.against:
        return
    from myself_i2i.evidence_check import compare_with_original, not_decodable

    for original in ctx.options.against:
        if ctx.mime not in DECODABLE:
            report.evidence.append(not_decodable(Path(original), format_name(ctx.mime)))
            continue
        report.evidence.append(
            compare_with_original(ctx.data, ctx.name, Path(original), report.pledge)
        )


def verify_image(path: Path, options: VerifyOptions | None = None) -> Report:
    """Verify the file at ``path``.

    Raises:
        InputError, ImageError: the file is missing, not a file c2pa reads, corrupt or too large.
        ConfigError: a malformed ``key_token``.
    """
    check_path(path)
    return verify_bytes(path.read_bytes(), str(path), options)


def own_t2i_generation(path: Path, identity: Identity) -> bool:
    """True when ``path`` carries a valid, untampered t2i pledge signed by ``identity``."""
    from myself_i2i.signers import confirm_signer

    try:
        data = path.read_bytes()
        store = manifest_store_bytes(data)
        mime = sniff_mime(data)
        if store is None or mime is None:
            return False
        read = c2pa_backend.read_manifest(data, mime, name=str(path))
    except (OSError, MyselfI2IError):
        return False
    if read is None or read.failure or read.active is None:
        return False
    a = read.active.assertion(*PLEDGE_LABELS)
    pledge = a.data if a is not None else None
    if not isinstance(pledge, dict) or schema_errors(pledge):
        return False
    if pledge.get("kind") != PledgeKind.T2I.value:
        return False
    confirmed = confirm_signer(data, mime, store)
    return confirmed is not None and confirmed.token == identity.token


_ = ImageError  # re-exported for callers catching verification errors
