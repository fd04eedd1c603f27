"""Do-not-use signals read from real PNG / JPEG / WebP files and from C2PA assertion dicts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import piexif
import pytest
from PIL import Image, PngImagePlugin

from myself_i2i.errors import ImageError, InputError
from myself_i2i.signals import (
    Signal,
    blocking_signals,
    find_signals,
    signals_from_assertions,
    signals_from_xmp,
)

DMI = "http://ns.useplus.org/ldf/vocab/"


def xmp_attr(value: str) -> str:
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:plus="http://ns.useplus.org/ldf/xmp/1.0/"'
        f' plus:DataMining="{value}"/>'
        '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    )


def xmp_element(inner: str) -> str:
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:plus="http://ns.useplus.org/ldf/xmp/1.0/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"{inner}"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    )


def picture() -> Image.Image:
    return Image.new("RGB", (48, 32), (200, 120, 90))


def write_png(path: Path, texts: dict[str, str], xmp: str | None = None) -> Path:
    info = PngImagePlugin.PngInfo()
    for k, v in texts.items():
        info.add_text(k, v)
    if xmp is not None:
        info.add_itxt("XML:com.adobe.xmp", xmp)
    picture().save(path, "PNG", pnginfo=info)
    return path


def tm(label: str, **entries: Any) -> dict[str, Any]:
    return {"label": label, "data": {"entries": entries}}


# ---------------------------------------------------------------- C2PA / CAWG assertions


def test_cawg_inference_not_allowed_blocks() -> None:
    sigs = signals_from_assertions(
        [
            {"label": "c2pa.actions.v2", "data": {"actions": []}},
            tm("cawg.training-mining", **{"cawg.ai_inference": {"use": "notAllowed"}}),
        ]
    )
    assert sigs == [
        Signal(
            kind="cawg.training-mining",
            key="cawg.ai_inference",
            value="notAllowed",
            blocking=True,
            where="C2PA assertion",
        )
    ]
    assert sigs[0].quote() == (
        "cawg.ai_inference = notAllowed (C2PA assertion cawg.training-mining)"
    )


def test_generative_training_constrained_blocks_and_keeps_constraint_info() -> None:
    sigs = signals_from_assertions(
        [
            tm(
                "cawg.training-mining",
                **{
                    "cawg.ai_generative_training": {
                        "use": "constrained",
                        "constraint_info": "ask me: artist@example.com",
                    }
                },
            )
        ]
    )
    assert len(sigs) == 1 and sigs[0].blocking
    assert "artist@example.com" in sigs[0].quote()


def test_training_and_data_mining_are_reported_not_blocking() -> None:
    sigs = signals_from_assertions(
        [
            tm(
                "cawg.training-mining",
                **{
                    "cawg.ai_training": {"use": "notAllowed"},
                    "cawg.data_mining": {"use": "notAllowed"},
                    "cawg.ai_inference": {"use": "allowed"},
                    "cawg.ai_generative_training": {"use": "allowed"},
                },
            )
        ]
    )
    assert {s.key for s in sigs} == {
        "cawg.ai_training",
        "cawg.data_mining",
        "cawg.ai_inference",
        "cawg.ai_generative_training",
    }
    assert blocking_signals(sigs) == []


@pytest.mark.parametrize(
    "label",
    ["c2pa.training-mining", "c2pa.training-mining__1", "cawg.training-mining.v2"],
)
def test_older_and_suffixed_labels(label: str) -> None:
    sigs = signals_from_assertions([tm(label, **{"c2pa.ai_inference": {"use": "notAllowed"}})])
    assert len(sigs) == 1 and sigs[0].blocking
    assert sigs[0].kind == label.split("-mining")[0] + "-mining"


def test_unknown_or_missing_use_on_inference_is_treated_as_not_allowed() -> None:
    sigs = signals_from_assertions(
        [tm("cawg.training-mining", **{"cawg.ai_inference": {"constraint_info": "x"}})]
    )
    assert sigs[0].blocking and sigs[0].value == "(missing)"


def test_malformed_assertions_are_skipped() -> None:
    bad: list[Any] = [
        {"label": "cawg.training-mining", "data": "nope"},
        {"label": 3, "data": {}},
        {"data": {"entries": {"cawg.ai_inference": {"use": "notAllowed"}}}},
        "not a dict",
        {"label": "cawg.training-mining", "data": {"entries": ["x"]}},
        {"label": "cawg.training-miningX", "data": {"entries": {"cawg.ai_inference": "no"}}},
    ]
    assert signals_from_assertions(bad) == []


# ---------------------------------------------------------------- XMP


@pytest.mark.parametrize(
    ("code", "blocking"),
    [
        ("DMI-PROHIBITED", True),
        ("DMI-PROHIBITED-AIMLTRAINING", True),
        ("DMI-PROHIBITED-GENAIMLTRAINING", True),
        ("DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING", True),
        ("DMI-UNSPECIFIED", False),
        ("DMI-ALLOWED", False),
    ],
)
def test_datamining_attribute(code: str, blocking: bool) -> None:
    sigs = signals_from_xmp(xmp_attr(DMI + code))
    assert len(sigs) == 1
    assert sigs[0].kind == "xmp.plus:DataMining" and sigs[0].key == "plus:DataMining"
    assert sigs[0].value == DMI + code and sigs[0].blocking is blocking


@pytest.mark.parametrize(
    "inner",
    [
        f"<plus:DataMining>{DMI}DMI-PROHIBITED-AIMLTRAINING</plus:DataMining>",
        f'<plus:DataMining rdf:resource="{DMI}DMI-PROHIBITED-AIMLTRAINING"/>',
        f"<plus:DataMining><rdf:Alt><rdf:li>{DMI}DMI-PROHIBITED-AIMLTRAINING</rdf:li></rdf:Alt>"
        "</plus:DataMining>",
    ],
)
def test_datamining_element_forms(inner: str) -> None:
    sigs = signals_from_xmp(xmp_element(inner))
    assert [s.value for s in sigs] == [DMI + "DMI-PROHIBITED-AIMLTRAINING"]
    assert sigs[0].blocking


def test_noai_tokens_in_xmp_text() -> None:
    sigs = signals_from_xmp(
        xmp_element(
            "<dc:rights><rdf:Alt><rdf:li>All rights reserved. noai, NoImageAI</rdf:li>"
            "</rdf:Alt></dc:rights>"
        )
    )
    assert sorted(s.key for s in sigs) == ["noai", "noimageai"]
    assert all(s.blocking and s.kind == "noai" for s in sigs)


def test_noai_inside_a_longer_word_does_not_match() -> None:
    sigs = signals_from_xmp(
        xmp_element("<dc:description>nothing like noaint or xnoai or noai_x</dc:description>")
    )
    assert sigs == []


@pytest.mark.parametrize(
    "xmp",
    [
        "<x:xmpmeta><unclosed>",
        "",
        "\x00\x00",
        '<!DOCTYPE x [<!ENTITY a "noai">]><x>&a;</x>',
        b"\xff\xfe<garbage noai",
    ],
)
def test_malformed_xmp_gives_no_signals(xmp: str | bytes) -> None:
    assert signals_from_xmp(xmp) == []


# ---------------------------------------------------------------- real files


def test_png_xmp_and_text_chunks(tmp_path: Path) -> None:
    p = write_png(
        tmp_path / "a.png",
        {"comment": "noai, noimageai", "Description": "my cat", "robots": "noimageai"},
        xmp=xmp_attr(DMI + "DMI-PROHIBITED-GENAIMLTRAINING"),
    )
    sigs = find_signals(p)
    wheres = {(s.kind, s.key, s.where) for s in sigs}
    assert ("xmp.plus:DataMining", "plus:DataMining", "XMP in PNG iTXt 'XML:com.adobe.xmp'") in (
        wheres
    )
    assert ("noai", "noai", "PNG text chunk 'comment'") in wheres
    assert ("noai", "noimageai", "PNG text chunk 'comment'") in wheres
    assert ("noai", "noimageai", "PNG text chunk 'robots'") in wheres
    assert len(sigs) == 4
    assert all(s.blocking for s in sigs)
    noai = next(s for s in sigs if s.key == "noai")
    assert noai.quote() == "noai (PNG text chunk 'comment': \"noai, noimageai\")"


def test_png_compressed_text_and_itxt(tmp_path: Path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "please noai", zip=True)
    info.add_itxt("Description", "説明 noimageai 禁止")
    p = tmp_path / "z.png"
    picture().save(p, "PNG", pnginfo=info)
    assert {(s.key, s.where) for s in find_signals(p)} == {
        ("noai", "PNG text chunk 'Comment'"),
        ("noimageai", "PNG text chunk 'Description'"),
    }


def test_png_without_signals(tmp_path: Path) -> None:
    p = write_png(tmp_path / "plain.png", {"parameters": "a cat, best quality", "Title": "noaint"})
    assert find_signals(p) == []


def test_jpeg_app1_xmp_and_comment(tmp_path: Path) -> None:
    p = tmp_path / "a.jpg"
    picture().save(
        p,
        "JPEG",
        xmp=xmp_attr(DMI + "DMI-PROHIBITED").encode(),
        comment=b"noai",
    )
    assert b"http://ns.adobe.com/xap/1.0/\x00" in p.read_bytes()
    sigs = find_signals(p)
    assert {(s.kind, s.where) for s in sigs} == {
        ("xmp.plus:DataMining", "XMP in JPEG APP1"),
        ("noai", "JPEG comment"),
    }


def test_jpeg_exif_fields(tmp_path: Path) -> None:
    exif = piexif.dump(
        {
            "0th": {
                piexif.ImageIFD.ImageDescription: b"illustration, noai",
                piexif.ImageIFD.XPComment: "NoImageAI please".encode("utf-16-le") + b"\0\0",
            },
            "Exif": {piexif.ExifIFD.UserComment: b"UNICODE\x00" + "noai".encode("utf-16-le")},
        }
    )
    p = tmp_path / "exif.jpg"
    picture().save(p, "JPEG", exif=exif)
    assert {(s.key, s.where) for s in find_signals(p)} == {
        ("noai", "EXIF ImageDescription"),
        ("noimageai", "EXIF XPComment"),
        ("noai", "EXIF UserComment"),
    }


def test_jpeg_exif_user_comment_ascii(tmp_path: Path) -> None:
    exif = piexif.dump({"Exif": {piexif.ExifIFD.UserComment: b"ASCII\x00\x00\x00noai"}})
    p = tmp_path / "exif2.jpg"
    picture().save(p, "JPEG", exif=exif)
    assert [(s.key, s.where) for s in find_signals(p)] == [("noai", "EXIF UserComment")]


def test_webp_xmp(tmp_path: Path) -> None:
    p = tmp_path / "a.webp"
    picture().save(p, "WEBP", xmp=xmp_attr(DMI + "DMI-PROHIBITED-AIMLTRAINING").encode())
    sigs = find_signals(p)
    assert [(s.key, s.where, s.blocking) for s in sigs] == [
        ("plus:DataMining", "XMP in WebP XMP chunk", True)
    ]


def test_webp_allowed_is_reported_not_blocking(tmp_path: Path) -> None:
    p = tmp_path / "ok.webp"
    picture().save(p, "WEBP", xmp=xmp_attr(DMI + "DMI-ALLOWED").encode())
    sigs = find_signals(p)
    assert len(sigs) == 1 and not sigs[0].blocking


def test_malformed_xmp_in_file_is_ignored(tmp_path: Path) -> None:
    p = tmp_path / "bad.jpg"
    picture().save(p, "JPEG", xmp=b"<x:xmpmeta plus:DataMining='DMI-PROHIBITED' <<<")
    assert find_signals(p) == []


def test_assertions_are_combined_with_file_signals_blocking_first(tmp_path: Path) -> None:
    p = write_png(tmp_path / "c.png", {"comment": "noai"})
    sigs = find_signals(
        p,
        [
            tm(
                "cawg.training-mining",
                **{
                    "cawg.data_mining": {"use": "notAllowed"},
                    "cawg.ai_inference": {"use": "notAllowed"},
                },
            )
        ],
    )
    assert [s.key for s in sigs] == ["cawg.ai_inference", "noai", "cawg.data_mining"]
    assert [s.blocking for s in sigs] == [True, True, False]


def test_corrupt_and_missing_files_raise_bilingual_errors(tmp_path: Path) -> None:
    good = write_png(tmp_path / "g.png", {"comment": "noai"})
    bad = tmp_path / "trunc.png"
    bad.write_bytes(good.read_bytes()[:60])
    with pytest.raises(ImageError) as e:
        find_signals(bad)
    assert e.value.text.ja
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not an image at all")
    with pytest.raises(ImageError):
        find_signals(junk)
    with pytest.raises(InputError):
        find_signals(tmp_path / "missing.png")


def test_png_xmp_in_plain_text_chunk_and_icc_profile_not_scanned(tmp_path: Path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("XML:com.adobe.xmp", xmp_attr(DMI + "DMI-PROHIBITED"))
    p = tmp_path / "t.png"
    picture().save(p, "PNG", pnginfo=info, icc_profile=b"\0\0 noai binary profile")
    sigs = find_signals(p)
    assert [(s.kind, s.blocking) for s in sigs] == [("xmp.plus:DataMining", True)]


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("無断転載・AI学習禁止", "AI学習禁止"),
        ("ＡＩ学習禁止です", "AI学習禁止"),
        ("生成AIへの入力禁止", "生成AIへの入力禁止"),
        ("ｉ２ｉ禁止", "i2i禁止"),
    ],
)
def test_japanese_notice_in_png_text_blocks(tmp_path: Path, text: str, phrase: str) -> None:
    path = write_png(tmp_path / "notice.png", {"Description": text})
    sigs = find_signals(path)
    assert [(s.kind, s.key, s.blocking) for s in sigs] == [("notice-ja", phrase, True)]
    assert phrase in sigs[0].quote() or sigs[0].key == phrase


@pytest.mark.parametrize("text", ["AIイラストです", "転載禁止", "AI-assisted colouring"])
def test_unrelated_japanese_text_is_not_a_notice(tmp_path: Path, text: str) -> None:
    assert find_signals(write_png(tmp_path / "plain.png", {"Description": text})) == []
