"""The typed verification report: a verdict, findings with stable codes, and what was read.

The JSON form (:meth:`Report.to_dict`) is described by ``schemas/report.schema.json``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from myself_i2i.i18n import Lang, Text

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


@dataclass
class SignerInfo:
    name: str | None = None
    issuer: str | None = None
    token: str | None = None  #: key token of the personal CA, only when c2pa confirmed the chain
    trusted: bool = False
    trusted_name: str | None = None  #: the name in your keyring
    token_matches_post: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "issuer": self.issuer,
            "token": self.token,
            "trusted": self.trusted,
            "trustedName": self.trusted_name,
            "tokenMatchesPost": self.token_matches_post,
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
        }

    def lines(self, lang: Lang) -> list[str]:
        """A readable multi-line rendering for the terminal."""
        icon = {"verified": "✔", "recovered": "✔"}.get(self.verdict.value, "✘")
        if self.verdict in (Verdict.UNTRUSTED, Verdict.NO_PLEDGE, Verdict.UNSIGNED):
            icon = "?"
        out = [f"{icon} {self.image}: {self.verdict.value} — {self.summary.get(lang)}"]
        if self.signer:
            s = self.signer
            who = s.trusted_name or s.name or "?"
            if s.trusted:
                trust = "in your keyring" if lang == "en" else "キーリング登録済み"
            elif s.token_matches_post:
                trust = (
                    "matches the post's key token" if lang == "en" else "投稿のキートークンと一致"
                )
            else:
                trust = "not in your keyring" if lang == "en" else "キーリング未登録"
            out.append(
                f"  {'signer' if lang == 'en' else '署名者'}: {who} {s.token or ''} ({trust})"
            )
        if self.pledge:
            kind = self.pledge.get("kind")
            tags = " ".join(self.pledge.get("hashtags", []))
            out.append(f"  {'pledge' if lang == 'en' else '宣言'}: {kind} {tags}")
            for src in self.pledge.get("sources", []):
                out.append(
                    f"    - {src.get('title')}: {src.get('relation')} sha256:{src.get('sha256', '')[:12]}"
                )
            gen = self.pledge.get("generator") or {}
            if gen:
                loras = ", ".join(
                    f"{x['name']}{':' + str(x['weight']) if 'weight' in x else ''}"
                    for x in gen.get("loras", [])
                )
                out.append(
                    f"  {'generator' if lang == 'en' else '生成'}: {gen.get('software', '?')} / "
                    f"{gen.get('model', '?')}{' / LoRA: ' + loras if loras else ''}"
                )
        for f in self.findings:
            if f.severity is Severity.INFO and f.code.endswith(".ok"):
                continue
            mark = {"info": "·", "warning": "!", "error": "✘"}[f.severity.value]
            out.append(f"  {mark} [{f.code}] {f.text.get(lang)}")
        for ev in self.evidence:
            out.append(f"  ≈ {ev['message'][lang]}")
        return out
