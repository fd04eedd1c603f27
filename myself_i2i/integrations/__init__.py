"""Plugins that sign where images are made: ComfyUI nodes, an A1111 / Forge extension.

They are clients of the public library (:func:`myself_i2i.sign.sign_image`,
:func:`myself_i2i.verify.verify_image`), like a user's own script. The logic lives in plain
modules that import without the host UI (:mod:`myself_i2i.integrations.comfyui.core`,
:mod:`myself_i2i.integrations.sd_webui_core`); the host-facing files only wire it up.
See ``docs/plugins.md``.
"""
