"""The only module that talks to ``c2pa`` (c2pa-python, a wrapper of c2pa-rs).

Everything else in myself_i2i sees typed values (:class:`StoreRead`, :class:`ManifestView`)
and our own errors: every
``c2pa.C2paError`` is translated here into a :class:`~myself_i2i.errors.ManifestError`
(``raise ... from e``). Internal: no stability promise.
"""

from __future__ import annotations

import base64
import enum
import functools
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

import c2pa

from myself_i2i._internal.containers import manifest_store_bytes
from myself_i2i._internal.jumbf import check_store
from myself_i2i.errors import ManifestError

TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


def sdk_version() -> str:
    """Version of the c2pa-rs library underneath."""
    return str(c2pa.sdk_version())


def _settings(
    anchors_pem: str | None, *, thumbnail: bool = False, fetch_remote: bool = False
) -> c2pa.Settings:
    cfg: dict[str, Any] = {
        "builder": {"thumbnail": {"enabled": thumbnail}},
        "verify": {
            "verify_trust": anchors_pem is not None,
            # A public verifier must make no request chosen by an uploaded file: c2pa-rs
            # fetches a manifest named by a URL in the file's XMP unless told not to, and
            # OCSP responders named in certificates likewise.
            "remote_manifest_fetch": fetch_remote,
            "ocsp_fetch": False,
        },
    }
    if anchors_pem is not None:
        cfg["trust"] = {"user_anchors": anchors_pem}
    return c2pa.Settings.from_dict(cfg)


class ValidationState(str, enum.Enum):
    """c2pa-rs's overall judgement of a manifest store (ingredients included)."""

    TRUSTED = "Trusted"
    VALID = "Valid"
    INVALID = "Invalid"


class StatusKind(str, enum.Enum):
    """What a c2pa failure code is about: the one place that classifies c2pa's codes."""

    HARD_BINDING = "hard-binding"  #: the asset's bytes or pixels changed after signing
    SIGNATURE = "signature"  #: the claim signature does not verify
    ASSERTION = "assertion"  #: a signed part of the manifest changed or is missing
    CREDENTIAL = "credential"  #: the signing certificate is not acceptable (expired, ...)
    UNTRUSTED = "untrusted"  #: valid, but no trust anchor was configured for the signer
    TIMESTAMP = "timestamp"  #: the time-stamp does not hold (the signature itself may)
    IDENTITY = "identity"  #: a CAWG identity assertion result
    OTHER = "other"


#: c2pa codes for "the asset changed after signing".
HARD_BINDING_CODES = frozenset(
    {
        "assertion.dataHash.mismatch",
        "assertion.boxesHash.mismatch",
        "assertion.bmffHash.mismatch",
        "assertion.collectionHash.mismatch",
        "assertion.dataHash.malformed",
        "assertion.boxesHash.malformed",
        "assertion.bmffHash.malformed",
    }
)


def status_kind(code: str) -> StatusKind:
    """Classify a c2pa validation status code (see the C2PA spec's failure codes)."""
    if code in HARD_BINDING_CODES:
        return StatusKind.HARD_BINDING
    if code == "signingCredential.untrusted":
        return StatusKind.UNTRUSTED
    if code.startswith("cawg."):
        return StatusKind.IDENTITY
    if code.startswith(("claimSignature.", "claim.signature")):
        if code in ("claimSignature.outsideValidity",):
            return StatusKind.CREDENTIAL
        return StatusKind.SIGNATURE
    if code.startswith(("signingCredential.", "certificate.", "algorithm.unsupported")):
        return StatusKind.CREDENTIAL
    if code.startswith("timeStamp."):
        return StatusKind.TIMESTAMP
    if code.startswith(("assertion.", "claim.", "manifest.", "hashedURI.")):
        return StatusKind.ASSERTION
    return StatusKind.OTHER


@dataclass(frozen=True)
class Status:
    """One c2pa validation status: a code such as ``assertion.dataHash.mismatch``."""

    code: str
    url: str = ""
    explanation: str = ""

    @property
    def kind(self) -> StatusKind:
        return status_kind(self.code)


