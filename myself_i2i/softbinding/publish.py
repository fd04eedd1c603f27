"""Reading the soft bindings and manifest store out of signed images, for ``publish``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from myself_i2i._internal import c2pa_backend
from myself_i2i._internal.containers import manifest_store_bytes
from myself_i2i.errors import ManifestError
from myself_i2i.i18n import Text
from myself_i2i.images import SUPPORTED_FORMATS, check_path, open_image


def manifests_of_images(paths: Sequence[Path]) -> list[tuple[bytes, bytes | None, str, str]]:
    """(manifest store, locator, fingerprint hex, title) of each signed image.

    Raises:
        InputError, ImageError: a file cannot be read.
        ManifestError: an image has no manifest or no fingerprint soft binding.
    """
    from myself_i2i.softbinding import FINGERPRINT_ALG, WATERMARK_ALG

    out: list[tuple[bytes, bytes | None, str, str]] = []
    for p in paths:
        data = check_path(p).read_bytes()
        with open_image(data, name=str(p), load=False) as img:
            mime = SUPPORTED_FORMATS[str(img.format)]  # MPO (camera JPEG) maps to image/jpeg
        store = manifest_store_bytes(data)
        read = c2pa_backend.read_manifest(data, mime, name=str(p)) if store else None
        if store is None or read is None or read.active is None:
            raise ManifestError(
                f"{p}: has no embedded manifest to publish. Publish the signed original.",
                f"{p}: 公開できる埋め込みマニフェストがありません。署名済みの元ファイルを指定してください。",
            )
        sb = read.active.soft_bindings()
        fp = sb.get(FINGERPRINT_ALG)
        if fp is None:
            raise ManifestError(
                f"{p}: the manifest has no fingerprint soft binding (not signed by myself_i2i).",
                f"{p}: マニフェストに指紋ソフトバインディングがありません（myself_i2i の署名ではありません）。",
            )
        out.append((store, sb.get(WATERMARK_ALG), fp.hex(), p.name))
    return out


def publish_manifest(
    store: bytes,
    *,
    locator: bytes | None,
    fingerprint: str,
    title: str,
    local: bool = True,
    configured: bool = True,
) -> tuple[tuple[str, ...], list[Text]]:
    """Keep a manifest in the local repository and the ones in settings.json.

    Returns the repositories written to, and a note for each one that could not be
    (an HTTP repository without an upload token, or one that is unreachable): the file is
    signed either way, and ``myself-i2i repo publish`` can be run again later.

    Raises:
        ConfigError: settings.json is malformed.
    """
    from myself_i2i.errors import MyselfI2IError
    from myself_i2i.repository import (
        HttpRepository,
        LocalRepository,
        configured_repositories,
        open_repository,
    )

    written: list[str] = []
    notes: list[Text] = []
    targets: list[str] = []
    if local:
        targets.append(str(LocalRepository.default_path()))
    if configured:
        targets.extend(s for s in configured_repositories() if s not in targets)
    for spec in targets:
        try:
            repo = (
                LocalRepository.open_default()
                if local and spec == targets[0]
                else open_repository(spec, create=True)
            )
            if isinstance(repo, HttpRepository):
                repo.upload(store, locator, fingerprint, title)
            else:
                with repo:
                    repo.add(store, locator=locator, fingerprint=fingerprint, title=title)
            written.append(spec)
        except MyselfI2IError as e:
            notes.append(
                Text(
                    f"not published to {spec}: {e.text.en} Run `myself-i2i repo publish` later.",
                    f"{spec} に公開できませんでした：{e.text.ja} 後で `myself-i2i repo publish` を"
                    "実行してください。",
                )
            )
    return tuple(written), notes


@dataclass(frozen=True)
class ProvenStore:
    """What an uploaded manifest store proves about itself (for open publishing)."""

    locator: bytes | None
    fingerprint: str
    signer: str
    title: str


def prove_store(store: bytes) -> ProvenStore:
    """Check that a standalone manifest store can be published without an account.

    Steps: 1. c2pa reads and validates the store on its own (``application/c2pa``); with
    no asset the hard binding cannot match, and without configured trust the signer is
    untrusted, so only those two outcomes are set aside; 2. the active manifest carries our
    fingerprint soft binding (8 bytes) and at most one 8-byte watermark locator; 3. c2pa
    confirms the signing chain's CA and it is a myself_i2i personal key, whose token is
    the publisher's identity for limits and the block list.

    Raises:
        ManifestError: the store does not prove itself (the message says which step).
    """
    from myself_i2i._internal.c2pa_backend import StatusKind
    from myself_i2i.signers import confirm_signer
    from myself_i2i.softbinding import FINGERPRINT_ALG
    from myself_i2i.softbinding.watermark import WATERMARK_ALG

    # 1. Validate.
    read = c2pa_backend.read_manifest(store, _C2PA_MIME, manifest_store=None, name="upload")
    if read is None or read.active is None:
        raise ManifestError("the upload is not a C2PA manifest store.", _JA_NOT_STORE)
    set_aside = (StatusKind.HARD_BINDING, StatusKind.UNTRUSTED)
    bad = [s.code for s in read.failure if s.kind not in set_aside]
    if bad:
        raise ManifestError(
            f"the manifest store does not validate ({', '.join(bad[:3])}).",
            f"マニフェストストアが検証に通りません（{', '.join(bad[:3])}）。",
        )
    # 2. Soft bindings.
    sb = read.active.soft_bindings()
    fp = sb.get(FINGERPRINT_ALG)
    loc = sb.get(WATERMARK_ALG)
    if fp is None or len(fp) != 8 or (loc is not None and len(loc) != 8):
        raise ManifestError(
            "the manifest carries no myself_i2i soft binding (fingerprint), so it cannot be "
            "found again; only manifests signed by myself_i2i are accepted.",
            "マニフェストに myself_i2i のソフトバインディング（指紋）がなく、後で見つけられません。"
            "myself_i2i で署名したマニフェストだけを受け付けます。",
        )
    # 3. Signer.
    confirmed = confirm_signer(store, _C2PA_MIME, store)
    if confirmed is None or confirmed.token is None:
        raise ManifestError(
            "the manifest's signer is not a myself_i2i personal key that c2pa can confirm; "
            "publish it with the repository's upload token instead.",
            "署名者が c2pa で確認できる myself_i2i の個人鍵ではありません。"
            "リポジトリのアップロードトークンで公開してください。",
        )
    return ProvenStore(loc, fp.hex(), confirmed.token, (read.active.title or "")[:200])


_C2PA_MIME = "application/c2pa"
_JA_NOT_STORE = "アップロードは C2PA マニフェストストアではありません。"
