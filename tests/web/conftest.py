"""Fixtures for the web verifier: pictures made on the fly, hostile files, a hardened server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI

from myself_i2i.identity import Identity
from myself_i2i.testing import tampered_copy
from myself_i2i.web import WebConfig, create_app, uvicorn_config
from tests.core_helpers import (
    free_port,
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


def png_bomb(width: int, height: int) -> bytes:
    """A valid RGB PNG of zeros: a few hundred kB that decode to ``3 * width * height`` bytes."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = (b"\0" + b"\0" * (3 * width)) * 100  # filter byte + pixels, 100 rows at a time
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(rows) for _ in range(height // 100)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", width, height - height % 100, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@contextmanager
def serve_hardened(config: WebConfig) -> Iterator[tuple[str, FastAPI]]:
    """The app behind a real uvicorn with the settings of ``serve`` (head deadline included),
    on 127.0.0.1 in a thread; yields its base URL and the app."""
    import threading
    import time

    import uvicorn

    app = create_app(config)
    port = free_port()
    srv = uvicorn.Server(uvicorn_config(app, "127.0.0.1", port, config))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        srv.should_exit = True
        thread.join(20)


@dataclass(frozen=True)
class RecoveredCopy:
    repository: Path  #: a local repository holding the signed manifest
    copy: Path  #: the signed picture as X would serve it: manifest stripped, JPEG q85, smaller


@pytest.fixture(scope="module")
def recovered_copy(pictures: Pictures, tmp_path_factory: pytest.TempPathFactory) -> RecoveredCopy:
    """A copy re-encoded like X whose manifest a repository can give back (watermark)."""
    import io

    from PIL import Image

    from myself_i2i._internal.containers import strip_manifest
    from myself_i2i.repository import LocalRepository
    from myself_i2i.sign import SignOptions, sign_image
    from myself_i2i.testing import illustration, save

    d = tmp_path_factory.mktemp("web-recovery")
    src = save(illustration(640, 640, seed=12), d / "art.png")
    res = sign_image(
        src, pictures.identity, t2i=True, options=SignOptions(keep_in_repository=False)
    )
    with LocalRepository.open(d / "repo", create=True) as repo:
        repo.add(res.manifest_store, locator=res.locator, fingerprint=res.fingerprint)
    stripped = strip_manifest(res.output.read_bytes())
    buf = io.BytesIO()
    Image.open(io.BytesIO(stripped)).convert("RGB").resize((512, 512)).save(buf, "JPEG", quality=85)
    copy = d / "from_x.jpg"
    copy.write_bytes(buf.getvalue())
    return RecoveredCopy(d / "repo", copy)
