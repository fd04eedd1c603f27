"""Signed permission grants: "I, the artist, let the holder of TOKEN use this picture for i2i".

A grant is a COSE_Sign1 message (RFC 9052, CBOR tag 18), the envelope C2PA itself uses
for claim signatures, signed with the artist's myself_i2i signing key:

* protected header: ``alg`` (1) = ES256 (-7), ``content type`` (3) =
  :data:`GRANT_CONTENT_TYPE` (or :data:`REVOCATION_CONTENT_TYPE`), ``x5chain`` (33) =
  ``[leaf DER, personal CA DER]``;
* payload: UTF-8 JSON described by ``schemas/grant.schema.json`` (or
  ``revocation.schema.json``), so a person can read it with any CBOR tool;
* signature: ECDSA P-256 / SHA-256 over the COSE ``Sig_structure``, raw ``r || s``.

Checking one (:func:`check_grant`) needs nothing but the file: the steps are numbered in
the code. The artist is named by the key token of the personal CA in the chain
(:func:`myself_i2i.identity.personal_token`); a grant chained to any other CA names nobody.

A **revocation** is the same envelope with a payload naming the grant's id; the artist
publishes it to their manifest repository (``revocations/<id>.cose``).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cbor2
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from myself_i2i.errors import GrantError
from myself_i2i.i18n import Text
from myself_i2i.identity import Identity, normalize_token, personal_token
from myself_i2i.images import ImageHashes, hamming_hex

__all__ = [
    "GRANT_CONTENT_TYPE",
    "GRANT_FINGERPRINT_THRESHOLD",
    "REVOCATION_CONTENT_TYPE",
    "Artwork",
    "Grant",
    "GrantCheck",
    "Revocation",
    "check_grant",
    "find_revocation",
    "make_grant",
    "make_revocation",
    "parse_grant",
    "parse_revocation",
    "publish_revocation",
    "read_grant_file",
    "received_grants",
    "store_received_grant",
    "unused_grant_notes",
]

GRANT_CONTENT_TYPE = "application/vnd.myself-i2i.grant.v1+json"
REVOCATION_CONTENT_TYPE = "application/vnd.myself-i2i.grant-revocation.v1+json"
#: Largest grant file read (two certificates and a small JSON payload: ~1.5 KB).
MAX_GRANT_BYTES = 64 * 1024
#: Max pHash distance between a source and the grant's artwork: the fingerprint-route limit
#: of recovery (re-encodes, X's resize and JPEG q85 move a picture by <= 4 bits).
GRANT_FINGERPRINT_THRESHOLD = 8

_ALG_ES256 = -7
_H_ALG, _H_CTY, _H_X5CHAIN = 1, 3, 33


@dataclass(frozen=True)
class Artwork:
    """What a grant (or a protection) says about the picture it is for."""

    title: str
    sha256: str
    pixel_sha256: str
    phash: str
    width: int
    height: int
    locator: str | None = None  #: the protection watermark's locator (hex), if protected

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "title": self.title,
            "sha256": self.sha256,
            "pixelSha256": self.pixel_sha256,
            "phash": self.phash,
            "width": self.width,
            "height": self.height,
        }
        if self.locator:
            d["locator"] = self.locator
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Artwork:
        return cls(
            title=str(d.get("title", "")),
            sha256=str(d["sha256"]),
            pixel_sha256=str(d["pixelSha256"]),
            phash=str(d["phash"]),
            width=int(d["width"]),
            height=int(d["height"]),
            locator=d.get("locator"),
        )

    def match(
        self,
        hashes: ImageHashes | None = None,
        *,
        sha256: str = "",
        pixel_sha256: str = "",
        phash: str = "",
        locator: str | None = None,
    ) -> str | None:
        """How a picture matches this artwork: exact / pixels / watermark / fingerprint / None."""
        if hashes is not None:
            sha256, pixel_sha256, phash = hashes.sha256, hashes.pixel_sha256, hashes.phash
        if sha256 and sha256 == self.sha256:
            return "exact"
        if pixel_sha256 and pixel_sha256 == self.pixel_sha256:
            return "pixels"
        if locator and self.locator and locator == self.locator:
            return "watermark"
        if (
            phash
            and len(phash) == 16
            and hamming_hex(phash, self.phash) <= (GRANT_FINGERPRINT_THRESHOLD)
        ):
            return "fingerprint"
        return None


@dataclass(frozen=True)
class Grant:
    """A parsed grant. ``grantor_token`` is None when the chain is not a personal CA's."""

    raw: bytes = field(repr=False)
    id: str
    grantor_name: str
    grantor_token: str | None  #: from the certificate chain, never from the payload
    claimed_grantor_token: str
    grantee_token: str
    artwork: Artwork
    scope: tuple[str, ...]
    issued: dt.datetime
    not_before: dt.datetime | None
    expires: dt.datetime | None
    note: str | None
    leaf: x509.Certificate = field(repr=False)

    def b64(self) -> str:
        return base64.b64encode(self.raw).decode("ascii")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "grantor": {"name": self.grantor_name, "token": self.grantor_token},
            "grantee": {"token": self.grantee_token},
            "artwork": self.artwork.to_dict(),
            "scope": list(self.scope),
            "issued": _iso(self.issued),
            "notBefore": _iso(self.not_before) if self.not_before else None,
            "expires": _iso(self.expires) if self.expires else None,
            "note": self.note,
        }


