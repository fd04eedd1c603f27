"""Reading the soft bindings and manifest store out of signed images, for ``publish``."""

from __future__ import annotations

from collections.abc import Sequence
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
    from myself_i2i.softbinding import FINGERPRINT_ALG
    from myself_i2i.softbinding.watermark import WATERMARK_ALG

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
    signed either way, and ``myself-i2i publish`` can be run again later.

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
                    f"not published to {spec}: {e.text.en} Run `myself-i2i publish` later.",
                    f"{spec} に公開できませんでした：{e.text.ja} 後で `myself-i2i publish` を"
                    "実行してください。",
                )
            )
    return tuple(written), notes
