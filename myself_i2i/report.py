"""The typed verification report: a verdict, findings with stable codes, and what was read.

The JSON form (:meth:`Report.to_dict`) is described by ``schemas/report.schema.json``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from myself_i2i.i18n import Lang, Text, term

REPORT_VERSION = 1


class Verdict(str, enum.Enum):
    """The one-word answer. Ordered from best to worst in :data:`VERDICT_ORDER`."""

    VERIFIED = (
        "verified"  #: valid, untampered, pledge consistent, signer known or named in the post
    )
    RECOVERED = "recovered"  #: manifest found again for a re-encoded copy (soft binding)
    UNTRUSTED = (
        "untrusted-signer"  #: valid and consistent, but the key is not known to belong to anyone
    )
    NO_PLEDGE = "no-pledge"  #: validly signed, but the manifest makes no #Myself_i2i pledge
    UNSIGNED = "unsigned"  #: no manifest at all: nothing can be checked
    CREDENTIAL_INVALID = "credential-invalid"  #: intact signature, unacceptable certificate
    INVALID = "invalid"  #: c2pa judges the store invalid for another reason (e.g. an ingredient)
    WRONG_SIGNER = (
        "wrong-signer"  #: signed by a different key than the one the post or keyring names
    )
    CONTRADICTS_POST = "contradicts-post"  #: the post text claims something the manifest does not
    PLEDGE_VIOLATED = "pledge-violated"  #: the manifest itself breaks the pledge
    TAMPERED = "tampered"  #: signature invalid, pixels or bytes changed, or manifest damaged


VERDICT_ORDER: tuple[Verdict, ...] = tuple(Verdict)

#: CLI exit code per verdict (documented in the README). 2 is reserved for usage / input errors.
EXIT_CODES: dict[Verdict, int] = {
    Verdict.VERIFIED: 0,
    Verdict.RECOVERED: 10,
    Verdict.UNTRUSTED: 11,
    Verdict.NO_PLEDGE: 12,
    Verdict.UNSIGNED: 20,
    Verdict.CREDENTIAL_INVALID: 21,
    Verdict.INVALID: 22,
    Verdict.WRONG_SIGNER: 30,
    Verdict.CONTRADICTS_POST: 31,
    Verdict.PLEDGE_VIOLATED: 32,
    Verdict.TAMPERED: 33,
}

VERDICT_TEXT: dict[Verdict, Text] = {
    Verdict.VERIFIED: Text(
        "Verified: signed, unchanged, and the pledge holds.",
        "検証済み：署名があり、改変されておらず、宣言と矛盾しません。",
    ),
    Verdict.RECOVERED: Text(
        "Recovered: this copy has no embedded manifest, but its signed manifest was found again "
        "and matches the picture. The file itself cannot be checked byte for byte.",
        "復元：このコピーにはマニフェストがありませんが、署名済みマニフェストが見つかり絵と一致しました。"
        "ファイル自体のバイト単位の検証はできません。",
    ),
    Verdict.UNTRUSTED: Text(
        "Signed and unchanged, but the key is not known to belong to anyone you trust.",
        "署名があり改変もありませんが、信頼できる人の鍵かどうか分かりません。",
    ),
    Verdict.NO_PLEDGE: Text(
        "Signed, but it makes no #Myself_i2i pledge.",
        "署名はありますが、#Myself_i2i の宣言がありません。",
    ),
    Verdict.UNSIGNED: Text(
        "Unsigned: no provenance manifest, nothing can be checked.",
        "署名なし：来歴マニフェストがなく、何も確認できません。",
    ),
    Verdict.CREDENTIAL_INVALID: Text(
        "Bad certificate: the signature is intact, but the signing certificate is not "
        "acceptable (expired, revoked or not fit for signing).",
        "証明書に問題：署名自体は壊れていませんが、署名証明書が受け入れられません"
        "（期限切れ・失効・署名に使えない証明書）。",
    ),
    Verdict.INVALID: Text(
        "Invalid: c2pa judges the provenance invalid (e.g. an ingredient's manifest is broken "
        "or the manifest cannot be read).",
        "無効：c2pa が来歴を無効と判定しました（材料のマニフェストの破損、マニフェストが読めないなど）。",
    ),
    Verdict.WRONG_SIGNER: Text(
        "Wrong signer: signed by a different key than expected.",
        "署名者違い：想定と異なる鍵で署名されています。",
    ),
    Verdict.CONTRADICTS_POST: Text(
        "Contradicts the post: the post claims what the manifest does not.",
        "投稿と矛盾：投稿文の主張がマニフェストと合いません。",
    ),
    Verdict.PLEDGE_VIOLATED: Text(
        "Pledge violated: the manifest itself breaks the pledge.",
        "宣言違反：マニフェスト自体が宣言に反しています。",
    ),
    Verdict.TAMPERED: Text(
        "Tampered: the image or its manifest changed after signing.",
        "改ざん：署名後に画像またはマニフェストが変更されています。",
    ),
}


class Severity(str, enum.Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class Finding:
    """One thing the verifier found, with a stable machine code."""

    code: str
    severity: Severity
    text: Text
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.text.to_dict(),
        }
        if self.details:
            d["details"] = self.details
        return d


#: Verdicts that pass: shown with a tick, never with a cross.
PASSING: frozenset[Verdict] = frozenset({Verdict.VERIFIED})
#: Verdicts that say something is wrong (red).
FAILING: frozenset[Verdict] = frozenset(
    {
        Verdict.CREDENTIAL_INVALID,
        Verdict.INVALID,
        Verdict.WRONG_SIGNER,
        Verdict.CONTRADICTS_POST,
        Verdict.PLEDGE_VIOLATED,
        Verdict.TAMPERED,
    }
)


@dataclass
class SignerInfo:
    name: str | None = None  #: the signing certificate's common name
    issuer: str | None = None  #: the signing certificate's issuer (common name)
    alg: str | None = None
    token: str | None = None  #: key token of the personal CA, only when c2pa confirmed the chain
    trusted: bool = False
    trusted_name: str | None = None  #: the name in your keyring ("you" for your own key)
    own: bool = False  #: signed with this machine's own identity
    token_matches_post: bool | None = None  #: against the expected token (or the post's)
    signed_at: str | None = None  #: trusted time-stamp, else the time the pledge states
    signed_at_source: str | None = None  #: "timestamp" or "claimed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "issuer": self.issuer,
            "alg": self.alg,
            "token": self.token,
            "trusted": self.trusted,
            "trustedName": self.trusted_name,
            "own": self.own,
            "tokenMatchesPost": self.token_matches_post,
            "signedAt": self.signed_at,
            "signedAtSource": self.signed_at_source,
        }


@dataclass
class Report:
    """Everything the verifier found about one image."""

    image: str
    verdict: Verdict
    findings: list[Finding] = field(default_factory=list)
    signer: SignerInfo | None = None
    pledge: dict[str, Any] | None = None
    ingredients: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    validation_state: str | None = None
    validation_codes: dict[str, list[str]] = field(default_factory=dict)
    post: dict[str, Any] | None = None
    recovery: dict[str, Any] | None = None
    evidence: list[dict[str, Any]] = field(default_factory=list)
    thumbnails: dict[str, str] = field(default_factory=dict)  #: ingredient label -> data: URL
    #: manifests of the ingredients this one was made from (nearest first)
    parents: list[dict[str, Any]] = field(default_factory=list)
    #: CAWG identity assertions: who the signer says they are, and whether it was confirmed
    identities: list[dict[str, Any]] = field(default_factory=list)
    format: str | None = None  #: MIME type of the file as read

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

    @property
    def summary(self) -> Text:
        return VERDICT_TEXT[self.verdict]

    def has(self, code: str) -> bool:
        return any(f.code == code for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        """The JSON report (see ``schemas/report.schema.json``)."""
        return {
            "reportVersion": REPORT_VERSION,
            "image": self.image,
            "verdict": self.verdict.value,
            "summary": self.summary.to_dict(),
            "exitCode": self.exit_code,
            "findings": [f.to_dict() for f in self.findings],
            "signer": self.signer.to_dict() if self.signer else None,
            "pledge": self.pledge,
            "ingredients": self.ingredients,
            "actions": self.actions,
            "validation": {"state": self.validation_state, "codes": self.validation_codes},
            "post": self.post,
            "recovery": self.recovery,
            "evidence": self.evidence,
            "parents": self.parents,
            "identities": self.identities,
            "format": self.format,
        }

    def lines(self, lang: Lang, *, color: bool = False) -> list[str]:
        """A readable multi-line rendering for the terminal.

        Under a failing verdict, the secondary results are neutral: no ticks under a cross.
        """
        ja = lang == "ja"
        if self.verdict in PASSING:
            icon, tint = "✔", "32"
        elif self.verdict is Verdict.RECOVERED:
            icon, tint = "↺", "36"
        elif self.verdict in FAILING:
            icon, tint = "✘", "31"
        else:
            icon, tint = "?", "33"
        head = f"{icon} {self.image}: {self.summary.get(lang)}"
        out = [f"\x1b[{tint}m{head}\x1b[0m" if color else head]
        if self.signer:
            s = self.signer
            who = s.trusted_name or s.name or "?"
            if s.own:
                trust = "あなた自身の鍵" if ja else "your own key"
            elif s.trusted:
                trust = "キーリング登録済み" if ja else "in your keyring"
            elif s.token_matches_post:
                trust = "想定のキートークンと一致" if ja else "matches the expected key token"
            elif s.token_matches_post is False:
                trust = (
                    "想定のキートークンと不一致" if ja else "does not match the expected key token"
                )
            else:
                trust = "キーリング未登録" if ja else "not in your keyring"
            issuer = (
                f"{'発行者' if ja else 'issued by'} {s.issuer}" if s.issuer and not s.token else ""
            )
            parts = [p for p in (who, s.token or "", issuer) if p]
            out.append(
                f"  {'署名者' if ja else 'signer'}: {' '.join(parts)}（{trust}）"
                if ja
                else f"  signer: {' '.join(parts)} ({trust})"
            )
            if s.signed_at:
                how = {
                    "timestamp": ("time-stamped", "タイムスタンプ"),
                    "claimed": ("as stated by the signer", "署名者の申告"),
                }.get(s.signed_at_source or "", ("", ""))
                out.append(
                    f"  {'署名日時' if ja else 'signed'}: {s.signed_at}"
                    + (f"（{how[1]}）" if ja and how[1] else f" ({how[0]})" if how[0] else "")
                )
        if self.pledge:
            kind = self.pledge.get("kind")
            tags = " ".join(self.pledge.get("hashtags", []))
            out.append(f"  {'宣言' if ja else 'pledge'}: {term(kind, lang) if ja else kind} {tags}")
            for src in self.pledge.get("sources", []):
                out.append(
                    f"    - {src.get('title')}: "
                    f"{term(src.get('relation'), lang) if ja else src.get('relation')}"
                    f" sha256:{src.get('sha256', '')[:12]}"
                )
            gen = self.pledge.get("generator") or {}
            if gen:
                loras = ", ".join(
                    f"{x['name']}{':' + str(x['weight']) if 'weight' in x else ''}"
                    for x in gen.get("loras", [])
                )
                out.append(
                    f"  {'生成' if ja else 'generator'}: {gen.get('software', '?')} / "
                    f"{gen.get('model', '?')}{' / LoRA: ' + loras if loras else ''}"
                )
        failing = self.verdict in FAILING
        for f in self.findings:
            if f.severity is Severity.INFO and f.code.endswith(".ok"):
                continue
            if failing and f.severity is not Severity.ERROR:
                mark = "·"
            else:
                mark = {"info": "·", "warning": "!", "error": "✘"}[f.severity.value]
            out.append(f"  {mark} {f.text.get(lang)}")
        for ev in self.evidence:
            out.append(f"  ≈ {ev['message'][lang]}")
        return out