@dataclass(frozen=True)
class Revocation:
    """A parsed, signature-checked revocation of a grant."""

    grant_id: str
    grantor_token: str | None
    revoked: dt.datetime
    reason: str | None


@dataclass(frozen=True)
class GrantCheck:
    """The outcome of :func:`check_grant`: ``problems`` empty means the grant covers the use."""

    grant: Grant | None
    problems: tuple[tuple[str, Text], ...] = ()
    match: str | None = None  #: how the source matched the artwork

    @property
    def ok(self) -> bool:
        return self.grant is not None and not self.problems


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _parse_time(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    t = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return t


def _bad(why: str, why_ja: str) -> GrantError:
    return GrantError(
        f"not a valid permission grant: {why}.",
        f"正しい許可証（グラント）ではありません：{why_ja}。",
    )


# --- the envelope ------------------------------------------------------------------------------


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    return bytes(cbor2.dumps(["Signature1", protected, b"", payload]))


def _sign(identity: Identity, content_type: str, payload: dict[str, Any]) -> bytes:
    """One COSE_Sign1 over ``payload`` (JSON) with the identity's signing key and chain."""
    protected = bytes(
        cbor2.dumps(
            {
                _H_ALG: _ALG_ES256,
                _H_CTY: content_type,
                _H_X5CHAIN: [
                    identity.leaf_cert.public_bytes(serialization.Encoding.DER),
                    identity.ca_cert.public_bytes(serialization.Encoding.DER),
                ],
            }
        )
    )
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
    key = serialization.load_pem_private_key(identity.private_key_pem(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    der = key.sign(_sig_structure(protected, body), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return bytes(cbor2.dumps(cbor2.CBORTag(18, [protected, {}, body, sig])))


def _open(raw: bytes, content_type: str) -> tuple[dict[str, Any], x509.Certificate, str | None]:
    """Steps 1-4 of checking any of our envelopes: (payload, leaf, personal CA token).

    1. decode the COSE_Sign1 structure and its protected header (ES256, our content type);
    2. take the chain ``[leaf, CA]``: the leaf is a non-CA certificate issued by the CA;
    3. verify the signature with the leaf's key over the Sig_structure;
    4. the CA's key token, only if it is a myself_i2i personal CA (else None).

    Raises:
        GrantError: anything malformed or a signature that does not verify.
    """
    # 1. Decode.
    if len(raw) > MAX_GRANT_BYTES:
        raise _bad("the file is too large", "ファイルが大きすぎます")
    try:
        msg = cbor2.loads(raw)
    except (cbor2.CBORDecodeError, ValueError, TypeError, EOFError) as e:
        raise _bad("not CBOR", "CBOR ではありません") from e
    if not (isinstance(msg, cbor2.CBORTag) and msg.tag == 18):
        raise _bad("not a COSE_Sign1 message", "COSE_Sign1 ではありません")
    parts = msg.value
    if not (isinstance(parts, (list, tuple)) and len(parts) == 4):
        raise _bad("a malformed COSE_Sign1", "COSE_Sign1 の形が正しくありません")
    protected, _unprotected, payload, sig = parts
    if not all(isinstance(x, bytes) for x in (protected, payload, sig)):
        raise _bad("a malformed COSE_Sign1", "COSE_Sign1 の形が正しくありません")
    try:
        header = cbor2.loads(protected)
    except (cbor2.CBORDecodeError, ValueError, TypeError, EOFError) as e:
        raise _bad("an unreadable header", "ヘッダーが読めません") from e
    if not isinstance(header, Mapping) or header.get(_H_ALG) != _ALG_ES256:
        raise _bad("not signed with ES256", "ES256 で署名されていません")
    if header.get(_H_CTY) != content_type:
        raise _bad(
            f"the content type is {header.get(_H_CTY)!r}, not {content_type}",
            f"内容の種類が {header.get(_H_CTY)!r} で、{content_type} ではありません",
        )
    # 2. The chain.
    chain = header.get(_H_X5CHAIN)
    if not (
        isinstance(chain, (list, tuple))
        and len(chain) == 2
        and all(isinstance(c, bytes) for c in chain)
    ):
        raise _bad("no certificate chain [leaf, CA]", "証明書チェーン [署名用, CA] がありません")
    try:
        leaf = x509.load_der_x509_certificate(chain[0])
        ca = x509.load_der_x509_certificate(chain[1])
        leaf.verify_directly_issued_by(ca)
        bc = leaf.extensions.get_extension_for_class(x509.BasicConstraints).value
    except (ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound) as e:
        raise _bad(
            "the signing certificate is not issued by the CA in the chain",
            "署名用証明書がチェーン内の CA から発行されていません",
        ) from e
    if bc.ca:
        raise _bad("signed with a CA certificate", "CA 証明書で署名されています")
    # 3. The signature.
    pub = leaf.public_key()
    if not isinstance(pub, ec.EllipticCurvePublicKey) or len(sig) != 64:
        raise _bad("not an ECDSA P-256 signature", "ECDSA P-256 の署名ではありません")
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    try:
        pub.verify(der, _sig_structure(protected, payload), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as e:
        raise _bad("the signature does not verify", "署名が検証できません") from e
    try:
        body = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise _bad("the payload is not JSON", "中身が JSON ではありません") from e
    if not isinstance(body, dict):
        raise _bad("the payload is not an object", "中身がオブジェクトではありません")
    # 4. Who: the personal CA's token.
    return body, leaf, personal_token(ca)


def _schema_check(body: dict[str, Any], schema: str) -> None:
    from myself_i2i.pledge import schema_errors

    errors = schema_errors(body, schema)
    if errors:
        raise _bad(
            f"it does not match {schema} ({errors[0]})", f"{schema} に合いません（{errors[0]}）"
        )


# --- grants ------------------------------------------------------------------------------------


def make_grant(
    artwork: Artwork,
    identity: Identity,
    to_token: str,
    *,
    until: dt.datetime | None = None,
    not_before: dt.datetime | None = None,
    note: str | None = None,
    now: dt.datetime | None = None,
) -> bytes:
    """A grant letting the holder of ``to_token`` use ``artwork`` as an i2i source.

    Raises:
        ConfigError: ``to_token`` is not a key token, or the validity is empty.
    """
    from myself_i2i.errors import ConfigError

    grantee = normalize_token(to_token)
    if grantee is None:
        raise ConfigError(
            f"{to_token!r} is not a key token (mi2i:XXXX-XXXX-XXXX-XXXX-XXXX). Ask the person "
            "for the token shown by their `myself-i2i identity`.",
            f"{to_token!r} は鍵トークン（mi2i:XXXX-XXXX-XXXX-XXXX-XXXX）ではありません。"
            "相手の `myself-i2i identity` に表示されるトークンを教えてもらってください。",
        )
    issued = (now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0)
    if until is not None and until <= (not_before or issued):
        raise ConfigError(
            "the grant would end before it starts; give a later --until date.",
            "許可の期限が開始より前です。より後の --until を指定してください。",
        )
    payload: dict[str, Any] = {
        "version": 1,
        "type": "org.myself-i2i.grant",
        "id": secrets.token_hex(16),
        "scope": ["i2i"],
        "grantor": {"name": identity.name, "token": identity.token},
        "grantee": {"token": grantee},
        "artwork": artwork.to_dict(),
        "issued": _iso(issued),
    }
    if not_before is not None:
        payload["notBefore"] = _iso(not_before)
    if until is not None:
        payload["expires"] = _iso(until)
    if note:
        payload["note"] = note[:2000]
    _schema_check(payload, "grant.schema.json")
    return _sign(identity, GRANT_CONTENT_TYPE, payload)


def parse_grant(raw: bytes) -> Grant:
    """Decode a grant and check its envelope, chain and signature (not yet what it covers).

    Raises:
        GrantError: malformed, not signed by the certificate it carries, or off-schema.
    """
    body, leaf, token = _open(raw, GRANT_CONTENT_TYPE)
    _schema_check(body, "grant.schema.json")
    return Grant(
        raw=raw,
        id=str(body["id"]),
        grantor_name=str(body["grantor"]["name"]),
        grantor_token=token,
        claimed_grantor_token=str(body["grantor"]["token"]),
        grantee_token=str(body["grantee"]["token"]),
        artwork=Artwork.from_dict(body["artwork"]),
        scope=tuple(body["scope"]),
        issued=_parse_time(body["issued"]) or dt.datetime.now(dt.timezone.utc),
        not_before=_parse_time(body.get("notBefore")),
        expires=_parse_time(body.get("expires")),
        note=body.get("note"),
        leaf=leaf,
    )


def read_grant_file(path: Path) -> bytes:
    """The bytes of a grant file.

    Raises:
        InputError: missing or unreadable.
    """
    from myself_i2i.errors import InputError

    try:
        if path.stat().st_size > MAX_GRANT_BYTES:
            raise _bad(f"{path} is too large", f"{path} が大きすぎます")
        return path.read_bytes()
    except OSError as e:
        raise InputError(
            f"{path}: cannot read the grant file ({e.strerror}).",
            f"{path}: 許可証ファイルを読めません（{e.strerror}）。",
        ) from e


def check_grant(
    raw: bytes,
    *,
    grantee_token: str | None,
    at: dt.datetime,
    source: ImageHashes | None = None,
    source_fields: dict[str, str] | None = None,
    locator: str | None = None,
    grantor_token: str | None = None,
) -> GrantCheck:
    """Does this grant cover this use? Offline; each failed step is one problem.

    1. the envelope, chain and signature (:func:`parse_grant`);
    2. the chain ends at a myself_i2i personal CA whose token the payload states;
    3. the grant names ``grantee_token`` and the scope ``i2i``;
    4. the source (hashes, or ``source_fields`` from a pledge) matches the artwork;
    5. it was valid at ``at`` (not before ``issued`` / ``notBefore``, not after
       ``expires``, and inside the signing certificate's validity);
    6. with ``grantor_token`` (a protection's artist), it was made by that artist.
    """
    try:
        g = parse_grant(raw)
    except GrantError as e:
        return GrantCheck(None, (("grant.malformed", e.text),))
    problems: list[tuple[str, Text]] = []
    # 2. Who made it.
    if g.grantor_token is None:
        problems.append(
            (
                "grant.not_personal_key",
                Text(
                    "it is not signed under a myself_i2i personal key, so it names no artist",
                    "myself_i2i の個人鍵で署名されておらず、作者を特定できません",
                ),
            )
        )
    elif g.grantor_token != g.claimed_grantor_token:
        problems.append(
            (
                "grant.grantor_mismatch",
                Text(
                    f"it claims to be from {g.claimed_grantor_token} but is signed by "
                    f"{g.grantor_token}",
                    f"{g.claimed_grantor_token} からと書かれていますが {g.grantor_token} の署名です",
                ),
            )
        )
    # 3. To whom and for what.
    if grantee_token is None or g.grantee_token != grantee_token:
        problems.append(
            (
                "grant.other_grantee",
                Text(
                    f"it is made out to {g.grantee_token}, not to the signer "
                    f"({grantee_token or 'unconfirmed'})",
                    f"許可の相手は {g.grantee_token} で、署名者（{grantee_token or '未確認'}）"
                    "ではありません",
                ),
            )
        )
    if "i2i" not in g.scope:
        problems.append(
            ("grant.scope", Text("it does not allow i2i use", "i2i での利用を許可していません"))
        )
    # 4. Which picture.
    how: str | None = None
    if source is not None:
        how = g.artwork.match(source, locator=locator)
    elif source_fields is not None:
        how = g.artwork.match(
            sha256=source_fields.get("sha256", ""),
            pixel_sha256=source_fields.get("pixelSha256", ""),
            phash=source_fields.get("phash", ""),
            locator=locator,
        )
    if how is None:
        problems.append(
            (
                "grant.artwork_mismatch",
                Text(
                    f"it is for another picture ({g.artwork.title})",
                    f"別の絵（{g.artwork.title}）への許可です",
                ),
            )
        )
    # 5. When.
    starts = max(g.issued, g.not_before) if g.not_before else g.issued
    if at < starts - dt.timedelta(minutes=5):
        problems.append(
            (
                "grant.not_yet_valid",
                Text(
                    f"it starts at {_iso(starts)}, after the use ({_iso(at)})",
                    f"許可の開始 {_iso(starts)} は利用時点（{_iso(at)}）より後です",
                ),
            )
        )
    if g.expires is not None and at > g.expires:
        problems.append(
            (
                "grant.expired",
                Text(
                    f"it expired at {_iso(g.expires)}, before the use ({_iso(at)})",
                    f"許可は {_iso(g.expires)} に期限切れで、利用時点（{_iso(at)}）より前です",
                ),
            )
        )
    if not (g.leaf.not_valid_before_utc <= g.issued <= g.leaf.not_valid_after_utc):
        problems.append(
            (
                "grant.certificate_expired",
                Text(
                    "it was signed outside its certificate's validity",
                    "証明書の有効期間外に署名されています",
                ),
            )
        )
    # 6. By the artist who protected the picture.
    if grantor_token is not None and g.grantor_token != grantor_token:
        problems.append(
            (
                "grant.wrong_artist",
                Text(
                    f"it is from {g.grantor_token or 'an unknown key'}, but the picture is "
                    f"protected by {grantor_token}",
                    f"{g.grantor_token or '不明な鍵'} からの許可ですが、この絵は {grantor_token} "
                    "が保護しています",
                ),
            )
        )
    return GrantCheck(g, tuple(problems), how)


# --- revocations -------------------------------------------------------------------------------


def make_revocation(
    grant_raw: bytes,
    identity: Identity,
    *,
    reason: str | None = None,
    now: dt.datetime | None = None,
) -> tuple[str, bytes]:
    """(grant id, signed revocation) of one of the identity's own grants.

    Raises:
        GrantError: the grant is malformed or was not made with this identity.
    """
    g = parse_grant(grant_raw)
    if g.grantor_token != identity.token:
        raise GrantError(
            f"this grant was made by {g.grantor_token or 'another key'}, not by you "
            f"({identity.token}); only its artist can revoke it.",
            f"この許可証は {g.grantor_token or '別の鍵'} が作ったもので、あなた（{identity.token}）"
            "のものではありません。取り消せるのは作者だけです。",
        )
    payload: dict[str, Any] = {
        "version": 1,
        "type": "org.myself-i2i.grant-revocation",
        "grantId": g.id,
        "grantor": {"name": identity.name, "token": identity.token},
        "revoked": _iso((now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0)),
    }
    if reason:
        payload["reason"] = reason[:2000]
    _schema_check(payload, "revocation.schema.json")
    return g.id, _sign(identity, REVOCATION_CONTENT_TYPE, payload)


def parse_revocation(raw: bytes) -> Revocation:
    """A revocation, its signature checked.

    Raises:
        GrantError: malformed or badly signed.
    """
    body, _leaf, token = _open(raw, REVOCATION_CONTENT_TYPE)
    _schema_check(body, "revocation.schema.json")
    return Revocation(
        grant_id=str(body["grantId"]),
        grantor_token=token,
        revoked=_parse_time(body["revoked"]) or dt.datetime.now(dt.timezone.utc),
        reason=body.get("reason"),
    )


def publish_revocation(grant_id: str, revocation: bytes, repos: Sequence[Any]) -> list[str]:
    """Keep a revocation in every repository that can store one; the names written to.

    Raises:
        RepositoryError: a repository cannot be written.
    """
    written: list[str] = []
    for repo in repos:
        add = getattr(repo, "add_revocation", None)
        if add is not None:
            add(grant_id, revocation)
            written.append(str(repo.name))
    return written


def find_revocation(grant: Grant, repos: Sequence[Any]) -> Revocation | None:
    """The grant's revocation by its own artist, from the first repository that has one.

    A revocation signed by any other key, or naming another grant, is ignored.

    Raises:
        RepositoryError: a repository cannot be read.
    """
    for repo in repos:
        get = getattr(repo, "get_revocation", None)
        if get is None:
            continue
        raw = get(grant.id)
        if raw is None:
            continue
        try:
            rev = parse_revocation(raw)
        except GrantError:
            continue
        if rev.grant_id == grant.id and rev.grantor_token == grant.grantor_token:
            return rev
    return None


# --- grants received by this user (used by sign, the plugins and watch) ------------------------

#: Most grant files read from the received-grants folder.
MAX_RECEIVED = 2000


def received_dir() -> Path:
    """``$MYSELF_I2I_HOME/grants``: grants others gave this user, used wherever i2i happens."""
    from myself_i2i.paths import home

    return home() / "grants"


def received_grants() -> list[bytes]:
    """The grant files kept in :func:`received_dir` (unreadable ones are skipped)."""
    d = received_dir()
    if not d.is_dir():
        return []
    out: list[bytes] = []
    for p in sorted(d.glob("*.grant"))[:MAX_RECEIVED]:
        try:
            if p.stat().st_size <= MAX_GRANT_BYTES:
                out.append(p.read_bytes())
        except OSError:
            continue
    return out


def store_received_grant(raw: bytes, identity_token: str) -> tuple[Grant, Path]:
    """Keep a grant made out to this user, so the ComfyUI node, the A1111 extension and
    ``watch`` use it too (``myself-i2i grants add``).

    Raises:
        GrantError: malformed, badly signed, or made out to another key.
        InputError: the folder cannot be written.
    """
    from myself_i2i.errors import InputError
    from myself_i2i.paths import ensure_home, replace_file

    g = parse_grant(raw)
    if g.grantee_token != identity_token:
        raise GrantError(
            f"this grant is made out to {g.grantee_token}, not to you ({identity_token}).",
            f"この許可証の相手は {g.grantee_token} で、あなた（{identity_token}）ではありません。",
        )
    ensure_home()
    d = received_dir()
    path = d / f"{g.id}.grant"
    try:
        d.mkdir(mode=0o700, exist_ok=True)
        replace_file(path, raw)
    except OSError as e:
        raise InputError(
            f"{d}: cannot keep the grant ({e.strerror}).",
            f"{d}: 許可証を保存できません（{e.strerror}）。",
        ) from e
    return g, path


def unused_grant_notes(given: Sequence[bytes], used_b64: Sequence[str | None]) -> list[Text]:
    """A note for each grant given to ``sign`` that covers none of the sources."""
    used = {u for u in used_b64 if u}
    notes: list[Text] = []
    for raw in given:
        if base64.b64encode(raw).decode("ascii") in used:
            continue
        try:
            g = parse_grant(raw)
            what_en = f"{g.grantor_name}'s grant for {g.artwork.title}"
            what_ja = f"{g.grantor_name} の {g.artwork.title} への許可証"
        except GrantError:
            what_en, what_ja = "a grant file", "許可証ファイル"
        notes.append(
            Text(
                f"{what_en} was not used: it covers none of the sources.",
                f"{what_ja}は使われませんでした：どの素材にも当てはまりません。",
            )
        )
    return notes
