"""Who signed a manifest: the certificate chain, the issuing CA c2pa confirms, the key token.

Shared by verification and recovery (both need the signer of a manifest store). The chain
is read from the store's COSE signature; nothing in it is believed until c2pa re-validates
the manifest with the candidate CA as its only trust anchor and reports
``signingCredential.trusted``.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from myself_i2i._internal import c2pa_backend
from myself_i2i._internal.jumbf import signing_chain
from myself_i2i.errors import ManifestError
from myself_i2i.identity import personal_token


@dataclass(frozen=True)
class ConfirmedSigner:
    """A signer whose issuing CA c2pa confirmed."""

    ca: x509.Certificate
    token: str | None  #: only for a myself_i2i personal CA (see identity.personal_token)


def _ca_candidates(store: bytes) -> list[x509.Certificate]:
    try:
        chain = signing_chain(store)
    except ManifestError:
        return []  # the chain cannot be read: the signer stays unconfirmed
    out = []
    for cert in chain[1:]:
        try:
            bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        except x509.ExtensionNotFound:
            continue
        if bc.ca:
            out.append(cert)
    return out


def confirm_signer(
    data: bytes, mime: str, store: bytes, *, detached: bool = False
) -> ConfirmedSigner | None:
    """The CA that c2pa confirms issued the active manifest's signing certificate, or None.

    Steps: 1. take the CA certificates of the active manifest's x5chain; 2. for each,
    re-validate the manifest with it as the sole trust anchor; 3. the first that c2pa
    reports as ``signingCredential.trusted`` is the issuer.
    """
    for ca in _ca_candidates(store):
        pem = ca.public_bytes(serialization.Encoding.PEM).decode("ascii")
        try:
            r = c2pa_backend.read_manifest(
                data, mime, anchors_pem=pem, manifest_store=store if detached else None
            )
        except ManifestError:
            return None
        if r is not None and "signingCredential.trusted" in r.codes("success"):
            return ConfirmedSigner(ca=ca, token=personal_token(ca))
    return None
