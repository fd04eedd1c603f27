"""Soft bindings: ways to find a picture's manifest again after a platform stripped it.

:mod:`myself_i2i.softbinding.watermark` embeds an invisible watermark that carries an
8-byte manifest locator and survives the re-encoding social platforms apply.
"""
