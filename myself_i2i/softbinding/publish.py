"""Reading the soft bindings and manifest store out of signed images, for ``publish``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from myself_i2i._internal import c2pa_backend
from myself_i2i._internal.containers import manifest_store_bytes
from myself_i2i.errors import ManifestError
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
