"""Recovering the manifest of a copy whose embedded manifest was stripped (soft binding).

Steps of :func:`recover`:

1. decode the locator watermark; look the locator up in each repository;
2. failing that, search the repositories by perceptual fingerprint (candidates only);
3. for each manifest found, validate it with c2pa exactly as an embedded one (the hard
   binding cannot match a re-encoded copy, so only that failure is set aside);
4. require that the copy's fingerprint is within :data:`RECOVERY_THRESHOLD` of the
   fingerprint signed in the manifest, and for the watermark route that the manifest's
   signed locator is the decoded one: a watermark alone is never enough, and a manifest
   for a very different picture is rejected.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PIL import Image

from myself_i2i._internal import c2pa_backend
from myself_i2i.errors import MyselfI2IError
from myself_i2i.i18n import Text
from myself_i2i.images import hamming_hex, open_image, perceptual_hash
from myself_i2i.report import Finding, Severity

if TYPE_CHECKING:
    from myself_i2i.repository import Repository
    from myself_i2i.verify import VerifyOptions

#: Max pHash distance between a copy and the fingerprint signed in its manifest, on the
#: watermark route (where the manifest must also sign the decoded, CRC-checked locator).
#: Measured (bench/robustness.py): platform pipelines move it by <= 4 bits; unrelated
#: pictures were >= 12 bits from the nearest signed fingerprint (4,000 tried).
RECOVERY_THRESHOLD = 10
#: The same limit on the fingerprint-only route, where nothing else vouches for the match:
#: halfway between the worst pipeline (4) and the closest unrelated picture (12).
FINGERPRINT_ROUTE_THRESHOLD = 8
FINGERPRINT_ALG = "org.myself-i2i.fingerprint.phash64.1"


@dataclass
class Recovered:
    store: bytes | None
    read: c2pa_backend.ManifestRead | None
    info: dict[str, Any]
    findings: list[Finding] = field(default_factory=list)


def soft_bindings(manifest: dict[str, Any]) -> dict[str, bytes]:
    """alg → value of the manifest's ``c2pa.soft-binding`` assertions."""
    out: dict[str, bytes] = {}
    for a in manifest.get("assertions", []):
        if not isinstance(a, dict) or not str(a.get("label", "")).startswith("c2pa.soft-binding"):
            continue
        data = a.get("data") or {}
        for block in data.get("blocks", []):
            try:
                out[str(data.get("alg"))] = base64.b64decode(str(block.get("value", "")))
            except ValueError:
                continue
    return out


def repositories_for(options: VerifyOptions) -> list[Repository]:
    """The repositories to search: given ones, then configured defaults and the local one."""
    from myself_i2i.repository import (
        LocalRepository,
        configured_repositories,
        open_repository,
    )

    repos: list[Repository] = list(options.repositories)
    if options.use_default_repositories:
        for spec in configured_repositories():
            repos.append(open_repository(spec))
        if (LocalRepository.default_path() / "index.sqlite").exists():
            repos.append(LocalRepository.open(LocalRepository.default_path()))
    return repos


def _check_candidate(
    data: bytes,
    mime: str,
    name: str,
    store: bytes,
    fp: str,
    locator: bytes | None,
    limit: int = RECOVERY_THRESHOLD,
) -> tuple[c2pa_backend.ManifestRead | None, str | None, int | None]:
    """Step 3-4: (read, rejection reason, distance)."""
    try:
        read = c2pa_backend.read_manifest(data, mime, manifest_store=store, name=name)
    except MyselfI2IError as e:
        return None, f"manifest unreadable: {e.text.en}", None
    if read is None or read.active is None:
        return None, "no active manifest", None
    sb = soft_bindings(read.active)
    signed_fp = sb.get(FINGERPRINT_ALG)
    if signed_fp is None or len(signed_fp) != 8:
        return read, "the manifest carries no fingerprint", None
    dist = hamming_hex(fp, signed_fp.hex())
    if locator is not None:
        from myself_i2i.softbinding.watermark import WATERMARK_ALG

        if sb.get(WATERMARK_ALG) != locator:
            return read, "the manifest does not sign this watermark locator", dist
    if dist > limit:
        return read, f"fingerprint {dist} bits away (limit {limit})", dist
    return read, None, dist


