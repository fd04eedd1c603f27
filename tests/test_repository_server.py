"""``repo serve``: the FastAPI app (TestClient) and HttpRepository against a real uvicorn."""

from __future__ import annotations

import base64
import datetime as dt
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from myself_i2i.errors import RepositoryError
from myself_i2i.pg_repository import PgRepository
from myself_i2i.repository import Candidate, HttpRepository, LocalRepository, open_repository
from myself_i2i.repository_server import MAX_STORE_BYTES, OpenPublishing, create_repository_app
from myself_i2i.softbinding import FINGERPRINT_ALG
from myself_i2i.softbinding.watermark import WATERMARK_ALG
from tests.core_helpers import free_port, serve_in_thread

LOC_A = bytes.fromhex("0123456789abcdef")
FP_A = "f0f0f0f00f0f0f0f"
FP_NEAR = "f0f0f0f00f0f0f0e"  # 1 bit away


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "repo"
    with LocalRepository.open(r, create=True) as repo:
        repo.add(b"store A", locator=LOC_A, fingerprint=FP_A, title="a.png")
    return r


@pytest.fixture
def client(root: Path) -> TestClient:
    return TestClient(create_repository_app(root, token="s3cret-token"))


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_get_by_locator_and_search(client: TestClient) -> None:
    h = LOC_A.hex()
    r = client.get(f"/by-locator/{h[:2]}/{h}.c2pa")
    assert r.status_code == 200 and r.content == b"store A"
    assert r.headers["content-type"] == "application/c2pa"
    assert client.get(f"/by-locator/00/00{h[2:]}.c2pa").status_code == 404
    assert client.get(f"/by-locator/ff/{h}.c2pa").status_code == 404  # wrong prefix
    assert client.get("/by-locator/01/..%2Findex.sqlite").status_code == 404
    r = client.get("/api/search", params={"fingerprint": FP_NEAR})
    (cand,) = r.json()["candidates"]
    assert cand["locator"] == h and cand["distance"] == 1
    assert cand["firstPublished"].startswith("20")  # ISO 8601, UTC
    r = client.get("/api/search", params={"fingerprint": "0f0f0f0ff0f0f0f0"})
    assert r.json() == {"candidates": []}
    assert client.get("/api/search", params={"fingerprint": "xyz"}).status_code == 422
    assert client.get("/api/search", params={"fingerprint": FP_A, "radius": 40}).status_code == 422


def test_upload_needs_the_token(client: TestClient, root: Path) -> None:
    params = {"fingerprint": "1111222233334444", "title": "b.png"}
    assert client.post("/api/manifests", params=params, content=b"B").status_code == 401
    r = client.post("/api/manifests", params=params, content=b"B", headers=auth("wrong"))
    assert r.status_code == 401
    r = client.post("/api/manifests", params=params, content=b"B", headers=auth("s3cret-token"))
    assert r.status_code == 201
    loc = bytes.fromhex(r.json()["locator"])
    with LocalRepository.open(root) as repo:
        assert repo.get(loc) == b"B"
        assert repo.count() == 2
    # with an explicit locator, and an empty body refused
    params["locator"] = "aaaaaaaaaaaaaaaa"
    r = client.post("/api/manifests", params=params, content=b"C", headers=auth("s3cret-token"))
    assert r.json()["locator"] == "aaaaaaaaaaaaaaaa"
    r = client.post("/api/manifests", params=params, content=b"", headers=auth("s3cret-token"))
    assert r.status_code == 422


def test_upload_too_large_is_413(client: TestClient, root: Path) -> None:
    r = client.post(
        "/api/manifests",
        params={"fingerprint": FP_A},
        content=b"x" * (MAX_STORE_BYTES + 1),
        headers=auth("s3cret-token"),
    )
    assert r.status_code == 413
    with LocalRepository.open(root) as repo:
        assert repo.count() == 1


def test_default_token_is_the_repository_file(root: Path) -> None:
    c = TestClient(create_repository_app(root))
    with LocalRepository.open(root) as repo:
        token = repo.upload_token()
    r = c.post("/api/manifests", params={"fingerprint": FP_A}, content=b"x", headers=auth(token))
    assert r.status_code == 201


