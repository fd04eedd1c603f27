"""The manifest store is found exactly where c2pa-rs finds it (JPEG, PNG, WebP)."""

from __future__ import annotations

import io
import random
import struct
import sys
from pathlib import Path

import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # find tests.core_helpers
from myself_i2i._internal import c2pa_backend
from myself_i2i._internal.containers import manifest_store_bytes, strip_manifest
from myself_i2i._internal.jumbf import check_store, parse_store, signing_chain
from myself_i2i.identity import Identity
from tests.core_helpers import new_identity, picture, png_build, png_chunks, sign_t2i

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """One small signed picture per format (signing takes a while: done once)."""
    d = tmp_path_factory.mktemp("signed")
    ident = new_identity("alice", directory=d / "ids")
    out = {}
    for suffix in ("png", "jpg", "webp"):
        res = sign_t2i(picture(d / f"a.{suffix}", size=64), ident)
        out[suffix] = res.output.read_bytes()
    return out


def _app11(en: int, z: int, box: bytes) -> bytes:
    body = b"JP" + struct.pack(">HI", en, z) + box
    return b"\xff\xeb" + struct.pack(">H", len(body) + 2) + body


def _jumbf_box(label: bytes, uuid: bytes, content_type: bytes, content: bytes) -> bytes:
    jumd = uuid + b"\x03" + label + b"\0"
    jumd_box = struct.pack(">I", 8 + len(jumd)) + b"jumd" + jumd
    inner = struct.pack(">I", 8 + len(content)) + content_type + content
    return struct.pack(">I", 8 + len(jumd_box) + len(inner)) + b"jumb" + jumd_box + inner


#: A JUMBF box that is not C2PA (a JSON box, as JPEG 360 or other JUMBF users write).
FOREIGN = _jumbf_box(
    b"org.example.other",
    bytes.fromhex("6A736F6E00110010800000AA00389B71"),
    b"json",
    b'{"other": "jumbf"}',
)


