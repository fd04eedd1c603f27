"""Recovering the manifest of a copy whose embedded manifest was stripped (soft binding)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from myself_i2i._internal import c2pa_backend
from myself_i2i.report import Finding

if TYPE_CHECKING:
    from myself_i2i.verify import VerifyOptions


@dataclass
class Recovered:
    store: bytes
    read: c2pa_backend.ManifestRead | None
    info: dict[str, Any]
    findings: list[Finding] = field(default_factory=list)


def recover(data: bytes, mime: str, name: str, options: VerifyOptions) -> Recovered | None:
    """Find the manifest of a stripped copy in the configured repositories (none yet)."""
    return None
