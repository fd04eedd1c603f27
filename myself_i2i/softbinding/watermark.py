"""An invisible watermark that carries an 8-byte manifest locator.

Social platforms strip C2PA manifests and re-encode images (JPEG ~q85, long side cut to
4096/2048, sometimes WebP). Before signing we hide a random 8-byte *locator* in the
pixels; a re-encoded copy gives the locator back and the manifest can be looked up in a
manifest repository.

Transform chain (the one of ``blind-watermark``, see docs/watermark.md), vectorised:

1. Luma ``Y = 0.299 R + 0.587 G + 0.114 B`` of the picture, stretched to a fixed
   ``working_size`` square. Because embedding and decoding both happen at this canonical
   size the decoder never needs the original size, and resizes (2048, 1024, x0.9) are
   undone by the decoder's own stretch.
2. One level of the Haar DWT; the approximation band ``cA`` is cut into 4x4 blocks.
3. Orthonormal 2-D DCT of every block, a fixed per-block permutation of the 16
   coefficients (``password_img``), SVD of the permuted 4x4 matrix.
4. The largest singular value ``s0`` (and, with ``d2 > 0``, the second ``s1``) is moved to
   the nearest point of the lattice ``d * (k + 1/4 + bit/2)``. Block ``i`` (row-major)
   carries payload bit ``i % 96`` after a fixed bit permutation (``password_wm``), so each
   bit is repeated ~170 times across the picture.
5. The change of ``cA`` is turned into a luma difference at the working size, scaled back
   up to the full picture and added to R, G and B alike (so chroma is untouched).

Payload: ``locator (64 bits) || CRC-32(locator) (32 bits)`` XOR a fixed mask. The decoder
averages a soft value per bit over all blocks, unmasks, and accepts only when the CRC
matches and the locator is not all zero. Brightness changes scale the singular values,
so the decoder retries over a grid of gain factors (the transform is computed once; a
retry only re-quantises).
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from PIL import Image

from myself_i2i.errors import ImageError
from myself_i2i.softbinding import LOCATOR_BYTES, WATERMARK_ALG, new_locator

__all__ = [
    "DEFAULT_PARAMS",
    "LOCATOR_BYTES",
    "PAYLOAD_BITS",
    "WATERMARK_ALG",
    "WatermarkError",
    "WatermarkParams",
    "decode",
    "decode_soft",
    "embed",
    "embed_bits",
    "new_locator",
]

_CRC_BYTES = 4
PAYLOAD_BITS = 8 * (LOCATOR_BYTES + _CRC_BYTES)
# A fixed mask XOR'ed over locator+CRC: an all-zero (or all-one) read-out of an unmarked
# image is then never a valid word. Derived from a name so it is reproducible, never secret.
_MASK = hashlib.sha256(b"myself-i2i watermark payload mask v1").digest()[
    : LOCATOR_BYTES + _CRC_BYTES
]
_BLOCK = 4
# Largest possible singular value of a 4x4 cA block of an 8-bit image: Haar cA of a
# 2x2 pixel patch is at most 2*255 and s0 <= Frobenius norm = 4 * 510.
_S_MAX = 4.0 * 2.0 * 255.0
# Luma weights (ITU-R BT.601, as Pillow's "L" and OpenCV's YUV).
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)

Float = npt.NDArray[np.float64]


def _dct_matrix(n: int) -> Float:
    """The orthonormal DCT-II matrix: ``D @ B @ D.T`` is ``scipy.fft.dctn(B, norm="ortho")``.

    A 4x4 block transform is two tiny matrix products, so numpy does it as fast as
    scipy's FFT, and the watermark never imports scipy (~0.3 s of start-up).
    """
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    d: Float = np.sqrt(2.0 / n) * np.cos(np.pi * k * (2 * i + 1) / (2 * n))
    d[0] /= np.sqrt(2.0)
    return d


_DCT4 = _dct_matrix(_BLOCK)
_DCT4_T = np.ascontiguousarray(_DCT4.T)


def _default_gains() -> tuple[float, ...]:
    # Brightness +-10% (ImageEnhance) multiplies luma; s0 scales with it. The lattice
    # step is d1 = 36 on values up to 2040, so a gain error above ~0.5 % already moves
    # bright blocks by a quarter step: the grid has to be fine. Ordered by distance from
    # 1.0 so an unaltered copy is accepted on the first try.
    steps = [0.0]
    for k in range(1, 41):
        steps += [k * 0.005, -k * 0.005]
    return tuple(round(1.0 + s, 4) for s in steps)


@dataclass(frozen=True)
class WatermarkParams:
    """Tuning of the watermark. The defaults are what docs/watermark.md measured.

    Attributes:
        d1: lattice step of the largest singular value. Larger = more robust, more
            visible. 36 gives ~45.9 dB PSNR (max pixel change 7) and survives WebP q80;
            24 gives ~49.8 dB but lost 1 of 12 pictures to WebP q80 (docs/watermark.md).
        d2: lattice step of the second singular value, 0 to leave it alone. The second
            singular vector of a flat block is arbitrary high-frequency texture, so
            marking it is what makes the "mottle" on flat fills; off by default.
        working_size: side of the square canonical image the mark lives in.
        password_img: seed of the per-block coefficient permutation (blind-watermark's
            ``password_img``).
        password_wm: seed of the payload bit permutation (``password_wm``).
        min_embed_side: embed refuses pictures whose short side is smaller.
        min_decode_side: decode returns None for smaller pictures.
        gains: brightness factors the decoder tries, in order.
    """

    d1: float = 36.0
    d2: float = 0.0
    working_size: int = 1024
    password_img: int = 20250401
    password_wm: int = 4013
    min_embed_side: int = 256
    min_decode_side: int = 64
    gains: tuple[float, ...] = field(default_factory=_default_gains)


DEFAULT_PARAMS = WatermarkParams()


class WatermarkError(ImageError):
    """The picture cannot carry a watermark (too small), or the locator is malformed."""


# --------------------------------------------------------------------------- payload


def _payload_bits(locator: bytes) -> npt.NDArray[np.uint8]:
    word = locator + zlib.crc32(locator).to_bytes(_CRC_BYTES, "big")
    masked = bytes(a ^ b for a, b in zip(word, _MASK, strict=True))
    return np.unpackbits(np.frombuffer(masked, dtype=np.uint8))


def _check_payload(bits: npt.NDArray[np.uint8]) -> bytes | None:
    masked = np.packbits(bits).tobytes()
    word = bytes(a ^ b for a, b in zip(masked, _MASK, strict=True))
    loc, crc = word[:LOCATOR_BYTES], word[LOCATOR_BYTES:]
    if not any(loc) or zlib.crc32(loc).to_bytes(_CRC_BYTES, "big") != crc:
        return None
    return loc


# ------------------------------------------------------------------ permutations (cached)


@lru_cache(maxsize=8)
def _block_perm(seed: int, n_blocks: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    # Exactly blind-watermark's random_strategy1, so the two agree on raw bits. Legacy
    # RandomState is used on purpose: its stream is frozen across numpy versions.
    perm = np.random.RandomState(seed).random(size=(n_blocks, _BLOCK * _BLOCK)).argsort(axis=1)
    return perm, np.argsort(perm, axis=1)


@lru_cache(maxsize=8)
def _bit_perm(seed: int, n_bits: int) -> npt.NDArray[np.intp]:
    # blind-watermark shuffles the payload with RandomState(password_wm).shuffle.
    idx = np.arange(n_bits)
    np.random.RandomState(seed).shuffle(idx)
    return idx


# ---------------------------------------------------------------------------- transform


def _luma(img: Image.Image) -> tuple[Float, str]:
    """Float luma of any mode plus the mode family used ("L" or "RGB")."""
    if img.mode in ("L", "LA"):
        return np.asarray(img.getchannel("L"), dtype=np.float32).astype(np.float64), "L"
    if img.mode not in ("RGB", "RGBA"):
        has_alpha = img.mode in ("PA", "LA", "RGBa", "La") or "transparency" in img.info
        img = img.convert("RGBA" if has_alpha else "RGB")
    rgb = np.asarray(img, dtype=np.float32)[..., :3]
    return (rgb @ _LUMA).astype(np.float64), "RGB"


def _rgb_pixels(img: Image.Image) -> npt.NDArray[np.uint8]:
    """The (h, w, 3) uint8 RGB pixels of a picture that is not L/LA.

    Converting a Pillow image to an array copies it (~3 ms at 1024²): embedding does it
    once and hands the array on.
    """
    if img.mode not in ("RGB", "RGBA"):
        has_alpha = img.mode in ("PA", "LA", "RGBa", "La") or "transparency" in img.info
        img = img.convert("RGBA" if has_alpha else "RGB")
    return np.asarray(img)[..., :3]


def _resize_f(arr: Float | npt.NDArray[np.float32], size: tuple[int, int]) -> Float:
    """Resize a float plane with Pillow's antialiased bilinear filter (size = (w, h))."""
    if arr.shape[1] == size[0] and arr.shape[0] == size[1]:
        same: Float = arr.astype(np.float64)
        return same
    im = Image.fromarray(arr.astype(np.float32), "F")
    return np.asarray(im.resize(size, Image.Resampling.BILINEAR), dtype=np.float64)


