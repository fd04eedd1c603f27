"""Fixtures for the web verifier: signed, tampered and unsigned pictures made on the fly."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from myself_i2i.identity import Identity
from myself_i2i.testing import tampered_copy
from tests.core_helpers import (
    new_identity,
    picture,
    sign_i2i,
    sign_t2i,
)


@dataclass(frozen=True)
class Pictures:
    identity: Identity
    source: Path  #: the illustrator's original, declared as a permitted i2i source
    t2i_png: Path  #: signed t2i
    i2i_png: Path  #: signed i2i from ``source``
    t2i_jpeg: Path  #: signed t2i JPEG
    tampered_png: Path  #: ``t2i_png`` with one pixel changed and the manifest put back
    unsigned_png: Path


@pytest.fixture(scope="module")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> Pictures:
    d = tmp_path_factory.mktemp("web-pictures")
    ident = new_identity("alice", d / "identity")
    source = picture(d / "my-original.png", seed=3)
    t2i = sign_t2i(picture(d / "t2i.png", seed=1), ident, output=d / "t2i.signed.png").output
    i2i = sign_i2i(picture(d / "i2i.png", seed=4), source, ident, output=d / "i2i.signed.png")
    jpeg = sign_t2i(picture(d / "t2i.jpg", seed=5), ident, output=d / "t2i.signed.jpg").output
    return Pictures(
        identity=ident,
        source=source,
        t2i_png=t2i,
        i2i_png=i2i.output,
        t2i_jpeg=jpeg,
        tampered_png=tampered_copy(t2i, d / "tampered.png"),
        unsigned_png=picture(d / "unsigned.png", seed=9),
    )
