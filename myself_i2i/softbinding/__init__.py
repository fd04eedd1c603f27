"""Soft bindings: ways to find a picture's manifest again after a platform stripped it.

:mod:`myself_i2i.softbinding.watermark` embeds an invisible watermark that carries an
8-byte manifest locator and survives the re-encoding social platforms apply. This package
module itself stays light (no numpy): signing without a watermark and verifying a signed
file need only the names defined here.
"""

from __future__ import annotations

import secrets

#: Size of the manifest locator a watermark carries.
LOCATOR_BYTES = 8
#: Our reverse-domain id for the ``alg`` of the watermark's ``c2pa.soft-binding`` assertion.
WATERMARK_ALG = "org.myself-i2i.watermark.dwtdctsvd.1"

#: The soft-binding ``alg`` of our perceptual fingerprint (pHash, 64 bits). Unregistered
#: with C2PA, so a reverse-domain name; the one definition for signing, recovery and publishing.
FINGERPRINT_ALG = "org.myself-i2i.fingerprint.phash64.1"


def new_locator() -> bytes:
    """Eight random bytes from :mod:`secrets`, never all zero."""
    while True:
        loc = secrets.token_bytes(LOCATOR_BYTES)
        if any(loc):
            return loc


def soft_binding_assertions(locator: bytes | None, fingerprint: str) -> list[dict[str, object]]:
    """The ``c2pa.soft-binding`` assertions of a picture: watermark locator (if any), fingerprint."""
    import base64

    out: list[dict[str, object]] = []
    if locator is not None:
        out.append(
            {
                "label": "c2pa.soft-binding",
                "data": {
                    "alg": WATERMARK_ALG,
                    "blocks": [{"scope": {}, "value": base64.b64encode(locator).decode()}],
                },
            }
        )
    out.append(
        {
            "label": "c2pa.soft-binding",
            "data": {
                "alg": FINGERPRINT_ALG,
                "blocks": [
                    {"scope": {}, "value": base64.b64encode(bytes.fromhex(fingerprint)).decode()}
                ],
            },
        }
    )
    return out