def _haar_ca(y: Float) -> Float:
    """Approximation band of one level of the orthonormal Haar DWT.

    Equal to ``pywt.dwt2(y, "haar")[0]`` for even sizes (a test checks it) but ~8x faster,
    because the detail bands are never needed: ``cA = (a + b + c + d) / 2`` per 2x2 patch.
    """
    h, w = y.shape[0] // 2 * 2, y.shape[1] // 2 * 2
    # Three strided adds instead of a two-axis reduction (~6 ms less per 1024² picture).
    # The luma holds float32 values in float64, so the four-term sum is exact in any
    # order: the same band, bit for bit.
    ca: Float = (y[0:h:2, 0:w:2] + y[1:h:2, 0:w:2]) + (y[0:h:2, 1:w:2] + y[1:h:2, 1:w:2])
    ca /= 2.0
    return ca


def _blocks(y_work: Float) -> Float:
    """Haar cA of the working image cut into (n_blocks, 4, 4) row-major blocks."""
    ca = _haar_ca(y_work)
    bh, bw = ca.shape[0] // _BLOCK, ca.shape[1] // _BLOCK
    ca = ca[: bh * _BLOCK, : bw * _BLOCK]
    return np.ascontiguousarray(
        ca.reshape(bh, _BLOCK, bw, _BLOCK).transpose(0, 2, 1, 3).reshape(-1, _BLOCK, _BLOCK)
    )


