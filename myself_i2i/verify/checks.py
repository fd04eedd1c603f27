"""The checks of the verification pipeline, in the order they run.

Each check looks at the :class:`~myself_i2i.verify.context.Context` and returns findings
(made with :func:`~myself_i2i.verify.messages.finding`); a few also record what they
established (the signer, the pledge) for later checks. No check decides the verdict:
:mod:`myself_i2i.verify.verdicts` does, from the finding codes.
"""

from __future__ import annotations

from typing import ClassVar

from myself_i2i._internal.c2pa_backend import TRAINED_ALGORITHMIC_MEDIA, StatusKind
from myself_i2i.errors import MyselfI2IError
from myself_i2i.formats import DECODABLE
from myself_i2i.i18n import Text
from myself_i2i.models import PledgeKind
from myself_i2i.pledge import PLEDGE_LABELS, Pledge, metadata_conflict, schema_errors
from myself_i2i.report import Finding, SignerInfo, Verdict
from myself_i2i.verify.context import Context
from myself_i2i.verify.messages import finding
from myself_i2i.verify.verdicts import verdict_of


class Check:
    """One rule: :meth:`applies` says whether it has anything to look at."""

    name: ClassVar[str] = "check"

    def applies(self, ctx: Context) -> bool:
        raise NotImplementedError

    def run(self, ctx: Context) -> list[Finding]:
        raise NotImplementedError


def _signed(ctx: Context) -> bool:
    return ctx.read is not None and ctx.manifest is not None


#: Why c2pa refused a credential, in words (codes from the C2PA spec, §15 validation).
_CREDENTIAL_REASONS: dict[str, Text] = {
    "signingCredential.expired": Text(
        "it had expired when it signed", "署名した時点で有効期限が切れていました"
    ),
    "claimSignature.outsideValidity": Text(
        "it signed outside its validity period", "有効期間外に署名されました"
    ),
    "signingCredential.revoked": Text("it has been revoked", "失効しています"),
    "signingCredential.ocsp.revoked": Text("it has been revoked", "失効しています"),
    "signingCredential.invalid": Text(
        "it does not meet the C2PA certificate profile (e.g. missing extended key usage, "
        "wrong key usage, or a CA certificate used to sign)",
        "C2PA の証明書プロファイルを満たしていません（拡張キー用途がない、鍵用途が違う、"
        "CA 証明書で署名しているなど）",
    ),
    "algorithm.unsupported": Text(
        "its signature algorithm is not allowed", "署名アルゴリズムが許可されていません"
    ),
}
_GENERIC_REASON = Text("the certificate was refused", "証明書が拒否されました")


class Integrity(Check):
    """The active manifest's own signature, hard binding and credential (c2pa's failures)."""

    name = "integrity"

    def applies(self, ctx: Context) -> bool:
        return ctx.read is not None  # also without an active manifest: its failures say why

    def run(self, ctx: Context) -> list[Finding]:
        assert ctx.read is not None
        out: list[Finding] = []
        for st in ctx.read.failure:
            kind = st.kind
            d = {"c2pa": st.code}
            if kind is StatusKind.HARD_BINDING:
                if not ctx.detached:  # a re-encoded copy cannot match: said by recovery
                    out.append(finding("hash.mismatch", d, code=st.code))
            elif kind is StatusKind.SIGNATURE:
                out.append(finding("signature.invalid", d, code=st.code))
            elif kind is StatusKind.ASSERTION:
                out.append(
                    finding(
                        "manifest.assertion_modified",
                        d,
                        code=st.code,
                        explanation=st.explanation or "-",
                    )
                )
            elif kind is StatusKind.CREDENTIAL:
                reason = _CREDENTIAL_REASONS.get(st.code, _GENERIC_REASON)
                out.append(finding("credential.invalid", d, code=st.code, reason=reason))
            elif kind is StatusKind.TIMESTAMP:
                if st.code != "timeStamp.untrusted":
                    out.append(
                        finding(
                            "timestamp.invalid", d, code=st.code, explanation=st.explanation or "-"
                        )
                    )
            elif kind is StatusKind.OTHER:
                out.append(
                    finding("manifest.invalid", d, code=st.code, explanation=st.explanation or "-")
                )
            # UNTRUSTED: no trust list is configured here; who signed is decided by the
            # signer checks. IDENTITY: see IdentityAssertions.
        if ctx.manifest is not None and not any(f.severity.value == "error" for f in out):
            out.append(finding("signature.ok_detached" if ctx.detached else "signature.ok"))
        return out


