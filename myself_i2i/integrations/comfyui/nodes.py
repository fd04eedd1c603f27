"""The ComfyUI node classes. They only describe inputs and call :mod:`.core`.

ComfyUI's node API: ``INPUT_TYPES`` (with the hidden ``PROMPT`` / ``EXTRA_PNGINFO`` /
``UNIQUE_ID`` the executor fills in: ``execution.get_input_data``), ``RETURN_TYPES``,
``FUNCTION``, ``OUTPUT_NODE``, ``CATEGORY``, ``IS_CHANGED`` (``execution.IsChangedCache``);
an output node returns ``{"ui": {...}, "result": (...)}``. ``folder_paths`` and
``comfy.cli_args`` exist only inside ComfyUI, so they are imported when a node runs, never
at import time.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, ClassVar

from myself_i2i.integrations.comfyui.core import (
    FORMATS,
    ComfyFolders,
    Mode,
    comfyui_namer,
    default_namer,
    save_signed_batch,
    verify_fingerprint,
    verify_for_node,
)
from myself_i2i.sign import SignOptions

CATEGORY = "image/#Myself_i2i"


def metadata_disabled() -> bool:
    """Whether ComfyUI was started with ``--disable-metadata``.

    ComfyUI's own SaveImage (nodes.py ``SaveImage.save_images``) reads
    ``comfy.cli_args.args.disable_metadata``. The module is looked up among those already
    imported (ComfyUI's main.py imports it first thing): importing it here would parse this
    process's command line. Outside ComfyUI, or if the attribute ever moves, metadata stays
    on (the pictures are signed either way).
    """
    cli_args = sys.modules.get("comfy.cli_args")
    try:
        return bool(getattr(getattr(cli_args, "args", None), "disable_metadata", False))
    except Exception:
        logging.getLogger("myself_i2i.comfyui").warning(
            "[myself_i2i] cannot read ComfyUI's --disable-metadata; metadata is kept"
        )
        return False


def _folders() -> tuple[ComfyFolders, bool]:
    try:
        return ComfyFolders.from_comfyui(), True
    except ImportError:  # run outside ComfyUI (scripts, tests)
        from pathlib import Path

        cwd = Path.cwd()
        return ComfyFolders(input_dir=cwd / "input", output_dir=cwd / "output"), False


class MyselfI2ISaveImage:
    """Save Image (#Myself_i2i signed): every picture of the batch, signed with the pledge."""

    RETURN_TYPES: ClassVar[tuple[str, ...]] = ("STRING",)
    RETURN_NAMES: ClassVar[tuple[str, ...]] = ("report",)
    FUNCTION = "save"
    OUTPUT_NODE = True
    CATEGORY = CATEGORY
    DESCRIPTION = (
        "Saves the images signed with a C2PA manifest and the #Myself_i2i pledge: t2i when "
        "no image reaches the output, otherwise i2i declaring every input file (each must be "
        "registered with `myself-i2i sources add`). / 画像を #Myself_i2i の宣言付きで署名して保存します。"
    )

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {
                "images": ("IMAGE", {"tooltip": "The images to sign and save."}),
                "filename_prefix": ("STRING", {"default": "myself_i2i"}),
                "format": (list(FORMATS), {"default": "PNG"}),
                "hashtag": (["#Myself_i2i", "#Noi2i"], {"default": "#Myself_i2i"}),
                "mode": (
                    ["auto", "t2i"],
                    {
                        "default": "auto",
                        "tooltip": "auto: t2i or i2i from the graph. t2i: refuse if any image "
                        "input reaches the output.",
                    },
                ),
                "watermark": ("BOOLEAN", {"default": True}),
                "save_unsigned_on_refusal": (
                    "BOOLEAN",
                    {
                        "default": False,
                        "tooltip": "When the pledge cannot be signed, save unsigned and report "
                        "why instead of stopping with an error.",
                    },
                ),
            },
            # the same names ComfyUI's SaveImage uses, plus this node's own id in the graph
            "hidden": {
                "prompt": "PROMPT",
                "extra_pnginfo": "EXTRA_PNGINFO",
                "unique_id": "UNIQUE_ID",
            },
        }

    def save(
        self,
        images: Any,
        filename_prefix: str = "myself_i2i",
        format: str = "PNG",
        hashtag: str = "#Myself_i2i",
        mode: Mode = "auto",
        watermark: bool = True,
        save_unsigned_on_refusal: bool = False,
        prompt: dict[str, Any] | None = None,
        extra_pnginfo: dict[str, Any] | None = None,
        unique_id: str | None = None,
    ) -> dict[str, Any]:
        """Run by ComfyUI. Raises the library's errors with both languages in the message."""
        folders, in_comfy = _folders()
        result = save_signed_batch(
            images,
            prompt=prompt,
            extra_pnginfo=extra_pnginfo,
            folders=folders,
            filename_prefix=filename_prefix,
            fmt=format,
            mode=mode,
            options=SignOptions(hashtag=hashtag, watermark=watermark),
            save_unsigned_on_refusal=save_unsigned_on_refusal,
            namer=comfyui_namer if in_comfy else default_namer,
            unique_id=None if unique_id is None else str(unique_id),
            disable_metadata=metadata_disabled(),
        )
        text = result.text()
        return {"ui": {"images": result.ui_images(), "text": [text]}, "result": (text,)}


class MyselfI2IVerifyImage:
    """Verify image (#Myself_i2i): the verdict for a downloaded / saved picture."""

    RETURN_TYPES: ClassVar[tuple[str, ...]] = ("STRING",)
    RETURN_NAMES: ClassVar[tuple[str, ...]] = ("verdict",)
    FUNCTION = "verify"
    OUTPUT_NODE = True
    CATEGORY = CATEGORY
    DESCRIPTION = (
        "Checks a signed image: signature, unchanged pixels, the pledge, and the post text. "
        "/ 署名・改変の有無・宣言・投稿文を検証します。"
    )

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {
                "image_path": (
                    "STRING",
                    {
                        "default": "",
                        "tooltip": "A file path; relative paths are in the input folder.",
                    },
                ),
                "language": (["both", "en", "ja"], {"default": "both"}),
            },
            "optional": {
                "images": ("IMAGE",),
                "post_text": ("STRING", {"default": "", "multiline": True}),
            },
        }

    @classmethod
    def IS_CHANGED(cls, image_path: str = "", **_inputs: Any) -> str:
        """The file's SHA-256, so a new file at the same path gets a new verdict.

        ComfyUI calls this with the node's constant inputs as keyword arguments
        (``execution.IsChangedCache.get``); a linked IMAGE changes with its producer anyway.
        """
        folders, _ = _folders()
        return verify_fingerprint(image_path or "", folders)

    def verify(
        self,
        image_path: str = "",
        language: str = "both",
        images: Any | None = None,
        post_text: str = "",
    ) -> dict[str, Any]:
        """Run by ComfyUI."""
        folders, _ = _folders()
        lang = language if language in ("en", "ja", "both") else "both"
        text = verify_for_node(
            image_path,
            images,
            post_text=post_text,
            lang=lang,  # type: ignore[arg-type]
            folders=folders,
        )
        return {"ui": {"text": [text]}, "result": (text,)}


NODE_CLASS_MAPPINGS: dict[str, type] = {
    "MyselfI2ISaveImage": MyselfI2ISaveImage,
    "MyselfI2IVerifyImage": MyselfI2IVerifyImage,
}
NODE_DISPLAY_NAME_MAPPINGS: dict[str, str] = {
    "MyselfI2ISaveImage": "Save Image (#Myself_i2i signed) / 署名付き保存",
    "MyselfI2IVerifyImage": "Verify image (#Myself_i2i) / 画像を検証",
}
