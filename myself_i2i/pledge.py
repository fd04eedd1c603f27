"""The pledge assertion ``org.myself-i2i.pledge.v1``: building it and checking it.

The assertion is described by ``schemas/pledge.schema.json`` and is validated when
signing (we never write one that does not match) and when verifying.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from myself_i2i._internal.fastschema import Predicate, Unsupported, compile_schema
from myself_i2i.errors import ManifestError
from myself_i2i.i18n import Text
from myself_i2i.models import Generator, PledgeKind, SourceRecord

if TYPE_CHECKING:
    import jsonschema.protocols

    from myself_i2i.genmeta import GenerationMetadata

PLEDGE_LABEL = "org.myself-i2i.pledge.v1"
#: c2pa-rs reports custom labels with or without the version suffix; accept both.
PLEDGE_LABELS = (PLEDGE_LABEL, "org.myself-i2i.pledge")
PLEDGE_VERSION = 1

STATEMENTS: dict[PledgeKind, Text] = {
    PledgeKind.T2I: Text(
        en="#Myself_i2i: made from text only (t2i). No image was used as input.",
        ja="#Myself_i2i：テキストのみで生成（t2i）。画像は入力に使っていません。",
    ),
    PledgeKind.SELF_SOURCED_I2I: Text(
        en="#Myself_i2i: image-to-image only from my own pictures or pictures whose author "
        "permitted it. I never use other people's images without permission.",
        ja="#Myself_i2i：i2i の入力は自分の絵・写真・生成画像、または作者の許可を得た画像だけです。"
        "他人の画像を無断で使いません。",
    ),
}


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    """A JSON Schema shipped in ``schemas/``."""
    text = resources.files("myself_i2i").joinpath("schemas", name).read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@functools.cache
def _quick_check(schema_name: str) -> Predicate | None:
    """The schema's "certainly valid" pre-check, or None when it cannot be compiled."""
    try:
        return compile_schema(load_schema(schema_name))
    except Unsupported:
        return None


@functools.cache
def _validator(schema_name: str) -> jsonschema.protocols.Validator:
    """The compiled jsonschema validator of a shipped schema (built once per process)."""
    import jsonschema

    return jsonschema.Draft202012Validator(
        load_schema(schema_name), format_checker=jsonschema.FormatChecker()
    )


def schema_errors(data: Any, schema_name: str = "pledge.schema.json") -> list[str]:
    """Human-readable schema violations (empty when valid).

    A valid instance is recognised by :mod:`myself_i2i._internal.fastschema` without
    importing jsonschema (~80 ms); jsonschema decides everything else and words the errors.
    """
    quick = _quick_check(schema_name)
    if quick is not None and quick(data) is True:
        return []
    validator = _validator(schema_name)
    return [
        f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
        for e in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    ]


@dataclass(frozen=True)
class Pledge:
    """The content of a pledge assertion."""

    kind: PledgeKind
    hashtags: tuple[str, ...]
    sources: tuple[SourceRecord, ...]
    generator: Generator
    created: str
    statement: Text

    @classmethod
    def new(
        cls,
        kind: PledgeKind,
        hashtags: tuple[str, ...],
        sources: tuple[SourceRecord, ...] = (),
        generator: Generator | None = None,
    ) -> Pledge:
        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
        return cls(kind, hashtags, sources, generator or Generator(), now, STATEMENTS[kind])

    def to_assertion(self) -> dict[str, Any]:
        """The assertion data, validated against the schema.

        Raises:
            ManifestError: the data would not match the schema (a bug, never user input).
        """
        d: dict[str, Any] = {
            "version": PLEDGE_VERSION,
            "kind": self.kind.value,
            "hashtags": list(self.hashtags),
            "statement": self.statement.to_dict(),
            "sources": [s.to_dict() for s in self.sources],
            "created": self.created,
        }
        if not self.generator.is_empty():
            d["generator"] = self.generator.to_dict()
        errors = schema_errors(d)
        if errors:
            raise ManifestError(
                f"internal error: the pledge does not match its schema ({errors[0]}).",
                f"内部エラー：宣言がスキーマに合いません（{errors[0]}）。",
            )
        return d

    @classmethod
    def from_assertion(cls, data: dict[str, Any]) -> Pledge:
        """Parse assertion data that already passed :func:`schema_errors`."""
        st = data["statement"]
        return cls(
            kind=PledgeKind(data["kind"]),
            hashtags=tuple(data["hashtags"]),
            sources=tuple(SourceRecord.from_dict(s) for s in data["sources"]),
            generator=Generator.from_dict(data.get("generator") or {}),
            created=str(data["created"]),
            statement=Text(en=st["en"], ja=st["ja"]),
        )


def metadata_conflict(kind: PledgeKind, n_declared: int, meta: GenerationMetadata) -> Text | None:
    """How an image's own generation metadata contradicts a pledge, or None.

    The one rule shared by signing (which refuses) and verifying (which reports): a t2i
    pledge on metadata that shows image inputs, or an i2i pledge that declares fewer
    sources than the metadata shows. Undecidable metadata is no contradiction here (signing
    asks for confirmation separately).
    """
    from myself_i2i.genmeta import GenKind

    n = len(meta.image_inputs)
    inputs = (
        ", ".join(f"{x.role}{' ' + repr(x.name) if x.name else ''}" for x in meta.image_inputs)
        or "image input"
    )
    if kind is PledgeKind.T2I and meta.kind is GenKind.I2I:
        return Text(
            f"it shows image inputs ({inputs}) under a text-only (t2i) pledge",
            f"テキストのみ（t2i）の宣言なのに画像入力（{inputs}）があります",
        )
    if kind is not PledgeKind.T2I and n > n_declared:
        return Text(
            f"it shows {n} image inputs ({inputs}) but {n_declared} source(s) are declared",
            f"画像入力が {n} 件（{inputs}）ありますが、宣言された素材は {n_declared} 件です",
        )
    return None