def _permuted_dct(blocks: Float, params: WatermarkParams) -> Float:
    dct = (_DCT4 @ blocks @ _DCT4_T).reshape(len(blocks), -1)
    perm, _ = _block_perm(params.password_img, len(blocks))
    return np.take_along_axis(dct, perm, axis=1).reshape(-1, _BLOCK, _BLOCK)


def _singular_values(mats: Float) -> Float:
    # Values only, via the eigenvalues of M^T M: ~2x faster than np.linalg.svd and
    # accurate to ~1e-10 here (we only need the two largest).
    gram = mats.transpose(0, 2, 1) @ mats
    w = np.linalg.eigvalsh(gram)[:, ::-1]
    out: Float = np.sqrt(np.clip(w, 0.0, None))
    return out


def _quantise(s: Float, bits: npt.NDArray[np.uint8], d: float, s_max: float | Float) -> Float:
    # Nearest lattice point d*(k + 1/4 + bit/2): moves by at most d/2 (blind-watermark
    # takes the point above the bin floor, up to 3d/4). Decoding only looks at s mod d,
    # so both are read the same way.
    off = d * (0.25 + 0.5 * bits)
    q = d * np.round((s - off) / d) + off
    q = np.where(q < 0, q + d, q)
    # A target above the largest reachable value would be clipped at 255 (white fills):
    # take the lattice point below instead.
    return np.where(q > s_max, q - d, q)


