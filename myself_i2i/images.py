"""Reading images safely and hashing them.

Every image that enters myself_i2i goes through :func:`open_image` so that a missing
file, a directory, a non-image, a truncated file, an unsupported format or a
decompression bomb becomes one clear :class:`~myself_i2i.errors.ImageError`.
"""

from __future__ import annotations

import hashlib
import io
import math
import struct
import warnings
import zlib
from dataclasses import dataclass
from functools import lru_cache
from operator import mul
from pathlib import Path

from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from myself_i2i.errors import ImageError, InputError

#: Formats we sign and verify, with their MIME types.
SUPPORTED_FORMATS: dict[str, str] = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "WEBP": "image/webp",
    # Pillow labels camera/phone JPEGs that carry an MPF segment "MPO": JPEGs to c2pa too.
    "MPO": "image/jpeg",
}
SUFFIX_FORMATS: dict[str, str] = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".webp": "WEBP",
}
#: Largest picture we accept (pixels). 20000 x 20000 is far beyond any generator output;
#: anything larger is treated as a decompression bomb.
MAX_PIXELS = 400_000_000
#: Long edge of the claim and source thumbnails.
THUMBNAIL_EDGE = 512
#: Largest decompressed PNG text chunk (zTXt / iTXt) we let Pillow inflate. Generation
#: metadata (a ComfyUI workflow, A1111 parameters) is tens to hundreds of KB; a chunk
#: larger than this is refused instead of being inflated into memory.
MAX_TEXT_CHUNK = 4 * 1024 * 1024
#: Largest total of decompressed PNG text per image.
MAX_TEXT_MEMORY = 16 * 1024 * 1024
# Pillow reads these module globals when it parses text chunks; we set them on purpose
# (its defaults are 1 MB and 64 MB) so every PNG opened in this process is bounded alike.
PngImagePlugin.MAX_TEXT_CHUNK = MAX_TEXT_CHUNK
PngImagePlugin.MAX_TEXT_MEMORY = MAX_TEXT_MEMORY

#: What Pillow's decoders raise on a crafted or damaged file: its own ValueError /
#: SyntaxError / OSError, and what leaks from the parsing code under them (struct, zlib,
#: index and type errors, a MemoryError when a declared size is honoured).
_DECODER_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    struct.error,
    zlib.error,
    MemoryError,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
    OverflowError,
)


@dataclass(frozen=True)
class ImageInfo:
    """What we know about an image file after checking it."""

    path: Path
    format: str  # "PNG", "JPEG" or "WEBP"
    mime: str
    width: int
    height: int


def check_path(path: Path) -> Path:
    """Make sure ``path`` is an existing, readable regular file.

    Raises:
        InputError: missing, a directory, or unreadable.
    """
    if not path.exists():
        raise InputError(
            f"{path}: file not found. Check the path and try again.",
            f"{path}: ファイルが見つかりません。パスを確かめてください。",
        )
    if path.is_dir():
        raise InputError(
            f"{path}: is a directory, not an image file. Give the path of a PNG, JPEG or WebP file.",
            f"{path}: フォルダです。PNG・JPEG・WebP 画像ファイルのパスを指定してください。",
        )
    try:
        with path.open("rb") as fh:
            fh.read(1)
    except OSError as e:
        raise InputError(
            f"{path}: cannot be read ({e.strerror}). Check its permissions.",
            f"{path}: 読み込めません（{e.strerror}）。権限を確かめてください。",
        ) from e
    return path


def _bomb_error(path: Path | str, w: int, h: int) -> ImageError:
    return ImageError(
        f"{path}: declares {w}x{h} pixels, too large to be a real picture "
        f"(limit {MAX_PIXELS:,} pixels); refusing to decode it.",
        f"{path}: {w}x{h} ピクセルと宣言されており、実在の画像としては大きすぎます"
        f"（上限 {MAX_PIXELS:,} ピクセル）。展開を中止しました。",
    )


def _corrupt_error(path: Path | str, detail: str) -> ImageError:
    return ImageError(
        f"{path}: the image is corrupt or truncated ({detail}). Download or export it again.",
        f"{path}: 画像が壊れているか途中で切れています（{detail}）。もう一度ダウンロードまたは書き出してください。",
    )


def _decoder_error(path: Path | str, e: BaseException) -> ImageError:
    detail = (str(e).splitlines() or [type(e).__name__])[0][:200]
    if "MAX_TEXT" in detail:
        return ImageError(
            f"{path}: holds more embedded text than a picture's metadata can be "
            f"(over {MAX_TEXT_CHUNK // 2**20} MB in one chunk or {MAX_TEXT_MEMORY // 2**20} MB "
            "in all); refusing to read it.",
            f"{path}: 埋め込まれたテキストが画像のメタデータとしては大きすぎます"
            f"（1 チャンク {MAX_TEXT_CHUNK // 2**20} MB・合計 {MAX_TEXT_MEMORY // 2**20} MB 超）。"
            "読み込みを中止しました。",
        )
    if isinstance(e, MemoryError):
        detail = "it declares more data than can be held in memory"
    return _corrupt_error(path, detail or type(e).__name__)


