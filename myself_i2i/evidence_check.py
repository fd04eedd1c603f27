"""``verify --against ORIGINAL``: evidence for an illustrator who suspects misuse.

Says whether the original is one of the declared sources (exact bytes, same pixels, or a
perceptual match) and how structurally similar the suspect image is to it. It is
evidence for a person to weigh, never a verdict of copying.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from myself_i2i.i18n import term
from myself_i2i.images import ImageHashes, check_path, hashes_of, open_image
from myself_i2i.registry import MatchKind, match_kind


def compare_with_original(
    suspect: bytes, name: str, original: Path, pledge: dict[str, Any] | None
) -> dict[str, Any]:
    """One evidence entry (JSON-ready) comparing the suspect image with ``original``.

    Raises:
        InputError, ImageError: the original cannot be read.
    """
    from myself_i2i.evidence import structural_similarity

    # One read and one decode of the original serve both the hashes and the similarity.
    data = check_path(original).read_bytes()
    with open_image(data, name=str(original)) as orig, open_image(suspect, name=name) as sus:
        h = hashes_of(orig, data)
        sim = structural_similarity(sus, orig)
    declared: dict[str, Any] | None = None
    for src in (pledge or {}).get("sources", []):
        kind = match_kind(
            ImageHashes(
                sha256=str(src.get("sha256", "")),
                pixel_sha256=str(src.get("pixelSha256", "")),
                phash=str(src.get("phash", "0" * 16)),
                width=int(src.get("width", 1)),
                height=int(src.get("height", 1)),
            ),
            h,
        )
        if kind is None:
            continue
        declared = {"title": src.get("title"), "match": kind.value, "relation": src.get("relation")}
        if kind is not MatchKind.PERCEPTUAL:
            break
    if pledge is None:
        decl_en = "The suspect image declares no sources (no pledge manifest to compare with)."
        decl_ja = "対象画像には素材の宣言がありません（比較できる宣言マニフェストがありません）。"
    elif declared is not None:
        decl_en = (
            f"Your original IS one of the declared sources ({declared['title']}, "
            f"{term(declared['match'], 'en')}, declared as {term(declared['relation'], 'en')})."
        )
        decl_ja = (
            f"あなたの原画は宣言された素材の一つです（{declared['title']}、"
            f"{term(declared['match'], 'ja')}、{term(declared['relation'], 'ja')}として宣言）。"
        )
    else:
        decl_en = "Your original is NOT among the declared sources."
        decl_ja = "あなたの原画は宣言された素材に含まれていません。"
    # Was the original protected, and by whom (its own embedded manifest)?
    from myself_i2i.protect import find_protection

    protection = find_protection(data, str(original), [])
    if protection is not None:
        decl_en += (
            f" Your original is protected by {protection.artist} ({protection.token}) since "
            f"{protection.created or '?'}."
        )
        decl_ja += (
            f"あなたの原画は {protection.artist}（{protection.token}）が "
            f"{protection.created or '?'} から保護しています。"
        )
    return {
        "original": str(original),
        "protection": protection.to_dict() if protection is not None else None,
        "declaredSource": declared,
        "similarity": {"score": round(float(sim.score), 4), "level": sim.level.value},
        "message": {"en": f"{decl_en} {sim.text.en}", "ja": f"{decl_ja}{sim.text.ja}"},
    }


def not_decodable(original: Path, fmt: str) -> dict[str, Any]:
    """The evidence entry when the suspect file's pixels cannot be decoded here."""
    return {
        "original": str(original),
        "declaredSource": None,
        "similarity": None,
        "message": {
            "en": f"The suspect file is {fmt}, whose pixels are not decoded here: no comparison "
            "was made. Convert it to PNG and compare again.",
            "ja": f"対象ファイルは {fmt} 形式で、ここでは画素を展開しないため比較していません。"
            "PNG に変換してもう一度比較してください。",
        },
    }
