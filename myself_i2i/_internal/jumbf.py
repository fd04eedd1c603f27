"""Structure checks on a C2PA manifest store (JUMBF + CBOR) and its signing chain.

A store comes from an uploaded file, so every length in it is an attacker's number. Before
c2pa (or cbor2) sees a store, :func:`check_store` walks it with nothing but offsets:

1. every JUMBF box header (LBox, or XLBox when LBox is 1) declares a length that fits the
   box it sits in, and a superbox (``jumb``) starts with its description box (``jumd``);
2. every CBOR content box (``cbor``) holds a well-formed CBOR item whose byte and text
   string lengths, array and map counts fit in the bytes that remain, nested no deeper
   than c2pa-rs allows.

Nothing is allocated from a declared length, so a store costs memory in proportion to its
real size. :func:`signing_chain` then reads the active manifest's COSE_Sign1 ``x5chain``
with the rules of c2pa-rs (``sdk/src/store.rs`` ``from_jumbf``,
``sdk/src/crypto/cose/sign1.rs`` ``cert_chain_from_sign1``; contentauth/c2pa-rs@24d17555b).
"""

from __future__ import annotations

import struct
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import cbor2
from cryptography import x509
from cryptography.utils import CryptographyDeprecationWarning

from myself_i2i.errors import ManifestError

#: JUMBF description-box UUIDs (c2pa-rs ``sdk/src/jumbf/boxes.rs``).
C2PA_STORE_UUID = bytes.fromhex("6332706100110010800000AA00389B71")  # c2pa
MANIFEST_UUIDS = frozenset(
    bytes.fromhex(h)
    for h in (
        "63326D6100110010800000AA00389B71",  # c2ma: standard manifest
        "6332756D00110010800000AA00389B71",  # c2um: update manifest
        "63326D6400110010800000AA00389B71",  # c2md: read as a standard manifest
    )
)
SIGNATURE_UUID = bytes.fromhex("6332637300110010800000AA00389B71")  # c2cs
#: c2pa-rs ``BoxReader::MAX_JUMB_DEPTH``.
MAX_BOX_DEPTH = 32
#: Deepest CBOR nesting accepted (c2pa's own structures nest a handful of levels).
MAX_CBOR_DEPTH = 128
#: COSE header label of x5chain (RFC 9360).
X5CHAIN = 33


@dataclass
class Box:
    """One JUMBF box: where it is in the store and, for a superbox, its description."""

    type: bytes
    start: int
    payload: int  #: first byte after the header
    end: int
    uuid: bytes = b""  #: superbox only: its description box's type UUID
    label: str = ""  #: superbox only
    children: list[Box] | None = None  #: superbox only: the boxes after its ``jumd``


def _bad(en: str, ja: str) -> ManifestError:
    return ManifestError(
        f"the C2PA manifest is malformed ({en}); it was not read.",
        f"C2PA マニフェストの構造が壊れています（{ja}）。読み込みませんでした。",
    )


def _header(store: bytes, pos: int, end: int) -> tuple[bytes, int, int]:
    """(type, payload start, box end) of the box at ``pos``, which must end by ``end``."""
    if pos + 8 > end:
        raise _bad(
            f"a box header at byte {pos} is cut off",
            f"{pos} バイト目のボックス見出しが途切れています",
        )
    lbox, btype = struct.unpack(">I4s", store[pos : pos + 8])
    payload = pos + 8
    if lbox == 1:
        if pos + 16 > end:
            raise _bad(
                f"a box header at byte {pos} is cut off",
                f"{pos} バイト目のボックス見出しが途切れています",
            )
        (lbox,) = struct.unpack(">Q", store[pos + 8 : pos + 16])
        payload = pos + 16
    if lbox < payload - pos or pos + lbox > end:
        raise _bad(
            f"box {btype!r} at byte {pos} declares {lbox} bytes, more than the "
            f"{end - pos} its parent holds",
            f"{pos} バイト目のボックス {btype!r} の宣言長 {lbox} バイトが、"
            f"親ボックスの残り {end - pos} バイトを超えています",
        )
    return btype, payload, pos + lbox


