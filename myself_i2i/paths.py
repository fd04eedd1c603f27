"""Where myself_i2i keeps its per-user files (registry, identity, settings).

``MYSELF_I2I_HOME`` overrides the location (tests and portable installs use it);
otherwise the platform's per-user config directory is used
(``~/.config/myself-i2i`` on Linux, ``~/Library/Application Support/myself-i2i`` on
macOS, ``%LOCALAPPDATA%\\myself-i2i`` on Windows).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import platformdirs

ENV_HOME = "MYSELF_I2I_HOME"


def home() -> Path:
    """The per-user directory of myself_i2i. Not created; see :func:`ensure_home`."""
    explicit = os.environ.get(ENV_HOME, "").strip()
    if explicit:
        return Path(explicit).expanduser()
    return Path(platformdirs.user_config_path("myself-i2i"))


def ensure_home() -> Path:
    """:func:`home`, created (with parents) if missing; a new directory gets mode 0700."""
    h = home()
    if not h.is_dir():
        h.mkdir(parents=True, exist_ok=True, mode=0o700)
        with contextlib.suppress(OSError):
            os.chmod(h, 0o700)  # mkdir's mode is masked by the umask
    return h


def replace_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through ``path.tmp`` and a rename.

    Readers see the old file or the new one, never a half-written one. Errors are the
    caller's to translate (``OSError``).
    """
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
