"""Artists' "do not use my work with AI" signals embedded in an image.

Three families of signals are read (see ``docs/do-not-use-signals.md``):

* the CAWG training-and-mining assertion ``cawg.training-mining`` (and the older C2PA 1.x
  ``c2pa.training-mining``) inside a C2PA manifest. The assertions are handed in by the
  caller as ``{"label": ..., "data": ...}`` dicts (the shape c2pa-python's Reader JSON
  gives); this module never imports ``c2pa``;
* the IPTC / PLUS XMP property ``plus:DataMining``
  (namespace ``http://ns.useplus.org/ldf/xmp/1.0/``);
* the ``noai`` / ``noimageai`` markers, as whole tokens in XMP text, PNG text chunks,
  the JPEG comment, or the EXIF ImageDescription / UserComment / XPComment / XPKeywords /
  Copyright / Artist fields.

What blocks use as an i2i input (``Signal.blocking``):

* CAWG/C2PA ``ai_inference`` and ``ai_generative_training`` with any value other than
  ``allowed`` (``notAllowed``, ``constrained``; the spec says ``constrained`` without more
  information is ``notAllowed``; a missing or unknown value is treated the same way).
* CAWG/C2PA ``ai_training`` and ``data_mining``: reported, **not** blocking. The CAWG
  assertion has a dedicated ``ai_inference`` entry for "use as input to a model"; an author
  who forbade (non-generative) training or data mining but left ``ai_inference`` open made
  that distinction on purpose, and tools that offer one "no AI" switch set every entry.
* Any ``plus:DataMining`` value ``DMI-PROHIBITED*``. The IPTC field has no separate
  inference value, so any prohibition is the only way an IPTC-only author can say no.
  ``DMI-ALLOWED`` / ``DMI-UNSPECIFIED`` are reported, not blocking.
* ``noai`` and ``noimageai``: both block; they are the plain "no AI use" flags.

Malformed XMP gives no signals (and no error). A file that is not a readable image raises
:class:`~myself_i2i.errors.ImageError` from :func:`myself_i2i.images.open_image`.
"""

from __future__ import annotations

import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from myself_i2i.images import open_image

__all__ = [
    "PLUS_NS",
    "Signal",
    "blocking_signals",
    "find_signals",
    "signals_from_assertions",
    "signals_from_text",
    "signals_from_xmp",
]

#: Namespace of the PLUS License Data Format XMP properties (``plus:DataMining``).
PLUS_NS = "http://ns.useplus.org/ldf/xmp/1.0/"
_RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_DATAMINING = f"{{{PLUS_NS}}}DataMining"
_RDF_RESOURCE = f"{{{_RDF_NS}}}resource"

#: Training-and-mining assertion labels, with an optional ``.vN`` version suffix and the
#: optional ``__N`` instance suffix C2PA uses when a manifest holds several of one kind.
_TM_LABEL = re.compile(r"^(cawg|c2pa)\.training-mining(?:\.v\d+)?(?:__\d+)?$")
#: Entries whose refusal blocks use as an i2i input.
_BLOCKING_ENTRIES = frozenset({"ai_inference", "ai_generative_training"})

#: ``noai`` / ``noimageai`` as whole tokens (letters, digits and ``_`` delimit words).
_NOAI = re.compile(r"(?<![0-9A-Za-z_])(noimageai|noai)(?![0-9A-Za-z_])", re.IGNORECASE)

#: Japanese free-text notices that Japanese illustrators write into descriptions and
#: comments: 「AI学習禁止」「AI利用禁止」「無断AI使用禁止」「生成AIへの入力禁止」「i2i禁止」.
#: Matched after NFKC normalisation (full-width ＡＩ, ｉ２ｉ become ASCII).
_JA_NOTICE = re.compile(
    r"((?:生成)?AI[^。.\n]{0,8}?(?:学習|利用|使用|入力|読み込み|読込|取り込み)[^。.\n]{0,6}?禁止"
    r"|i2i[^。.\n]{0,6}?禁止|AI禁止)",
    re.IGNORECASE,
)

#: Largest XMP packet we parse (bytes); real packets are a few KB.
MAX_XMP_BYTES = 4 * 1024 * 1024
#: Longest excerpt of a text field kept in :attr:`Signal.value` for ``noai`` markers.
_EXCERPT = 80

