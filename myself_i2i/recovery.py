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

This module returns typed results; the verifier turns them into findings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from PIL import Image

from myself_i2i._internal import c2pa_backend
from myself_i2i._internal.c2pa_backend import ManifestView, StatusKind, StoreRead
from myself_i2i._internal.containers import manifest_store_bytes
from myself_i2i.errors import MyselfI2IError
from myself_i2i.images import hamming_hex, open_image, perceptual_hash
from myself_i2i.softbinding import FINGERPRINT_ALG

if TYPE_CHECKING:
    from myself_i2i.repository import Repository

__all__ = [
    "FINGERPRINT_ALG",
    "FINGERPRINT_ROUTE_THRESHOLD",
    "RECOVERY_THRESHOLD",
    "ConflictFound",
    "Recovered",
    "check_candidate",
    "check_conflict",
    "other_signer_token",
    "recover",
    "repositories_for",
    "soft_binding_of",
]

#: Max pHash distance between a copy and the fingerprint signed in its manifest, on the
#: watermark route (where the manifest must also sign the decoded, CRC-checked locator).
#: Measured (bench/robustness.py): platform pipelines move it by <= 4 bits; unrelated
#: pictures were >= 12 bits from the nearest signed fingerprint (4,000 tried).
RECOVERY_THRESHOLD = 10
#: The same limit on the fingerprint-only route, where nothing else vouches for the match:
#: halfway between the worst pipeline (4) and the closest unrelated picture (12).
FINGERPRINT_ROUTE_THRESHOLD = 8


class RepositoryOptions(Protocol):
    """What :func:`repositories_for` needs of the verifier's options."""

    repositories: Sequence[Any]
    use_default_repositories: bool


@dataclass
class Recovered:
    """What recovery found. ``route`` is None when no manifest was accepted."""

    route: str | None
    store: bytes | None
    read: StoreRead | None
    info: dict[str, Any]
    rejected: list[dict[str, Any]] = field(default_factory=list)
    searched: int = 0


@dataclass(frozen=True)
class ConflictFound:
    """A manifest another key signed, which this picture's watermark leads to."""

    repository: str
    other_signer: str
    details: dict[str, Any]


def repositories_for(options: RepositoryOptions) -> list[Repository]:
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


def soft_binding_of(
    data: bytes, name: str, img: Image.Image | None = None
) -> tuple[bytes | None, str]:
    """(watermark locator or None, fingerprint hex) of a picture; ``img`` if already decoded.

    Raises:
        ImageError: the picture cannot be decoded.
    """
    from myself_i2i.softbinding.watermark import decode

    if img is None:
        with open_image(data, name=name) as decoded:
            return decode(decoded), perceptual_hash(decoded)
    return decode(img), perceptual_hash(img)


def check_candidate(
    data: bytes,
    mime: str,
    name: str,
    store: bytes,
    fp: str,
    locator: bytes | None,
    limit: int = RECOVERY_THRESHOLD,
) -> tuple[StoreRead | None, str | None, int | None]:
    """Step 3-4: (read, rejection reason, distance)."""
    try:
        read = c2pa_backend.read_manifest(data, mime, manifest_store=store, name=name)
    except MyselfI2IError as e:
        return None, f"manifest unreadable: {e.text.en}", None
    if read is None or read.active is None:
        return None, "no active manifest", None
    sb = read.active.soft_bindings()
    signed_fp = sb.get(FINGERPRINT_ALG)
    if signed_fp is None or len(signed_fp) != 8:
        return read, "the manifest carries no fingerprint", None
    dist = hamming_hex(fp, signed_fp.hex())
    if locator is not None:
        from myself_i2i.softbinding import WATERMARK_ALG

        if sb.get(WATERMARK_ALG) != locator:
            return read, "the manifest does not sign this watermark locator", dist
    if dist > limit:
        return read, f"fingerprint {dist} bits away (limit {limit})", dist
    return read, None, dist


def recover(
    data: bytes,
    mime: str,
    name: str,
    repos: Sequence[Repository],
    img: Image.Image | None = None,
) -> Recovered | None:
    """Find and check the manifest of a stripped copy. None when there is nowhere to look.

    ``img`` is the copy already decoded by the caller, if it was.
    """
    if not repos:
        return None
    locator, fp = soft_binding_of(data, name, img)
    rejected: list[dict[str, Any]] = []
    # 1. Watermark route.
    if locator is not None:
        for repo in repos:
            store = repo.get(locator)
            if store is None:
                continue
            read, why, dist = check_candidate(data, mime, name, store, fp, locator)
            if why is None and read is not None:
                return _found(
                    store,
                    read,
                    "watermark",
                    repo.name,
                    locator,
                    dist,
                    fp,
                    len(repos),
                    _published(repo, locator),
                )
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
            read, why, dist = check_candidate(
                data, mime, name, store, fp, None, FINGERPRINT_ROUTE_THRESHOLD
            )
            if why is None and read is not None:
                return _found(
                    store,
                    read,
                    "fingerprint",
                    repo.name,
                    cand.locator,
                    dist,
                    fp,
                    len(repos),
                    _published(repo, cand.locator),
                )
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
    return Recovered(
        route=None, store=None, read=None, info=info, rejected=rejected, searched=len(repos)
    )