def test_paths_are_identical_to_a_directory_copy(client: TestClient, root: Path) -> None:
    for i in range(5):
        client.post(
            "/api/manifests",
            params={"fingerprint": f"{i:016x}"},
            content=bytes([i]) * 100,
            headers=auth("s3cret-token"),
        )
    files = sorted(root.glob("by-locator/*/*.c2pa"))
    assert len(files) == 6
    for f in files:
        rel = f.relative_to(root).as_posix()
        r = client.get(f"/{rel}")
        assert r.status_code == 200 and r.content == f.read_bytes(), rel


@pytest.fixture
def server(root: Path) -> Iterator[str]:
    """A real uvicorn server on 127.0.0.1 in a thread."""
    with serve_in_thread(create_repository_app(root, token="s3cret-token")) as url:
        yield url


def test_http_repository_against_uvicorn(server: str) -> None:
    repo = HttpRepository(server + "/", token="s3cret-token")
    assert repo.get(LOC_A) == b"store A"
    assert repo.get(bytes(8)) is None
    assert repo.search(FP_NEAR) == [Candidate(LOC_A, 1)]
    loc = repo.upload(b"real upload", None, "1234123412341234", "c.png")
    assert repo.get(loc) == b"real upload"
    assert repo.search("1234123412341234") == [Candidate(loc, 0)]
    with pytest.raises(RepositoryError, match="token was refused"):
        HttpRepository(server, token="nope").upload(b"x", None, FP_A, "x")
    with pytest.raises(RepositoryError, match="upload token"):
        HttpRepository(server).upload(b"x", None, FP_A, "x")


def test_http_repository_unreachable_is_repository_error() -> None:
    repo: Any = HttpRepository(f"http://127.0.0.1:{free_port()}", timeout=2.0)
    with pytest.raises(RepositoryError, match="cannot be reached"):
        repo.get(LOC_A)
    with pytest.raises(RepositoryError, match="cannot be reached"):
        repo.search(FP_A)


# --- the C2PA Soft Binding Resolution API, on a folder and on PostgreSQL -----------------------


