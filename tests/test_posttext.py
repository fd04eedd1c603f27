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
