"""Reading a post's text: pledge hashtags, t2i / i2i hashtags and key tokens.

Hashtags are matched after NFKC normalisation (full-width ``＃`` and letters become
ASCII) and case folding. A hashtag that only *looks* like one of ours (Cyrillic or Greek
letters, ``1`` for ``l``, a zero-width joiner inside; Unicode TR39, see
:mod:`myself_i2i.names`) is not counted: it is listed in
:attr:`PostClaims.lookalike_hashtags` so that the report can say so. Key tokens are read
from ASCII and full-width ASCII only: a token typed with look-alike letters is not a token.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from myself_i2i.identity import normalize_token
from myself_i2i.models import HASHTAGS
from myself_i2i.names import is_invisible, lookalike_chars, same_looking

#: The hashtags a post can carry for us: the pledge ones, then #t2i and #i2i.
_T2I, _I2I = "#t2i", "#i2i"
_OUR_TAGS: tuple[str, ...] = (*HASHTAGS, _T2I, _I2I)
#: A tag body longer than this is nobody's look-alike of ours (and costs no matching).
_MAX_LOOKALIKE_LEN = 64
#: ASCII only, even case-insensitively: [A-Z] with re.IGNORECASE alone would also take
#: the Turkish dotted / dotless i, the long s and the Kelvin sign.
_TOKEN_RE = re.compile(r"mi2i:\s*[A-Z2-7]{4}(?:-?[A-Z2-7]{4}){4}", re.ASCII | re.IGNORECASE)
#: Full-width ASCII (a Japanese keyboard's) and the ideographic space, to plain ASCII. Tokens
#: are read with this, not NFKC, which would also turn the long s (ſ) and the Kelvin sign
#: into letters of a token.
_WIDTH = {0xFF01 + i: 0x21 + i for i in range(94)} | {0x3000: 0x20}


@dataclass(frozen=True)
class PostClaims:
    text: str
    pledge_hashtags: tuple[str, ...]  #: canonical #Myself_i2i / #Noi2i found
    says_t2i: bool  #: a #t2i hashtag
    says_i2i: bool  #: a bare #i2i hashtag
    tokens: tuple[str, ...]
    #: hashtags as written (after NFKC) that look like #Myself_i2i, #Noi2i, #t2i or #i2i
    #: but are not them; never counted as those
    lookalike_hashtags: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "hashtags": list(self.pledge_hashtags),
            "saysT2i": self.says_t2i,
            "saysI2i": self.says_i2i,
            "tokens": list(self.tokens),
            "lookalikeHashtags": list(self.lookalike_hashtags),
        }


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def _tag_char(ch: str) -> bool:
    # Letters and digits of any script (so a Cyrillic or Greek look-alike is seen, not
    # skipped), the underscore, combining marks, and invisible format characters (a
    # zero-width joiner inside a tag makes a look-alike, not the end of the tag).
    return ch == "_" or ch.isalnum() or unicodedata.category(ch)[0] == "M" or is_invisible(ch)


def _hashtags(norm: str) -> list[tuple[str, str]]:
    """(hash sign, body) of every hashtag in NFKC text, the hash sign possibly a look-alike."""
    hashes = lookalike_chars("#")
    out: list[tuple[str, str]] = []
    i, n = 0, len(norm)
    while i < n:
        if norm[i] not in hashes:
            i += 1
            continue
        j = i + 1
        while j < n and _tag_char(norm[j]):
            j += 1
        body = norm[i + 1 : j]
        while body and is_invisible(body[-1]):  # trailing invisibles are outside the tag
            body = body[:-1]
        if body:
            out.append((norm[i], body))
        i = j
    return out


def read_post(text: str) -> PostClaims:
    """What a post's text claims: our hashtags, their look-alikes, and key tokens."""
    norm = unicodedata.normalize("NFKC", text)
    found: set[str] = set()  # canonical tags of ours, e.g. "#Noi2i"
    lookalikes: list[str] = []
    real = {_fold(t[1:]): t for t in _OUR_TAGS}
    for hash_sign, body in _hashtags(norm):
        ours = real.get(_fold(body))
        if ours is not None and hash_sign == "#":
            found.add(ours)
            continue
        if len(body) <= _MAX_LOOKALIKE_LEN and any(same_looking(body, t[1:]) for t in _OUR_TAGS):
            written = hash_sign + body
            if written not in lookalikes:
                lookalikes.append(written)
    tokens: list[str] = []
    for m in _TOKEN_RE.finditer(text.translate(_WIDTH)):
        tok = normalize_token(m.group(0))
        if tok is not None and tok not in tokens:
            tokens.append(tok)
    return PostClaims(
        text=text,
        pledge_hashtags=tuple(h for h in HASHTAGS if h in found),
        says_t2i=_T2I in found,
        says_i2i=_I2I in found,
        tokens=tuple(tokens),
        lookalike_hashtags=tuple(lookalikes),
    )
