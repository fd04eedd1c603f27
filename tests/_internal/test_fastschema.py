"""The quick schema pre-check never calls an invalid pledge valid, and knows valid ones.

Every instance is judged by both the compiled pre-check and jsonschema (the authority):
a ``True`` from the pre-check must be a jsonschema pass, a ``False`` a jsonschema failure.
"""

from __future__ import annotations

import copy
import random
from typing import Any

import jsonschema
import pytest

from myself_i2i._internal.fastschema import Unsupported, compile_schema
from myself_i2i.models import Evidence, Generator, Lora, PledgeKind, Relation, SourceRecord
from myself_i2i.pledge import Pledge, load_schema, schema_errors

HEX64 = "0123456789abcdef" * 4


def _source(i: int, relation: Relation, evidence: Evidence | None = None) -> SourceRecord:
    return SourceRecord(
        sha256=HEX64,
        pixel_sha256=HEX64[::-1],
        phash="89abcdef01234567",
        width=640 + i,
        height=480,
        relation=relation,
        title=f"source{i}.png",
        evidence=evidence,
        ingredient_label=f"source{i}",
    )


def _valid_pledges() -> list[dict[str, Any]]:
    gen = Generator(software="ComfyUI", model="sdxl", loras=(Lora("style", 0.7),))
    return [
        Pledge.new(PledgeKind.T2I, ("#Myself_i2i",)).to_assertion(),
        Pledge.new(PledgeKind.T2I, ("#Noi2i", "#Myself_i2i"), (), gen).to_assertion(),
        Pledge.new(
            PledgeKind.SELF_SOURCED_I2I,
            ("#Myself_i2i",),
            (
                _source(1, Relation.OWN_DRAWING),
                _source(2, Relation.PERMITTED, Evidence(text="DM", url="https://x.test/1")),
            ),
            gen,
        ).to_assertion(),
    ]


_WEIRD: list[Any] = [
    None, True, False, 0, 1, 1.0, 1.5, -1, 2**70, float("nan"), float("inf"), "", "t2i",
    "#Myself_i2i", "x" * 1001, [], ["#Noi2i", "#Noi2i"], [1, True], {}, {"en": "a"},
    HEX64.upper(), "2026-13-01T00:00:00Z", "2026-12-06T03:00:41+00:00", "2026-12-06t03:00:41z",
    "2026-02-30T00:00:00Z", "2026-12-06T03:00:41.5+09:30",
]  # fmt: skip


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _mutants(base: dict[str, Any], rng: random.Random, n: int) -> list[Any]:
    out: list[Any] = []
    paths = [p for p in _paths(base) if p]
    for _ in range(n):
        doc = copy.deepcopy(base)
        for _ in range(rng.randint(1, 2)):
            path = rng.choice(paths)
            parent: Any = doc
            try:
                for key in path[:-1]:
                    parent = parent[key]
                last = path[-1]
                move = rng.randrange(3)
                if move == 0:
                    parent[last] = rng.choice(_WEIRD)
                elif move == 1 and isinstance(parent, dict):
                    del parent[last]
                elif isinstance(parent, dict):
                    parent[f"extra{rng.randrange(3)}"] = rng.choice(_WEIRD)
            except (KeyError, IndexError, TypeError):
                continue
        out.append(doc)
    return out


def test_agrees_with_jsonschema_on_valid_and_broken_pledges() -> None:
    schema = load_schema("pledge.schema.json")
    quick = compile_schema(schema)
    ref = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    rng = random.Random(13)
    decided = 0
    for base in _valid_pledges():
        assert quick(base) is True
        assert ref.is_valid(base)
        for doc in _mutants(base, rng, 400):
            verdict = quick(doc)
            if verdict is not None:
                decided += 1
                assert verdict is ref.is_valid(doc), doc
    assert decided > 1000  # the pre-check decides nearly everything


def test_schema_errors_still_words_errors_with_jsonschema() -> None:
    bad = _valid_pledges()[0]
    bad["version"] = True  # jsonschema: True is not 1
    assert schema_errors(bad) == ["version: 1 was expected"]
    assert schema_errors(_valid_pledges()[2]) == []


def test_an_unknown_keyword_is_not_guessed() -> None:
    with pytest.raises(Unsupported):
        compile_schema(load_schema("report.schema.json"))  # oneOf: jsonschema's job
    with pytest.raises(Unsupported):
        compile_schema({"type": "string", "format": "email"})