# EXIF tags (IFD0 unless noted) that people write free text into.
_EXIF_TEXT_TAGS: dict[int, str] = {
    0x010E: "ImageDescription",
    0x013B: "Artist",
    0x8298: "Copyright",
    0x9C9B: "XPTitle",
    0x9C9C: "XPComment",
    0x9C9E: "XPKeywords",
    0x9C9F: "XPSubject",
}
_EXIF_IFD = 0x8769
_EXIF_USER_COMMENT = 0x9286
_PNG_XMP_KEYS = frozenset({"XML:com.adobe.xmp"})


@dataclass(frozen=True)
class Signal:
    """One do-not-use (or explicit allow) statement found in an image.

    Attributes:
        kind: ``"cawg.training-mining"``, ``"c2pa.training-mining"``,
            ``"xmp.plus:DataMining"`` or ``"noai"``.
        key: the entry or property: ``"cawg.ai_inference"``, ``"plus:DataMining"``,
            ``"noai"`` / ``"noimageai"``.
        value: ``"notAllowed"``, the DataMining URI, or (for ``noai``) the text it was found
            in, shortened to 80 characters.
        blocking: true when it forbids use as an AI input or for generative training.
        where: where it was found, e.g. ``"C2PA assertion"``, ``"XMP in JPEG APP1"``,
            ``"PNG text chunk 'comment'"``.
        detail: extra information (CAWG ``constraint_info``), or ``""``.
    """

    kind: str
    key: str
    value: str
    blocking: bool
    where: str
    detail: str = ""

    def quote(self) -> str:
        """The signal as a refusal or report message quotes it."""
        if self.kind == "noai":
            return f'{self.key} ({self.where}: "{self.value}")'
        if self.kind in ("cawg.training-mining", "c2pa.training-mining"):
            text = f"{self.key} = {self.value} ({self.where} {self.kind})"
        else:
            text = f"{self.key} = {self.value} ({self.where})"
        if self.detail:
            text += f" [{self.detail}]"
        return text

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "kind": self.kind,
            "key": self.key,
            "value": self.value,
            "blocking": self.blocking,
            "where": self.where,
        }
        if self.detail:
            d["detail"] = self.detail
        return d


def blocking_signals(signals: Iterable[Signal]) -> list[Signal]:
    """Only the signals that forbid use as an i2i input."""
    return [s for s in signals if s.blocking]


# --------------------------------------------------------------------------------------
# C2PA / CAWG assertions


def _entry_name(key: str) -> str:
    """``cawg.ai_inference`` / ``c2pa.ai_inference`` -> ``ai_inference``; other keys as is."""
    for prefix in ("cawg.", "c2pa."):
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


def _entries_of(data: Mapping[Any, Any]) -> Mapping[Any, Any]:
    entries = data.get("entries")
    if isinstance(entries, Mapping):
        return entries
    # Lenient: some writers put the entry map at the top level.
    if any(isinstance(v, Mapping) and "use" in v for v in data.values()):
        return data
    return {}


def signals_from_assertions(assertions: Sequence[Mapping[str, Any]]) -> list[Signal]:
    """Signals from C2PA assertions shaped ``{"label": str, "data": dict}``.

    Only training-and-mining assertions are looked at (``cawg.training-mining``,
    ``c2pa.training-mining``, optionally with ``.vN`` or ``__N`` suffixes); every entry
    is reported, with ``blocking`` set as described in the module docstring. Malformed
    assertions are skipped.
    """
    out: list[Signal] = []
    for item in assertions:
        assertion: Any = item  # JSON from outside: check every level
        if not isinstance(assertion, Mapping):
            continue
        label = assertion.get("label")
        if not isinstance(label, str):
            continue
        m = _TM_LABEL.match(label.strip())
        if m is None:
            continue
        kind = f"{m.group(1)}.training-mining"
        data = assertion.get("data")
        if not isinstance(data, Mapping):
            continue
        for key, entry in _entries_of(data).items():
            if not isinstance(key, str):
                continue
            use: Any = entry.get("use") if isinstance(entry, Mapping) else entry
            value = use.strip() if isinstance(use, str) else "(missing)"
            name = _entry_name(key)
            allowed = value.lower() == "allowed"
            blocking = name in _BLOCKING_ENTRIES and not allowed
            info: Any = None
            if isinstance(entry, Mapping):
                info = entry.get("constraint_info", entry.get("constraints_info"))
            detail = str(info).strip()[:200] if info not in (None, "") else ""
            out.append(
                Signal(
                    kind=kind,
                    key=key,
                    value=value,
                    blocking=blocking,
                    where="C2PA assertion",
                    detail=detail,
                )
            )
    return _dedupe(out)


