"""Soft bindings: ways to find a picture's manifest again after a platform stripped it.

:mod:`myself_i2i.softbinding.watermark` embeds an invisible watermark that carries an
8-byte manifest locator and survives the re-encoding social platforms apply.
"""

#: The soft-binding ``alg`` of our perceptual fingerprint (pHash, 64 bits). Unregistered
#: with C2PA, so a reverse-domain name; the one definition for signing, recovery and publishing.
FINGERPRINT_ALG = "org.myself-i2i.fingerprint.phash64.1"


def soft_binding_assertions(locator: bytes | None, fingerprint: str) -> list[dict[str, object]]:
    """The ``c2pa.soft-binding`` assertions of a picture: watermark locator (if any), fingerprint."""
    import base64

    from myself_i2i.softbinding.watermark import WATERMARK_ALG

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