def _jpeg_segments(data: bytes) -> list[tuple[int, bytes]]:
    out = []
    pos = 2
    while data[pos + 1] != 0xDA:
        (n,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        out.append((data[pos + 1], data[pos + 4 : pos + 2 + n]))
        pos += 2 + n
    return out


def test_authentic_multi_segment_app11_agrees_with_c2pa(tmp_path: Path) -> None:
    # A noisy picture makes a claim thumbnail big enough to need several APP11 segments,
    # and the source already carries another JUMBF in APP11 before APP0 (c2pa inserts its
    # store after APP0): the store is the C2PA segments only, in order, headers dropped.
    rng = Image.effect_noise((700, 700), 120).convert("RGB")
    buf = io.BytesIO()
    rng.save(buf, "JPEG", quality=95)
    src = buf.getvalue()
    src = src[:2] + _app11(1, 1, FOREIGN) + src[2:]
    path = tmp_path / "noisy.jpg"
    path.write_bytes(src)
    ident: Identity = new_identity("alice")
    data = sign_t2i(path, ident).output.read_bytes()

    app11 = [body for marker, body in _jpeg_segments(data) if marker == 0xEB]
    c2pa_segments = [b for b in app11 if b[2:4] != b"\x00\x01"]
    assert len(c2pa_segments) >= 2 and len(app11) == len(c2pa_segments) + 1

    read = c2pa_backend.read_manifest(data, "image/jpeg")
    assert read is not None and read.state.value == "Valid" and not read.failure
    store = manifest_store_bytes(data)
    assert store is not None
    assert store == c2pa_segments[0][8:] + b"".join(s[16:] for s in c2pa_segments[1:])
    assert b"org.example.other" not in store
    check_store(store)
    top = parse_store(store)
    assert top.end == len(store)
    assert signing_chain(store) == [ident.leaf_cert, ident.ca_cert]
    leaf = ident.leaf_cert
    assert read.active is not None and read.active.signature is not None
    assert str(leaf.serial_number) == str(read.active.signature.serial)
    # Stripping removes the C2PA segments and keeps the other JUMBF.
    bare = strip_manifest(data)
    assert manifest_store_bytes(bare) is None and FOREIGN in bare
    assert c2pa_backend.read_manifest(bare, "image/jpeg") is None


def test_jpeg_segment_rules_follow_c2pa_rs(signed: dict[str, bytes]) -> None:
    data = signed["jpg"]
    store = manifest_store_bytes(data)
    assert store is not None
    # Fill bytes and stray bytes between segments are skipped (img-parts does so).
    padded = data[:2] + b"\x00\x00\xff\xff" + data[2:]
    assert manifest_store_bytes(padded) == store
    # A foreign APP11 after the store and one with a short body change nothing.
    soi_after = data[:2] + _app11(7, 1, FOREIGN) + b"\xff\xeb\x00\x06JP\x00\x01" + data[2:]
    assert manifest_store_bytes(soi_after) == store
    # A second C2PA store: c2pa-rs refuses the file (TooManyManifestStores), so do we.
    twice = data[:2] + _app11(9, 1, store) + data[2:]
    assert manifest_store_bytes(twice) is None
    # Not a JPEG c2pa-rs can parse: no EOI and no scan data, a segment past the end.
    assert manifest_store_bytes(data[:2] + _app11(1, 1, store)) is None
    assert manifest_store_bytes(data[:2] + b"\xff\xeb\xff\xff" + store) is None


def test_jpeg_continuation_needs_a_rising_sequence_number() -> None:
    body = _jumbf_box(
        b"c2pa", bytes.fromhex("6332706100110010800000AA00389B71"), b"json", b"x" * 40
    )
    head, tail = body[:30], body[30:]
    ok = b"\xff\xd8" + _app11(5, 1, head) + _app11(5, 2, body[:8] + tail) + b"\xff\xd9"
    assert manifest_store_bytes(ok) == body
    # Z not above the count read: c2pa-rs drops the rest of this store.
    bad = b"\xff\xd8" + _app11(5, 1, head) + _app11(5, 1, body[:8] + tail) + b"\xff\xd9"
    assert manifest_store_bytes(bad) == head
    # Z may skip numbers (c2pa-rs only asks for more than the count so far).
    skip = b"\xff\xd8" + _app11(5, 1, head) + _app11(5, 7, body[:8] + tail) + b"\xff\xd9"
    assert manifest_store_bytes(skip) == body


def test_png_rules_follow_c2pa_rs(signed: dict[str, bytes]) -> None:
    data = signed["png"]
    store = manifest_store_bytes(data)
    assert store is not None
    chunks = png_chunks(data)
    assert manifest_store_bytes(png_build([*chunks[:-1], (b"caBX", store), chunks[-1]])) is None
    assert manifest_store_bytes(png_build(chunks[:-1])) is None  # no IEND: c2pa-rs errors
    # a chunk after IEND is not read
    assert (
        manifest_store_bytes(png_build([c for c in chunks if c[0] != b"caBX"] + [(b"caBX", store)]))
        is None
    )
    assert manifest_store_bytes(strip_manifest(data)) is None
    check_store(store)


def test_webp_rules_follow_c2pa_rs(signed: dict[str, bytes]) -> None:
    data = signed["webp"]
    store = manifest_store_bytes(data)
    assert store is not None
    check_store(store)
    pos = data.find(b"C2PA")
    # a C2PA chunk that declares more bytes than the file has
    long = data[: pos + 4] + struct.pack("<I", len(data)) + data[pos + 8 :]
    assert manifest_store_bytes(long) is None
    bare = strip_manifest(data)
    assert manifest_store_bytes(bare) is None
    with Image.open(io.BytesIO(bare)) as im:
        im.load()


def test_real_store_from_c2pa_rs() -> None:
    store = (DATA / "no_alg_jpg.jumbf").read_bytes()
    check_store(store)
    chain = signing_chain(store)
    assert len(chain) == 2
    assert "C2PA Signer" in chain[0].subject.rfc4514_string()
    assert chain[0].issuer == chain[1].subject


def _c2pa_app11_segments(data: bytes) -> bytes:
    """The raw APP11 segments of a signed JPEG, to graft into another file."""
    return b"".join(
        b"\xff\xeb" + struct.pack(">H", len(body) + 2) + body
        for marker, body in _jpeg_segments(data)
        if marker == 0xEB
    )


def test_camera_jpeg_with_mpf_reads_the_primary_image_only(signed: dict[str, bytes]) -> None:
    # Camera / phone JPEGs carry an MPF index (APP2) and a second JPEG after the first EOI
    # (Pillow calls them "MPO"); c2pa-rs reads the first image's segments only.
    store = manifest_store_bytes(signed["jpg"])
    assert store is not None
    grafted = _c2pa_app11_segments(signed["jpg"])
    other = _c2pa_app11_segments(signed["jpg"]).replace(b"\x02\x11", b"\x03\x12", 1)
    first, second = Image.new("RGB", (32, 32), "red"), Image.new("RGB", (16, 16), "blue")
    buf = io.BytesIO()
    first.save(buf, "MPO", save_all=True, append_images=[second])
    mpo = buf.getvalue()
    assert b"MPF\0" in mpo
    eoi = mpo.index(b"\xff\xd8", 2)  # start of the second image
    camera = mpo[:2] + grafted + mpo[2:eoi] + mpo[eoi : eoi + 2] + other + mpo[eoi + 2 :]
    with Image.open(io.BytesIO(camera)) as im:
        assert im.format == "MPO" and getattr(im, "n_frames", 1) == 2
    assert manifest_store_bytes(camera) == store
    assert manifest_store_bytes(strip_manifest(camera)) is None


def test_strip_removes_every_store_c2pa_rs_would(signed: dict[str, bytes]) -> None:
    store = manifest_store_bytes(signed["jpg"])
    assert store is not None
    twice = signed["jpg"][:2] + _app11(9, 1, store) + signed["jpg"][2:]
    bare = strip_manifest(twice)
    assert b"c2pa" not in bare[: bare.index(b"\xff\xda")]


@pytest.mark.parametrize("suffix", ["jpg", "png", "webp"])
def test_mutated_containers_never_escape(signed: dict[str, bytes], suffix: str) -> None:
    # A small seeded mutation loop: whatever the bytes, reading and stripping return.
    rng = random.Random(suffix)
    seed = signed[suffix]
    for _ in range(300):
        s = bytearray(seed)
        for _ in range(rng.randint(1, 4)):
            k = rng.randrange(len(s))
            op = rng.random()
            if op < 0.5:
                s[k] = rng.randrange(256)
            elif op < 0.7:
                s[k : k + 4] = struct.pack(
                    ">I", rng.choice([0, 1, 8, 0xFFFFFFFF, rng.randrange(1 << 32)])
                )
            elif op < 0.85:
                del s[k : k + rng.randint(1, 50)]
            else:
                s[k:k] = rng.randbytes(rng.randint(1, 20))
        data = bytes(s)
        manifest_store_bytes(data)
        strip_manifest(data)


def _c2pa_signed(image: bytes, mime: str, ident: Identity, thumbnail: bytes) -> tuple[bytes, bytes]:
    """``image`` signed by c2pa itself: (the signed file, the store c2pa says it embedded)."""
    manifest = {
        "claim_generator_info": [{"name": "test", "version": "1"}],
        "title": "x",
        "format": mime,
        "thumbnail": {"format": "image/jpeg", "identifier": "t.jpg"},
        "assertions": [
            {
                "label": "c2pa.actions.v2",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": c2pa_backend.TRAINED_ALGORITHMIC_MEDIA,
                        }
                    ]
                },
            }
        ],
    }
    dest = io.BytesIO()
    store = c2pa_backend.sign(
        source=io.BytesIO(image),
        dest=dest,
        mime=mime,
        manifest=manifest,
        resources={"t.jpg": thumbnail},
        ingredients=[],
        chain_pem=ident.chain_pem,
        private_key_pem=ident.private_key_pem(),
    )
    return dest.getvalue(), store


