"""Reading hashtags and key tokens from a post's text."""

from __future__ import annotations

import pytest

from myself_i2i.posttext import read_post

TOKEN = "mi2i:ABCD-EFGH-IJKL-MNOP-QRST"


@pytest.mark.parametrize(
    ("text", "tags"),
    [
        ("#Myself_i2i", ("#Myself_i2i",)),
        ("＃Myself_i2i", ("#Myself_i2i",)),
        ("#MYSELF_I2I and #noi2i", ("#Myself_i2i", "#Noi2i")),
        ("＃ＮＯＩ２Ｉ", ("#Noi2i",)),
        ("新作です#Myself_i2i よろしく", ("#Myself_i2i",)),
        ("#Myself_i2ix #notNoi2i", ()),
        ("Myself_i2i without hash", ()),
    ],
)
def test_pledge_hashtags(text: str, tags: tuple[str, ...]) -> None:
    assert read_post(text).pledge_hashtags == tags


def test_kind_hashtags_and_tokens() -> None:
    p = read_post(f"#T2I #Myself_i2i key: {TOKEN.lower()} again {TOKEN}")
    assert p.says_t2i and not p.says_i2i
    assert p.tokens == (TOKEN,)
    assert read_post("＃i2i").says_i2i
    d = read_post("#i2i").to_dict()
    assert d == {
        "hashtags": [],
        "saysT2i": False,
        "saysI2i": True,
        "tokens": [],
        "lookalikeHashtags": [],
    }


@pytest.mark.parametrize(
    "written",
    [
        "#Мyself_i2i",  # Cyrillic capital em
        "#Myѕelf_i2i",  # Cyrillic dze
        "#Myself_і2і",  # Cyrillic i
        "#Myse1f_i2i",  # digit one for small l (TR39 confusables)
        "#MYSELF_l2l",  # small l for capital I
        "#Νoi2i",  # Greek capital nu
        "#Noι2ι",  # Greek iota
        "#N0i2i",  # digit zero for O
    ],
)
def test_attack_lookalike_pledge_hashtag(written: str) -> None:
    p = read_post(f"新作 {written} よろしく")
    assert p.pledge_hashtags == ()
    assert p.lookalike_hashtags == (written,)
    assert p.to_dict()["lookalikeHashtags"] == [written]


@pytest.mark.parametrize("invisible", ["\u200d", "\u200b", "\u200c", "\u2060", "\u00ad"])
def test_attack_zero_width_in_hashtag(invisible: str) -> None:
    written = f"#Myself{invisible}_i2i"
    p = read_post(f"{written} new work")
    assert p.pledge_hashtags == ()
    assert p.lookalike_hashtags == (written,)


def test_invisible_after_a_hashtag_is_outside_it() -> None:
    p = read_post("#Myself_i2i\u200b new work")
    assert p.pledge_hashtags == ("#Myself_i2i",) and p.lookalike_hashtags == ()


@pytest.mark.parametrize(
    ("written", "t2i", "i2i"),
    [
        ("#t2ı", False, False),
        ("#ｔ２ｉ", True, False),
        ("#і2і", False, False),
        ("#I2I", False, True),
    ],
)
def test_attack_lookalike_kind_hashtag(written: str, t2i: bool, i2i: bool) -> None:
    p = read_post(written)
    assert (p.says_t2i, p.says_i2i) == (t2i, i2i)
    assert p.lookalike_hashtags == (() if t2i or i2i else (written,))


def test_real_tag_next_to_its_lookalike() -> None:
    p = read_post("#Myself_i2i #Мyself_i2i #t2i #t2ı")
    assert p.pledge_hashtags == ("#Myself_i2i",) and p.says_t2i
    assert p.lookalike_hashtags == ("#Мyself_i2i", "#t2ı")


def test_fullwidth_hash_and_letters_are_the_real_tag() -> None:
    for text in ("＃Ｍｙｓｅｌｆ＿ｉ２ｉ", "﹟Myself_i2i", "#MYSELF_I2I"):
        p = read_post(text)
        assert p.pledge_hashtags == ("#Myself_i2i",), text
        assert p.lookalike_hashtags == (), text


def test_other_hashtags_are_not_lookalikes() -> None:
    p = read_post("#AIart #AIイラスト #Myself_i2ix #t2image #イラスト")
    assert p.lookalike_hashtags == () and p.pledge_hashtags == ()


@pytest.mark.parametrize(
    "written",
    [
        "mi2i:ABCD-EFGH-\u0406JKL-MNOP-QRST",  # Cyrillic І
        "mi2i:ABCD-EFGH-\u0131JKL-MNOP-QRST",  # dotless ı, which [A-Z] with IGNORECASE takes
        "mi2i:ABCD-EFGH-\u0130JKL-MNOP-QRST",  # dotted İ
        "mi2i:ABCD-EFGH-IJKL-MNOP-QR\u017fT",  # long s, which NFKC makes an s
        "mi2i:ABCD-EFGH-IJ\u212aL-MNOP-QRST",  # Kelvin sign
        "mi2i:ABCD\u200b-EFGH-IJKL-MNOP-QRST",  # zero-width space
        "m\u0456" + "2i:ABCD-EFGH-IJKL-MNOP-QRST",  # Cyrillic і in the prefix
        "mi2i:ABCD-EFGH-1JKL-MNOP-QRST",  # digit one for I
    ],
)
def test_attack_lookalike_token_is_not_a_token(written: str) -> None:
    assert read_post(f"#Myself_i2i key: {written}").tokens == ()


def test_fullwidth_token_is_a_token() -> None:
    assert read_post("ｍｉ２ｉ：ＡＢＣＤ－ＥＦＧＨ－ＩＪＫＬ－ＭＮＯＰ－ＱＲＳＴ").tokens == (
        TOKEN,
    )
