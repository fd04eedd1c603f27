"""Helpers for the core sign / verify tests: identities, generated images, byte surgery.

Imported by the test modules after they put ``tests/`` on ``sys.path`` (importlib import
mode does not do it). Everything works on real files and the real c2pa library.
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource

from myself_i2i._internal import c2pa_backend
from myself_i2i._internal.containers import manifest_store_bytes
from myself_i2i.identity import Identity, IdentityStore
from myself_i2i.models import Evidence, Relation, SourceSpec
from myself_i2i.sign import SignOptions, SignResult, sign_image
from myself_i2i.testing import illustration, photo_like, save

#: Fast defaults: no watermark, no registry (another engineer's module), no repository.
FAST = SignOptions(watermark=False, use_registry=False, keep_in_repository=False)
PNG_SIG = b"\x89PNG\r\n\x1a\n"


def new_identity(
    name: str = "alice", directory: Path | None = None, passphrase: str | None = None
) -> Identity:
    """A fresh identity in ``directory`` (default: the test's MYSELF_I2I_HOME)."""
    store = IdentityStore(directory) if directory is not None else IdentityStore.default()
    return store.create(name, passphrase)


def picture(path: Path, size: int = 256, seed: int = 1) -> Path:
    """An illustration-like picture saved in the format the suffix names."""
    return save(illustration(size, size, seed), path)


def photo(path: Path, size: int = 192, seed: int = 7) -> Path:
    return save(photo_like(size, size, seed), path)


def permitted(src: Path) -> SourceSpec:
    return SourceSpec(
        src, relation=Relation.PERMITTED, evidence=Evidence(text="author said yes by DM")
    )


def sign_t2i(
    path: Path, ident: Identity, output: Path | None = None, options: SignOptions = FAST
) -> SignResult:
    return sign_image(path, ident, t2i=True, output=output, options=options)


def sign_i2i(
    path: Path, src: Path, ident: Identity, output: Path | None = None, options: SignOptions = FAST
) -> SignResult:
    return sign_image(
        path, ident, t2i=False, sources=[permitted(src)], output=output, options=options
    )


# --- JSON schema -----------------------------------------------------------------------------


@cache
def _schema(name: str) -> dict[str, Any]:
    text = resources.files("myself_i2i").joinpath("schemas", name).read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def report_validator() -> jsonschema.Draft202012Validator:
    """A validator for report.schema.json that resolves its ``$ref`` to the pledge schema."""
    pledge = _schema("pledge.schema.json")
    registry: Registry[Any] = Registry().with_resource(
        pledge["$id"], Resource.from_contents(pledge)
    )
    return jsonschema.Draft202012Validator(
        _schema("report.schema.json"),
        registry=registry,
        format_checker=jsonschema.FormatChecker(),
    )


def report_errors(report: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in report_validator().iter_errors(report)]


# --- PNG byte surgery ------------------------------------------------------------------------


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, payload) of every chunk."""
    out: list[tuple[bytes, bytes]] = []
    pos = len(PNG_SIG)
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        ctype = data[pos + 4 : pos + 8]
        out.append((ctype, data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return out


def png_chunk(ctype: bytes, payload: bytes) -> bytes:
    """One chunk with a correct CRC."""
    return (
        struct.pack(">I", len(payload))
        + ctype
        + payload
        + struct.pack(">I", zlib.crc32(ctype + payload) & 0xFFFFFFFF)
    )


def png_build(chunks: list[tuple[bytes, bytes]]) -> bytes:
    return PNG_SIG + b"".join(png_chunk(t, p) for t, p in chunks)


def png_replace_cabx(data: bytes, store: bytes) -> bytes:
    """``data`` with its caBX payload replaced (CRC kept valid)."""
    return png_build([(t, store if t == b"caBX" else p) for t, p in png_chunks(data)])


def png_insert_text(data: bytes, key: str, value: str) -> bytes:
    """``data`` with a tEXt chunk added right before IEND (CRC valid)."""
    chunks = png_chunks(data)
    return png_build([*chunks[:-1], (b"tEXt", key.encode() + b"\0" + value.encode()), chunks[-1]])


def flip_in_store(data: bytes, needle: bytes, replacement: bytes) -> bytes:
    """Change a unique byte string inside a PNG's manifest store, keeping every length."""
    store = manifest_store_bytes(data)
    assert store is not None
    assert store.count(needle) >= 1, needle
    assert len(needle) == len(replacement)
    return png_replace_cabx(data, store.replace(needle, replacement, 1))


# --- a dishonest signer ----------------------------------------------------------------------


def dishonest_t2i_with_ingredient(image: Path, src: Path, ident: Identity, out: Path) -> Path:
    """Sign ``image`` claiming t2i while listing ``src`` as an ``inputTo`` ingredient.

    Our :func:`sign_image` refuses this; a dishonest signer with c2pa directly does not.
    """
    from myself_i2i.models import PledgeKind
    from myself_i2i.pledge import PLEDGE_LABEL, Pledge

    pledge = Pledge.new(PledgeKind.T2I, ("#Myself_i2i",))
    assertions = [ai_created("source1"), {"label": PLEDGE_LABEL, "data": pledge.to_assertion()}]
    return sign_raw(image, out, ident, assertions, [(src, "source1")])


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serve_in_thread(app: Any) -> Iterator[str]:
    """Run an ASGI app with a real uvicorn on 127.0.0.1 in a thread; yields its base URL."""
    import threading
    import time

    import uvicorn

    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(10)


def sign_raw(
    image: Path,
    out: Path,
    ident: Identity,
    assertions: list[dict[str, Any]],
    ingredients: list[tuple[Path, str]] = (),  # type: ignore[assignment]
) -> Path:
    """Sign a PNG with any assertions and ``(file, instance id)`` inputTo ingredients, straight
    through c2pa: what a dishonest or careless signer can do without our checks."""
    ings = [
        c2pa_backend.IngredientInput(
            definition={
                "title": src.name,
                "relationship": "inputTo",
                "label": label,
                "instance_id": label,
            },
            mime="image/png" if src.suffix == ".png" else "image/jpeg",
            data=src.read_bytes(),
        )
        for src, label in ingredients
    ]
    manifest: dict[str, Any] = {
        "claim_generator_info": [{"name": "raw", "version": "1"}],
        "title": out.name,
        "format": "image/png",
        "assertions": assertions,
    }
    dest = io.BytesIO()
    c2pa_backend.sign(
        source=io.BytesIO(image.read_bytes()),
        dest=dest,
        mime="image/png",
        manifest=manifest,
        resources={},
        ingredients=ings,
        chain_pem=ident.chain_pem,
        private_key_pem=ident.private_key_pem(),
    )
    out.write_bytes(dest.getvalue())
    return out


def ai_created(*ingredient_ids: str) -> dict[str, Any]:
    """A c2pa.actions.v2 assertion: created by an AI model, from these ingredients."""
    action: dict[str, Any] = {
        "action": "c2pa.created",
        "digitalSourceType": c2pa_backend.TRAINED_ALGORITHMIC_MEDIA,
    }
    if ingredient_ids:
        action["parameters"] = {"ingredientIds": list(ingredient_ids)}
    return {"label": "c2pa.actions.v2", "data": {"actions": [action]}}
