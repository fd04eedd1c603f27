"""The context of one verification: built once by the reading step, read by every check."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from myself_i2i._internal.c2pa_backend import ManifestView, StoreRead
from myself_i2i.keyring import Keyring
from myself_i2i.pledge import Pledge
from myself_i2i.posttext import PostClaims
from myself_i2i.report import Finding, SignerInfo
from myself_i2i.verify.options import VerifyOptions


@dataclass
class Context:
    """What the checks share. The manifest is a typed view: no c2pa JSON here."""

    data: bytes
    name: str
    mime: str
    options: VerifyOptions
    keyring: Keyring
    post: PostClaims | None
    expected_token: str | None  #: from the options: authoritative
    own_token: str | None  #: this machine's identity, if any
    store: bytes | None = None  #: the manifest store bytes (embedded or recovered)
    read: StoreRead | None = None
    detached: bool = False  #: the manifest came from a repository, not from the file
    recovery: dict[str, Any] | None = None
    findings: list[Finding] = field(default_factory=list)
    signer: SignerInfo | None = None
    pledge_raw: dict[str, Any] | None = None  #: the pledge assertion as signed, if present
    pledge: Pledge | None = None  #: the pledge, only when it passed its schema

    @property
    def manifest(self) -> ManifestView | None:
        return self.read.active if self.read else None

    def has(self, *codes: str) -> bool:
        return any(f.code in codes for f in self.findings)