def _unsupported_error(path: Path | str, fmt: str | None) -> ImageError:
    if fmt is None:
        return ImageError(
            f"{path}: not an image file. Give a PNG, JPEG or WebP image.",
            f"{path}: 画像ファイルではありません。PNG・JPEG・WebP 画像を指定してください。",
        )
    return ImageError(
        f"{path}: {fmt} images are not supported. Convert it to PNG, JPEG or WebP first.",
        f"{path}: {fmt} 形式には対応していません。PNG・JPEG・WebP に変換してください。",
    )


def open_image(
    source: Path | bytes,
    *,
    name: str | None = None,
    load: bool = True,
    draft: tuple[int, int] | None = None,
) -> Image.Image:
    """Open a PNG, JPEG or WebP image, fully decoding it when ``load`` is true.

    Args:
        source: a file path or the file's bytes.
        name: how to call the image in messages (defaults to the path).
        load: decode the pixels now, so truncation is found here and not later.
        draft: for JPEG, decode at a reduced scale (DCT scaling) no smaller than this size;
            every byte of the scan is still read, so truncation is still found.

    Raises:
        InputError: the path cannot be used.
        ImageError: not a supported image, corrupt, truncated, or too large.
    """
    label: Path | str
    if isinstance(source, Path):
        check_path(source)
        label = name or source
    else:
        label = name or "image"
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(source if isinstance(source, Path) else io.BytesIO(source))
        except UnidentifiedImageError as e:
            raise _unsupported_error(label, None) from e
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise ImageError(
                f"{label}: declares too many pixels to be a real picture; refusing to decode it.",
                f"{label}: ピクセル数が多すぎるため、展開を中止しました。",
            ) from e
        except _DECODER_ERRORS as e:
            raise _decoder_error(label, e) from e
    if img.format not in SUPPORTED_FORMATS:
        fmt = img.format
        img.close()
        raise _unsupported_error(label, fmt)
    w, h = img.size
    if w * h > MAX_PIXELS or w <= 0 or h <= 0:
        img.close()
        raise _bomb_error(label, w, h)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            if draft is not None and img.format in ("JPEG", "MPO"):
                img.draft("RGB", draft)
            if load:
                img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        img.close()
        raise _bomb_error(label, w, h) from e
    except _DECODER_ERRORS as e:
        img.close()
        raise _decoder_error(label, e) from e
    return img


def inspect_image(path: Path) -> ImageInfo:
    """Check that ``path`` is a whole, supported image and return its format and size.

    Raises:
        InputError, ImageError: see :func:`open_image`.
    """
    with open_image(path) as img:
        fmt = str(img.format)
        return ImageInfo(
            path=path, format=fmt, mime=SUPPORTED_FORMATS[fmt], width=img.width, height=img.height
        )


def bytes_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def upright(img: Image.Image) -> Image.Image:
    """``img`` turned by its EXIF orientation; the same object (no copy) when already upright."""
    try:
        orientation = img.getexif().get(0x0112, 1)
    except (OSError, ValueError, SyntaxError, TypeError):
        orientation = 1
    if orientation in (None, 1):
        return img
    return ImageOps.exif_transpose(img)


def pixel_sha256(img: Image.Image) -> str:
    """SHA-256 of the decoded pixels, normalised to RGBA after applying EXIF orientation.

    The same picture re-saved losslessly (PNG to PNG, PNG to lossless WebP, with or without
    an opaque alpha channel, with or without metadata) gives the same value.
    """
    im = upright(img)
    rgba = im.convert("RGBA")
    h = hashlib.sha256(f"RGBA:{rgba.width}x{rgba.height}:".encode())
    h.update(rgba.tobytes())
    return h.hexdigest()


#: pHash geometry (imagehash's defaults): an 8x8 hash from the DCT of a 32x32 picture.
_PHASH_BITS_SIDE = 8
_PHASH_SIDE = 32


@lru_cache(maxsize=1)
def _phash_dct_rows() -> tuple[tuple[float, ...], ...]:
    """The first 8 rows of the unnormalised DCT-II matrix of size 32 (scipy's ``dct``)."""
    n = _PHASH_SIDE
    return tuple(
        tuple(2.0 * math.cos(math.pi * k * (2 * i + 1) / (2 * n)) for i in range(n))
        for k in range(_PHASH_BITS_SIDE)
    )