def recover(
    data: bytes,
    mime: str,
    name: str,
    options: VerifyOptions,
    img: Image.Image | None = None,
) -> Recovered | None:
    """Find and check the manifest of a stripped copy. None when nothing was found at all.

    ``img`` is the copy already decoded by the caller, if it was.
    """
    repos: Sequence[Repository] = repositories_for(options)
    if not repos:
        return None
    from myself_i2i.softbinding.watermark import decode

    if img is None:
        with open_image(data, name=name) as decoded:
            locator, fp = decode(decoded), perceptual_hash(decoded)
    else:
        locator, fp = decode(img), perceptual_hash(img)
    rejected: list[dict[str, Any]] = []
    # 1. Watermark route.
    if locator is not None:
        for repo in repos:
            store = repo.get(locator)
            if store is None:
                continue
            read, why, dist = _check_candidate(data, mime, name, store, fp, locator)
            if why is None and read is not None:
                return _found(store, read, "watermark", repo.name, locator, dist, fp)
            rejected.append(
                {
                    "route": "watermark",
                    "repository": repo.name,
                    "locator": locator.hex(),
                    "reason": why,
                    "distance": dist,
                }
            )
    # 2. Fingerprint route.
    for repo in repos:
        for cand in repo.search(fp, FINGERPRINT_ROUTE_THRESHOLD):
            store = repo.get(cand.locator)
            if store is None:
                continue
            read, why, dist = _check_candidate(
                data, mime, name, store, fp, None, FINGERPRINT_ROUTE_THRESHOLD
            )
            if why is None and read is not None:
                return _found(store, read, "fingerprint", repo.name, cand.locator, dist, fp)
            rejected.append(
                {
                    "route": "fingerprint",
                    "repository": repo.name,
                    "locator": cand.locator.hex(),
                    "reason": why,
                    "distance": dist,
                }
            )
    info: dict[str, Any] = {
        "route": None,
        "watermark": locator.hex() if locator else None,
        "fingerprint": fp,
        "rejected": rejected,
        "searched": [r.name for r in repos],
    }
    findings = [
        Finding(
            "recovery.rejected",
            Severity.WARNING,
            Text(
                f"A manifest was found ({r['route']}) but rejected: {r['reason']}. No attribution is made.",
                f"マニフェストが見つかりましたが（{r['route']}）採用しません：{r['reason']}。帰属は判断しません。",
            ),
            {k: v for k, v in r.items() if v is not None},
        )
        for r in rejected
    ]
    if not rejected:
        findings.append(
            Finding(
                "recovery.not_found",
                Severity.INFO,
                Text(
                    f"No manifest for this picture in {len(repos)} repository(ies).",
                    f"{len(repos)} 個のリポジトリにこの絵のマニフェストはありません。",
                ),
            )
        )
    return Recovered(store=None, read=None, info=info, findings=findings)


def _found(
    store: bytes,
    read: c2pa_backend.ManifestRead,
    route: str,
    repo: str,
    locator: bytes,
    dist: int | None,
    fp: str,
) -> Recovered:
    route_text = {
        "watermark": Text("recovered by watermark", "透かしから復元"),
        "fingerprint": Text("recovered by fingerprint", "指紋（知覚ハッシュ）から復元"),
    }[route]
    findings = [
        Finding(
            f"recovery.{route}",
            Severity.INFO,
            Text(
                f"This copy has no embedded manifest; its manifest was {route_text.en} from {repo} "
                f"(fingerprint {dist} bits from the signed one). The hard binding cannot be checked "
                "on a re-encoded copy: the pixels are only shown to be perceptually the same.",
                f"このコピーにはマニフェストがなく、{repo} から{route_text.ja}しました（署名済み指紋との差 "
                f"{dist} ビット）。再エンコードされたコピーではハードバインディングを検証できず、"
                "見た目が同じであることだけが示されます。",
            ),
            {"repository": repo},
        ),
        Finding(
            "hash.not_checkable",
            Severity.WARNING,
            Text(
                "Byte-exact integrity cannot be checked on a re-encoded copy.",
                "再エンコードされたコピーではバイト単位の完全性を検証できません。",
            ),
        ),
    ]
    if route == "fingerprint":
        findings.append(
            Finding(
                "recovery.fingerprint_only",
                Severity.WARNING,
                Text(
                    "Found by fingerprint only (no watermark): near-identical variants of one picture "
                    "cannot be told apart this way.",
                    "透かしではなく指紋だけで見つかりました：同じ絵のごく近い別版はこの方法では区別できません。",
                ),
            )
        )
    info = {
        "route": route,
        "repository": repo,
        "locator": locator.hex(),
        "distance": dist,
        "fingerprint": fp,
    }
    return Recovered(store=store, read=read, info=info, findings=findings)