class Ingredients(Check):
    """c2pa-rs's overall Invalid through an ingredient's manifest is never a pass."""

    name = "ingredients"

    def applies(self, ctx: Context) -> bool:
        return _signed(ctx)

    def run(self, ctx: Context) -> list[Finding]:
        assert ctx.read is not None and ctx.manifest is not None
        ignore = (StatusKind.UNTRUSTED, StatusKind.IDENTITY)
        bad = [s.code for s in ctx.read.ingredient_failures if s.kind not in ignore]
        if bad:
            codes = ", ".join(dict.fromkeys(bad))
            return [finding("ingredient.invalid", {"c2pa": sorted(set(bad))}, codes=codes)]
        # What the signer recorded about an ingredient when using it: c2pa-rs accepts the
        # store (the history is honest), so this is said, not judged.
        recorded = [
            (i.title, s.code)
            for i in ctx.manifest.ingredients
            for s in i.failures
            if s.kind not in ignore
        ]
        if not recorded:
            return []
        titles = ", ".join(dict.fromkeys(t for t, _c in recorded))
        codes = ", ".join(dict.fromkeys(c for _t, c in recorded))
        return [
            finding(
                "ingredient.recorded_invalid",
                {"c2pa": sorted({c for _t, c in recorded})},
                titles=titles,
                codes=codes,
            )
        ]


class OverallState(Check):
    """Fail closed: if c2pa says Invalid and no other check explained why, say so."""

    name = "overall-state"

    def applies(self, ctx: Context) -> bool:
        return _signed(ctx) and ctx.read is not None and ctx.read.state.value == "Invalid"

    def run(self, ctx: Context) -> list[Finding]:
        assert ctx.read is not None
        explained = verdict_of(ctx.findings) in (
            Verdict.TAMPERED,
            Verdict.INVALID,
            Verdict.CREDENTIAL_INVALID,
        )
        if explained:
            return []
        ignorable = {StatusKind.UNTRUSTED, StatusKind.IDENTITY}
        if ctx.detached:
            ignorable.add(StatusKind.HARD_BINDING)
        unexplained = [
            s
            for s in (*ctx.read.failure, *ctx.read.ingredient_failures)
            if s.kind not in ignorable and s.code != "timeStamp.untrusted"
        ]
        if not unexplained and ctx.read.failure:
            return []  # only untrusted / identity / expected hard-binding results
        code = unexplained[0].code if unexplained else "Invalid"
        expl = unexplained[0].explanation if unexplained else "no reason given"
        return [finding("manifest.invalid", {"c2pa": code}, code=code, explanation=expl or "-")]


class IdentityAssertions(Check):
    """CAWG identity assertions: identity findings, never tampering."""

    name = "identity-assertions"

    def applies(self, ctx: Context) -> bool:
        return _signed(ctx)

    def run(self, ctx: Context) -> list[Finding]:
        assert ctx.read is not None and ctx.manifest is not None
        out: list[Finding] = []
        for ident in ctx.manifest.identities:
            out.append(
                finding(
                    "identity.assertion",
                    {"label": ident.label, "issuer": ident.issuer},
                    kind=ident.kind,
                    names=", ".join(ident.names) or "?",
                )
            )
        seen: set[str] = set()
        for st in (*ctx.read.failure, *ctx.read.informational):
            if st.kind is not StatusKind.IDENTITY or st.code in seen:
                continue
            seen.add(st.code)
            d = {"c2pa": st.code}
            if st.code.endswith(".untrusted"):
                out.append(finding("identity.untrusted", d, code=st.code))
            elif st in ctx.read.failure:
                out.append(
                    finding("identity.invalid", d, code=st.code, explanation=st.explanation or "-")
                )
        return out