def phash_bits(gray32: Image.Image) -> str:
    """imagehash's ``phash`` of a 32x32 "L" picture, as 16 hex digits.

    The same arithmetic as ``imagehash.phash`` (``scipy.fftpack.dct`` along both axes, the
    8x8 low-frequency corner, bits above its median), in plain Python: only the 8 needed
    DCT rows are multiplied out (~10,000 multiply-adds, a few ms), so neither scipy (~0.3 s
    of start-up) nor numpy (~0.1 s) is imported to fingerprint a picture. Coefficients
    are rounded to 1e-6 so that summation order never matters and flat pictures, whose AC
    coefficients are zero up to rounding noise, get a deterministic hash (tests compare
    with imagehash).
    """
    c = _phash_dct_rows()
    side = _PHASH_SIDE
    px = gray32.tobytes()
    if len(px) != side * side:
        raise ValueError("phash_bits needs a 32x32 'L' picture")
    cols = [px[j::side] for j in range(side)]  # column j of the pixel matrix
    # t = C @ P (8 x 32), then low = t @ C^T (8 x 8)
    # sum(map(mul, ...)) multiplies and adds in the same order as a generator, ~3x faster
    t = [[sum(map(mul, ck, col)) for col in cols] for ck in c]
    low = [round(sum(map(mul, tk, cl)), 6) for tk in t for cl in c]
    ordered = sorted(low)
    med = (ordered[31] + ordered[32]) / 2.0
    bits = "".join("1" if v > med else "0" for v in low)
    return f"{int(bits, 2):016x}"


def perceptual_hash(img: Image.Image) -> str:
    """64-bit pHash (imagehash's algorithm) as 16 hex digits, of the upright picture on white."""
    im = upright(img)
    # pHash scales to 32x32 with Lanczos before its DCT; a box reduction to a few hundred
    # pixels first gives the same hash at a fraction of the cost on large images.
    factor = min(im.width, im.height) // 256
    if factor >= 2:
        im = im.reduce(factor)
    gray = on_white(im).convert("L").resize((_PHASH_SIDE, _PHASH_SIDE), Image.Resampling.LANCZOS)
    return phash_bits(gray)


def hamming_hex(a: str, b: str) -> int:
    """Number of differing bits of two equal-length hex strings."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def on_white(img: Image.Image) -> Image.Image:
    """``img`` as RGB, with any transparency flattened onto white."""
    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA", "P", "PA") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        bg.alpha_composite(rgba)
        return bg.convert("RGB")
    return img.convert("RGB")


def thumbnail_jpeg(img: Image.Image, edge: int = THUMBNAIL_EDGE) -> bytes:
    """A JPEG thumbnail of a decoded image, upright, long edge <= ``edge``.

    A box reduction by the largest integer factor that keeps the long edge >= ``edge`` is
    one pass in C (for 1024, 2048, 4096 px pictures it is the whole job); a bilinear
    resample then brings the rest down to exactly ``edge``.
    """
    im = upright(img)
    factor = max(im.width, im.height) // edge
    if factor >= 2:
        im = im.reduce(factor)
    if max(im.size) > edge:
        im = im.copy() if im is img else im
        im.thumbnail((edge, edge), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    on_white(im).save(out, "JPEG", quality=80)
    return out.getvalue()


def make_thumbnail(path: Path, edge: int = THUMBNAIL_EDGE) -> bytes:
    """:func:`thumbnail_jpeg` of the image at ``path``; a JPEG is decoded at reduced scale.

    Raises:
        InputError, ImageError: see :func:`open_image`.
    """
    with open_image(path, draft=(edge, edge)) as img:
        return thumbnail_jpeg(img, edge)


@dataclass(frozen=True)
class ImageHashes:
    """The three hashes we keep for a source picture."""

    sha256: str
    pixel_sha256: str
    phash: str
    width: int
    height: int


def hashes_of(img: Image.Image, data: bytes) -> ImageHashes:
    """The hashes of a decoded image whose file bytes are ``data``."""
    turned = upright(img)
    return ImageHashes(
        sha256=bytes_sha256(data),
        pixel_sha256=pixel_sha256(img),
        phash=perceptual_hash(img),
        width=turned.width,
        height=turned.height,
    )


def hash_image(path: Path) -> ImageHashes:
    """File, pixel and perceptual hashes plus size of the image at ``path``.

    Raises:
        InputError, ImageError: see :func:`open_image`.
    """
    data = check_path(path).read_bytes()
    with open_image(data, name=str(path)) as img:
        return hashes_of(img, data)


def format_for_suffix(path: Path) -> str | None:
    """The format implied by the file name suffix, or None."""
    return SUFFIX_FORMATS.get(path.suffix.lower())
