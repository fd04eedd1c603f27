"""The one error hierarchy of myself_i2i.

Every error a user can meet derives from :class:`MyselfI2IError`, carries a one-line
message in English and Japanese saying what is wrong and what to do, and is caught once
at the edge (CLI, web app, plugin). Third-party errors are translated with
``raise ... from e`` and never reach the user as tracebacks.

    MyselfI2IError
    ├── InputError            a path is missing, a directory, unreadable, or not allowed
    │   └── ImageError        not an image, corrupt, truncated, unsupported, a decompression bomb
    ├── ManifestError         a C2PA manifest is malformed or cannot be written
    ├── IdentityError         no identity yet, wrong passphrase, damaged key files
    ├── PledgeRefused         signing would put the pledge on something it does not cover
    │   └── AlreadySigned     the image already carries a C2PA manifest
    ├── RegistryError         the source registry database is locked or damaged
    ├── MetadataError         generation metadata (graph JSON, infotext) cannot be read
    ├── RepositoryError       the manifest repository cannot be read or written
    ├── KeyringError          the trusted-creator keyring
    ├── GrantError            a permission grant / revocation is malformed or badly signed
    └── ConfigError           a setting or option value is wrong
"""

from __future__ import annotations

from myself_i2i.i18n import Lang, Text


class MyselfI2IError(Exception):
    """Base class: a bilingual one-line message plus an exit code for the CLI."""

    exit_code: int = 2

    def __init__(self, en: str, ja: str) -> None:
        super().__init__(en)
        self.text = Text(en=en, ja=ja)

    def message(self, lang: Lang = "en") -> str:
        """The one-line message in ``lang``."""
        return self.text.get(lang)

    def diagnostics(self) -> str:
        """Both languages on two lines, for logs and plugin error dialogs."""
        return f"{self.text.en}\n{self.text.ja}"


class InputError(MyselfI2IError):
    """A path given by the user cannot be used."""


class ImageError(InputError):
    """A file is not a usable PNG, JPEG or WebP image."""


class ManifestError(MyselfI2IError):
    """A C2PA manifest is malformed, or the library refused to build or read it."""


class IdentityError(MyselfI2IError):
    """The signing identity is missing, locked, or damaged."""


class PledgeRefused(MyselfI2IError):
    """Signing was refused because the pledge would not be true."""

    exit_code = 3


class AlreadySigned(PledgeRefused):
    """The image already carries a C2PA manifest; sign the unsigned original instead."""


class RegistryError(MyselfI2IError):
    """The source registry cannot be used."""


class MetadataError(MyselfI2IError):
    """Embedded generation metadata cannot be read."""


class RepositoryError(MyselfI2IError):
    """The manifest repository cannot be used."""


class KeyringError(MyselfI2IError):
    """The keyring of trusted creators cannot be used."""


class ConfigError(MyselfI2IError):
    """An option or setting has a wrong value."""


class GrantError(MyselfI2IError):
    """A permission grant or revocation that is malformed or not signed by its artist."""