class Signer(Check):
    """Who signed: the certificate, and the personal CA that c2pa confirms (its key token).

    Runs on a tampered file too (a report still names the signer), but never when the
    claim signature itself fails: a copied certificate chain proves nothing.
    """

    name = "signer"

    def applies(self, ctx: Context) -> bool:
        return _signed(ctx)

    def run(self, ctx: Context) -> list[Finding]:
        from myself_i2i.signers import confirm_signer

        assert ctx.manifest is not None
        sig = ctx.manifest.signature
        signer = SignerInfo(
            name=sig.common_name if sig else None,
            issuer=sig.issuer if sig else None,
            alg=sig.alg if sig else None,
        )
        if sig and sig.time:
            signer.signed_at, signer.signed_at_source = sig.time, "timestamp"
        ctx.signer = signer
        out: list[Finding] = []
        if sig is not None:
            out.append(
                finding(
                    "signer.identified",
                    name=sig.common_name or "?",
                    issuer=sig.issuer or "?",
                    alg=sig.alg or "?",
                )
            )
        if ctx.has("signature.invalid") or ctx.store is None:
            return out
        confirmed = confirm_signer(ctx.data, ctx.mime, ctx.store, detached=ctx.detached)
        if confirmed is None:
            out.append(finding("signer.chain_unconfirmed"))
        elif confirmed.token is None:
            out.append(finding("signer.not_personal_key", issuer=signer.issuer or "?"))
        else:
            signer.token = confirmed.token
        return out


class Trust(Check):
    """Whether the signer is someone you trust: your own key, your keyring; look-alikes."""

    name = "trust"

    def applies(self, ctx: Context) -> bool:
        return ctx.signer is not None

    def run(self, ctx: Context) -> list[Finding]:
        s = ctx.signer
        assert s is not None
        out: list[Finding] = []
        if s.token is not None and s.token == ctx.own_token:
            s.trusted, s.own, s.trusted_name = True, True, s.name
            out.append(finding("signer.own.ok", token=s.token))
        elif s.token is not None and (known := ctx.keyring.get(s.token)) is not None:
            s.trusted, s.trusted_name = True, known.name
            out.append(finding("signer.trusted.ok", name=known.name, token=s.token))
        if s.name and not s.trusted:
            others = [t for t in ctx.keyring.lookalikes(s.name) if t.token != s.token]
            if others:
                out.append(
                    finding(
                        "signer.impersonation",
                        {"expected": others[0].token, "actual": s.token},
                        name=s.name,
                        known=others[0].name,
                        expected=others[0].token,
                    )
                )
        return out


class Conflict(Check):
    """A signed image whose watermark leads to another signer's manifest."""

    name = "softbinding-conflict"

    def applies(self, ctx: Context) -> bool:
        return (
            _signed(ctx)
            and not ctx.detached
            and ctx.mime in DECODABLE
            and verdict_of(ctx.findings) is not Verdict.TAMPERED
        )

    def run(self, ctx: Context) -> list[Finding]:
        from myself_i2i.recovery import check_conflict, repositories_for
        from myself_i2i.repository import LocalRepository

        assert ctx.manifest is not None
        repos = repositories_for(ctx.options)
        token = ctx.signer.token if ctx.signer else None
        if ctx.signer is not None and ctx.signer.own:
            # Your own local repository holds only manifests signed with your own key: a
            # witness there can never be "another key" for a file signed with your key.
            # (A file signed by someone else is still checked against it: that is how you
            # find your own stripped picture re-signed by another.)
            own_root = LocalRepository.default_path().resolve()
            repos = [
                r
                for r in repos
                if not (isinstance(r, LocalRepository) and r.root.resolve() == own_root)
            ]
        out = []
        for c in check_conflict(ctx.data, ctx.mime, ctx.name, repos, ctx.manifest, token):
            out.append(
                finding(
                    "softbinding.conflict",
                    c.details,
                    repository=c.repository,
                    other=c.other_signer,
                    signer=token or Text("unconfirmed", "未確認"),
                )
            )
        return out


class Token(Check):
    """The expected key token (authoritative) or the post's, against the signer's.

    1. ``--key-token`` / the web form's field (the account's profile) decides; tokens in
       the post never override it, and differing ones are reported.
    2. Without it, the post's token decides only when the post names exactly one.
    """

    name = "token"

    def applies(self, ctx: Context) -> bool:
        return ctx.signer is not None and (
            ctx.expected_token is not None or bool(ctx.post and ctx.post.tokens)
        )

    def run(self, ctx: Context) -> list[Finding]:
        s = ctx.signer
        assert s is not None
        out: list[Finding] = []
        post_tokens = list(dict.fromkeys(ctx.post.tokens)) if ctx.post else []
        if ctx.expected_token is not None:
            expected = ctx.expected_token
            source = Text("given", "指定")
            others = [t for t in post_tokens if t != expected]
            if others:
                out.append(
                    finding(
                        "post.token_ignored",
                        {"post_tokens": others},
                        tokens=", ".join(others),
                        expected=expected,
                    )
                )
        elif len(post_tokens) > 1:
            out.append(
                finding(
                    "post.tokens_ambiguous", {"tokens": post_tokens}, tokens=", ".join(post_tokens)
                )
            )
            return out
        else:
            expected = post_tokens[0]
            source = Text("in the post", "投稿文")
        if s.token is not None and s.token == expected:
            s.token_matches_post = True
            out.append(finding("signer.token.ok", token=expected, source=source))
        else:
            s.token_matches_post = False
            out.append(
                finding(
                    "signer.token_mismatch",
                    {"expected": expected, "actual": s.token},
                    expected=expected,
                    source=source,
                    actual=s.token or Text("unconfirmed", "未確認"),
                )
            )
        return out