def _superbox(store: bytes, pos: int, end: int, depth: int) -> Box:
    btype, payload, box_end = _header(store, pos, end)
    if btype != b"jumb":
        raise _bad(
            f"expected a JUMBF superbox at byte {pos}", f"{pos} バイト目に JUMBF がありません"
        )
    if depth >= MAX_BOX_DEPTH:
        raise _bad("boxes nested too deep", "ボックスの入れ子が深すぎます")
    dtype, dpayload, dend = _header(store, payload, box_end)
    if dtype != b"jumd" or dend - dpayload < 17:
        raise _bad(
            f"superbox at byte {pos} has no description box",
            f"{pos} バイト目のスーパーボックスに説明ボックスがありません",
        )
    uuid = store[dpayload : dpayload + 16]
    toggles = store[dpayload + 16]
    label = ""
    if toggles & 0x02:
        nul = store.find(b"\0", dpayload + 17, dend)
        if nul == -1:
            raise _bad(
                f"unterminated label at byte {dpayload + 17}",
                f"{dpayload + 17} バイト目のラベルが終端されていません",
            )
        label = store[dpayload + 17 : nul].decode("utf-8", "replace")
    box = Box(btype, pos, payload, box_end, uuid=uuid, label=label, children=[])
    child = dend
    while child < box_end:
        ctype = store[child + 4 : child + 8]
        if ctype == b"jumb":
            sub = _superbox(store, child, box_end, depth + 1)
        else:
            ctype, cpayload, cend = _header(store, child, box_end)
            sub = Box(ctype, child, cpayload, cend)
            if ctype == b"cbor":
                check_cbor(store, cpayload, cend)
        box.children.append(sub)  # type: ignore[union-attr]
        child = sub.end
    return box


def parse_store(store: bytes) -> Box:
    """The store's top ``c2pa`` superbox, after :func:`check_store`'s checks.

    Raises:
        ManifestError: the store is not a well-formed C2PA JUMBF store.
    """
    top = _superbox(store, 0, len(store), 0)
    if top.uuid != C2PA_STORE_UUID:
        raise _bad(
            "the outer box is not a C2PA store", "外側のボックスが C2PA ストアではありません"
        )
    return top


def check_store(store: bytes) -> None:
    """Refuse a manifest store whose declared lengths do not fit (before anything allocates).

    Every JUMBF box fits the box it is in; every CBOR content box is well-formed with
    every length inside its box. Bytes after the top superbox are ignored, as c2pa-rs does.

    Raises:
        ManifestError: one bilingual line naming the first problem.
    """
    parse_store(store)


def _cbor_error(pos: int, what_en: str, what_ja: str) -> ManifestError:
    return _bad(f"CBOR at byte {pos}: {what_en}", f"{pos} バイト目の CBOR：{what_ja}")


def check_cbor(buf: bytes, start: int, end: int) -> None:
    """Check that ``buf[start:end]`` begins with one well-formed CBOR item (RFC 8949).

    Walks the item's headers only: a string's declared length must not exceed the bytes
    left, nor an array's or map's count (every element takes at least one byte). Bytes
    after the item are not looked at.

    Raises:
        ManifestError: malformed, cut off, a length larger than the box, or too deep.
    """
    # One pass over the headers, hot path first (this runs on every item of every box).
    # ``left``: items still expected by the innermost container (-1: indefinite length);
    # ``outer``: the same for the containers around it.
    pos = start
    left = 1
    outer: list[int] = []
    while True:
        if left == 0:
            if not outer:
                return
            left = outer.pop()
            continue
        if pos >= end:
            raise _cbor_error(pos, "cut off", "途中で切れています")
        ib = buf[pos]
        pos += 1
        ai = ib & 31
        if ai < 24:
            n = ai
        elif ai < 28:
            size = 1 << (ai - 24)
            if pos + size > end:
                raise _cbor_error(pos - 1, "cut off", "途中で切れています")
            n = int.from_bytes(buf[pos : pos + size], "big")
            pos += size
        elif ai == 31:
            pos, left = _indefinite(buf, pos, end, ib >> 5, left, outer)
            continue
        else:
            raise _cbor_error(pos - 1, "reserved header", "予約された見出し")
        major = ib >> 5
        if left > 0:
            left -= 1
        if major < 2 or major == 7:
            continue
        if major < 4:
            if n > end - pos:
                raise _too_long(pos, n, end)
            pos += n
            continue
        count = 1 if major == 6 else n if major == 4 else 2 * n
        if count > end - pos:
            raise _too_long(pos, count, end, items=True)
        if count:
            outer.append(left)
            left = count
            if len(outer) > MAX_CBOR_DEPTH:
                raise _cbor_error(pos, "nested too deep", "入れ子が深すぎます")


def _indefinite(
    buf: bytes, pos: int, end: int, major: int, left: int, outer: list[int]
) -> tuple[int, int]:
    """An indefinite-length header (or a break) at ``pos - 1``: the new ``pos`` and ``left``."""
    if major == 7:  # "break": closes the innermost indefinite container
        if left != -1:
            raise _cbor_error(pos - 1, "unexpected break", "不正な break")
        return pos, outer.pop()
    if major in (0, 1, 6):
        raise _cbor_error(pos - 1, "reserved header", "予約された見出し")
    if left > 0:
        left -= 1
    if major in (4, 5):
        outer.append(left)
        if len(outer) > MAX_CBOR_DEPTH:
            raise _cbor_error(pos, "nested too deep", "入れ子が深すぎます")
        return pos, -1
    while True:  # a string: definite chunks of its own type, then a break
        if pos >= end:
            raise _cbor_error(pos, "cut off", "途中で切れています")
        cb = buf[pos]
        if cb == 0xFF:
            return pos + 1, left
        if cb >> 5 != major or cb & 31 == 31:
            raise _cbor_error(pos, "bad string chunk", "文字列の断片が不正です")
        n, pos = _argument(buf, pos, cb & 31, end)
        if n > end - pos:
            raise _too_long(pos, n, end)
        pos += n