def _top_eigenpair(gram: Float) -> tuple[Float, Float]:
    """Top eigenvector and eigenvalue of each symmetric PSD 4x4 matrix.

    Five repeated squarings (``G^32``, normalised by the trace) give the dominant
    direction to machine precision whenever the top eigenvalue stands clear of the next,
    which is nearly every image block (the DC term dominates): ~3x faster than LAPACK's
    per-matrix ``eigh``. Blocks whose residual ``|G v - lambda v|`` is not tiny (nearly
    equal eigenvalues, all-zero blocks) are decomposed by ``eigh``.
    """

    def normalised(g: Float) -> Float:
        tr = np.trace(g, axis1=1, axis2=2)
        out: Float = g / np.where(tr > 0, tr, 1.0)[:, None, None]
        return out

    g = normalised(gram)
    for _ in range(5):
        g = normalised(g @ g)
    col = np.argmax(np.einsum("nij,nij->nj", g, g), axis=1)
    v0 = g[np.arange(len(g)), :, col]
    norm = np.linalg.norm(v0, axis=1)
    v0 = v0 / np.where(norm > 0, norm, 1.0)[:, None]
    gv = (gram @ v0[:, :, None])[:, :, 0]
    lam = np.einsum("ni,ni->n", v0, gv)
    res = np.linalg.norm(gv - lam[:, None] * v0, axis=1)
    bad = ~(res <= 1e-9 * lam)  # also NaN, and every zero block (0 <= 0 is False)
    bad |= ~(lam > 0)
    if bad.any():
        w, v = np.linalg.eigh(gram[bad])
        v0[bad], lam[bad] = v[:, :, -1], w[:, -1]
    return v0, lam


def _rank1_change(mats: Float, block_bits: npt.NDArray[np.uint8], d: float) -> Float:
    """``(s0' - s0) u0 v0^T`` per block: only the largest singular value moves.

    The top singular pair comes from the top eigenpair of the 4x4 Gram matrix ``M^T M``
    (v0 and s0^2), and ``u0 = M v0 / |M v0|``: the change a full SVD gives (the same
    pixels on every test picture), ~40 ms less per 1024² picture. An all-zero block has
    no direction of its own; any unit u0 (here v0) gives it the singular value s0'.
    """
    gram = mats.transpose(0, 2, 1) @ mats
    v0, lam = _top_eigenpair(gram)
    s0 = np.sqrt(np.clip(lam, 0.0, None))
    mv = (mats @ v0[:, :, None])[:, :, 0]
    norm = np.linalg.norm(mv, axis=1)
    u0 = np.where(norm[:, None] > 1e-9, mv / np.maximum(norm, 1e-9)[:, None], v0)
    ds = _quantise(s0, block_bits, d, _S_MAX) - s0
    change: Float = (ds[:, None, None] * u0[:, :, None]) * v0[:, None, :]
    return change


def _embed_delta(y_work: Float, bits: npt.NDArray[np.uint8], params: WatermarkParams) -> Float:
    """Luma difference at the working size that writes ``bits`` (already permuted)."""
    blocks = _blocks(y_work)
    n = len(blocks)
    _, inv = _block_perm(params.password_img, n)
    mats = _permuted_dct(blocks, params)
    block_bits = bits[np.arange(n) % len(bits)]
    if params.d2:
        u, s, vt = np.linalg.svd(mats)
        s_new = s.copy()
        s_new[:, 0] = _quantise(s[:, 0], block_bits, params.d1, _S_MAX)
        s_new[:, 1] = _quantise(s[:, 1], block_bits, params.d2, s_new[:, 0])
        # Rebuild only the change: (U diag(ds) V^T).
        d_mats = (u * (s_new - s)[:, None, :]) @ vt
    else:
        d_mats = _rank1_change(mats, block_bits, params.d1)
    # Undo the permutation, inverse DCT.
    d_dct = np.take_along_axis(d_mats.reshape(n, -1), inv, axis=1).reshape(n, _BLOCK, _BLOCK)
    d_blocks = _DCT4_T @ d_dct @ _DCT4  # inverse of the orthonormal DCT
    side = params.working_size // 2
    bh, bw = side // _BLOCK, side // _BLOCK
    d_ca = np.zeros((side, side))
    d_ca[: bh * _BLOCK, : bw * _BLOCK] = (
        d_blocks.reshape(bh, bw, _BLOCK, _BLOCK).transpose(0, 2, 1, 3).reshape(bh * 4, bw * 4)
    )
    # Inverse Haar with zero detail bands: every 2x2 pixel patch moves by cA/2.
    return np.repeat(np.repeat(d_ca / 2.0, 2, axis=0), 2, axis=1)


