"""The reader on the corpus of metadata carriers made from real generated images.

Each carrier (tests/genmeta/corpus/) holds exactly the metadata of a real file from a public
repository; corpus.json names the file (repo@commit:path), the ground truth and where the
truth comes from. The two serious errors must never happen:

- false t2i: a picture made from an image input read as text-to-image (a pledge signed
  that should have been refused);
- refused t2i: a text-to-image picture read as image-to-image (an honest user refused).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from myself_i2i.genmeta import GenKind, read_generation_metadata

CORPUS = Path(__file__).parent / "corpus"
ENTRIES: list[dict[str, Any]] = json.loads((CORPUS / "corpus.json").read_text(encoding="utf-8"))[
    "files"
]
SCORED = [e for e in ENTRIES if e["truth"]["kind"] in ("t2i", "i2i")]
NONE = sum(1 for e in ENTRIES if e["truth"]["kind"] == "none")
_SOURCE = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}:\S.*$")


def _ids(entries: list[dict[str, Any]]) -> list[str]:
    return [str(e["file"]) for e in entries]


def test_corpus_is_large_and_small() -> None:
    assert len(SCORED) >= 200
    size = sum((CORPUS / e["file"]).stat().st_size for e in ENTRIES)
    assert size < 1_600_000
    assert all((CORPUS / e["file"]).stat().st_size < 64_000 for e in ENTRIES)


def test_every_entry_says_where_it_came_from() -> None:
    for e in ENTRIES:
        assert _SOURCE.match(e["source"]), e
        assert e["how"].strip(), e
        assert e["truth"]["kind"] in ("t2i", "i2i", "unknown", "none"), e
    assert len({e["file"] for e in ENTRIES}) == len(ENTRIES)


@pytest.mark.parametrize("entry", SCORED, ids=_ids(SCORED))
def test_no_false_t2i_and_no_refused_t2i(entry: dict[str, Any]) -> None:
    meta = read_generation_metadata(CORPUS / entry["file"])
    assert meta is not None, entry["how"]
    want = GenKind(entry["truth"]["kind"])
    if want is GenKind.I2I:
        assert meta.kind is not GenKind.T2I, ("false t2i", meta.reasons)
        assert meta.image_inputs, meta.reasons
    else:
        assert meta.kind is not GenKind.I2I, ("refused t2i", meta.reasons)
    assert meta.kind is want, meta.reasons


@pytest.mark.parametrize(
    "entry", [e for e in ENTRIES if "software" in e["truth"]], ids=lambda e: e["file"]
)
def test_software_is_named_right(entry: dict[str, Any]) -> None:
    meta = read_generation_metadata(CORPUS / entry["file"])
    assert meta is not None
    want: str = entry["truth"]["software"]
    got = meta.generator.software or ""
    rest = got[len(want) :]
    assert got.startswith(want) and (rest == "" or (rest[0] == " " and rest[:3] != " - ")), got


@pytest.mark.parametrize(
    "entry", [e for e in ENTRIES if "model" in e["truth"]], ids=lambda e: e["file"]
)
def test_model_is_named_right(entry: dict[str, Any]) -> None:
    meta = read_generation_metadata(CORPUS / entry["file"])
    assert meta is not None
    assert entry["truth"]["model"] in (meta.generator.model or ""), meta.generator


@pytest.mark.parametrize(
    "entry", [e for e in ENTRIES if "loras" in e["truth"]], ids=lambda e: e["file"]
)
def test_loras_are_listed(entry: dict[str, Any]) -> None:
    meta = read_generation_metadata(CORPUS / entry["file"])
    assert meta is not None
    assert set(entry["truth"]["loras"]) <= {lora.name for lora in meta.generator.loras}


@pytest.mark.parametrize(
    "entry", [e for e in ENTRIES if e["truth"]["kind"] == "none"], ids=lambda e: e["file"]
)
def test_no_generation_metadata_reads_as_none(entry: dict[str, Any]) -> None:
    assert read_generation_metadata(CORPUS / entry["file"]) is None


def test_bench_script_scores_the_corpus(capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "bench" / "genmeta_corpus.py"
    spec = importlib.util.spec_from_file_location("genmeta_corpus_bench", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # dataclasses look their module up there
    try:
        spec.loader.exec_module(bench)
    finally:
        del sys.modules[spec.name]
    assert bench.main([]) == 0
    out = capsys.readouterr().out
    total = next(line for line in out.splitlines() if line.startswith("TOTAL "))
    files, right, wrong, false_t2i, refused_t2i = total.split()[1:6]
    assert (files, wrong, false_t2i, refused_t2i) == (str(len(SCORED) + NONE), "0", "0", "0")
    assert right == files