@dataclass(frozen=True)
class Assertion:
    """An assertion's label and its content (the assertion's own data, as decoded)."""

    label: str
    data: Any


@dataclass(frozen=True)
class Action:
    action: str
    digital_source_type: str | None = None
    software_agent: str | None = None
    when: str | None = None
    description: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"action": self.action}
        if self.digital_source_type:
            d["digitalSourceType"] = self.digital_source_type
        if self.software_agent:
            d["softwareAgent"] = self.software_agent
        if self.when:
            d["when"] = self.when
        if self.description:
            d["description"] = self.description
        return d


@dataclass(frozen=True)
class Ingredient:
    title: str
    format: str | None
    relationship: str | None
    instance_id: str | None
    label: str | None
    thumbnail_id: str | None
    thumbnail_format: str | None
    manifest_label: str | None  #: the ingredient's own manifest in the store, if any
    failures: tuple[Status, ...] = ()  #: failures the signer recorded for the ingredient

    @property
    def key(self) -> str:
        return self.instance_id or self.label or self.title


@dataclass(frozen=True)
class SignatureInfo:
    alg: str | None
    common_name: str | None
    issuer: str | None
    serial: str | None
    time: str | None  #: trusted time-stamp (RFC 3161) when the claim carries one


@dataclass(frozen=True)
class IdentityClaim:
    """A CAWG identity assertion (``cawg.identity``): who the signer says they are."""

    label: str
    kind: str  #: "x509", "ica" (identity claims aggregation) or "unknown"
    names: tuple[str, ...]  #: subject names / verified account names found
    issuer: str | None


@dataclass(frozen=True)
class ManifestView:
    """A typed view of one manifest of a store."""

    label: str
    title: str | None
    format: str | None
    claim_generator: str | None
    signature: SignatureInfo | None
    actions: tuple[Action, ...]
    ingredients: tuple[Ingredient, ...]
    assertions: tuple[Assertion, ...]
    identities: tuple[IdentityClaim, ...]
    thumbnail_id: str | None
    thumbnail_format: str | None

    def assertion(self, *labels: str) -> Assertion | None:
        """The first assertion whose label is one of ``labels`` (``__N`` suffixes ignored)."""
        for a in self.assertions:
            if a.label.split("__", 1)[0] in labels:
                return a
        return None

    def soft_bindings(self) -> dict[str, bytes]:
        """alg -> value of the manifest's ``c2pa.soft-binding`` assertions."""
        out: dict[str, bytes] = {}
        for a in self.assertions:
            if not a.label.startswith("c2pa.soft-binding") or not isinstance(a.data, dict):
                continue
            for block in a.data.get("blocks") or []:
                if not isinstance(block, dict):
                    continue
                try:
                    out[str(a.data.get("alg"))] = base64.b64decode(
                        str(block.get("value", "")), validate=True
                    )
                except ValueError:
                    continue
        return out


@dataclass(frozen=True)
class StoreRead:
    """What c2pa-rs says about an asset's manifest store, as typed values."""

    state: ValidationState
    active: ManifestView | None
    manifests: dict[str, ManifestView]
    failure: tuple[Status, ...]  #: of the active manifest
    success: tuple[Status, ...]
    informational: tuple[Status, ...]
    #: failures c2pa-rs found now in ingredients' manifests (its ingredient deltas); what a
    #: signer recorded about an ingredient at signing time is in Ingredient.failures
    ingredient_failures: tuple[Status, ...]

    def codes(self, kind: str = "failure") -> list[str]:
        return [s.code for s in getattr(self, kind)]

    def parents(self) -> list[ManifestView]:
        """The manifests of the active manifest's ingredients, nearest first (no repeats)."""
        out: list[ManifestView] = []
        todo = [self.active] if self.active else []
        seen: set[str] = set()
        while todo:
            m = todo.pop(0)
            for ing in m.ingredients:
                lbl = ing.manifest_label
                if lbl and lbl not in seen and lbl in self.manifests:
                    seen.add(lbl)
                    out.append(self.manifests[lbl])
                    todo.append(self.manifests[lbl])
        return out


