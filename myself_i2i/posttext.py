"""Reading a post's text: pledge hashtags, t2i / i2i hashtags and key tokens.

Hashtags are matched after NFKC normalisation (full-width ``＃`` and letters become
ASCII) and case-insensitively.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from myself_i2i.identity import find_tokens
from myself_i2i.models import HASHTAGS

_TAG_RE = re.compile(r"#([0-9A-Za-z_\u3040-\u30ff\u3400-\u9fff]+)")


@dataclass(frozen=True)
class PostClaims:
    text: str
    pledge_hashtags: tuple[str, ...]  #: canonical #Myself_i2i / #Noi2i found
    says_t2i: bool  #: a #t2i hashtag
    says_i2i: bool  #: a bare #i2i hashtag
    tokens: tuple[str, ...]
    lookalike_hashtags: tuple[str, ...] = ()  #: look like a pledge / t2i tag, are not one

    def to_dict(self) -> dict[str, object]:
        return {
            "hashtags": list(self.pledge_hashtags),
            "saysT2i": self.says_t2i,
            "saysI2i": self.says_i2i,
            "tokens": list(self.tokens),
            "lookalikeHashtags": list(self.lookalike_hashtags),
        }


def read_post(text: str) -> PostClaims:
    norm = unicodedata.normalize("NFKC", text)
    tags = [m.group(1).lower() for m in _TAG_RE.finditer(norm)]
    pledge: list[str] = []
    for h in HASHTAGS:
        if h[1:].lower() in tags and h not in pledge:
            pledge.append(h)
    return PostClaims(
        text=text,
        pledge_hashtags=tuple(pledge),
        says_t2i="t2i" in tags,
        says_i2i="i2i" in tags,
        tokens=tuple(find_tokens(norm)),
    )