@pytest.fixture(params=["folder", "postgresql"])
def spec(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A repository holding store A, as a folder or in a real PostgreSQL database."""
    s = str(tmp_path / "sbr") if request.param == "folder" else request.getfixturevalue("pg_url")
    r: Any = open_repository(s, create=True)
    r.add(b"store A", locator=LOC_A, fingerprint=FP_A, title="a.png")
    r.close()
    return s


def b64(h: str) -> str:
    return base64.b64encode(bytes.fromhex(h)).decode()


def test_soft_binding_resolution_api(spec: str) -> None:
    c = TestClient(create_repository_app(spec, token="t", public_url="https://r.example/v1"))
    algs = c.get("/services/supportedAlgorithms").json()
    assert algs == {
        "watermarks": [{"alg": WATERMARK_ALG}],
        "fingerprints": [{"alg": FINGERPRINT_ALG}],
    }
    # fingerprint: nearest manifests with a 0-100 similarity (+ our distance, first seen)
    r = c.get("/matches/byBinding", params={"alg": FINGERPRINT_ALG, "value": b64(FP_NEAR)})
    (m,) = r.json()["matches"]
    assert m["manifestId"] == LOC_A.hex() and m["endpoint"] == "https://r.example/v1"
    assert m["similarityScore"] == 98 and m["distance"] == 1
    first = m["firstPublished"]
    assert dt.datetime.fromisoformat(first).tzinfo is not None
    # watermark: the exact locator
    r = c.get("/matches/byBinding", params={"alg": WATERMARK_ALG, "value": b64(LOC_A.hex())})
    assert r.json()["matches"] == [
        {
            "manifestId": LOC_A.hex(),
            "endpoint": "https://r.example/v1",
            "similarityScore": 100,
            "firstPublished": first,
        }
    ]
    r = c.get("/matches/byBinding", params={"alg": WATERMARK_ALG, "value": b64("00" * 8)})
    assert r.json() == {"matches": []}
    r = c.post("/matches/byBinding", json={"alg": FINGERPRINT_ALG, "value": b64(FP_A)})
    assert r.json()["matches"][0]["distance"] == 0
    # the manifest itself
    r = c.get(f"/manifests/{LOC_A.hex()}")
    assert r.content == b"store A" and r.headers["content-type"] == "application/c2pa"
    assert r.headers["first-published"] == first
    assert c.get("/manifests/0000000000000000").status_code == 404
    assert c.get("/manifests/..%2Findex.sqlite").status_code == 404
    # bad queries are 400, as the API says
    for params in (
        {"alg": "com.example.other", "value": b64(FP_A)},
        {"alg": FINGERPRINT_ALG, "value": "not base64!"},
        {"alg": FINGERPRINT_ALG, "value": b64("00")},
        {"alg": FINGERPRINT_ALG, "value": b64(FP_A), "maxResults": "0"},
    ):
        assert c.get("/matches/byBinding", params=params).status_code == 400, params
    assert c.post("/matches/byBinding", content=b"[1]").status_code == 400
    # the old paths stay
    h = LOC_A.hex()
    assert c.get(f"/by-locator/{h[:2]}/{h}.c2pa").content == b"store A"


def test_by_content_reads_the_pixels(tmp_path: Path) -> None:
    from myself_i2i.images import open_image, perceptual_hash
    from myself_i2i.testing import illustration, save

    p = save(illustration(400, 300, seed=4), tmp_path / "x.png")
    with open_image(p.read_bytes(), name="x") as img:
        fp = perceptual_hash(img)
    root = tmp_path / "r"
    with LocalRepository.open(root, create=True) as repo:
        repo.add(b"S", locator=LOC_A, fingerprint=fp)
    c = TestClient(create_repository_app(root, token="t"))
    r = c.post("/matches/byContent", content=p.read_bytes(), headers={"content-type": "image/png"})
    assert r.status_code == 200
    assert r.json()["matches"][0]["manifestId"] == LOC_A.hex()
    r = c.post("/matches/byContent", content=b"not an image")
    assert r.status_code == 415


def test_http_repository_speaks_the_standard_api(spec: str) -> None:
    with serve_in_thread(create_repository_app(spec, token="s3cret-token")) as url:
        repo = HttpRepository(url, token="s3cret-token")
        assert repo.is_resolver()
        assert repo.get(LOC_A) == b"store A" and repo.get(bytes(8)) is None
        assert repo.first_published(LOC_A) is not None  # from the First-Published header
        (cand,) = repo.search(FP_NEAR, 8)
        assert cand == Candidate(LOC_A, 1) and cand.first_published is not None
        loc = repo.upload(b"up", None, "1234123412341234", "u.png")
        assert repo.get(loc) == b"up"


def test_http_repository_still_reads_a_static_folder(root: Path) -> None:
    import functools
    import http.server
    import threading

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        repo = HttpRepository(f"http://127.0.0.1:{httpd.server_address[1]}")
        assert not repo.is_resolver()
        assert repo.get(LOC_A) == b"store A"
        assert repo.search(FP_A) == []  # a static host has no search
    finally:
        httpd.shutdown()


# --- open publishing ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Manifest stores signed by two people (no watermark: fingerprint + random locator)."""
    from myself_i2i.testing import illustration, save
    from tests.core_helpers import FAST, new_identity, sign_t2i

    d = tmp_path_factory.mktemp("open")
    out: dict[str, Any] = {}
    for name, seed in (("alice", 1), ("bob", 2)):
        ident = new_identity(name, d / name)
        signed = [
            sign_t2i(
                save(illustration(200, 160, seed=seed * 10 + i), d / f"{name}{i}.png"),
                ident,
                output=d / f"{name}{i}.signed.png",
                options=FAST,
            )
            for i in range(2)
        ]
        out[name] = (ident.token, [s.manifest_store for s in signed])
    return out


def test_open_publishing(spec: str, stores: dict[str, Any]) -> None:
    alice_token, (a1, a2) = stores["alice"]
    bob_token, (b1, _) = stores["bob"]
    c = TestClient(
        create_repository_app(
            spec,
            token="owner",
            open_publishing=OpenPublishing(enabled=True, per_key_per_hour=1, per_client_per_hour=3),
        )
    )
    # 1. a self-proving store needs no token; the manifest, not the query, says where
    r = c.post("/api/manifests", params={"fingerprint": "0" * 16}, content=a1)
    assert r.status_code == 201, r.text
    loc = r.json()["locator"]
    first = r.json()["firstPublished"]
    assert c.get(f"/manifests/{loc}").content == a1
    # 2. the same store again: a duplicate, answered with the first time, not counted
    r = c.post("/api/manifests", content=a1)
    assert r.status_code == 200 and r.json() == {"locator": loc, "firstPublished": first}
    # 3. per-key limit (1 an hour here)
    assert c.post("/api/manifests", content=a2).status_code == 429
    # 4. a blocked signer
    r_: Any = open_repository(spec)
    r_.block(bob_token, "spam")
    r_.close()
    r = c.post("/api/manifests", content=b1)
    assert r.status_code == 403
    # 5. anything that does not prove itself
    r = c.post("/api/manifests", content=b"not a manifest store")
    assert r.status_code == 422
    assert c.post("/api/manifests", content=b"x" * (512 * 1024 + 1)).status_code == 413
    # 6. a wrong token is refused, never treated as open publishing
    r = c.post("/api/manifests", content=a2, headers=auth("wrong"))
    assert r.status_code == 401
    # 7. the owner's token still works, with the owner's own parameters
    r = c.post(
        "/api/manifests", params={"fingerprint": FP_A}, content=b"owner's", headers=auth("owner")
    )
    assert r.status_code == 201
    # the limits counted alice's personal key token
    with_alice: Any = open_repository(spec)
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    assert with_alice.recent_count(signer=alice_token, since=since) == 1
    with_alice.close()


def test_open_publishing_is_off_by_default(spec: str, stores: dict[str, Any]) -> None:
    c = TestClient(create_repository_app(spec, token="owner"))
    assert c.post("/api/manifests", content=stores["alice"][1][0]).status_code == 401


def test_per_address_limit(tmp_path: Path, stores: dict[str, Any]) -> None:
    c = TestClient(
        create_repository_app(
            tmp_path / "r", token="o", open_publishing=OpenPublishing(True, per_client_per_hour=1)
        )
    )
    assert c.post("/api/manifests", content=stores["alice"][1][0]).status_code == 201
    assert c.post("/api/manifests", content=stores["bob"][1][0]).status_code == 429


def test_workers_over_one_postgresql(pg_url: str) -> None:
    """``repo serve --workers 2`` over PostgreSQL: separate processes, one database."""
    import os
    import signal
    import subprocess
    import time

    import httpx

    r: Any = open_repository(pg_url, create=True)
    r.add(b"store A", locator=LOC_A, fingerprint=FP_A)
    r.close()
    port = free_port()
    env = {**os.environ, "MYSELF_I2I_REPO_TOKEN": "tok"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from myself_i2i.cli import main; main()",
            "repo",
            "serve",
            "--repo",
            pg_url,
            "--port",
            str(port),
            "--workers",
            "2",
        ],
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/services/supportedAlgorithms", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, (
                proc.stdout and proc.stdout.read()
            )
            time.sleep(0.2)
        repo = HttpRepository(url, token="tok")
        for i in range(20):  # spread over both workers
            assert repo.get(LOC_A) == b"store A"
            repo.upload(b"w%d" % i, None, f"{i:016x}", "w")
        with PgRepository.open(pg_url) as pg:
            assert pg.count() == 21
            # the thread limit bounds each worker's connections (8 each, + this one)
            row = pg._conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            ).fetchone()
            assert row is not None and row[0] <= 2 * 8 + 1
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