class PledgeCheck(Check):
    """The pledge assertion: schema, and consistent with the manifest's ingredients."""

    name = "pledge"

    def applies(self, ctx: Context) -> bool:
        return _signed(ctx)

    def run(self, ctx: Context) -> list[Finding]:
        m = ctx.manifest
        assert m is not None
        a = m.assertion(*PLEDGE_LABELS)
        if a is None:
            return [finding("pledge.missing")]
        raw = a.data if isinstance(a.data, dict) else {"_invalid": a.data}
        ctx.pledge_raw = raw
        errors = schema_errors(raw)
        if errors:
            return [finding("pledge.schema_invalid", {"errors": errors[:10]}, error=errors[0])]
        pledge = Pledge.from_assertion(raw)
        ctx.pledge = pledge
        if ctx.signer is not None and ctx.signer.signed_at is None and pledge.created:
            ctx.signer.signed_at, ctx.signer.signed_at_source = pledge.created, "claimed"
        out: list[Finding] = []
        inputs = [i for i in m.ingredients if i.relationship == "inputTo"]
        if pledge.kind is PledgeKind.T2I:
            if m.ingredients:
                titles = ", ".join(i.title for i in m.ingredients)
                out.append(
                    finding("pledge.t2i_has_ingredient", {"ingredients": titles}, titles=titles)
                )
            else:
                out.append(finding("pledge.t2i.ok"))
        else:
            by_key = {i.instance_id: i for i in inputs if i.instance_id}
            by_key.update({i.label: i for i in inputs if i.label})
            used: set[int] = set()
            for src in pledge.sources:
                ing = by_key.get(src.ingredient_label or "")
                if ing is None or id(ing) in used:
                    ing = next(
                        (i for i in inputs if i.title == src.title and id(i) not in used), None
                    )
                if ing is None:
                    out.append(
                        finding(
                            "pledge.source_without_ingredient",
                            {"source": src.title},
                            source=src.title,
                        )
                    )
                else:
                    used.add(id(ing))
            extra = [i for i in inputs if id(i) not in used]
            if extra:
                titles = ", ".join(i.title for i in extra)
                out.append(
                    finding("pledge.undeclared_input", {"ingredients": titles}, titles=titles)
                )
            if not out:
                rels = ", ".join(f"{s.title} ({s.relation.value})" for s in pledge.sources)
                out.append(finding("pledge.sources.ok", relations=rels))
        created = [x for x in m.actions if x.action == "c2pa.created"]
        if not any(x.digital_source_type == TRAINED_ALGORITHMIC_MEDIA for x in created):
            out.append(finding("pledge.not_declared_ai"))
        return out


class Metadata(Check):
    """The image's own generation metadata must not contradict the pledge."""

    name = "metadata"

    def applies(self, ctx: Context) -> bool:
        return (
            ctx.pledge is not None
            and ctx.options.check_metadata
            and not ctx.detached
            and ctx.mime in DECODABLE
        )

    def run(self, ctx: Context) -> list[Finding]:
        from myself_i2i.genmeta import read_generation_metadata
        from myself_i2i.images import open_image

        assert ctx.pledge is not None
        try:
            with open_image(ctx.data, name=ctx.name, load=False) as img:
                meta = read_generation_metadata(img)
        except MyselfI2IError as e:
            return [finding("metadata.unreadable", detail=e.text)]
        if meta is None:
            return []
        conflict = metadata_conflict(ctx.pledge.kind, len(ctx.pledge.sources), meta)
        if conflict is not None:
            return [
                finding(
                    "pledge.metadata_shows_inputs",
                    {"source": meta.source, "inputs": [x.name for x in meta.image_inputs]},
                    source=meta.source,
                    what=conflict,
                )
            ]
        return [finding("metadata.consistent.ok", source=meta.source)]


