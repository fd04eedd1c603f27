"""``verify --against ORIGINAL``: evidence for an illustrator who suspects misuse.

Says whether the original is one of the declared sources (exact bytes, same pixels, or a
perceptual match) and how structurally similar the suspect image is to it. It is
evidence for a person to weigh, never a verdict of copying.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from myself_i2i.images import hamming_hex, hash_image, open_image
from myself_i2i.registry import DEFAULT_PHASH_THRESHOLD, aspect_close


def compare_with_original(
    suspect: bytes, name: str, original: Path, pledge: dict[str, Any] | None
) -> dict[str, Any]:
    """One evidence entry (JSON-ready) comparing the suspect image with ``original``.

    Raises:
        InputError, ImageError: the original cannot be read.
    """
    from myself_i2i.evidence import structural_similarity

    h = hash_image(original)
    declared: dict[str, Any] | None = None
    for src in (pledge or {}).get("sources", []):
        if src.get("sha256") == h.sha256:
            declared = {
                "title": src.get("title"),
                "match": "exact",
                "relation": src.get("relation"),
            }
            break
        if src.get("pixelSha256") == h.pixel_sha256:
            declared = {
                "title": src.get("title"),
                "match": "same-pixels",
                "relation": src.get("relation"),
            }
            break
        if hamming_hex(
            src.get("phash", "0" * 16), h.phash
        ) <= DEFAULT_PHASH_THRESHOLD and aspect_close(
            int(src.get("width", 1)), int(src.get("height", 1)), h.width, h.height
        ):
            declared = {
                "title": src.get("title"),
                "match": "perceptual",
                "relation": src.get("relation"),
            }
    with open_image(suspect, name=name) as a, open_image(original) as b:
        sim = structural_similarity(a, b)
    if pledge is None:
        decl_en = "The suspect image declares no sources (no pledge manifest to compare with)."
        decl_ja = "対象画像には素材の宣言がありません（比較できる宣言マニフェストがありません）。"
    elif declared is not None:
        decl_en = (
            f"Your original IS one of the declared sources ({declared['title']}, "
            f"{declared['match']} match, declared as {declared['relation']})."
        )
        decl_ja = (
            f"あなたの原画は宣言された素材の一つです（{declared['title']}、"
            f"{declared['match']} 一致、{declared['relation']} として宣言）。"
        )
    else:
        decl_en = "Your original is NOT among the declared sources."
        decl_ja = "あなたの原画は宣言された素材に含まれていません。"
    return {
        "original": str(original),
        "declaredSource": declared,
        "similarity": {"score": round(float(sim.score), 4), "level": sim.level.value},
        "message": {"en": f"{decl_en} {sim.text.en}", "ja": f"{decl_ja}{sim.text.ja}"},
    }
