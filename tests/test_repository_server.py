"""``repo serve``: the FastAPI app (TestClient) and HttpRepository against a real uvicorn."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from myself_i2i.errors import RepositoryError
from myself_i2i.repository import Candidate, HttpRepository, LocalRepository
from myself_i2i.repository_server import MAX_STORE_BYTES, create_repository_app
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
