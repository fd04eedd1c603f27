"""The artists' side in numbers: protect, finding a protection after X, grants.

For ``--n`` synthetic drawings (``--width`` x ``--height``): protect each (watermark +
fingerprint, published to a throw-away repository), make the copy X serves (metadata
stripped, long side 2048, JPEG q85) and look the protection up in the repository; then
look up as many unrelated pictures (false protections); then make and check a grant.

Usage::

    MYSELF_I2I_HOME=$(mktemp -d) .venv/bin/python bench/artists.py --n 8
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

from PIL import Image

from myself_i2i.grants import check_grant, make_grant
from myself_i2i.identity import IdentityStore
from myself_i2i.images import hash_image
from myself_i2i.protect import ProtectOptions, artwork_of, find_protection, protect_artwork
from myself_i2i.repository import LocalRepository
from myself_i2i.testing import illustration, save


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--width", type=int, default=2400)
    ap.add_argument("--height", type=int, default=1800)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        artist = IdentityStore(d / "artist").create("@artist")
        user = IdentityStore(d / "user").create("@user")
        protect_s: list[float] = []
        for i in range(args.n):
            src = save(illustration(args.width, args.height, seed=100 + i), d / f"d{i}.png")
            t = time.perf_counter()
            res = protect_artwork(
                src, artist, options=ProtectOptions(keep_in_repository=False, publish=False)
            )
            protect_s.append(time.perf_counter() - t)
            with LocalRepository.open(d / "repo", create=True) as repo:
                repo.add(
                    res.manifest_store,
                    locator=res.locator,
                    fingerprint=res.fingerprint,
                    title=res.output.name,
                )
            with Image.open(res.output) as im:
                x = im.convert("RGB")
            x.thumbnail((2048, 2048), Image.Resampling.LANCZOS)
            x.save(d / f"x{i}.jpg", "JPEG", quality=85)
        found, false_hits = 0, 0
        routes: dict[str, int] = {}
        lookup_s: list[float] = []
        with LocalRepository.open(d / "repo") as repo:
            for i in range(args.n):
                data = (d / f"x{i}.jpg").read_bytes()
                t = time.perf_counter()
                p = find_protection(data, f"x{i}.jpg", [repo])
                lookup_s.append(time.perf_counter() - t)
                if p is not None and p.token == artist.token:
                    found += 1
                    routes[p.route] = routes.get(p.route, 0) + 1
            for i in range(args.n):
                other = save(illustration(1600, 1200, seed=900 + i), d / f"o{i}.png")
                if find_protection(other.read_bytes(), other.name, [repo]) is not None:
                    false_hits += 1
        grant = make_grant(artwork_of(d / "d0.protected.png"), artist, user.token)
        t = time.perf_counter()
        for _ in range(20):
            chk = check_grant(
                grant,
                grantee_token=user.token,
                at=dt.datetime.now(dt.timezone.utc),
                source=hash_image(d / "x0.jpg"),
            )
            assert chk.ok
        check_ms = (time.perf_counter() - t) / 20 * 1000
    print(f"protect {args.width}x{args.height} PNG: median {statistics.median(protect_s):.2f} s")
    print(
        f"X copy (strip, long side 2048, JPEG q85) found as protected: {found}/{args.n} "
        f"{routes}, median look-up {statistics.median(lookup_s) * 1000:.0f} ms"
    )
    print(f"unrelated pictures reported as protected: {false_hits}/{args.n}")
    print(f"grant {len(grant)} bytes; check_grant incl. hashing the source: {check_ms:.1f} ms")


if __name__ == "__main__":
    main()