def _argument(buf: bytes, head: int, ai: int, end: int) -> tuple[int, int]:
    """The argument of the header at ``head`` and the offset after it."""
    pos = head + 1
    if ai < 24:
        return ai, pos
    if ai > 27:
        raise _cbor_error(head, "reserved header", "予約された見出し")
    size = 1 << (ai - 24)
    if pos + size > end:
        raise _cbor_error(head, "cut off", "途中で切れています")
    return int.from_bytes(buf[pos : pos + size], "big"), pos + size


def _too_long(pos: int, n: int, end: int, *, items: bool = False) -> ManifestError:
    what = "items" if items else "bytes"
    return _cbor_error(
        pos,
        f"declares {n} {what}, only {end - pos} bytes remain in its box",
        f"{n} {'要素' if items else 'バイト'}と宣言されていますが、ボックスの残りは {end - pos} バイトです",
    )


# --- the signing chain -----------------------------------------------------------------------


def active_manifest(top: Box) -> Box | None:
    """The active manifest: the last manifest superbox of the store (c2pa-rs's provenance)."""
    manifests = [
        c for c in top.children or [] if c.children is not None and c.uuid in MANIFEST_UUIDS
    ]
    return manifests[-1] if manifests else None


def signing_chain(store: bytes) -> list[x509.Certificate]:
    """The active manifest's signing certificate chain, leaf first, as c2pa-rs reads it.

    The chain is the COSE_Sign1 ``x5chain`` of the manifest's signature box: in the
    protected header (label 33 or ``"x5chain"``), else in the unprotected header under
    ``"x5chain"`` (older writers); both at once is refused, as c2pa-rs does. Nothing here
    is trusted by itself: c2pa validates the signature and the chain.

    Raises:
        ManifestError: the store is malformed, or has no readable chain.
    """
    top = parse_store(store)
    manifest = active_manifest(top)
    if manifest is None:
        raise _bad("no manifest in the store", "ストアにマニフェストがありません")
    sigs = [
        c for c in manifest.children or [] if c.children is not None and c.uuid == SIGNATURE_UUID
    ]
    if not sigs or not sigs[-1].children or sigs[-1].children[0].type != b"cbor":
        raise _bad("the active manifest has no signature", "有効なマニフェストに署名がありません")
    box = sigs[-1].children[0]
    sign1 = _loads(store[box.payload : box.end])
    if isinstance(sign1, cbor2.CBORTag) and sign1.tag == 18:
        sign1 = sign1.value
    if not (isinstance(sign1, (list, tuple)) and len(sign1) == 4 and isinstance(sign1[0], bytes)):
        raise _bad("the signature is not a COSE_Sign1", "署名が COSE_Sign1 ではありません")
    protected = _loads(sign1[0]) if sign1[0] else {}
    unprotected = sign1[1]
    if not isinstance(protected, Mapping) or not isinstance(unprotected, Mapping):
        raise _bad("the signature headers are not maps", "署名のヘッダーが不正です")
    value = protected.get(X5CHAIN, protected.get("x5chain"))
    in_protected = X5CHAIN in protected or "x5chain" in protected
    if in_protected and "x5chain" in unprotected:
        raise _bad(
            "the signature carries two certificate chains", "署名に証明書チェーンが二つあります"
        )
    if not in_protected:
        value = unprotected.get("x5chain")
    ders = [c for c in value if isinstance(c, bytes)] if isinstance(value, (list, tuple)) else []
    if isinstance(value, bytes):
        ders = [value]
    if not ders:
        raise _bad("the signature has no certificate chain", "署名に証明書チェーンがありません")
    try:
        with warnings.catch_warnings():
            # a forged chain may carry a non-positive serial; it fails validation in c2pa
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            return [x509.load_der_x509_certificate(d) for d in ders]
    except (ValueError, x509.InvalidVersion) as e:
        raise _bad(
            "a certificate in the chain cannot be parsed", "チェーンの証明書を解析できません"
        ) from e


def _loads(blob: bytes) -> object:
    """cbor2 decoding of one item, after the bounded header walk."""
    check_cbor(blob, 0, len(blob))
    try:
        return cbor2.loads(blob, max_depth=MAX_CBOR_DEPTH)
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError) as e:
        raise _bad("the signature's CBOR cannot be decoded", "署名の CBOR を復号できません") from e