def _apply_delta_rgb(rgb: npt.NDArray[np.float32], delta: npt.NDArray[np.float32]) -> Float:
    """Add a luma change to R, G, B alike; where a channel clips, push the rest harder.

    Saturated anime colours (pure red, white) clip at 0/255 and would lose most of the
    change; one correction pass gives the clipped luma to the channels that still move.
    """
    out = np.clip(rgb + delta[..., None], 0.0, 255.0)
    achieved = (out - rgb) @ _LUMA
    resid = delta - achieved
    free = np.where(resid[..., None] > 0, out < 255.0, out > 0.0)
    wfree = free.astype(np.float32) @ _LUMA
    fix = np.where(wfree > 0.05, resid / np.maximum(wfree, 0.05), 0.0)
    out = np.clip(out + np.where(free, fix[..., None], 0.0), 0.0, 255.0)
    result: Float = out.astype(np.float64)
    return result


def _apply_delta_rgb_u8(
    rgb: npt.NDArray[np.uint8], delta: npt.NDArray[np.float32]
) -> npt.NDArray[np.uint8]:
    """:func:`_apply_delta_rgb` on uint8 pixels, rounded, without full-size float copies.

    ``round(p + d) == p + round(d)`` for integer ``p``, so a pixel where no channel clips
    only needs ``p + round(d)``, which a wrapping uint8 add gives exactly; the float
    correction runs on the (few) clipping pixels and replaces them. At 4096² this is
    several times faster than the all-float path and gives the same result.
    """
    d16 = np.rint(delta).astype(np.int16)
    # a pixel clips when its brightest channel overflows or its darkest underflows
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    bad = (np.maximum(np.maximum(r, g), b) + d16 > 255) | (
        np.minimum(np.minimum(r, g), b) + d16 < 0
    )
    # modulo 256: exact where nothing clips. Channel by channel: numpy broadcasting over
    # a last axis of 3 is ~3x slower than three strided adds.
    d8 = d16.astype(np.uint8)
    out = np.empty_like(rgb)
    for c in range(3):
        np.add(rgb[..., c], d8, out=out[..., c])
    if bad.any():
        idx = np.nonzero(bad)
        fixed = _apply_delta_rgb(rgb[idx].astype(np.float32), delta[idx])
        out[idx] = np.rint(fixed).astype(np.uint8)  # already within 0..255
    return out


def embed_bits(
    img: Image.Image, bits: npt.NDArray[np.uint8], params: WatermarkParams = DEFAULT_PARAMS
) -> Image.Image:
    """Embed raw payload ``bits`` (0/1, any length < number of blocks); low-level API.

    :func:`embed` is this with the masked, CRC-protected locator. Kept public so tests
    and the benchmark can compare raw bits with blind-watermark.

    Raises:
        WatermarkError: the short side is below ``params.min_embed_side``.
    """
    w, h = img.size
    if min(w, h) < params.min_embed_side:
        raise WatermarkError(
            f"The image is {w}x{h}; the invisible watermark needs at least "
            f"{params.min_embed_side} pixels on the short side. Sign a larger image.",
            f"画像が {w}x{h} です。見えない透かしには短辺 {params.min_embed_side} ピクセル以上"
            "が必要です。より大きな画像に署名してください。",
        )
    mode = img.mode
    alpha: Image.Image | None = None
    if mode in ("RGBA", "LA"):
        alpha = img.getchannel("A")
    rgb: npt.NDArray[np.uint8] | None = None
    if mode in ("L", "LA"):
        y: npt.NDArray[np.float32] = np.asarray(img.getchannel("L"), dtype=np.float32)
    else:
        rgb = _rgb_pixels(img)
        y = rgb @ _LUMA
    ws = params.working_size
    shuffled = np.asarray(bits, dtype=np.uint8)[_bit_perm(params.password_wm, len(bits))]
    delta = _embed_delta(_resize_f(y, (ws, ws)), shuffled, params)
    delta_full = _resize_f(delta, (w, h)).astype(np.float32)
    if rgb is None:  # L / LA: y is the picture's own plane
        out_l = np.clip(y + delta_full, 0, 255).round().astype(np.uint8)
        out = Image.fromarray(out_l, "L")
        if alpha is not None:
            out.putalpha(alpha)
        return out
    out_rgb = _apply_delta_rgb_u8(rgb, delta_full)
    out = Image.fromarray(out_rgb, "RGB")
    if alpha is not None:
        out.putalpha(alpha)  # alpha untouched, byte for byte
    elif mode != "RGB" and ("transparency" in img.info or mode in ("PA", "RGBa")):
        out.putalpha(img.convert("RGBA").getchannel("A"))
    return out