@pytest.mark.parametrize(
    ("fmt", "mime", "thumb_edge"),
    [
        ("PNG", "image/png", 64),
        ("JPEG", "image/jpeg", 64),
        ("JPEG", "image/jpeg", 400),  # a store over 64 KB: several APP11 segments
        ("WEBP", "image/webp", 64),
        ("GIF", "image/gif", 64),
    ],
)
def test_store_is_the_one_c2pa_embedded(fmt: str, mime: str, thumb_edge: int) -> None:
    ident = new_identity("alice")
    buf = io.BytesIO()
    Image.effect_noise((48, 48), 60).convert("RGB").save(buf, fmt)
    noisy = io.BytesIO()
    Image.effect_noise((thumb_edge, thumb_edge), 120).convert("RGB").save(
        noisy, "JPEG", quality=100
    )
    data, store = _c2pa_signed(buf.getvalue(), mime, ident, noisy.getvalue())
    assert manifest_store_bytes(data) == store
    read = c2pa_backend.read_manifest(data, mime)
    assert read is not None and not read.failure, read and read.failure
    check_store(store)
    assert signing_chain(store) == [ident.leaf_cert, ident.ca_cert]
    if thumb_edge > 300:
        assert len(store) > 64_000
    bare = strip_manifest(data) if fmt != "GIF" else None
    if bare is not None:
        assert manifest_store_bytes(bare) is None


def test_gif_rules_follow_c2pa_rs() -> None:
    buf = io.BytesIO()
    Image.new("P", (8, 8)).save(buf, "GIF")
    gif = buf.getvalue()
    payload = b"s" * 300
    blocks = bytes([255]) + payload[:255] + bytes([45]) + payload[255:] + b"\0"
    app = b"\x21\xff\x0bC2PA_GIF\x01\x00\x00" + blocks
    image_at = 13 + (3 * 2 ** ((gif[10] & 7) + 1) if gif[10] & 0x80 else 0)
    assert gif[image_at] == 0x2C  # Pillow writes the first image right after the palette
    before = gif[:image_at] + app + gif[image_at:]
    assert manifest_store_bytes(before) == payload
    # a comment and an unknown application extension on the way are skipped
    comment = b"\x21\xfe\x03abc\x00" + b"\x21\xff\x0bOTHERAPP1.0\x02xy\x00"
    assert manifest_store_bytes(gif[:image_at] + comment + app + gif[image_at:]) == payload
    # after the first image: c2pa-rs does not look there
    trailer = gif.rindex(b"\x3b")
    assert manifest_store_bytes(gif[:trailer] + app + gif[trailer:]) is None
    # an unknown extension label before it is an error in c2pa-rs
    assert manifest_store_bytes(gif[:image_at] + b"\x21\x42\x00" + app + gif[image_at:]) is None
    # cut inside the sub-blocks
    assert manifest_store_bytes(gif[:image_at] + app[:100]) is None
