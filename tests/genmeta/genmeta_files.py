"""Writing real PNG / JPEG / WebP files with generation metadata, for the genmeta tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import piexif
import piexif.helper
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from myself_i2i.testing import illustration


def picture() -> Image.Image:
    return illustration(256, 256)


def png_with_text(path: Path, chunks: dict[str, str], *, itxt: bool = False) -> Path:
    info = PngInfo()
    for k, v in chunks.items():
        if itxt:
            info.add_itxt(k, v)
        else:
            info.add_text(k, v)
    picture().save(path, "PNG", pnginfo=info)
    return path


def user_comment_exif(text: str, encoding: str = "unicode") -> bytes:
    """EXIF with UserComment as A1111 writes it (piexif, UNICODE prefix + UTF-16BE)."""
    return bytes(
        piexif.dump(
            {"Exif": {piexif.ExifIFD.UserComment: piexif.helper.UserComment.dump(text, encoding)}}
        )
    )


def jpeg_with_comment(path: Path, text: str, encoding: str = "unicode") -> Path:
    picture().save(path, "JPEG", quality=90, exif=user_comment_exif(text, encoding))
    return path


def webp_with_comment(path: Path, text: str) -> Path:
    picture().save(path, "WEBP", quality=90, exif=user_comment_exif(text))
    return path


def webp_comfy(path: Path, prompt: dict[str, Any], workflow: dict[str, Any]) -> Path:
    """As ComfyUI's SaveAnimatedWEBP writes metadata: IFD0 Model/Make ``key:json``."""
    img = picture()
    exif = img.getexif()
    exif[0x0110] = "prompt:" + json.dumps(prompt)
    exif[0x010F] = "workflow:" + json.dumps(workflow)
    img.save(path, "WEBP", quality=90, exif=exif)
    return path