def _other_signer_token(
    data: bytes, mime: str, read: c2pa_backend.ManifestRead, store: bytes
) -> str | None:
    """The key token of a detached manifest's signer, if its signature and chain hold."""
    from myself_i2i.identity import token_for_cert
    from myself_i2i.verify import confirmed_signer_ca

    hard_binding = ("assertion.dataHash.mismatch", "assertion.boxesHash.mismatch")
    for f in read.failure:
        code = str(f.get("code", ""))
        if code != "signingCredential.untrusted" and code not in hard_binding:
            return None  # an invalid manifest attributes nothing
    ca = confirmed_signer_ca(data, mime, store, detached=True)
    if ca is None:
        return None
    try:
        return token_for_cert(ca)
    except MyselfI2IError:
        return None


def check_conflict(
    data: bytes,
    mime: str,
    name: str,
    options: VerifyOptions,
    embedded_manifest: dict[str, Any],
    signer_token: str | None,
) -> list[Finding]:
    """Findings when a signed image's watermark leads to another signer's manifest.

    Only runs when repositories are configured (decoding costs 30-60 ms). Steps:

    1. decode the locator watermark of the pixels; none → no conflict;
    2. look the locator up in each repository; a manifest is a *witness* only if it passes
       the same checks as a recovered one (valid, signs this locator, fingerprint within
       :data:`RECOVERY_THRESHOLD`) and c2pa confirms its signer's CA;
    3. a witness whose key token differs from ``signer_token`` (or any confirmed witness
       when the embedded signer is unconfirmed) is a conflict: error ``softbinding.conflict``.

    The locator is looked up even when it equals the embedded manifest's own signed
    locator: copying another's locator into one's own soft-binding assertion must not hide
    the conflict. The caller turns a conflict into the ``wrong-signer`` verdict.

    Raises:
        RepositoryError: a repository cannot be read.
    """
    repos: Sequence[Repository] = repositories_for(options)
    if not repos:
        return []
    from myself_i2i.softbinding.watermark import WATERMARK_ALG, decode

    # 1. Decode.
    with open_image(data, name=name) as img:
        locator = decode(img)
        if locator is None:
            return []
        fp = perceptual_hash(img)
    own_locator = soft_bindings(embedded_manifest).get(WATERMARK_ALG)
    findings: list[Finding] = []
    # 2. Look up and check each witness.
    for repo in repos:
        store = repo.get(locator)
        if store is None:
            continue
        read, why, dist = _check_candidate(data, mime, name, store, fp, locator)
        if why is not None or read is None or read.active is None:
            continue
        other = _other_signer_token(data, mime, read, store)
        # 3. Compare signers.
        if other is None or other == signer_token:
            continue
        findings.append(
            Finding(
                "softbinding.conflict",
                Severity.ERROR,
                Text(
                    f"The picture's invisible watermark points to a manifest in {repo.name} signed "
                    f"by another key ({other}), not by this image's signer "
                    f"({signer_token or 'unconfirmed'}). Someone may have stripped a signed picture "
                    "and signed it again as their own.",
                    f"画像の不可視透かしは {repo.name} にある別の鍵（{other}）のマニフェストを指して"
                    f"おり、この画像の署名者（{signer_token or '未確認'}）のものではありません。"
                    "署名済みの絵からマニフェストを削除し、自分のものとして署名し直した可能性があります。",
                ),
                {
                    "repository": repo.name,
                    "locator": locator.hex(),
                    "signed_locator": own_locator.hex() if own_locator else None,
                    "other_signer": other,
                    "signer": signer_token,
                    "distance": dist,
                    "other_title": read.active.get("title"),
                },
            )
        )
        break
    return findings
