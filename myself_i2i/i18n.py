"""Bilingual (English / Japanese) text shown to people.

Every message a user reads carries both languages; the edge (CLI, web page, plugin)
chooses one with :func:`default_lang` or the user's explicit choice.
"""

from __future__ import annotations

import locale
import os
from dataclasses import dataclass
from typing import Literal

Lang = Literal["en", "ja"]


@dataclass(frozen=True)
class Text:
    """One message in English and Japanese."""

    en: str
    ja: str

    def get(self, lang: Lang) -> str:
        """Return the message in ``lang``."""
        return self.ja if lang == "ja" else self.en

    def to_dict(self) -> dict[str, str]:
        return {"en": self.en, "ja": self.ja}


def default_lang() -> Lang:
    """The user's language from ``MYSELF_I2I_LANG`` or the locale; English otherwise."""
    explicit = os.environ.get("MYSELF_I2I_LANG", "").strip().lower()
    if explicit in ("en", "ja"):
        return explicit  # type: ignore[return-value]
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if value:
            return "ja" if value.lower().startswith("ja") else "en"
    try:
        loc = locale.getlocale()[0] or ""
    except ValueError:
        loc = ""
    return "ja" if loc.lower().startswith("ja") else "en"


def parse_lang(value: str | None, *, strict: bool = False) -> Lang:
    """Turn a ``--lang`` value (or None) into a language.

    Unknown values fall back to the default, or with ``strict`` raise ConfigError (the CLI's
    ``--lang fr`` is an error, not silently English).
    """
    if value is None:
        return default_lang()
    v = value.strip().lower()
    if v.startswith("ja"):
        return "ja"
    if v.startswith("en"):
        return "en"
    if strict:
        from myself_i2i.errors import ConfigError

        raise ConfigError(
            f"--lang {value!r}: give ja (日本語) or en (English).",
            f"--lang {value!r}: ja（日本語）か en（English）を指定してください。",
        )
    return default_lang()
