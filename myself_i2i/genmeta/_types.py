"""Value types of the generation-metadata reader and small shared helpers."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any

from myself_i2i.errors import MetadataError
from myself_i2i.models import Generator


class GenKind(str, enum.Enum):
    """How a picture was generated, as far as its embedded metadata tells."""

    T2I = "t2i"  #: text only: no image was fed to the model
    I2I = "i2i"  #: at least one image was fed to the model
    UNKNOWN = "unknown"  #: metadata is present but does not tell


@dataclass(frozen=True)
class ImageInput:
    """One image fed into the generation, as the UI recorded it."""

    name: str  #: file name as recorded by the UI, or "" when the UI records none
    role: str  #: e.g. "LoadImage", "img2img init image", "inpaint mask", "ControlNet", "IP-Adapter"
    node_id: str | None = None  #: ComfyUI node id, A1111 ControlNet unit label, ...

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "role": self.role}
        if self.node_id is not None:
            d["nodeId"] = self.node_id
        return d


@dataclass(frozen=True)
class GenerationMetadata:
    """What the embedded generation metadata says about a picture."""

    source: (
        str  #: "a1111", "comfyui", "novelai", "invokeai", "swarmui", "json" (other JSON parameters)
    )
    kind: GenKind
    generator: Generator
    image_inputs: tuple[ImageInput, ...] = ()
    reasons: tuple[str, ...] = ()  #: short English explanations of how ``kind`` was decided
    raw: dict[str, str] = field(default_factory=dict)  #: the raw text chunks it came from

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (without ``raw``)."""
        return {
            "source": self.source,
            "kind": self.kind.value,
            "generator": self.generator.to_dict(),
            "imageInputs": [i.to_dict() for i in self.image_inputs],
            "reasons": list(self.reasons),
        }


def metadata_error(what: str, key: str, detail: str) -> MetadataError:
    """The bilingual error for an embedded chunk that cannot be read."""
    detail = " ".join(detail.split())[:200]
    return MetadataError(
        f"{what}: the embedded '{key}' metadata is malformed ({detail}); "
        "it cannot be used to tell how the picture was made.",
        f"{what}: 埋め込まれた '{key}' メタデータが壊れています（{detail}）。"
        "生成方法の判定には使えません。",
    )


def load_json(text: str, *, what: str, key: str) -> Any:
    """``json.loads`` that raises :class:`MetadataError` instead of ``ValueError``."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as e:
        raise metadata_error(what, key, str(e)) from e


def to_float(value: Any) -> float | None:
    """A number from a JSON or infotext value, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def pick(chunks: dict[str, str], keys: tuple[str, ...]) -> dict[str, str]:
    """The items of ``chunks`` named in ``keys`` (the raw texts a result came from)."""
    return {k: chunks[k] for k in keys if k in chunks}
