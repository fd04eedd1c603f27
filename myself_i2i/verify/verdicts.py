"""The one table from finding code to verdict. The worst verdict of any finding wins.

A code that is not in the table never changes the verdict (an informational finding).
When no finding maps to anything worse, the image is ``verified``.
"""

from __future__ import annotations

from collections.abc import Iterable

from myself_i2i.report import VERDICT_ORDER, Finding, Verdict

V = Verdict

VERDICT_OF: dict[str, Verdict] = {
    # reading
    "manifest.missing": V.UNSIGNED,
    "manifest.remote_not_fetched": V.UNSIGNED,
    "manifest.unreadable": V.INVALID,
    # recovery: a recovered manifest can never be better than "recovered"
    "recovery.watermark": V.RECOVERED,
    "recovery.fingerprint": V.RECOVERED,
    # integrity of this file and its manifest
    "hash.mismatch": V.TAMPERED,
    "signature.invalid": V.TAMPERED,
    "manifest.assertion_modified": V.TAMPERED,
    "credential.invalid": V.CREDENTIAL_INVALID,
    "timestamp.invalid": V.CREDENTIAL_INVALID,
    "ingredient.invalid": V.INVALID,
    "manifest.invalid": V.INVALID,
    "manifest.no_active": V.INVALID,
    "verification.incomplete": V.INVALID,
    # the signer
    "signer.impersonation": V.WRONG_SIGNER,
    "signer.token_mismatch": V.WRONG_SIGNER,
    "softbinding.conflict": V.WRONG_SIGNER,
    "signer.unknown": V.UNTRUSTED,
    # the pledge
    "pledge.missing": V.NO_PLEDGE,
    "pledge.schema_invalid": V.PLEDGE_VIOLATED,
    "pledge.t2i_has_ingredient": V.PLEDGE_VIOLATED,
    "pledge.source_without_ingredient": V.PLEDGE_VIOLATED,
    "pledge.undeclared_input": V.PLEDGE_VIOLATED,
    "pledge.metadata_shows_inputs": V.PLEDGE_VIOLATED,
    # the artists' side: grants and protected sources
    "grant.invalid": V.PLEDGE_VIOLATED,
    "grant.revoked": V.PLEDGE_VIOLATED,
    "pledge.protected_source": V.PLEDGE_VIOLATED,
    # the post
    "post.pledge_missing": V.CONTRADICTS_POST,
    "post.kind_mismatch": V.CONTRADICTS_POST,
}


def verdict_of(findings: Iterable[Finding]) -> Verdict:
    """The worst verdict any finding maps to; ``verified`` when none maps to anything.

    No findings at all is never ``verified`` (nothing was checked): ``invalid``.
    """
    items = list(findings)
    if not items:
        return V.INVALID
    worst = V.VERIFIED
    for f in items:
        v = VERDICT_OF.get(f.code)
        if v is not None and VERDICT_ORDER.index(v) > VERDICT_ORDER.index(worst):
            worst = v
    return worst