#: Kept for the callers written against the first version.
ManifestRead = StoreRead


class RemoteManifest(ManifestError):
    """The asset names a remote manifest (XMP ``dcterms:provenance``) that was not fetched."""

    def __init__(self, url: str) -> None:
        self.url = url
        super().__init__(
            f"the manifest is kept at {url} and was not fetched",
            f"マニフェストは {url} にあり、取得していません",
        )


def _translate(e: Exception, what: str) -> ManifestError:
    detail = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
    return ManifestError(
        f"{what}: the C2PA manifest is malformed or unreadable ({detail}).",
        f"{what}: C2PA マニフェストが壊れているか読めません（{detail}）。",
    )


_REMOTE_URL = re.compile(r"(?:from url|url:)\s*(\S+)")


def _reader(
    asset: bytes,
    mime: str,
    manifest_store: bytes | None,
    anchors_pem: str | None,
    *,
    fetch_remote: bool = False,
) -> c2pa.Reader:
    """A c2pa Reader of the embedded manifest, or of a detached ``manifest_store``.

    Raises:
        c2pa.C2paError: for the callers to translate.
    """
    ctx = c2pa.Context(_settings(anchors_pem, fetch_remote=fetch_remote))
    if manifest_store is not None:
        return c2pa.Reader(mime, io.BytesIO(asset), manifest_store, context=ctx)
    return c2pa.Reader(mime, io.BytesIO(asset), context=ctx)