# --------------------------------------------------------------------------------------
# XMP


def _datamining_values(el: ET.Element) -> list[str]:
    """Values of a ``plus:DataMining`` element: its text, ``rdf:resource``, or ``rdf:li``s."""
    values: list[str] = []
    res = el.get(_RDF_RESOURCE)
    if res:
        values.append(res)
    for sub in el.iter():
        if sub is not el and sub.get(_RDF_RESOURCE):
            values.append(str(sub.get(_RDF_RESOURCE)))
        if sub.text and sub.text.strip():
            values.append(sub.text)
    return [v.strip() for v in values if v.strip()]


def _datamining_blocks(value: str) -> bool:
    code = value.rstrip("/").rsplit("/", 1)[-1].strip().upper()
    return code.startswith("DMI-PROHIBITED")


def _noai_signals(text: str, where: str) -> list[Signal]:
    out = []
    excerpt = " ".join(text.split())
    if len(excerpt) > _EXCERPT:
        excerpt = excerpt[: _EXCERPT - 1] + "…"
    for token in sorted({m.group(1).lower() for m in _NOAI.finditer(text)}):
        out.append(Signal(kind="noai", key=token, value=excerpt, blocking=True, where=where))
    normalized = unicodedata.normalize("NFKC", text)
    for phrase in sorted({m.group(1) for m in _JA_NOTICE.finditer(normalized)}):
        out.append(Signal(kind="notice-ja", key=phrase, value=excerpt, blocking=True, where=where))
    return out


def signals_from_text(text: str, where: str) -> list[Signal]:
    """``noai`` / ``noimageai`` markers in one free-text field found at ``where``."""
    return _noai_signals(text, where)


def _parse_xmp(xmp: str | bytes) -> ET.Element | None:
    raw = xmp.encode("utf-8", "replace") if isinstance(xmp, str) else bytes(xmp)
    if len(raw) > MAX_XMP_BYTES:
        return None
    raw = raw.strip(b"\x00 \t\r\n")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    # XMP never needs a DTD; refusing one rules out entity-expansion tricks.
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
        return None
    try:
        return ET.fromstring(raw)
    except (ET.ParseError, ValueError, UnicodeError):
        return None


def signals_from_xmp(xmp: str | bytes, where: str = "XMP") -> list[Signal]:
    """Signals in an XMP packet: ``plus:DataMining`` and ``noai`` / ``noimageai`` tokens.

    ``plus:DataMining`` may be an attribute of ``rdf:Description`` or an element (with the
    value as text, as ``rdf:resource``, or inside an ``rdf:Alt``/``rdf:Bag``). ``noai``
    tokens are looked for in every element text and attribute value. Malformed XML, a DTD,
    or a packet larger than :data:`MAX_XMP_BYTES` gives no signals.
    """
    root = _parse_xmp(xmp)
    if root is None:
        return []
    out: list[Signal] = []
    texts: list[str] = []
    for el in root.iter():
        for attr, val in el.attrib.items():
            if attr == _DATAMINING:
                out.append(
                    Signal(
                        kind="xmp.plus:DataMining",
                        key="plus:DataMining",
                        value=val.strip(),
                        blocking=_datamining_blocks(val),
                        where=where,
                    )
                )
            else:
                texts.append(val)
        if el.tag == _DATAMINING:
            for val in _datamining_values(el):
                out.append(
                    Signal(
                        kind="xmp.plus:DataMining",
                        key="plus:DataMining",
                        value=val,
                        blocking=_datamining_blocks(val),
                        where=where,
                    )
                )
        if el.text and el.text.strip():
            texts.append(el.text)
        if el.tail and el.tail.strip():
            texts.append(el.tail)
    for text in texts:
        out.extend(_noai_signals(text, where))
    return _dedupe(out)


# --------------------------------------------------------------------------------------
# Files


def _as_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return None


def _exif_text(tag: int, value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, tuple) and all(isinstance(v, int) for v in value):
        value = bytes(v & 0xFF for v in value)
    if not isinstance(value, bytes):
        return None
    if tag in (0x9C9B, 0x9C9C, 0x9C9E, 0x9C9F):  # Windows XP* tags: UTF-16LE
        return value.decode("utf-16-le", "replace").rstrip("\x00")
    if tag == _EXIF_USER_COMMENT:
        head, body = value[:8], value[8:]
        if head.startswith(b"UNICODE"):
            # Byte order is not fixed by the spec; pick the one that decodes to fewer NULs.
            le = body.decode("utf-16-le", "replace")
            be = body.decode("utf-16-be", "replace")
            return le if le.count("\x00") <= be.count("\x00") else be
        if head.startswith((b"ASCII", b"JIS", b"\x00\x00\x00\x00")):
            return body.decode("utf-8", "replace")
        return value.decode("utf-8", "replace")
    return value.decode("utf-8", "replace")


