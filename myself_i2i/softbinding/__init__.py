"""Soft bindings: ways to find a picture's manifest again after a platform stripped it.

:mod:`myself_i2i.softbinding.watermark` embeds an invisible watermark that carries an
8-byte manifest locator and survives the re-encoding social platforms apply.
"""

#: The soft-binding ``alg`` of our perceptual fingerprint (pHash, 64 bits). Unregistered
#: with C2PA, so a reverse-domain name; the one definition for signing, recovery and publishing.
FINGERPRINT_ALG = "org.myself-i2i.fingerprint.phash64.1"
