"""The long fuzzing run of ``verify_bytes`` over signed seeds (see docs/fuzzing.md).

    .venv/bin/python bench/fuzz_verify.py [--minutes 20] [--time-limit 10] [--rng-seed 0]
                                          [--size 96] [--out bench/out/fuzz]

1. Signs a small PNG, JPEG and WebP with a new identity in a temporary MYSELF_I2I_HOME.
2. Mutates them in a loop (tests/fuzz/harness.py: bit flips, insert / delete, length
   fields, CBOR lengths in the store, duplicated / removed / swapped chunks and boxes,
   truncation) and verifies each input in a worker process with a 2 GB address-space
   limit and a per-input time limit.
3. Prints the counts every 5,000 inputs and a summary at the end: inputs, escapes (an
   exception that is not a MyselfI2IError), crashes (the worker died), hangs, forged
   passes, the worker's peak RSS, and each distinct finding with its traceback's last
   lines. Interesting inputs are saved under ``--out`` (gitignored; never commit them).

Exits 1 if there was any escape, crash, hang or forged pass.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # find tests.fuzz.harness
from tests.fuzz.harness import Stats, fuzz, make_seeds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--time-limit", type=float, default=10.0, help="seconds per input")
    ap.add_argument("--rng-seed", type=int, default=0)
    ap.add_argument("--size", type=int, default=96, help="edge of the seed pictures in pixels")
    ap.add_argument("--out", type=Path, default=Path("bench/out/fuzz"))
    args = ap.parse_args(argv)

    def progress(s: Stats) -> None:
        k = s.kinds
        print(
            f"[{s.seconds:6.0f} s] {s.inputs} inputs; escapes {k['escape']}, crashes "
            f"{k['crash']}, hangs {k['hang']}, forged {k['forged']}, malleable "
            f"{k['malleable']}; peak RSS {s.peak_rss_kib / 1024:.0f} MiB",
            flush=True,
        )

    with tempfile.TemporaryDirectory(prefix="mi2i-fuzz-") as tmp:
        seeds = make_seeds(Path(tmp), args.size)
        print("seeds: " + ", ".join(f"{s.name} ({len(s.data)} B)" for s in seeds), flush=True)
        stats = fuzz(
            seeds,
            rng_seed=args.rng_seed,
            seconds=args.minutes * 60,
            time_limit=args.time_limit,
            out_dir=args.out,
            progress=progress,
        )
    print(stats.summary())
    bad = sum(stats.kinds[k] for k in ("escape", "crash", "hang", "forged"))
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