class Post(Check):
    """The post text's hashtags against the signed pledge."""

    name = "post"

    def applies(self, ctx: Context) -> bool:
        return ctx.post is not None and _signed(ctx)

    def run(self, ctx: Context) -> list[Finding]:
        post = ctx.post
        assert post is not None
        out: list[Finding] = []
        if post.lookalike_hashtags:
            out.append(
                finding(
                    "post.lookalike_hashtag",
                    {"hashtags": list(post.lookalike_hashtags)},
                    tags=" ".join(post.lookalike_hashtags),
                )
            )
        tags = " ".join(post.pledge_hashtags)
        if post.pledge_hashtags:
            present = ctx.pledge_raw is not None
            out.append(finding("post.hashtag.ok" if present else "post.pledge_missing", tags=tags))
        else:
            out.append(finding("post.no_hashtag"))
        kind = ctx.pledge.kind if ctx.pledge else None
        if kind is not None:
            if post.says_t2i and kind is not PledgeKind.T2I:
                out.append(finding("post.kind_mismatch"))
            if post.says_i2i and kind is PledgeKind.T2I:
                out.append(finding("post.says_i2i_on_t2i"))
        return out


class UnknownSigner(Check):
    """Fail closed: a pledge by a key nobody vouches for is not ``verified``."""

    name = "unknown-signer"

    def applies(self, ctx: Context) -> bool:
        s = ctx.signer
        return (
            s is not None
            and ctx.pledge is not None
            and not s.trusted
            and not s.token_matches_post
            and verdict_of(ctx.findings) in (Verdict.VERIFIED, Verdict.RECOVERED)
        )

    def run(self, ctx: Context) -> list[Finding]:
        s = ctx.signer
        assert s is not None
        if ctx.detached:
            return [finding("recovery.signer_unknown")]
        return [
            finding(
                "signer.unknown",
                {"token": s.token},
                token=s.token or Text("(none)", "（なし）"),
            )
        ]


class Completeness(Check):
    """Fail closed: ``verified`` needs positive evidence of each part, not just no complaint.

    A valid signature over an unchanged file, a pledge consistent with the manifest, and a
    signer someone vouches for. Anything the pipeline could not establish is said.
    """

    name = "completeness"

    #: each group needs one of its codes among the findings
    REQUIRED: ClassVar[tuple[tuple[str, ...], ...]] = (
        ("signature.ok",),
        ("pledge.t2i.ok", "pledge.sources.ok"),
        ("signer.own.ok", "signer.trusted.ok", "signer.token.ok"),
    )

    def applies(self, ctx: Context) -> bool:
        return verdict_of(ctx.findings) is Verdict.VERIFIED

    def run(self, ctx: Context) -> list[Finding]:
        missing = [g[0] for g in self.REQUIRED if not ctx.has(*g)]
        if not missing:
            return []
        return [
            finding("verification.incomplete", {"missing": missing}, missing=", ".join(missing))
        ]


class NoManifest(Check):
    """No manifest: nothing can be checked; a post's pledge claim is unverifiable."""

    name = "no-manifest"

    def applies(self, ctx: Context) -> bool:
        return ctx.read is None

    def run(self, ctx: Context) -> list[Finding]:
        out: list[Finding] = []
        if not ctx.has("manifest.remote_not_fetched", "manifest.unreadable"):
            out.append(finding("manifest.missing"))
        if ctx.post is not None and ctx.post.lookalike_hashtags:
            out.append(
                finding(
                    "post.lookalike_hashtag",
                    {"hashtags": list(ctx.post.lookalike_hashtags)},
                    tags=" ".join(ctx.post.lookalike_hashtags),
                )
            )
        if ctx.post is not None and ctx.post.pledge_hashtags:
            out.append(finding("post.claim_unverifiable", tags=" ".join(ctx.post.pledge_hashtags)))
        return out


from myself_i2i.verify.artists import Grants, ProtectedArtwork, ProtectedSources  # noqa: E402

#: The pipeline, in order. A new rule is a new check here and a line in the verdict table.
PIPELINE: tuple[Check, ...] = (
    NoManifest(),
    Integrity(),
    Ingredients(),
    IdentityAssertions(),
    OverallState(),
    Signer(),
    Trust(),
    Conflict(),
    Token(),
    PledgeCheck(),
    Metadata(),
    ProtectedArtwork(),
    Grants(),
    ProtectedSources(),
    Post(),
    UnknownSigner(),
    Completeness(),
)
