"""Run by AUTOMATIC1111 / Forge when the extension loads: install myself-i2i if missing.

``launch`` is the webui's own module; ``run_pip`` installs into the webui's Python.
Set MYSELF_I2I_PIP_SPEC to install from a local checkout or wheel instead of the index.
"""

from __future__ import annotations

import os

import launch  # type: ignore[import-not-found]

if not launch.is_installed("myself_i2i"):
    spec = os.environ.get("MYSELF_I2I_PIP_SPEC", "myself-i2i")
    launch.run_pip(f"install {spec}", "myself-i2i (for the #Myself_i2i signing extension)")
