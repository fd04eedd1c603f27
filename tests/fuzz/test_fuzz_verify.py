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
    with Runner(time_limit=0.0005) as runner:
        # verifying a signed seed reads and validates a manifest: far more than 3 x 0.5 ms
        out = runner.run(seeds[0].data, seeds[0].name, seeds[0].token, seeds[0].data)
    assert out.kind == "hang"


def test_short_ihdr_length_is_an_image_error() -> None:
    """Found by the fuzzer: a PNG whose IHDR length is 7 escaped as Pillow's ValueError."""
    ihdr = struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)[:7]
    data = PNG_SIG + _chunk(b"IHDR", ihdr) + _chunk(b"IEND", b"")
    with pytest.raises(ImageError):
        verify_bytes(data, "short-ihdr.png", VerifyOptions(use_default_repositories=False))


_PEAK_RSS = """
import resource, sys
from pathlib import Path
resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, 2 * 1024**3))
from myself_i2i.errors import MyselfI2IError
from myself_i2i.keyring import Keyring
from myself_i2i.verify import VerifyOptions, verify_bytes
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
opts = VerifyOptions(
    key_token=sys.argv[3], keyring=Keyring(Path(sys.argv[1]) / "none"), use_default_repositories=False
)
try:
    verdict = verify_bytes(Path(sys.argv[1]).read_bytes(), sys.argv[2], opts).verdict.value
except MyselfI2IError as e:
    verdict = type(e).__name__
print(verdict, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, base)

"""


@pytest.mark.parametrize("index", [1, 2], ids=["jpeg", "webp"])
def test_cbor_length_edit_in_an_assertion_stays_under_300_mb(tmp_path: Path, index: int) -> None:
    """Found by the fuzzer (as the issue's "5-byte edit"): the text-string header of the
    pledge assertion's ``kind`` key rewritten to declare 400 MB made verify allocate it."""
    import subprocess

    seed = make_seeds(tmp_path)[index]
    at = seed.data.find(b"\x64kind", seed.data.find(b"org.myself-i2i.pledge"))
    assert at > 0
    edited = seed.data[:at] + b"\x7a" + struct.pack(">I", 400_000_000) + seed.data[at + 5 :]
    path = tmp_path / f"cbor-length-{seed.name}"
    path.write_bytes(edited)
    proc = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS, str(path), seed.name, seed.token],
        capture_output=True,
        text=True,
        timeout=120,
    )
    verdict, peak_mib, base_mib = proc.stdout.split()
    assert verdict in ("invalid", "tampered"), proc.stderr  # refused before c2pa allocates
    # ru_maxrss survives exec on Linux, so a child forked from a big pytest process starts
    # high: what counts is the growth after the imports (the bound: under 300 MB)
    assert int(peak_mib) - int(base_mib) < 100, (verdict, peak_mib, base_mib)
