"""myself_i2i: make the #Myself_i2i / #Noi2i pledge checkable with C2PA."""

from __future__ import annotations

__version__ = "0.1.0"
