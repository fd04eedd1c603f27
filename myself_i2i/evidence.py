"""Structural similarity of a suspect picture to one's own original, as evidence.

i2i keeps the source's composition: where the outlines are and which way they run. This
module measures exactly that, and nothing about colour, so a re-coloured, re-encoded,
resized, slightly cropped or moderately denoised copy still scores high:

1. Both pictures are reduced to a small square (:data:`GRID` pixels; large pictures are
   first shrunk with integer ``reduce``, so a 2048² comparison takes a few tens of ms).
   Transparent pixels are put on white; EXIF orientation is applied. When the aspect ratios
   differ, the comparison is done twice, once stretching both to the square and once
   centre-cropping the wider one to the other's aspect, and the better one counts.
2. A colour structure tensor (summed over R, G, B, so an edge between two colours of the
   same brightness still counts and the direction of a brightness change does not matter)
   is smoothed a little, which tolerates small warps and shifts. When either picture has
   no colour (a greyscale copy), both are compared on brightness only. From it come two maps:
   the *edge orientation field* (doubled angle, weighted by contrast-normalised edge
   strength) and the *edge presence map*.
3. Each map is correlated between the two pictures, allowing shifts of up to
   :data:`MAX_SHIFT` grid pixels and a few centre zooms (crops of a few per cent). The score
   is the mean of the two correlations at the best alignment, clipped to 0..1.

The result is *evidence for a person to weigh*, never a finding of copying: the wording in
both languages says so. Thresholds were calibrated on synthetic pictures with
``bench/calibrate_similarity.py``; see ``docs/evidence.md`` for measured rates.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from scipy import ndimage

from myself_i2i.i18n import Text

__all__ = [
    "GRID",
    "MAX_SHIFT",
    "SOME_SIMILARITY",
    "THRESHOLDS",
    "VERY_SIMILAR",
    "Similarity",
    "SimilarityLevel",
    "structural_similarity",
]

#: Side of the square grid both pictures are compared on.
GRID = 128
#: Largest shift (grid pixels, in each direction) tried when aligning the two pictures.
MAX_SHIFT = 6
#: Centre zooms tried on each side (1.0 = whole picture; 1.08 = 8 % cropped away).
ZOOMS: tuple[float, ...] = (1.0, 1.06, 1.12)
#: Score at or above which the composition is "very similar" (calibrated, docs/evidence.md).
VERY_SIMILAR = 0.60
#: Score at or above which there is "some similarity" (calibrated, docs/evidence.md).
SOME_SIMILARITY = 0.35
#: Both thresholds, highest first.
THRESHOLDS: dict[str, float] = {"very-similar": VERY_SIMILAR, "some-similarity": SOME_SIMILARITY}

_PRE_SIGMA = 1.0  # grid pixels: denoise before taking gradients
_TENSOR_SIGMA = 2.0  # grid pixels: smoothing of the structure tensor (warp tolerance)
_NORM_C = 0.5  # contrast normalisation: E / (E + c * mean(E))
_WORK_EDGE = 2 * GRID  # long edge the picture is shrunk to before cropping / resizing

Array = NDArray[np.float32]


class SimilarityLevel(str, enum.Enum):
    """How similar the composition of two pictures is."""

    VERY_SIMILAR = "very-similar"
    SOME = "some-similarity"
    NONE = "no-meaningful-similarity"


@dataclass(frozen=True)
class Similarity:
    """Structural similarity of a suspect picture to an original.

    Attributes:
        score: 0 (unrelated) .. 1 (same composition).
        level: the score's band (see :data:`THRESHOLDS`).
        text: what to tell the person, in English and Japanese; always says it is evidence
            to weigh, not a finding of copying.
    """

    score: float
    level: SimilarityLevel
    text: Text

    def to_dict(self) -> dict[str, object]:
        return {"score": round(self.score, 3), "level": self.level.value, **self.text.to_dict()}


_CAVEAT_EN = "This is evidence for a person to weigh, not a finding of copying."
_CAVEAT_JA = "これは人が判断するための材料であり、盗用の判定ではありません。"


def level_for(score: float) -> SimilarityLevel:
    """The band a score falls into."""
    if score >= VERY_SIMILAR:
        return SimilarityLevel.VERY_SIMILAR
    if score >= SOME_SIMILARITY:
        return SimilarityLevel.SOME
    return SimilarityLevel.NONE


def wording(score: float, level: SimilarityLevel) -> Text:
    """The bilingual sentence for a score and its band."""
    s = f"{score:.2f}"
    if level is SimilarityLevel.VERY_SIMILAR:
        en = f"Very similar composition (score {s})."
        ja = f"構図が非常に似ています（スコア {s}）。"
    elif level is SimilarityLevel.SOME:
        en = f"Some similarity in composition (score {s})."
        ja = f"構図にある程度の類似があります（スコア {s}）。"
    else:
        en = f"No meaningful similarity in composition (score {s})."
        ja = f"構図に意味のある類似は見られません（スコア {s}）。"
    return Text(en=f"{en} {_CAVEAT_EN}", ja=f"{ja}{_CAVEAT_JA}")


_ORIENTATION_OPS: dict[int, list[Image.Transpose]] = {
    2: [Image.Transpose.FLIP_LEFT_RIGHT],
    3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM],
    5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_270],
    7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_90],
}


def _small_rgb(img: Image.Image) -> Image.Image:
    """The upright picture on white, as RGB with long edge about :data:`_WORK_EDGE`."""
    try:
        orientation = int(img.getexif().get(0x0112, 1))
    except Exception:  # damaged EXIF: assume upright
        orientation = 1
    im = img
    if im.mode == "P":
        im = im.convert("RGBA")
    factor = max(im.width, im.height) // (_WORK_EDGE * 2)
    if factor >= 2:
        im = im.reduce(factor)
    scale = _WORK_EDGE / max(im.width, im.height)
    if scale < 1.0:
        size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
        im = im.resize(size, Image.Resampling.BILINEAR)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode != "RGB" and "A" in im.getbands()):
        rgba = im.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        bg.alpha_composite(rgba)
        im = bg
    if im.mode != "RGB":
        im = im.convert("RGB")
    for op in _ORIENTATION_OPS.get(orientation, []):
        im = im.transpose(op)
    return im


def _centre_crop(im: Image.Image, aspect: float) -> Image.Image:
    """Centre crop ``im`` to width/height ``aspect`` (only ever removes pixels)."""
    w, h = im.size
    if w / h > aspect:
        nw = max(1, round(h * aspect))
        x0 = (w - nw) // 2
        return im.crop((x0, 0, x0 + nw, h))
    nh = max(1, round(w / aspect))
    y0 = (h - nh) // 2
    return im.crop((0, y0, w, y0 + nh))


def _zoom(im: Image.Image, zoom: float) -> Image.Image:
    if zoom <= 1.0:
        return im
    w, h = im.size
    cw, ch = w / zoom, h / zoom
    x0, y0 = (w - cw) / 2, (h - ch) / 2
    return im.crop((round(x0), round(y0), round(x0 + cw), round(y0 + ch)))


@dataclass(frozen=True)
class _Features:
    orient: NDArray[np.complex64]  # zero-mean, unit-norm doubled-angle field
    edges: Array  # zero-mean, unit-norm edge presence map


def _is_grey(im: Image.Image) -> bool:
    """True when the picture has (almost) no colour, e.g. a greyscale copy."""
    arr = np.asarray(im.resize((64, 64), Image.Resampling.BILINEAR), dtype=np.int16)
    spread = np.abs(arr[..., 0] - arr[..., 1]) + np.abs(arr[..., 1] - arr[..., 2])
    return float(spread.mean()) < 3.0


def _features(im: Image.Image, grey: bool = False) -> _Features:
    sq = im.resize((GRID, GRID), Image.Resampling.BILINEAR)
    if grey:
        sq = sq.convert("L").convert("RGB")
    arr = np.asarray(sq, dtype=np.float32) / 255.0
    jxx = np.zeros((GRID, GRID), np.float32)
    jxy = np.zeros_like(jxx)
    jyy = np.zeros_like(jxx)
    for c in range(1 if grey else 3):
        ch = ndimage.gaussian_filter(arr[:, :, c], _PRE_SIGMA)
        gx = ndimage.sobel(ch, axis=1)
        gy = ndimage.sobel(ch, axis=0)
        jxx += gx * gx
        jxy += gx * gy
        jyy += gy * gy
    jxx = ndimage.gaussian_filter(jxx, _TENSOR_SIGMA)
    jxy = ndimage.gaussian_filter(jxy, _TENSOR_SIGMA)
    jyy = ndimage.gaussian_filter(jyy, _TENSOR_SIGMA)
    energy = jxx + jyy
    denom = energy + _NORM_C * float(energy.mean()) + 1e-6
    orient = ((jxx - jyy) + 2j * jxy) / denom
    edges = energy / denom
    return _Features(orient=_unit(orient.astype(np.complex64)), edges=_unit(edges))


def _unit(a: NDArray[Any]) -> NDArray[Any]:
    a = a - a.mean()
    n = float(np.sqrt(np.sum(np.abs(a) ** 2)))
    return a / n if n > 1e-9 else np.zeros_like(a)


def _xcorr(a: NDArray[Any], b: NDArray[Any]) -> NDArray[np.float64]:
    """Circular cross-correlation Re(sum a * conj(shifted b)) for every shift, via FFT."""
    fa = np.fft.fft2(a)
    fb = np.fft.fft2(b)
    out: NDArray[np.float64] = np.real(np.fft.ifft2(fa * np.conj(fb)))
    return out


def _window(c: NDArray[np.float64]) -> NDArray[np.float64]:
    """The shifts within +-MAX_SHIFT of a circular correlation, as a small 2D array."""
    idx = np.r_[0 : MAX_SHIFT + 1, -MAX_SHIFT:0]
    out: NDArray[np.float64] = c[np.ix_(idx, idx)]
    return out


def _pair_score(a: _Features, b: _Features) -> float:
    """Mean of orientation and edge correlations at the best common shift."""
    co = _window(_xcorr(a.orient, b.orient))
    ce = _window(_xcorr(a.edges, b.edges))
    return float(np.max((co + ce) / 2.0))


def _score(suspect: Image.Image, original: Image.Image) -> float:
    # A greyscale copy has lost the colour edges: compare brightness structure only.
    grey = _is_grey(suspect) or _is_grey(original)
    feats_s = {z: _features(_zoom(suspect, z), grey) for z in ZOOMS}
    feats_o = {z: _features(_zoom(original, z), grey) for z in ZOOMS}
    best = -1.0
    for zs in ZOOMS:
        for zo in ZOOMS:
            if zs > 1.0 and zo > 1.0:
                continue  # zooming both is the same as zooming one less
            best = max(best, _pair_score(feats_s[zs], feats_o[zo]))
    return best


def structural_similarity(suspect: Image.Image, original: Image.Image) -> Similarity:
    """How similar the composition (outlines and their directions) of two pictures is.

    Robust to re-colouring, re-encoding, resizing, small crops and moderate i2i changes;
    any size, aspect ratio and mode (RGB, RGBA, L, P, ...). The result is evidence, not a
    verdict: its wording says so in English and Japanese.
    """
    s = _small_rgb(suspect)
    o = _small_rgb(original)
    score = _score(s, o)
    a_s, a_o = s.width / s.height, o.width / o.height
    if abs(np.log(a_s / a_o)) > 0.02:
        # The suspect may be a crop of the original or the other way round.
        if a_s > a_o:
            score = max(score, _score(_centre_crop(s, a_o), o))
        else:
            score = max(score, _score(s, _centre_crop(o, a_s)))
    score = float(min(1.0, max(0.0, score)))
    level = level_for(score)
    return Similarity(score=score, level=level, text=wording(score, level))
