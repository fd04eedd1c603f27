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


#: What people read for the machine codes of verdicts, pledge kinds, source relations and
#: match kinds (``--json`` keeps the codes).
_TERMS: dict[str, Text] = {
    # verdicts
    "verified": Text("verified", "検証済み"),
    "recovered": Text("recovered", "復元"),
    "untrusted-signer": Text("untrusted signer", "未確認の署名者"),
    "no-pledge": Text("no pledge", "宣言なし"),
    "unsigned": Text("unsigned", "署名なし"),
    "credential-invalid": Text("credential invalid", "証明書が無効"),
    "invalid": Text("invalid", "無効"),
    "wrong-signer": Text("wrong signer", "署名者が違う"),
    "contradicts-post": Text("contradicts the post", "投稿文と矛盾"),
    "pledge-violated": Text("pledge violated", "宣言違反"),
    "tampered": Text("tampered", "改ざん"),
    # pledge kinds
    "t2i": Text("t2i (text only)", "t2i（テキストのみ）"),
    "self-sourced-i2i": Text(
        "i2i from own or permitted sources", "自分の素材・許可済み素材からの i2i"
    ),
    # relations
    "own-drawing": Text("own drawing", "自分の絵"),
    "own-photo": Text("own photo", "自分の写真"),
    "own-generation": Text("own generation", "自分の生成画像"),
    "permitted": Text("permitted", "作者の許可あり"),
    "permitted-by-grant": Text("permitted by a signed grant", "署名付き許可証による許可"),
    # match kinds
    "exact": Text("exact match", "完全一致"),
    "same-pixels": Text("same-pixels match", "画素一致"),
    "perceptual": Text("perceptual match", "見た目の一致"),
    # how a grant's artwork was matched (myself_i2i/grants.py)
    "pixels": Text("same-pixels match", "画素一致"),
    "watermark": Text("matched by its watermark", "透かしで一致"),
    "fingerprint": Text("fingerprint match", "フィンガープリントで一致"),
}


def term(code: str | None, lang: Lang) -> str:
    """The readable name of a verdict, pledge kind, relation or match-kind code."""
    if code is None:
        return "-"
    t = _TERMS.get(str(getattr(code, "value", code)))
    return t.get(lang) if t else str(code)
