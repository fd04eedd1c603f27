"""Provenance that survives X: end-to-end recovery of signed images after platform pipelines.

    .venv/bin/python bench/robustness.py [--n 24] [--unrelated 2000] [--seed 1]

1. Signs ``--n`` generated illustration-like pictures (several sizes, one photo-like) with
   a throwaway identity in a temporary ``MYSELF_I2I_HOME``; keeps every manifest in a
   temporary :class:`~myself_i2i.repository.LocalRepository`.
2. Runs each platform pipeline on the pixels (the manifest is always stripped) and, per
   pipeline, reports: the watermark exact-decode rate, the end-to-end recovery rate
   (``verify_bytes`` says ``recovered`` *and* the recovered manifest is the one signed for
   that picture), the routes taken, and the pHash distance of the copy to the signed
   fingerprint.
3. Verifies ``--unrelated`` other pictures (other seeds, JPEG q85, ``--unrelated-size``
   square) against the same repository: none may be recovered. Also reports their
   nearest pHash distance to any signed fingerprint and any watermark decode.

Prints markdown tables. Everything is written under one temporary directory, removed at
the end.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from myself_i2i.testing import brightness, crop_border, encode, long_side, rescale

Pipeline = Callable[[Image.Image], tuple[bytes, str]]


def _jpeg(img: Image.Image, q: int) -> tuple[bytes, str]:
    return encode(img, "JPEG", quality=q), "copy.jpg"


def _long_side(img: Image.Image, side: int) -> Image.Image:
    return long_side(img, side, upscale=False)


PIPELINES: dict[str, Pipeline] = {
    "JPEG q85": lambda im: _jpeg(im, 85),
    "JPEG q75": lambda im: _jpeg(im, 75),
    "JPEG q60": lambda im: _jpeg(im, 60),
    "long side 2048 + JPEG q85": lambda im: _jpeg(_long_side(im, 2048), 85),
    "long side 1024 + JPEG q85": lambda im: _jpeg(_long_side(im, 1024), 85),
    "WebP q80": lambda im: (encode(im, "WEBP", quality=80), "copy.webp"),
    "crop 10% + JPEG q85": lambda im: _jpeg(crop_border(im, 0.10), 85),
    "brightness +10% + JPEG q85": lambda im: _jpeg(brightness(im, 1.1), 85),
    "brightness -10% + JPEG q85": lambda im: _jpeg(brightness(im, 0.9), 85),
    "screenshot x0.9 + PNG": lambda im: (encode(rescale(im, 0.9), "PNG"), "copy.png"),
}
#: Pipelines the ≥ 99 % target does not cover (documented limits).
NOT_TARGETED = {"crop 10% + JPEG q85"}

SIZES = [(1216, 832), (832, 1216), (1024, 1024), (2048, 2048), (1536, 1024), (2560, 1440)]


@dataclass
class Row:
    n: int = 0
    decoded: int = 0
    recovered: int = 0
    wrong: int = 0
    routes: Counter[str] = field(default_factory=Counter)
    dists: list[int] = field(default_factory=list)
    seconds: float = 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=24, help="signed pictures (default 24)")
    ap.add_argument("--unrelated", type=int, default=2000, help="unrelated pictures (default 2000)")
    ap.add_argument("--unrelated-size", type=int, default=768, help="their side (default 768)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="robustness-") as tmp_s:
        tmp = Path(tmp_s)
        os.environ["MYSELF_I2I_HOME"] = str(tmp / "home")
        run(args, tmp)


def run(args: argparse.Namespace, tmp: Path) -> None:
    # imported after MYSELF_I2I_HOME is set
    from myself_i2i.identity import IdentityStore
    from myself_i2i.images import hamming_hex, perceptual_hash
    from myself_i2i.report import Verdict
    from myself_i2i.repository import LocalRepository
    from myself_i2i.sign import SignOptions, sign_image
    from myself_i2i.softbinding.watermark import decode
    from myself_i2i.testing import illustration, photo_like, save
    from myself_i2i.verify import VerifyOptions, verify_bytes

    t_start = time.perf_counter()
    ident = IdentityStore.default().create("bench", None)
    repo = LocalRepository.open(tmp / "repo", create=True)
    opts = VerifyOptions(repositories=[repo], use_default_repositories=False)
    sign_opts = SignOptions(use_registry=False, keep_in_repository=False)

    # 1. Sign.
    signed: list[tuple[Image.Image, bytes, str]] = []  # (signed pixels, locator, fingerprint)
    sign_times: list[float] = []
    for i in range(args.n):
        w, h = SIZES[i % len(SIZES)]
        seed = args.seed * 100_003 + i
        pic = photo_like(w, h, seed) if i % 24 == 23 else illustration(w, h, seed)
        src = save(pic, tmp / f"pic{i}.png")
        t0 = time.perf_counter()
        res = sign_image(src, ident, t2i=True, options=sign_opts)
        sign_times.append(time.perf_counter() - t0)
        assert res.locator is not None
        repo.add(res.manifest_store, locator=res.locator, fingerprint=res.fingerprint)
        with Image.open(res.output) as im:
            signed.append((im.convert("RGB"), res.locator, res.fingerprint))
        src.unlink()
    print(
        f"signed {args.n} pictures in {sum(sign_times):.1f} s "
        f"(median {statistics.median(sign_times):.2f} s)",
        file=sys.stderr,
    )

    # 2. Pipelines.
    rows: dict[str, Row] = {}
    for pname, pipe in PIPELINES.items():
        row = rows.setdefault(pname, Row())
        t0 = time.perf_counter()
        for img, locator, fp in signed:
            data, name = pipe(img)
            row.n += 1
            with Image.open(io.BytesIO(data)) as copy:
                copy.load()
                if decode(copy) == locator:
                    row.decoded += 1
                row.dists.append(hamming_hex(perceptual_hash(copy), fp))
            report = verify_bytes(data, name, opts)
            rec = report.recovery or {}
            route = str(rec.get("route") or "none")
            if report.verdict is Verdict.RECOVERED:
                if rec.get("locator") == locator.hex():
                    row.recovered += 1
                else:
                    row.wrong += 1
            elif rec.get("rejected"):
                route = "rejected"
            row.routes[route] += 1
        row.seconds = time.perf_counter() - t0
        print(f"  {pname}: {row.seconds:.1f} s", file=sys.stderr)

    # 3. Unrelated pictures.
    t0 = time.perf_counter()
    false_rec = false_wm = 0
    nearest: list[int] = []
    fps = [fp for _, _, fp in signed]
    s = args.unrelated_size
    for j in range(args.unrelated):
        seed = 10_000_000 + args.seed * 1_000_003 + j
        pic = photo_like(s, s, seed) if j % 10 == 9 else illustration(s, s, seed)
        data, name = _jpeg(pic, 85)
        report = verify_bytes(data, name, opts)
        if report.verdict is Verdict.RECOVERED:
            false_rec += 1
        # what recovery decoded and hashed (decoding again here would double the cost)
        rec = report.recovery or {}
        if rec.get("watermark") or rec.get("route") == "watermark":
            false_wm += 1
        nearest.append(min(hamming_hex(str(rec["fingerprint"]), fp) for fp in fps))
    t_unrel = time.perf_counter() - t0
    print(f"  unrelated: {t_unrel:.1f} s", file=sys.stderr)
    pair = [hamming_hex(a, b) for k, a in enumerate(fps) for b in fps[k + 1 :]]
    repo.close()

    # Report.
    print(
        f"\n### Robustness (n={args.n}, seed={args.seed}; {args.unrelated} unrelated "
        f"{s}x{s} pictures)\n"
    )
    print(
        "| pipeline | watermark exact decode | end-to-end recovered | routes "
        "(watermark / fingerprint / rejected / none) | pHash dist. max (mean) |"
    )
    print("|---|---|---|---|---|")
    below: list[str] = []
    for pname, row in rows.items():
        rate = row.recovered / row.n
        if rate < 0.99 and pname not in NOT_TARGETED:
            below.append(pname)
        r = row.routes
        wrong = f", {row.wrong} WRONG" if row.wrong else ""
        print(
            f"| {pname} | {row.decoded}/{row.n} ({100 * row.decoded / row.n:.0f} %) "
            f"| {row.recovered}/{row.n} ({100 * rate:.0f} %){wrong} "
            f"| {r['watermark']} / {r['fingerprint']} / {r['rejected']} / {r['none']} "
            f"| {max(row.dists)} ({statistics.mean(row.dists):.1f}) |"
        )
    print(
        f"\nUnrelated pictures: {false_rec}/{args.unrelated} recovered (false recoveries), "
        f"{false_wm}/{args.unrelated} watermark decodes; nearest pHash distance to a signed "
        f"fingerprint: min {min(nearest)}, 1st percentile "
        f"{sorted(nearest)[len(nearest) // 100]}, median {statistics.median(nearest):.0f}."
    )
    print(
        f"Distinct signed pictures: pairwise pHash distance min {min(pair)}, "
        f"median {statistics.median(pair):.0f}."
    )
    print(
        f"\nSigning median {statistics.median(sign_times):.2f} s; total run "
        f"{time.perf_counter() - t_start:.0f} s."
    )
    if below or false_rec:
        print(f"BELOW TARGET: {', '.join(below) or ''} false recoveries: {false_rec}")


if __name__ == "__main__":
    main()
