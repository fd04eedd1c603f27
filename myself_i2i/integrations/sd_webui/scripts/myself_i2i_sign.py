"""AUTOMATIC1111 / Forge extension script: wires the webui callbacks to myself_i2i.

All logic is in :mod:`myself_i2i.integrations.sd_webui_core` (tested without the webui).
This file runs only inside the webui, which provides ``modules``.
"""

from __future__ import annotations

from typing import Any

from modules import script_callbacks, shared  # type: ignore[import-not-found]

from myself_i2i.integrations import sd_webui_core


def _on_ui_settings() -> None:
    try:
        import gradio as gr  # type: ignore[import-not-found]
    except ImportError:  # pragma: no cover - the webui always has gradio
        gr = None
    sd_webui_core.register_settings(shared, gr)


def _on_image_saved(params: Any) -> None:
    sd_webui_core.on_image_saved(params, shared.opts)


script_callbacks.on_ui_settings(_on_ui_settings)
script_callbacks.on_image_saved(_on_image_saved)
