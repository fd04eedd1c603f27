"""Passphrase-encrypted private key files: PKCS#8 with scrypt (no stability promise).

cryptography's ``BestAvailableEncryption`` writes PKCS#8 PBES2 with PBKDF2-HMAC-SHA256
at 2,048 iterations, far too few against offline guessing, and its encryption builder
takes a round count only for PKCS#12 and OpenSSH keys. So the encrypted form is written
here, still the standard container, an ``ENCRYPTED PRIVATE KEY`` PEM (RFC 5958
EncryptedPrivateKeyInfo):

    EncryptedPrivateKeyInfo ::= SEQUENCE {
        encryptionAlgorithm  { PBES2 (1.2.840.113549.1.5.13),            RFC 8018
            keyDerivationFunc { scrypt (1.3.6.1.4.1.11591.4.11),        RFC 7914 s.7
                                { salt (16 random bytes), N = 2**17, r = 8, p = 1,
                                  keyLength = 32 } },
            encryptionScheme  { aes256-CBC (2.16.840.1.101.3.4.1.42), IV (16 bytes) } },
        encryptedData        AES-256-CBC(PKCS#8 PrivateKeyInfo, PKCS#7 padding) }

Reading needs nothing of ours: ``cryptography``'s ``load_pem_private_key`` reads it (and
every key written before, with PBKDF2). N = 2**17 (128 MiB, ~0.35 s per key here) is the
OWASP figure for scrypt. OpenSSL's command line refuses it by default (its scrypt memory
limit is 32 MiB); Python's cryptography has no such limit.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives import padding, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

SCRYPT_N = 2**17
SCRYPT_R = 8
SCRYPT_P = 1
#: What counts as strong when reading a key file (OWASP 2023 figures).
MIN_SCRYPT_N = 2**17
MIN_PBKDF2_ITERATIONS = 600_000

_PBES2 = "1.2.840.113549.1.5.13"
_SCRYPT = "1.3.6.1.4.1.11591.4.11"
_PBKDF2 = "1.2.840.113549.1.5.12"
_AES256_CBC = "2.16.840.1.101.3.4.1.42"


# --- DER, only the few types this structure uses ------------------------------------------------


def _tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        head = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        head = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + head + body


def _seq(*parts: bytes) -> bytes:
    return _tlv(0x30, b"".join(parts))


def _octets(b: bytes) -> bytes:
    return _tlv(0x04, b)


def _int(n: int) -> bytes:
    return _tlv(0x02, n.to_bytes(n.bit_length() // 8 + 1, "big"))  # +1: never negative


def _oid(dotted: str) -> bytes:
    first, second, *rest = (int(x) for x in dotted.split("."))
    body = bytearray([40 * first + second])
    for v in rest:
        groups = [v & 0x7F]
        v >>= 7
        while v:
            groups.append(0x80 | (v & 0x7F))
            v >>= 7
        body.extend(reversed(groups))
    return _tlv(0x06, bytes(body))


def _read(d: bytes, pos: int) -> tuple[int, bytes, int]:
    """(tag, content, next position) of the element at ``pos``.

    Raises:
        ValueError: truncated or not DER.
    """
    if pos + 2 > len(d):
        raise ValueError("truncated")
    tag, n = d[pos], d[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 4 or pos + k > len(d):
            raise ValueError("bad length")
        n = int.from_bytes(d[pos : pos + k], "big")
        pos += k
    if pos + n > len(d):
        raise ValueError("truncated")
    return tag, d[pos : pos + n], pos + n


def _children(d: bytes) -> list[tuple[int, bytes]]:
    out: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(d):
        tag, body, pos = _read(d, pos)
        out.append((tag, body))
    return out


def _oid_text(body: bytes) -> str:
    parts = [body[0] // 40, body[0] % 40]
    v = 0
    for b in body[1:]:
        v = (v << 7) | (b & 0x7F)
        if not b & 0x80:
            parts.append(v)
            v = 0
    return ".".join(str(p) for p in parts)


# --- the key file -------------------------------------------------------------------------------


def encrypt_private_key(key: ec.EllipticCurvePrivateKey, passphrase: bytes) -> bytes:
    """``key`` as an ``ENCRYPTED PRIVATE KEY`` PEM (PBES2, scrypt N=2**17 r=8 p=1, AES-256-CBC)."""
    plain = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    salt, iv = os.urandom(16), os.urandom(16)
    kek = Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(passphrase)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    enc = Cipher(algorithms.AES(kek), modes.CBC(iv)).encryptor()
    encrypted = enc.update(padded) + enc.finalize()
    kdf = _seq(
        _oid(_SCRYPT),
        _seq(_octets(salt), _int(SCRYPT_N), _int(SCRYPT_R), _int(SCRYPT_P), _int(32)),
    )
    der = _seq(
        _seq(_oid(_PBES2), _seq(kdf, _seq(_oid(_AES256_CBC), _octets(iv)))),
        _octets(encrypted),
    )
    b64 = base64.b64encode(der).decode("ascii")
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return (
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
        + "\n".join(lines)
        + "\n-----END ENCRYPTED PRIVATE KEY-----\n"
    ).encode("ascii")


@dataclass(frozen=True)
class KeyProtection:
    """How a private key file is protected."""

    kdf: str  #: "none" (not encrypted), "scrypt", "pbkdf2" or "unknown"
    cost: int = 0  #: scrypt N, or PBKDF2 iterations

    @property
    def strong(self) -> bool:
        """Unencrypted keys are not "weak" here: they have no passphrase to guess."""
        if self.kdf == "none":
            return True
        if self.kdf == "scrypt":
            return self.cost >= MIN_SCRYPT_N
        if self.kdf == "pbkdf2":
            return self.cost >= MIN_PBKDF2_ITERATIONS
        return False


def protection(pem: bytes) -> KeyProtection:
    """Read a PEM private key file's protection without decrypting it (never raises)."""
    if b"-----BEGIN ENCRYPTED PRIVATE KEY-----" not in pem:
        return KeyProtection("unknown" if b"Proc-Type: 4,ENCRYPTED" in pem else "none")
    try:
        body = pem.split(b"-----BEGIN ENCRYPTED PRIVATE KEY-----", 1)[1]
        body = body.split(b"-----END ENCRYPTED PRIVATE KEY-----", 1)[0]
        der = base64.b64decode(b"".join(body.split()), validate=True)
        _, info, _ = _read(der, 0)
        (_, alg), _ = _children(info)
        (_, scheme), (_, params) = _children(alg)
        if _oid_text(scheme) != _PBES2:
            return KeyProtection("unknown")
        (_, kdf), _ = _children(params)
        (_, kdf_oid), (_, kdf_params), *_ = _children(kdf)
        values = _children(kdf_params)
        name = _oid_text(kdf_oid)
        if name == _SCRYPT:
            return KeyProtection("scrypt", int.from_bytes(values[1][1], "big"))
        if name == _PBKDF2:
            return KeyProtection("pbkdf2", int.from_bytes(values[1][1], "big"))
    except (ValueError, IndexError):
        pass
    return KeyProtection("unknown")
