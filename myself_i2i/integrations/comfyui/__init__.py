"""ComfyUI node pack: sign every saved picture with the #Myself_i2i pledge, verify pictures.

Install by linking this folder into ``ComfyUI/custom_nodes/`` under a name other than
``myself_i2i`` (ComfyUI imports a custom node folder under its folder name, which must not
hide the library itself); see ``docs/plugins.md``. Imports are absolute so the pack works
however ComfyUI names the module.
"""

from myself_i2i.integrations.comfyui.nodes import (
    NODE_CLASS_MAPPINGS,
    NODE_DISPLAY_NAME_MAPPINGS,
    MyselfI2ISaveImage,
    MyselfI2IVerifyImage,
)

__all__ = [
    "NODE_CLASS_MAPPINGS",
    "NODE_DISPLAY_NAME_MAPPINGS",
    "MyselfI2ISaveImage",
    "MyselfI2IVerifyImage",
]
