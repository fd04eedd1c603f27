"""``python -m myself_i2i``."""

from myself_i2i.cli import run

run()