def _dict(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None


def _statuses(items: Any) -> tuple[Status, ...]:
    if not isinstance(items, list):
        return ()
    return tuple(
        Status(
            str(x.get("code", "")), str(x.get("url") or ""), str(x.get("explanation") or "")[:300]
        )
        for x in items
        if isinstance(x, dict)
    )


def _agent(v: Any) -> str | None:
    if isinstance(v, dict):
        name, ver = _str(v.get("name")), _str(v.get("version"))
        return f"{name} {ver}" if name and ver else name
    return _str(v)


def _actions(assertions: list[Any]) -> tuple[Action, ...]:
    out: list[Action] = []
    for a in assertions:
        if not isinstance(a, dict) or not str(a.get("label", "")).startswith("c2pa.actions"):
            continue
        data = a.get("data")
        for x in (data.get("actions") if isinstance(data, dict) else None) or []:
            if isinstance(x, dict) and _str(x.get("action")):
                params = _dict(x.get("parameters"))
                out.append(
                    Action(
                        action=str(x["action"]),
                        digital_source_type=_str(x.get("digitalSourceType")),
                        software_agent=_agent(x.get("softwareAgent")),
                        when=_str(x.get("when")),
                        description=_str(x.get("description")) or _str(params.get("description")),
                    )
                )
    return tuple(out)


def _identity(label: str, data: Any) -> IdentityClaim:
    names: list[str] = []
    issuer: str | None = None
    kind = "unknown"
    if isinstance(data, dict):
        sig = _dict(data.get("signature_info"))
        if sig:
            kind = "x509"
            issuer = _str(sig.get("issuer"))
            if _str(sig.get("common_name")):
                names.append(str(sig["common_name"]))
        for key in ("verifiedIdentities", "verified_identities"):
            for vi in data.get(key) or []:
                if isinstance(vi, dict):
                    kind = "ica"
                    who = _str(vi.get("username")) or _str(vi.get("name"))
                    where = (
                        _str((vi.get("provider") or {}).get("name"))
                        if isinstance(vi.get("provider"), dict)
                        else None
                    )
                    if who:
                        names.append(f"{who} ({where})" if where else who)
        if issuer is None:
            issuer = (
                _str(data.get("issuer"))
                if not isinstance(data.get("issuer"), dict)
                else (_str(data["issuer"].get("name")))
            )
    return IdentityClaim(label=label, kind=kind, names=tuple(names), issuer=issuer)


def _manifest_view(label: str, m: dict[str, Any]) -> ManifestView:
    raw_assertions = [a for a in m.get("assertions") or [] if isinstance(a, dict)]
    assertions = tuple(Assertion(str(a.get("label", "")), a.get("data")) for a in raw_assertions)
    sig = m.get("signature_info")
    signature = (
        SignatureInfo(
            alg=_str(sig.get("alg")),
            common_name=_str(sig.get("common_name")),
            issuer=_str(sig.get("issuer")),
            serial=_str(sig.get("cert_serial_number")),
            time=_str(sig.get("time")),
        )
        if isinstance(sig, dict)
        else None
    )
    ingredients: list[Ingredient] = []
    for i, ing in enumerate(x for x in m.get("ingredients") or [] if isinstance(x, dict)):
        thumb = _dict(ing.get("thumbnail"))
        vr = ing.get("validation_results")
        fails: tuple[Status, ...] = ()
        if isinstance(vr, dict):
            am = _dict(vr.get("activeManifest"))
            fails = _statuses(am.get("failure"))
        fails += _statuses(ing.get("validation_status"))
        ingredients.append(
            Ingredient(
                title=_str(ing.get("title")) or f"ingredient {i + 1}",
                format=_str(ing.get("format")),
                relationship=_str(ing.get("relationship")),
                instance_id=_str(ing.get("instance_id")),
                label=_str(ing.get("label")),
                thumbnail_id=_str(thumb.get("identifier")),
                thumbnail_format=_str(thumb.get("format")),
                manifest_label=_str(ing.get("active_manifest")),
                failures=fails,
            )
        )
    gen = m.get("claim_generator_info")
    generator = None
    if isinstance(gen, list) and gen and isinstance(gen[0], dict):
        generator = _agent(gen[0])
    generator = generator or _str(m.get("claim_generator"))
    thumb = _dict(m.get("thumbnail"))
    return ManifestView(
        label=label,
        title=_str(m.get("title")),
        format=_str(m.get("format")),
        claim_generator=generator,
        signature=signature,
        actions=_actions(raw_assertions),
        ingredients=tuple(ingredients),
        assertions=assertions,
        identities=tuple(
            _identity(a.label, a.data) for a in assertions if a.label.startswith("cawg.identity")
        ),
        thumbnail_id=_str(thumb.get("identifier")),
        thumbnail_format=_str(thumb.get("format")),
    )


def _store_read(data: dict[str, Any], state: str) -> StoreRead:
    vr = _dict(data.get("validation_results"))
    active = _dict(vr.get("activeManifest"))
    deltas: list[Status] = []
    for d in vr.get("ingredientDeltas") or []:
        if isinstance(d, dict) and isinstance(d.get("validationDeltas"), dict):
            deltas.extend(_statuses(d["validationDeltas"].get("failure")))
    manifests = {
        str(lbl): _manifest_view(str(lbl), m)
        for lbl, m in (data.get("manifests") or {}).items()
        if isinstance(m, dict)
    }
    failure = _statuses(active.get("failure"))
    success = _statuses(active.get("success"))
    # validation_status also carries store-level failures that belong to no manifest (e.g.
    # "Failed to load manifest"): keep those the per-manifest lists do not already hold.
    ok_codes = {x.code for x in success}
    known = {(x.code, x.url) for x in (*failure, *deltas)}
    extra = [
        x
        for x in _statuses(data.get("validation_status"))
        if x.code not in ok_codes and (x.code, x.url) not in known
    ]
    failure = failure + tuple(extra)
    try:
        vstate = ValidationState(state)
    except ValueError:
        vstate = ValidationState.INVALID
    label = _str(data.get("active_manifest"))
    return StoreRead(
        state=vstate,
        active=manifests.get(label) if label else None,
        manifests=manifests,
        failure=failure,
        success=success,
        informational=_statuses(active.get("informational")),
        ingredient_failures=tuple(deltas),
    )


@functools.lru_cache(maxsize=2)  # small: the web workers' uploads stay referenced here
def _check_once(data: bytes, embedded: bool) -> None:
    """Structure-check a store (``embedded``: the one inside the asset ``data``) once.

    One verification reads the same file several times (the manifest, then once per CA
    candidate to confirm the signer); the container walk and the CBOR checks need not be
    repeated. Failures raise each time (lru_cache keeps only successes).

    Raises:
        ManifestError: the store's declared lengths do not fit.
    """
    store = manifest_store_bytes(data) if embedded else data
    if store is not None:
        check_store(store)


def read_manifest(
    asset: bytes,
    mime: str,
    *,
    anchors_pem: str | None = None,
    manifest_store: bytes | None = None,
    name: str = "image",
    fetch_remote: bool = False,
) -> StoreRead | None:
    """Read and validate the manifest of ``asset`` (or a detached ``manifest_store`` for it).

    ``anchors_pem``: trust these CA certificates (c2pa ``trust.user_anchors``); with None,
    trust is not evaluated and a valid signature reads as ``Valid``. Remote manifests are
    only fetched with ``fetch_remote``.

    Returns:
        None when the asset carries no manifest (and none was given).

    Raises:
        RemoteManifest: the asset only names a remote manifest, which was not fetched.
        ManifestError: a manifest is present but cannot be parsed at all.
    """
    # Every length in a store is an attacker's number: c2pa-rs allocates what a custom
    # assertion's CBOR declares (4 GB from a 5-byte edit), so the structure is checked
    # first, with offsets only. Formats whose store we cannot read the way c2pa-rs does
    # (HEIC, MP4, TIFF, SVG, ...) rely on the web workers' memory limit instead.
    try:
        _check_once(manifest_store if manifest_store is not None else asset, manifest_store is None)
    except ManifestError as e:
        raise ManifestError(f"{name}: {e.text.en}", f"{name}: {e.text.ja}") from e
    try:
        reader = _reader(asset, mime, manifest_store, anchors_pem, fetch_remote=fetch_remote)
    except c2pa.C2paError.ManifestNotFound:
        return None
    except c2pa.C2paError as e:
        msg = str(e)
        if "JUMBF" in msg and "not found" in msg.lower():
            return None
        if msg.startswith("Remote") or isinstance(e, c2pa.C2paError.RemoteManifest):
            m = _REMOTE_URL.search(msg)
            if m and not fetch_remote:
                raise RemoteManifest(m.group(1)[:500]) from e
        if "NotSupported" in msg or isinstance(e, c2pa.C2paError.NotSupported):
            raise UnsupportedFormat(mime) from e
        if "could not be parsed" in msg:
            raise UnreadableAsset(name, msg) from e
        raise _translate(e, name) from e
    try:
        with reader:
            data = json.loads(reader.json())
            state = str(reader.get_validation_state() or "Invalid")
    except (c2pa.C2paError, ValueError) as e:
        raise _translate(e, name) from e
    return _store_read(data if isinstance(data, dict) else {}, state)


class UnreadableAsset(ManifestError):
    """c2pa-rs cannot parse the file's container at all (a broken file, not a broken manifest)."""

    def __init__(self, name: str, detail: str) -> None:
        detail = detail.strip().splitlines()[0][:200] if detail.strip() else "unparsable"
        super().__init__(
            f"{name}: the file is corrupt or truncated ({detail}). Download or export it again.",
            f"{name}: ファイルが壊れているか途中で切れています（{detail}）。もう一度ダウンロードまたは書き出してください。",
        )


class UnsupportedFormat(ManifestError):
    """c2pa-rs cannot read this kind of file."""

    def __init__(self, mime: str) -> None:
        self.mime = mime
        super().__init__(
            f"c2pa cannot read {mime} files", f"c2pa は {mime} 形式のファイルを読めません"
        )


def supported_mime_types() -> frozenset[str]:
    """MIME types (and extensions) c2pa-rs reads."""
    return frozenset(str(x) for x in c2pa.Reader.get_supported_mime_types())


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