def embed(
    img: Image.Image, locator: bytes, params: WatermarkParams = DEFAULT_PARAMS
) -> Image.Image:
    """Return a copy of ``img`` with ``locator`` invisibly embedded.

    RGB, RGBA, L and LA pictures keep their size and mode, and the alpha channel is
    copied unchanged. Any other mode (P, CMYK, 1, I;16, ...) cannot hold the mark without
    destroying it again (a palette re-quantisation), so it is converted first and an RGB
    picture (RGBA when it had transparency) is returned.

    Raises:
        WatermarkError: ``locator`` is not 8 bytes or is all zero, or the picture's short
            side is below ``params.min_embed_side`` (256 px by default).
    """
    if len(locator) != LOCATOR_BYTES or not any(locator):
        raise WatermarkError(
            f"A watermark locator must be {LOCATOR_BYTES} bytes and not all zero "
            f"(got {len(locator)} bytes).",
            f"透かしのロケーターは {LOCATOR_BYTES} バイトで、すべて 0 ではいけません"
            f"（{len(locator)} バイトでした）。",
        )
    return embed_bits(img, _payload_bits(locator), params)


def _decode_view(img: Image.Image, params: WatermarkParams) -> tuple[Float, Float] | None:
    """The two largest singular values of every block of the stretched copy."""
    if min(img.size) < params.min_decode_side:
        return None
    y, _ = _luma(img)
    ws = params.working_size
    sv = _singular_values(_permuted_dct(_blocks(_resize_f(y, (ws, ws))), params))
    return sv[:, 0], sv[:, 1]


def _soft_bits(s0: Float, s1: Float, n_bits: int, params: WatermarkParams, gains: Float) -> Float:
    """Soft bit values in [-1, 1] (positive = 1), shape (len(gains), n_bits), unpermuted."""
    # Phase of s within the lattice step: bit 0 sits at 1/4, bit 1 at 3/4, so
    # -sin(2 pi s/d) is +1 for a one, -1 for a zero, and smooth across the wrap-around.
    # float32 is plenty for a phase and halves the cost of the many-gain retry.
    inv_g = (1.0 / gains[:, None]).astype(np.float32)
    soft = -np.sin(np.float32(2 * np.pi / params.d1) * s0.astype(np.float32)[None, :] * inv_g)
    if params.d2:
        w1 = np.float32(2 * np.pi / params.d2)
        soft = 0.75 * soft - 0.25 * np.sin(w1 * s1.astype(np.float32)[None, :] * inv_g)
    n = soft.shape[1]
    reps = -(-n // n_bits)
    padded = np.zeros((len(gains), reps * n_bits), dtype=np.float32)
    padded[:, :n] = soft
    counts = np.bincount(np.arange(n) % n_bits, minlength=n_bits)
    per_bit = padded.reshape(len(gains), reps, n_bits).sum(axis=1, dtype=np.float64) / counts
    out: Float = np.empty_like(per_bit)
    out[:, _bit_perm(params.password_wm, n_bits)] = per_bit
    return out


def decode_soft(
    img: Image.Image, n_bits: int, params: WatermarkParams = DEFAULT_PARAMS, gain: float = 1.0
) -> Float | None:
    """Soft raw bits (positive = 1) read at one gain; low-level API for tests and bench.

    Returns None when the picture is smaller than ``params.min_decode_side``.
    """
    view = _decode_view(img, params)
    if view is None:
        return None
    soft: Float = _soft_bits(view[0], view[1], n_bits, params, np.array([gain]))[0]
    return soft


def decode(img: Image.Image, params: WatermarkParams = DEFAULT_PARAMS) -> bytes | None:
    """The locator embedded in ``img``, or None when there is no valid mark.

    Works on any mode and any size >= ``params.min_decode_side`` (smaller gives None);
    the copy may be re-encoded, resized or brightened. Never raises for an image that
    Pillow has decoded.
    """
    view = _decode_view(img, params)
    if view is None:
        return None
    gains = np.asarray(params.gains, dtype=np.float64)
    # The first gain (1.0 by default) alone first: an untouched copy costs one quantisation.
    for batch in (gains[:1], gains[1:]):
        if not len(batch):
            continue
        soft = _soft_bits(view[0], view[1], PAYLOAD_BITS, params, batch)
        for row in (soft > 0).astype(np.uint8):  # first valid gain, nearest to 1.0, wins
            loc = _check_payload(row)
            if loc is not None:
                return loc
    return None
