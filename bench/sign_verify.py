"""Benchmark: our sign / verify against c2pa-python's plain default ``Builder.sign``.

    .venv/bin/python bench/sign_verify.py [--repeat N] [--sizes 1024,2048,4096] [--formats png,jpeg]

For each size and format an illustration-like picture is generated, then timed (median of
``--repeat`` runs, same process, same files):

* ``ours``: :func:`myself_i2i.sign.sign_image` (t2i, our own 512 px thumbnail, pledge,
  fingerprint), watermark off and on as separate rows;
* ``default``: ``c2pa_backend.sign_default`` (c2pa-python's default path, library thumbnail)
  with the same actions and pledge assertion;
* ``verify``: :func:`myself_i2i.verify.verify_bytes` of our signed file, and c2pa's plain
  default ``Reader`` JSON of the same file.

Growth is the signed file's size minus the input's size.
"""

from __future__ import annotations

import argparse
import functools
import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from myself_i2i._internal import c2pa_backend
from myself_i2i.identity import Identity, IdentityStore
from myself_i2i.keyring import Keyring
from myself_i2i.models import PledgeKind
from myself_i2i.pledge import PLEDGE_LABEL, Pledge
from myself_i2i.sign import SignOptions, sign_image
from myself_i2i.testing import baseline_manifest, illustration, save
from myself_i2i.verify import VerifyOptions, verify_bytes

MIME = {"png": "image/png", "jpeg": "image/jpeg"}
SUFFIX = {"png": ".png", "jpeg": ".jpg"}


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def _baseline_manifest(name: str, mime: str) -> dict[str, Any]:
    pledge = Pledge.new(PledgeKind.T2I, ("#Myself_i2i",))
    return baseline_manifest(name, mime, {"label": PLEDGE_LABEL, "data": pledge.to_assertion()})


def bench_one(
    work: Path, ident: Identity, size: int, fmt: str, repeat: int
) -> list[dict[str, Any]]:
    src = save(illustration(size, size, seed=size), work / f"in{size}{SUFFIX[fmt]}")
    src_size = src.stat().st_size
    data = src.read_bytes()
    mime = MIME[fmt]

    # the baseline: c2pa-python's default Builder.sign, library thumbnail on
    default_out: list[bytes] = []

    def default() -> None:
        dest = io.BytesIO()
        c2pa_backend.sign_default(
            source=io.BytesIO(data),
            dest=dest,
            mime=mime,
            manifest=_baseline_manifest(src.name, mime),
            chain_pem=ident.chain_pem,
            private_key_pem=ident.private_key_pem(),
        )
        default_out[:] = [dest.getvalue()]

    default_ms = _median_ms(default, repeat)
    default_growth = len(default_out[0]) - src_size

    rows = []
    for watermark in (False, True):
        out = work / f"out{size}{SUFFIX[fmt]}"
        opts = SignOptions(watermark=watermark, use_registry=False, keep_in_repository=False)

        def ours(out: Path = out, opts: SignOptions = opts) -> None:
            out.unlink(missing_ok=True)
            sign_image(src, ident, t2i=True, output=out, options=opts)

        ours_ms = _median_ms(ours, repeat)
        signed = out.read_bytes()
        vopts = VerifyOptions(
            keyring=Keyring(work / "empty-keyring.json"),
            key_token=ident.token,
            use_default_repositories=False,
        )
        verify_ms = _median_ms(functools.partial(verify_bytes, signed, out.name, vopts), repeat)
        read_ms = _median_ms(functools.partial(c2pa_backend.read_default, signed, mime), repeat)
        rows.append(
            {
                "image": f"{size}² {fmt.upper()}",
                "watermark": "on" if watermark else "off",
                "ours_ms": ours_ms,
                "default_ms": default_ms,
                "ratio": ours_ms / default_ms,
                "ours_kb": (len(signed) - src_size) / 1024,
                "default_kb": default_growth / 1024,
                "verify_ms": verify_ms,
                "read_ms": read_ms,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sizes", default="1024,2048,4096")
    ap.add_argument("--formats", default="png,jpeg")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    formats = [f.strip().lower() for f in args.formats.split(",") if f.strip()]
    with tempfile.TemporaryDirectory(prefix="mi2i-bench-") as tmp:
        work = Path(tmp)
        os.environ["MYSELF_I2I_HOME"] = str(work / "home")
        ident = IdentityStore.default().create("bench")
        print(f"c2pa {c2pa_backend.sdk_version()}, repeat {args.repeat} (median)")
        header = (
            f"| {'image':<12} | wm  | ours ms | default ms | ours/default | "
            f"growth KB ours | growth KB default | verify ms | c2pa read ms |"
        )
        print(header)
        print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
        for size in sizes:
            for fmt in formats:
                for r in bench_one(work, ident, size, fmt, args.repeat):
                    print(
                        f"| {r['image']:<12} | {r['watermark']:<3} | {r['ours_ms']:7.0f} | "
                        f"{r['default_ms']:10.0f} | {r['ratio']:11.2f}x | "
                        f"{r['ours_kb']:14.1f} | {r['default_kb']:17.1f} | "
                        f"{r['verify_ms']:9.1f} | {r['read_ms']:12.1f} |"
                    )
                    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
