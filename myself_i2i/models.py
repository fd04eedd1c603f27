"""Plain value types shared across the library: pledge kinds, source relations, generator info."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class PledgeKind(str, enum.Enum):
    """What the signer pledges about the picture's inputs."""

    T2I = "t2i"  #: text only: no image input at all
    SELF_SOURCED_I2I = "self-sourced-i2i"  #: image inputs, all own or permitted


class Relation(str, enum.Enum):
    """How the signer is entitled to use a source image."""

    OWN_DRAWING = "own-drawing"
    OWN_PHOTO = "own-photo"
    OWN_GENERATION = "own-generation"
    PERMITTED = "permitted"
    #: permitted by the artist's signed grant (recorded in the pledge, checked offline)
    PERMITTED_BY_GRANT = "permitted-by-grant"

    @classmethod
    def parse(cls, value: str) -> Relation:
        """Parse a relation name; raises ConfigError listing the valid names."""
        from myself_i2i.errors import ConfigError

        v = value.strip().lower()
        if v == cls.PERMITTED_BY_GRANT.value:
            raise ConfigError(
                "permitted-by-grant comes from a grant file: give --grant FILE (the relation "
                "is set when the grant checks out).",
                "permitted-by-grant は許可証ファイルから決まります。--grant FILE を指定してください"
                "（許可証が確認できると設定されます）。",
            )
        try:
            return cls(v)
        except ValueError:
            names = ", ".join(r.value for r in cls if r is not cls.PERMITTED_BY_GRANT)
            raise ConfigError(
                f"unknown relation {value!r}; use one of: {names}.",
                f"関係 {value!r} は使えません。次のどれかを指定してください: {names}。",
            ) from None


HASHTAGS: tuple[str, ...] = ("#Myself_i2i", "#Noi2i")


@dataclass(frozen=True)
class Lora:
    """A LoRA (style model) used in a generation; outside the pledge but shown to viewers."""

    name: str
    weight: float | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name}
        if self.weight is not None:
            d["weight"] = self.weight
        return d


@dataclass(frozen=True)
class Generator:
    """What made the picture, as far as known."""

    software: str | None = None
    model: str | None = None
    loras: tuple[Lora, ...] = ()

    def is_empty(self) -> bool:
        return self.software is None and self.model is None and not self.loras

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        if self.software:
            d["software"] = self.software
        if self.model:
            d["model"] = self.model
        if self.loras:
            d["loras"] = [lo.to_dict() for lo in self.loras]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Generator:
        loras = tuple(
            Lora(name=str(x["name"]), weight=(float(x["weight"]) if "weight" in x else None))
            for x in d.get("loras", [])
        )
        return cls(software=d.get("software"), model=d.get("model"), loras=loras)

    def merged(self, other: Generator) -> Generator:
        """This generator with gaps filled from ``other``."""
        return Generator(
            software=self.software or other.software,
            model=self.model or other.model,
            loras=self.loras or other.loras,
        )


@dataclass(frozen=True)
class Evidence:
    """Why a ``permitted`` source may be used."""

    text: str | None = None
    url: str | None = None

    def to_dict(self) -> dict[str, str]:
        d: dict[str, str] = {}
        if self.text:
            d["text"] = self.text
        if self.url:
            d["url"] = self.url
        return d


@dataclass(frozen=True)
class SourceRecord:
    """One declared source of an i2i image, as written in the pledge assertion."""

    sha256: str
    pixel_sha256: str
    phash: str
    width: int
    height: int
    relation: Relation
    title: str
    evidence: Evidence | None = None
    ingredient_label: str | None = None
    grant: str | None = None  #: the artist's grant (COSE_Sign1, base64) for permitted-by-grant

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "title": self.title,
            "sha256": self.sha256,
            "pixelSha256": self.pixel_sha256,
            "phash": self.phash,
            "width": self.width,
            "height": self.height,
            "relation": self.relation.value,
        }
        if self.evidence is not None and self.evidence.to_dict():
            d["evidence"] = self.evidence.to_dict()
        if self.ingredient_label:
            d["ingredient"] = self.ingredient_label
        if self.grant:
            d["grant"] = self.grant
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SourceRecord:
        ev = d.get("evidence")
        return cls(
            sha256=str(d["sha256"]),
            pixel_sha256=str(d["pixelSha256"]),
            phash=str(d["phash"]),
            width=int(d["width"]),
            height=int(d["height"]),
            relation=Relation(d["relation"]),
            title=str(d.get("title", "")),
            evidence=Evidence(text=ev.get("text"), url=ev.get("url")) if ev else None,
            ingredient_label=d.get("ingredient"),
            grant=d.get("grant"),
        )


@dataclass
class SourceSpec:
    """A source image the user names when signing an i2i picture."""

    path: Path
    relation: Relation | None = None
    evidence: Evidence | None = None


#: Label of our "not for i2i without my permission" assertion (``myself-i2i protect``), and
#: the labels it is read under. Here, not in :mod:`myself_i2i.protect`, so that verifying
#: a file does not import the protect machinery.
PROTECTION_LABEL = "org.myself-i2i.protection.v1"
PROTECTION_LABELS = (PROTECTION_LABEL, "org.myself-i2i.protection")
