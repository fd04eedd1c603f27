"""Speed and PSNR of our locator watermark against blind-watermark, in the same run.

    .venv/bin/python bench/watermark_speed.py [--repeat 3] [--sizes 1024 2048]

blind-watermark runs with its defaults (d1=36, d2=20, per-block Python loops) on the
same pictures and the same 96 payload bits. Timings on a shared machine are noisy: run
it twice and look at the best and the median.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
from PIL import Image

from myself_i2i.softbinding import watermark as wm
from myself_i2i.testing import illustration


def _psnr(a: Image.Image, b: Image.Image) -> float:
    x = np.asarray(a.convert("RGB"), dtype=np.float64)
    y = np.asarray(b.convert("RGB"), dtype=np.float64)
    return float(10 * np.log10(255.0**2 / np.mean((x - y) ** 2)))


def _timed(fn: Callable[[], object], repeat: int) -> tuple[list[float], object]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t) * 1e3)
    return times, result


def _fmt(ms: list[float]) -> str:
    return f"best {min(ms):7.0f} ms  median {statistics.median(ms):7.0f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048])
    args = ap.parse_args()

    for n in args.sizes:
        _bench(n, args.repeat)


def _bench(n: int, repeat: int) -> None:
    # Imported here only: it sets the multiprocessing start method and prints a banner.
    from blind_watermark import WaterMark, bw_notes

    bw_notes.close()
    img = illustration(n, n, seed=n)
    loc = wm.new_locator()
    bits = wm._payload_bits(loc)
    wm.decode(wm.embed(img, loc))  # warm caches (permutation tables)

    t_emb, marked = _timed(lambda: wm.embed(img, loc), repeat)
    assert isinstance(marked, Image.Image)
    t_dec, got = _timed(lambda: wm.decode(marked), repeat)
    t_none, _ = _timed(lambda: wm.decode(img), repeat)
    assert got == loc

    bgr = np.ascontiguousarray(np.asarray(img)[..., ::-1])

    def bw_embed() -> np.ndarray[tuple[int, ...], np.dtype[np.uint8]]:
        b = WaterMark(password_wm=1, password_img=1)
        b.read_img(img=bgr)
        b.read_wm(bits.astype(bool), mode="bit")
        out: np.ndarray[tuple[int, ...], np.dtype[np.uint8]] = np.clip(
            np.round(b.embed()), 0, 255
        ).astype(np.uint8)
        return out

    bw_rep = max(1, repeat - 1) if n <= 1024 else 1
    t_bwe, bw_out = _timed(bw_embed, bw_rep)
    assert isinstance(bw_out, np.ndarray)

    def bw_decode() -> object:
        b = WaterMark(password_wm=1, password_img=1)
        return b.extract(embed_img=bw_out, wm_shape=bits.size, mode="bit")

    t_bwd, bw_bits = _timed(bw_decode, bw_rep)
    bw_ok = bool(np.array_equal(np.asarray(bw_bits).astype(np.uint8), bits))
    bw_img = Image.fromarray(np.ascontiguousarray(bw_out[..., ::-1]), "RGB")

    print(f"== {n}x{n} illustration, 96 payload bits")
    print(f"ours  embed  {_fmt(t_emb)}   PSNR {_psnr(img, marked):.2f} dB")
    print(f"ours  decode {_fmt(t_dec)}   (unmarked, all gains: {_fmt(t_none)})")
    print(f"bwm   embed  {_fmt(t_bwe)}   PSNR {_psnr(img, bw_img):.2f} dB")
    print(f"bwm   decode {_fmt(t_bwd)}   bits exact: {bw_ok}")
    print(
        f"speed-up: embed x{min(t_bwe) / min(t_emb):.1f} (median "
        f"x{statistics.median(t_bwe) / statistics.median(t_emb):.1f}), decode "
        f"x{min(t_bwd) / min(t_dec):.1f} (median "
        f"x{statistics.median(t_bwd) / statistics.median(t_dec):.1f})"
    )


if __name__ == "__main__":
    main()
