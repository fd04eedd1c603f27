"""The only module that talks to ``c2pa`` (c2pa-python, a wrapper of c2pa-rs).

Everything else in myself_i2i sees plain dicts and our own errors: every
``c2pa.C2paError`` is translated here into a :class:`~myself_i2i.errors.ManifestError`
(``raise ... from e``). Internal: no stability promise.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import c2pa

from myself_i2i.errors import ManifestError

TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


def sdk_version() -> str:
    """Version of the c2pa-rs library underneath."""
    return str(c2pa.sdk_version())


def _settings(anchors_pem: str | None, *, thumbnail: bool = False) -> c2pa.Settings:
    cfg: dict[str, Any] = {
        "builder": {"thumbnail": {"enabled": thumbnail}},
        "verify": {"verify_trust": anchors_pem is not None},
    }
    if anchors_pem is not None:
        cfg["trust"] = {"user_anchors": anchors_pem}
    return c2pa.Settings.from_dict(cfg)


@dataclass
class ManifestRead:
    """What c2pa says about an asset's manifest store."""

    state: str  # "Trusted", "Valid" or "Invalid"
    active_label: str | None
    manifests: dict[str, Any]
    validation_results: dict[str, Any]
    success: list[dict[str, Any]] = field(default_factory=list)
    failure: list[dict[str, Any]] = field(default_factory=list)
    informational: list[dict[str, Any]] = field(default_factory=list)

    @property
    def active(self) -> dict[str, Any] | None:
        if self.active_label is None:
            return None
        m = self.manifests.get(self.active_label)
        return m if isinstance(m, dict) else None

    def codes(self, kind: str = "failure") -> list[str]:
        return [str(x.get("code", "")) for x in getattr(self, kind)]


def _translate(e: Exception, what: str) -> ManifestError:
    detail = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
    return ManifestError(
        f"{what}: the C2PA manifest is malformed or unreadable ({detail}).",
        f"{what}: C2PA マニフェストが壊れているか読めません（{detail}）。",
    )


def _reader(
    asset: bytes, mime: str, manifest_store: bytes | None, anchors_pem: str | None
) -> c2pa.Reader:
    """A c2pa Reader of the embedded manifest, or of a detached ``manifest_store``.

    Raises:
        c2pa.C2paError: for the callers to translate.
    """
    ctx = c2pa.Context(_settings(anchors_pem))
    if manifest_store is not None:
        return c2pa.Reader(mime, io.BytesIO(asset), manifest_store, context=ctx)
    return c2pa.Reader(mime, io.BytesIO(asset), context=ctx)


def read_manifest(
    asset: bytes,
    mime: str,
    *,
    anchors_pem: str | None = None,
    manifest_store: bytes | None = None,
    name: str = "image",
) -> ManifestRead | None:
    """Read and validate the manifest of ``asset`` (or a detached ``manifest_store`` for it).

    ``anchors_pem``: trust these CA certificates (c2pa ``trust.user_anchors``); with None,
    trust is not evaluated and a valid signature reads as ``Valid``.

    Returns:
        None when the asset carries no manifest (and none was given).

    Raises:
        ManifestError: a manifest is present but cannot be parsed at all.
    """
    try:
        reader = _reader(asset, mime, manifest_store, anchors_pem)
    except c2pa.C2paError.ManifestNotFound:
        return None
    except c2pa.C2paError as e:
        if "JUMBF" in str(e) and "not found" in str(e).lower():
            return None
        raise _translate(e, name) from e
    try:
        with reader:
            data = json.loads(reader.json())
            state = str(reader.get_validation_state() or "Invalid")
    except (c2pa.C2paError, ValueError) as e:
        raise _translate(e, name) from e
    vr = data.get("validation_results") or {}
    active = vr.get("activeManifest") or {}
    return ManifestRead(
        state=state,
        active_label=data.get("active_manifest"),
        manifests=data.get("manifests") or {},
        validation_results=vr,
        success=list(active.get("success") or []),
        failure=list(active.get("failure") or []),
        informational=list(active.get("informational") or []),
    )


def resources(
    asset: bytes, mime: str, uris: Sequence[str], *, manifest_store: bytes | None = None
) -> dict[str, bytes]:
    """Bytes of the resources (e.g. thumbnails) referenced by ``uris``, from one reader.

    A resource that cannot be read is left out.

    Raises:
        ManifestError: the manifest cannot be opened at all.
    """
    try:
        reader = _reader(asset, mime, manifest_store, None)
    except c2pa.C2paError as e:
        raise _translate(e, "resources") from e
    out: dict[str, bytes] = {}
    with reader:
        for uri in uris:
            buf = io.BytesIO()
            try:
                reader.resource_to_stream(uri, buf)
            except c2pa.C2paError:
                continue
            out[uri] = buf.getvalue()
    return out


@dataclass
class IngredientInput:
    """A source image to record as a C2PA ingredient."""

    definition: dict[str, Any]
    mime: str
    data: bytes


def sign(
    *,
    source: BinaryIO,
    dest: BinaryIO,
    mime: str,
    manifest: dict[str, Any],
    resources: dict[str, bytes],
    ingredients: Sequence[IngredientInput],
    chain_pem: bytes,
    private_key_pem: bytes,
    name: str = "image",
) -> bytes:
    """Sign ``source`` into ``dest`` with our own thumbnail (the library's is turned off).

    Returns:
        The manifest store bytes (usable as a ``.c2pa`` sidecar).

    Raises:
        ManifestError: c2pa refused the manifest, the certificate or the asset.
    """
    try:
        ctx = c2pa.Context(_settings(None))
        builder = c2pa.Builder.from_json(manifest, ctx)
        for uri, blob in resources.items():
            builder.add_resource(uri, io.BytesIO(blob))
        for ing in ingredients:
            builder.add_ingredient(ing.definition, ing.mime, io.BytesIO(ing.data))
        signer = c2pa.Signer.from_info(
            c2pa.C2paSignerInfo(b"es256", chain_pem, private_key_pem, None)
        )
        with builder, signer:
            return bytes(builder.sign(signer, mime, source, dest))
    except c2pa.C2paError as e:
        raise _translate(e, name) from e


def sign_default(
    *,
    source: BinaryIO,
    dest: BinaryIO,
    mime: str,
    manifest: dict[str, Any],
    chain_pem: bytes,
    private_key_pem: bytes,
) -> bytes:
    """c2pa-python's plain default ``Builder.sign`` (library thumbnail on): the benchmark baseline.

    Raises:
        ManifestError: as :func:`sign`.
    """
    try:
        builder = c2pa.Builder.from_json(manifest)
        signer = c2pa.Signer.from_info(
            c2pa.C2paSignerInfo(b"es256", chain_pem, private_key_pem, None)
        )
        with builder, signer:
            return bytes(builder.sign(signer, mime, source, dest))
    except c2pa.C2paError as e:
        raise _translate(e, "baseline") from e


def read_default(asset: bytes, mime: str) -> str:
    """c2pa-python's plain default Reader JSON (benchmark baseline)."""
    with c2pa.Reader(mime, io.BytesIO(asset)) as r:
        return str(r.json())