def _published(repo: Repository, locator: bytes) -> str | None:
    """When ``repo`` first received the manifest (ISO 8601), if the repository records it:
    evidence in a dispute over who published first."""
    fn = getattr(repo, "first_published", None)
    try:
        when = fn(locator) if fn is not None else None
    except MyselfI2IError:
        return None  # the manifest was found; a missing time does not undo that
    return when.isoformat() if when is not None else None


def _found(
    store: bytes,
    read: StoreRead,
    route: str,
    repo: str,
    locator: bytes,
    dist: int | None,
    fp: str,
    searched: int,
    first_published: str | None = None,
) -> Recovered:
    info = {
        "route": route,
        "repository": repo,
        "locator": locator.hex(),
        "distance": dist,
        "fingerprint": fp,
        "firstPublished": first_published,
    }
    return Recovered(route=route, store=store, read=read, info=info, searched=searched)


def other_signer_token(data: bytes, mime: str, read: StoreRead, store: bytes) -> str | None:
    """The key token of a detached manifest's signer, if its signature and chain hold."""
    from myself_i2i.signers import confirm_signer

    for st in read.failure:
        if st.kind not in (StatusKind.UNTRUSTED, StatusKind.HARD_BINDING):
            return None  # an invalid manifest attributes nothing
    confirmed = confirm_signer(data, mime, store, detached=True)
    return confirmed.token if confirmed is not None else None


def check_conflict(
    data: bytes,
    mime: str,
    name: str,
    repos: Sequence[Repository],
    embedded: ManifestView,
    signer_token: str | None,
) -> list[ConflictFound]:
    """Conflicts when a signed image's watermark leads to another signer's manifest.

    Only runs when repositories are configured (decoding costs 30-60 ms). Steps:

    1. decode the locator watermark of the pixels; none → no conflict;
    2. look the locator up in each repository; a manifest is a *witness* only if it passes
       the same checks as a recovered one (valid, signs this locator, fingerprint within
       :data:`RECOVERY_THRESHOLD`) and c2pa confirms its signer's CA;
    3. a witness whose key token differs from ``signer_token`` (or any confirmed witness
       when the embedded signer is unconfirmed) is a conflict.

    The locator is looked up even when it equals the embedded manifest's own signed
    locator: copying another's locator into one's own soft-binding assertion must not hide
    the conflict.

    Raises:
        RepositoryError: a repository cannot be read.
    """
    if not repos:
        return []
    from myself_i2i.softbinding import WATERMARK_ALG
    from myself_i2i.softbinding.watermark import decode

    # 1. Decode.
    with open_image(data, name=name) as img:
        locator = decode(img)
        if locator is None:
            return []
        fp: str | None = None  # taken only when a repository has a candidate
        embedded_store = manifest_store_bytes(data)
        own_locator = embedded.soft_bindings().get(WATERMARK_ALG)
        # 2. Look up and check each witness.
        for repo in repos:
            store = repo.get(locator)
            if store is None:
                continue
            if signer_token is not None and store == embedded_store:
                # The very manifest this file carries (the signer's own copy, kept at
                # signing): its signer is the confirmed embedded one, so step 3 could
                # only find no conflict. Skipping it saves a fingerprint and two reads.
                continue
            if fp is None:
                fp = perceptual_hash(img)
            conflict = _witness_conflict(
                data, mime, name, repo, store, fp, locator, own_locator, signer_token
            )
            if conflict is not None:
                return [conflict]
    return []


def _witness_conflict(
    data: bytes,
    mime: str,
    name: str,
    repo: Repository,
    store: bytes,
    fp: str,
    locator: bytes,
    own_locator: bytes | None,
    signer_token: str | None,
) -> ConflictFound | None:
    """Steps 2-3 of :func:`check_conflict` for one repository's manifest."""
    read, why, dist = check_candidate(data, mime, name, store, fp, locator)
    if why is not None or read is None or read.active is None:
        return None
    other = other_signer_token(data, mime, read, store)
    # 3. Compare signers.
    if other is None or other == signer_token:
        return None
    return ConflictFound(
        repository=repo.name,
        other_signer=other,
        details={
            "repository": repo.name,
            "locator": locator.hex(),
            "signed_locator": own_locator.hex() if own_locator else None,
            "other_signer": other,
            "signer": signer_token,
            "distance": dist,
            "other_title": read.active.title,
        },
    )