def _exif_signals(img: Image.Image) -> list[Signal]:
    out: list[Signal] = []
    try:
        exif = img.getexif()
        fields: list[tuple[int, Any]] = [(t, exif.get(t)) for t in _EXIF_TEXT_TAGS]
        sub = exif.get_ifd(_EXIF_IFD)
        fields.append((_EXIF_USER_COMMENT, sub.get(_EXIF_USER_COMMENT)))
    except Exception:  # damaged EXIF must not stop the scan
        return out
    for tag, value in fields:
        if value is None:
            continue
        text = _exif_text(tag, value)
        if text:
            name = _EXIF_TEXT_TAGS.get(tag, "UserComment")
            out.extend(_noai_signals(text, f"EXIF {name}"))
    return out


def _xmp_packets(img: Image.Image, fmt: str) -> list[tuple[bytes | str, str]]:
    packets: list[tuple[bytes | str, str]] = []
    container = {
        "PNG": "PNG iTXt 'XML:com.adobe.xmp'",
        "JPEG": "JPEG APP1",
        "WEBP": "WebP XMP chunk",
    }.get(fmt, fmt)
    xmp = img.info.get("xmp")
    if isinstance(xmp, (bytes, str)) and xmp:
        packets.append((xmp, f"XMP in {container}"))
    elif fmt == "PNG":
        raw = img.info.get("XML:com.adobe.xmp")
        if isinstance(raw, (bytes, str)) and raw:
            packets.append((raw, f"XMP in {container}"))
    if fmt == "JPEG":
        # Pillow keeps only one APP1 XMP packet in info; look at all of them.
        header = b"http://ns.adobe.com/xap/1.0/\x00"
        applist = getattr(img, "applist", [])
        for marker, payload in applist:
            if marker == "APP1" and isinstance(payload, bytes) and payload.startswith(header):
                body = payload[len(header) :]
                if not any(body == p for p, _ in packets):
                    packets.append((body, f"XMP in {container}"))
    return packets


def find_signals(img_path: Path, c2pa_assertions: Sequence[Mapping[str, Any]] = ()) -> list[Signal]:
    """All do-not-use signals of the image at ``img_path`` (blocking ones first).

    Args:
        img_path: a PNG, JPEG or WebP file.
        c2pa_assertions: the assertions of the file's active C2PA manifest, if the caller
            read one (``{"label": ..., "data": ...}`` dicts).

    Raises:
        InputError, ImageError: the file cannot be read as an image
            (see :func:`myself_i2i.images.open_image`).
    """
    out = signals_from_assertions(c2pa_assertions)
    img = open_image(img_path)
    try:
        fmt = str(img.format)
        for packet, where in _xmp_packets(img, fmt):
            out.extend(signals_from_xmp(packet, where))
        if fmt == "PNG":
            # Only text chunks (tEXt, zTXt, iTXt); info also holds binary values such as
            # the ICC profile, which must not be scanned as text.
            text_chunks = getattr(img, "text", None)
            items: dict[Any, Any] = {k: v for k, v in img.info.items() if isinstance(v, str)}
            if isinstance(text_chunks, Mapping):
                items.update(text_chunks)
            for key, value in items.items():
                if not isinstance(key, str) or key in _PNG_XMP_KEYS:
                    continue
                text = _as_text(value)
                if text:
                    out.extend(_noai_signals(text, f"PNG text chunk {key!r}"))
        if fmt == "JPEG":
            comments: list[Any] = [img.info.get("comment")]
            for marker, payload in getattr(img, "applist", []):
                if marker == "COM":
                    comments.append(payload)
            for c in comments:
                text = _as_text(c)
                if text:
                    out.extend(_noai_signals(text, "JPEG comment"))
        out.extend(_exif_signals(img))
    finally:
        img.close()
    signals = _dedupe(out)
    return sorted(signals, key=lambda s: not s.blocking)


def _dedupe(signals: Iterable[Signal]) -> list[Signal]:
    seen: set[Signal] = set()
    out: list[Signal] = []
    for s in signals:
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out
