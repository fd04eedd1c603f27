"""myself_i2i: make the #Myself_i2i / #Noi2i pledge checkable with C2PA.

The public API (everything the CLI, the web app and the plugins use) is importable from
here; names load lazily so that ``import myself_i2i`` stays cheap. Modules under
``myself_i2i._internal`` are plumbing with no stability promise.

    >>> from myself_i2i import IdentityStore, sign_image, verify_image, VerifyOptions
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # signing and verifying
    "sign_image": "myself_i2i.sign",
    "sign_images": "myself_i2i.sign",
    "SignOptions": "myself_i2i.sign",
    "SignResult": "myself_i2i.sign",
    "verify_image": "myself_i2i.verify",
    "verify_bytes": "myself_i2i.verify",
    "VerifyOptions": "myself_i2i.verify",
    # the report
    "Report": "myself_i2i.report",
    "Verdict": "myself_i2i.report",
    "Finding": "myself_i2i.report",
    "Severity": "myself_i2i.report",
    "SignerInfo": "myself_i2i.report",
    "EXIT_CODES": "myself_i2i.report",
    # identity and trust
    "Identity": "myself_i2i.identity",
    "IdentityStore": "myself_i2i.identity",
    "Keyring": "myself_i2i.keyring",
    # sources, metadata, signals, evidence
    "SourceRegistry": "myself_i2i.registry",
    "read_generation_metadata": "myself_i2i.genmeta",
    "find_signals": "myself_i2i.signals",
    "structural_similarity": "myself_i2i.evidence",
    # the artists' side: protections and signed grants
    "protect_artwork": "myself_i2i.protect",
    "ProtectOptions": "myself_i2i.protect",
    "ProtectResult": "myself_i2i.protect",
    "find_protection": "myself_i2i.protect",
    "make_grant": "myself_i2i.grants",
    "parse_grant": "myself_i2i.grants",
    "check_grant": "myself_i2i.grants",
    # soft binding
    "LocalRepository": "myself_i2i.repository",
    "HttpRepository": "myself_i2i.repository",
    "open_repository": "myself_i2i.repository",
    "PgRepository": "myself_i2i.pg_repository",
    # values
    "PledgeKind": "myself_i2i.models",
    "Relation": "myself_i2i.models",
    "Evidence": "myself_i2i.models",
    "Generator": "myself_i2i.models",
    "Lora": "myself_i2i.models",
    "SourceSpec": "myself_i2i.models",
    "Text": "myself_i2i.i18n",
    # errors
    "MyselfI2IError": "myself_i2i.errors",
    "InputError": "myself_i2i.errors",
    "ImageError": "myself_i2i.errors",
    "ManifestError": "myself_i2i.errors",
    "IdentityError": "myself_i2i.errors",
    "PledgeRefused": "myself_i2i.errors",
    "AlreadySigned": "myself_i2i.errors",
    "RegistryError": "myself_i2i.errors",
    "MetadataError": "myself_i2i.errors",
    "RepositoryError": "myself_i2i.errors",
    "KeyringError": "myself_i2i.errors",
    "ConfigError": "myself_i2i.errors",
    "GrantError": "myself_i2i.errors",
}

__all__ = [
    "EXIT_CODES",
    "AlreadySigned",
    "ConfigError",
    "Evidence",
    "Finding",
    "Generator",
    "GrantError",
    "HttpRepository",
    "Identity",
    "IdentityError",
    "IdentityStore",
    "ImageError",
    "InputError",
    "Keyring",
    "KeyringError",
    "LocalRepository",
    "Lora",
    "ManifestError",
    "MetadataError",
    "MyselfI2IError",
    "PgRepository",
    "PledgeKind",
    "PledgeRefused",
    "ProtectOptions",
    "ProtectResult",
    "RegistryError",
    "Relation",
    "Report",
    "RepositoryError",
    "Severity",
    "SignOptions",
    "SignResult",
    "SignerInfo",
    "SourceRegistry",
    "SourceSpec",
    "Text",
    "Verdict",
    "VerifyOptions",
    "__version__",
    "check_grant",
    "find_protection",
    "find_signals",
    "make_grant",
    "open_repository",
    "parse_grant",
    "protect_artwork",
    "read_generation_metadata",
    "sign_image",
    "sign_images",
    "structural_similarity",
    "verify_bytes",
    "verify_image",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'myself_i2i' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from myself_i2i.errors import (
        AlreadySigned,
        ConfigError,
        GrantError,
        IdentityError,
        ImageError,
        InputError,
        KeyringError,
        ManifestError,
        MetadataError,
        MyselfI2IError,
        PledgeRefused,
        RegistryError,
        RepositoryError,
    )
    from myself_i2i.evidence import structural_similarity
    from myself_i2i.genmeta import read_generation_metadata
    from myself_i2i.grants import check_grant, make_grant, parse_grant
    from myself_i2i.i18n import Text
    from myself_i2i.identity import Identity, IdentityStore
    from myself_i2i.keyring import Keyring
    from myself_i2i.models import Evidence, Generator, Lora, PledgeKind, Relation, SourceSpec
    from myself_i2i.pg_repository import PgRepository
    from myself_i2i.protect import ProtectOptions, ProtectResult, find_protection, protect_artwork
    from myself_i2i.registry import SourceRegistry
    from myself_i2i.report import EXIT_CODES, Finding, Report, Severity, SignerInfo, Verdict
    from myself_i2i.repository import HttpRepository, LocalRepository, open_repository
    from myself_i2i.sign import SignOptions, SignResult, sign_image, sign_images
    from myself_i2i.signals import find_signals
    from myself_i2i.verify import VerifyOptions, verify_bytes, verify_image
