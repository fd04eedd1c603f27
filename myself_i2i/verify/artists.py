"""Checks of the artists' side: protected artworks, signed grants, protected sources.

* :class:`ProtectedArtwork` — the file itself is an artist's protected artwork (say who).
* :class:`Grants` — each ``permitted-by-grant`` source's grant, checked offline, and its
  revocation in the repositories; free-text ``permitted`` evidence is "claimed".
* :class:`ProtectedSources` — a declared source whose fingerprint leads, in the
  repositories, to another key's protected artwork, with no valid grant from that artist.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Any

from myself_i2i.errors import MyselfI2IError
from myself_i2i.i18n import Text, term
from myself_i2i.models import Relation, SourceRecord
from myself_i2i.report import Finding
from myself_i2i.verify.checks import Check
from myself_i2i.verify.context import Context
from myself_i2i.verify.messages import finding


def _signing_time(ctx: Context) -> dt.datetime:
    """When the image was signed: the time-stamp, else the time the pledge states."""
    raw = ctx.signer.signed_at if ctx.signer else None
    if raw is None and ctx.pledge is not None:
        raw = ctx.pledge.created
    if raw:
        try:
            t = dt.datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
            return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)
        except ValueError:
            pass
    return dt.datetime.now(dt.timezone.utc)


def _fields(src: SourceRecord) -> dict[str, str]:
    return {"sha256": src.sha256, "pixelSha256": src.pixel_sha256, "phash": src.phash}


class ProtectedArtwork(Check):
    """The file is a protected artwork: name the artist (its own signer check said who)."""

    name = "protected-artwork"

    def applies(self, ctx: Context) -> bool:
        from myself_i2i.models import PROTECTION_LABELS

        return ctx.manifest is not None and ctx.manifest.assertion(*PROTECTION_LABELS) is not None

    def run(self, ctx: Context) -> list[Finding]:
        from myself_i2i.models import PROTECTION_LABELS

        assert ctx.manifest is not None
        a = ctx.manifest.assertion(*PROTECTION_LABELS)
        assert a is not None
        data = a.data if isinstance(a.data, dict) else {}
        s = ctx.signer
        return [
            finding(
                "protection.artwork",
                {"token": s.token if s else None},
                artist=(s.name if s else None) or "?",
                token=(s.token if s else None) or Text("key not confirmed", "鍵は未確認"),
                created=str(data.get("created", "?")),
            )
        ]


class Grants(Check):
    """Permissions in the pledge: signed grants checked offline; free text is only claimed.

    For a ``permitted-by-grant`` source: 1. the grant's envelope, chain to a personal CA
    and signature; 2. made out to the signer's confirmed token, for i2i, for this source
    (hashes or fingerprint), valid when the image was signed; 3. a revocation by the same
    artist in the repositories: before signing → violated, after → said.
    """

    name = "grants"

    def applies(self, ctx: Context) -> bool:
        return ctx.pledge is not None and any(
            s.relation in (Relation.PERMITTED, Relation.PERMITTED_BY_GRANT)
            for s in ctx.pledge.sources
        )

    def run(self, ctx: Context) -> list[Finding]:
        from myself_i2i.grants import check_grant, find_revocation
        from myself_i2i.recovery import repositories_for

        assert ctx.pledge is not None
        out: list[Finding] = []
        at = _signing_time(ctx)
        signer = ctx.signer.token if ctx.signer else None
        repos: list[Any] | None = None
        for src in ctx.pledge.sources:
            if src.relation is Relation.PERMITTED:
                ev = src.evidence.to_dict() if src.evidence else {}
                out.append(
                    finding(
                        "permission.claimed_unverifiable",
                        {"source": src.title},
                        source=src.title,
                        evidence=" / ".join(ev.values()) or "-",
                    )
                )
                continue
            if src.relation is not Relation.PERMITTED_BY_GRANT:
                continue
            # 1-2. The grant itself.
            try:
                raw = base64.b64decode(src.grant or "", validate=True)
            except (binascii.Error, ValueError):
                raw = b""
            chk = check_grant(raw, grantee_token=signer, at=at, source_fields=_fields(src))
            g = chk.grant
            if not chk.ok or g is None:
                reason = Text(
                    "; ".join(t.en for _c, t in chk.problems) or "unreadable",
                    "、".join(t.ja for _c, t in chk.problems) or "読めません",
                )
                out.append(
                    finding(
                        "grant.invalid",
                        {"source": src.title, "problems": [c for c, _t in chk.problems]},
                        source=src.title,
                        reason=reason,
                    )
                )
                continue
            out.append(
                finding(
                    "grant.verified",
                    {"source": src.title, "grant": g.to_dict()},
                    source=src.title,
                    artist=g.grantor_name,
                    token=g.grantor_token,
                    match=Text(term(chk.match, "en"), term(chk.match, "ja")) if chk.match else "?",
                )
            )
            # 3. Revoked?
            if repos is None:
                try:
                    repos = list(repositories_for(ctx.options))
                except MyselfI2IError:
                    repos = []
            try:
                rev = find_revocation(g, repos)
            except MyselfI2IError:
                rev = None
            if rev is not None:
                code = "grant.revoked" if rev.revoked < at else "grant.revoked_after_signing"
                out.append(
                    finding(
                        code,
                        {"source": src.title, "grant": g.id, "reason": rev.reason},
                        source=src.title,
                        artist=g.grantor_name,
                        revoked=rev.revoked.isoformat(),
                        signed=at.isoformat(),
                    )
                )
        return out


class ProtectedSources(Check):
    """A declared source that is another key's protected artwork (found in the repositories).

    Steps: 1. search each repository by the source's signed fingerprint; 2. a candidate
    counts only if it is a protection manifest whose fingerprint is within the recovery
    limit and whose signer c2pa confirms (its signature checked with this file as the
    asset: only the hard binding may fail); 3. another key's protection, not covered by a
    verified grant from that same artist, violates the pledge.
    """

    name = "protected-sources"

    def applies(self, ctx: Context) -> bool:
        return ctx.pledge is not None and bool(ctx.pledge.sources)

    def run(self, ctx: Context) -> list[Finding]:
        from myself_i2i.grants import check_grant
        from myself_i2i.recovery import repositories_for

        assert ctx.pledge is not None
        try:
            repos = repositories_for(ctx.options)
        except MyselfI2IError:
            return []
        if not repos:
            return []
        signer = ctx.signer.token if ctx.signer else None
        at = _signing_time(ctx)
        out: list[Finding] = []
        for src in ctx.pledge.sources:
            # 1-2. Is it protected, and by whom?
            hit = _protection_for_fingerprint(ctx, src.phash, src.pixel_sha256, repos)
            if hit is None:
                continue
            artist, token, route = hit
            if token == signer:
                continue  # the signer's own protected artwork
            # 3. A verified grant from that artist?
            if src.relation is Relation.PERMITTED_BY_GRANT and src.grant:
                try:
                    raw = base64.b64decode(src.grant, validate=True)
                except (binascii.Error, ValueError):
                    raw = b""
                chk = check_grant(
                    raw,
                    grantee_token=signer,
                    at=at,
                    source_fields=_fields(src),
                    grantor_token=token,
                )
                if chk.ok:
                    continue
            out.append(
                finding(
                    "pledge.protected_source",
                    {"source": src.title, "artist": artist, "token": token, "route": route},
                    source=src.title,
                    artist=artist,
                    token=token,
                    route=route,
                )
            )
        return out


def _protection_for_fingerprint(
    ctx: Context, phash: str, pixels: str, repos: list[Any]
) -> tuple[str, str, str] | None:
    """(artist, token, how) of a confirmed protection manifest near ``phash``.

    ``how`` says "same pixels" when the source's pixel hash is the one the protection
    signed, else the fingerprint distance.
    """
    from myself_i2i._internal import c2pa_backend
    from myself_i2i.images import hamming_hex
    from myself_i2i.models import PROTECTION_LABELS
    from myself_i2i.recovery import FINGERPRINT_ROUTE_THRESHOLD
    from myself_i2i.signers import confirm_signer
    from myself_i2i.softbinding import FINGERPRINT_ALG

    ok_kinds = (c2pa_backend.StatusKind.UNTRUSTED, c2pa_backend.StatusKind.HARD_BINDING)
    for repo in repos:
        try:
            cands = repo.search(phash, FINGERPRINT_ROUTE_THRESHOLD)
        except MyselfI2IError:
            continue
        for cand in cands:
            try:
                store = repo.get(cand.locator)
                if store is None:
                    continue
                read = c2pa_backend.read_manifest(
                    ctx.data, ctx.mime, manifest_store=store, name=ctx.name
                )
            except MyselfI2IError:
                continue
            m = read.active if read is not None else None
            if read is None or m is None or m.assertion(*PROTECTION_LABELS) is None:
                continue
            if any(st.kind not in ok_kinds for st in read.failure):
                continue
            signed_fp = m.soft_bindings().get(FINGERPRINT_ALG)
            if signed_fp is None or len(signed_fp) != 8:
                continue
            dist = hamming_hex(phash, signed_fp.hex())
            if dist > FINGERPRINT_ROUTE_THRESHOLD:
                continue
            confirmed = confirm_signer(ctx.data, ctx.mime, store, detached=True)
            if confirmed is None or confirmed.token is None:
                continue
            name = (m.signature.common_name if m.signature else None) or "?"
            a = m.assertion(*PROTECTION_LABELS)
            signed_pixels = a.data.get("pixelSha256") if a and isinstance(a.data, dict) else None
            how = "same pixels" if signed_pixels == pixels else f"fingerprint {dist} bits"
            return name, confirmed.token, f"{how} in {repo.name}"
    return None
