"""A short fuzzing run of ``verify_bytes`` (seconds); the long run is bench/fuzz_verify.py."""

from __future__ import annotations

import random
import struct
import sys
import zlib
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # importlib mode: find tests.*
from myself_i2i.errors import ImageError
from myself_i2i.verify import VerifyOptions, verify_bytes
from tests.fuzz.harness import MUTATORS, Runner, fuzz, make_seeds, mutate, units

PNG_SIG = b"\x89PNG\r\n\x1a\n"


def _chunk(ctype: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(ctype + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + ctype + payload + struct.pack(">I", crc)


def test_short_run_finds_no_escape_hang_or_forgery(tmp_path: Path) -> None:
    seeds = make_seeds(tmp_path)
    stats = fuzz(seeds, rng_seed=7, max_inputs=300, time_limit=20.0, out_dir=tmp_path / "out")
    assert stats.inputs == 300
    bad = {k: stats.kinds[k] for k in ("escape", "crash", "hang", "forged")}
    assert bad == {"escape": 0, "crash": 0, "hang": 0, "forged": 0}, stats.summary()
    # the mutations reach the verifier's every layer: refusals and tampered verdicts both
    assert stats.kinds["rejected"] > 0 and stats.verdicts["tampered"] > 0, stats.summary()


def test_mutations_are_reproducible_and_structural(tmp_path: Path) -> None:
    seeds = make_seeds(tmp_path)
    for s in seeds:
        # the container and the JUMBF boxes of the manifest store are found in every seed
        found = units(s.data)
        assert any(s.data[u.start + 4 : u.start + 8] == b"jumb" for u in found), s.name
        assert len(found) > 3, s.name
        a = [mutate(s.data, random.Random(3)) for _ in range(5)]
        b = [mutate(s.data, random.Random(3)) for _ in range(5)]
        assert a == b
    names = {fn.__name__ for fn, _ in MUTATORS}
    assert {"_bitflip", "_length_edit", "_cbor_length", "_duplicate", "_truncate"} <= names


def test_runner_reports_a_hang(tmp_path: Path) -> None:
    """A worker that never answers is killed after the time limit and counted as a hang."""
    seeds = make_seeds(tmp_path)
    with Runner(time_limit=0.01) as runner:
        # the first input of a fresh worker waits for its imports: 3 x 0.01 s is far too short
        out = runner.run(seeds[0].data, seeds[0].name, seeds[0].token, seeds[0].data)
    assert out.kind == "hang"


def test_short_ihdr_length_is_an_image_error() -> None:
    """Found by the fuzzer: a PNG whose IHDR length is 7 escaped as Pillow's ValueError."""
    ihdr = struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)[:7]
    data = PNG_SIG + _chunk(b"IHDR", ihdr) + _chunk(b"IEND", b"")
    with pytest.raises(ImageError):
        verify_bytes(data, "short-ihdr.png", VerifyOptions(use_default_repositories=False))
