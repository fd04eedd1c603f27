"""The web verifier against a hostile public: worker processes with limits, a bounded
queue, deadlines for slow clients, and errors that never break a keep-alive connection.

Real uvicorn servers on 127.0.0.1 (``serve_hardened``: the settings of ``serve``), real
worker processes, real hostile files made on the fly.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import threading
import time
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from myself_i2i.errors import ConfigError
from myself_i2i.keyring import Keyring
from myself_i2i.web import WebConfig, create_app
from myself_i2i.web.pool import scrub
from tests.core_helpers import report_errors, serve_in_thread
from tests.web.conftest import Pictures, RecoveredCopy, png_bomb, serve_hardened

MB = 1024 * 1024


def _files(name: str, data: bytes) -> dict[str, tuple[str, bytes, str]]:
    return {"image": (name, data, "application/octet-stream")}


def _bilingual(resp: httpx.Response, status: int) -> dict[str, str]:
    assert resp.status_code == status, resp.text
    err: dict[str, str] = resp.json()["error"]
    assert err["en"] and err["ja"] and err["en"] != err["ja"]
    assert "Traceback" not in resp.text
    return err


def _local_port(resp: httpx.Response) -> int:
    """The client-side port of the connection that carried ``resp``."""
    sock = resp.extensions["network_stream"].get_extra_info("socket")
    port: int = sock.getsockname()[1]
    return port


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _png_with(picture: Path, *chunks: bytes, ihdr: bytes | None = None) -> bytes:
    """``picture`` (a PNG) with ``chunks`` inserted after IHDR, or its IHDR replaced."""
    data = picture.read_bytes()
    end_ihdr = 8 + 8 + 13 + 4
    head = data[:8] + (ihdr if ihdr is not None else data[8:end_ihdr])
    return head + b"".join(chunks) + data[end_ihdr:]


# --- the pool --------------------------------------------------------------------------


def test_workers_start_once_and_serve_many_requests(pictures: Pictures) -> None:
    with TestClient(create_app(WebConfig(workers=2))) as c:
        pool = c.app.state.pool  # type: ignore[attr-defined]
        pids = pool.pids()
        assert len(pids) == 2 and os.getpid() not in pids
        for _ in range(4):
            r = c.post("/api/verify", files=_files("t.png", pictures.t2i_png.read_bytes()))
            assert r.status_code == 200 and r.json()["verdict"] == "untrusted-signer"
        assert pool.pids() == pids  # no start-up cost per request
    assert pool.pids() == []  # stopped with the app


def test_the_configured_keyring_reaches_the_workers(pictures: Pictures, tmp_path: Path) -> None:
    path = tmp_path / "operator-keyring.json"
    Keyring(path).add(pictures.identity.token, "alice")
    with TestClient(create_app(WebConfig(workers=1, keyring_path=path))) as c:
        body = c.post(
            "/api/verify",
            files=_files("t.png", pictures.t2i_png.read_bytes()),
            data={"text": "#Myself_i2i"},
        ).json()
    assert body["verdict"] == "verified", body["findings"]
    assert body["signer"]["trusted"] is True and body["signer"]["trustedName"] == "alice"


def test_a_damaged_keyring_is_a_500_without_server_paths(
    pictures: Pictures, tmp_path: Path
) -> None:
    path = tmp_path / "secret-dir" / "keyring.json"
    path.parent.mkdir()
    path.write_text("{not json")
    with TestClient(create_app(WebConfig(workers=1, keyring_path=path))) as c:
        r = c.post("/api/verify", files=_files("t.png", pictures.t2i_png.read_bytes()))
    _bilingual(r, 500)
    assert "secret-dir" not in r.text and str(tmp_path) not in r.text


def test_repositories_reach_the_workers_and_are_named_without_their_path(
    pictures: Pictures, recovered_copy: RecoveredCopy
) -> None:
    config = WebConfig(
        workers=1,
        repositories=(str(recovered_copy.repository),),
        use_default_repositories=False,
    )
    with TestClient(create_app(config)) as c:
        r = c.post(
            "/api/verify",
            files=_files("from_x.jpg", recovered_copy.copy.read_bytes()),
            data={"key_token": pictures.identity.token},
        )
    body = r.json()
    assert body["verdict"] == "recovered", body["findings"]
    assert report_errors(body) == []
    assert body["recovery"]["repository"] == recovered_copy.repository.name
    assert str(recovered_copy.repository.parent) not in r.text


def test_scrub_replaces_longest_paths_first() -> None:
    names = {"/srv/data": "~", "/srv/data/repo": "repo"}
    got = scrub({"a": ["in /srv/data/repo and /srv/data/x"], "n": 3}, names)
    assert got == {"a": ["in repo and ~/x"], "n": 3}


def test_a_picture_needing_too_much_memory_is_422_and_the_worker_replaced() -> None:
    # 6000x6000 RGB decodes to 108 MB; a 300 MB address space cannot hold it beside the
    # verifier's own ~250 MB of libraries.
    config = WebConfig(workers=1, memory_limit_bytes=300 * MB)
    with TestClient(create_app(config)) as c:
        pool = c.app.state.pool  # type: ignore[attr-defined]
        before = pool.pids()
        r = c.post("/api/verify", files=_files("bomb.png", png_bomb(6000, 6000)))
        err = _bilingual(r, 422)
        assert "memory" in err["en"]
        # the next request is served (by a fresh worker)
        r = c.post("/api/verify", files=_files("x.png", b"\x89PNG\r\n\x1a\n" + b"0" * 40))
        _bilingual(r, 422)
        assert pool.pids() != before


def test_a_verification_over_the_time_limit_is_503_and_the_worker_replaced() -> None:
    config = WebConfig(workers=1, time_limit=0.3)
    with TestClient(create_app(config)) as c:
        pool = c.app.state.pool  # type: ignore[attr-defined]
        (before,) = pool.pids()
        r = c.post("/api/verify", files=_files("slow.png", png_bomb(6000, 6000)))
        err = _bilingual(r, 503)
        assert "0.3 s" in err["en"] and r.headers["retry-after"].isdigit()
        deadline = time.monotonic() + 30
        while pool.pids() in ([], [before]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(pool.pids()) == 1 and pool.pids() != [before]
        with pytest.raises(ProcessLookupError):
            os.kill(before, 0)  # the late worker was killed


def test_a_worker_that_dies_is_a_500_and_is_replaced_keeping_the_connection() -> None:
    config = WebConfig(workers=1)
    with serve_hardened(config) as (url, app), httpx.Client(base_url=url, timeout=60) as client:
        pool = app.state.pool
        (pid,) = pool.pids()
        killer = threading.Timer(0.4, os.kill, (pid, signal.SIGKILL))
        killer.start()
        r = client.post("/api/verify", files=_files("slow.png", png_bomb(8000, 8000)))
        killer.join()
        err = _bilingual(r, 500)
        assert "stopped" in err["en"]
        port = _local_port(r)
        r2 = client.post("/api/verify", files=_files("x.png", b"\x89PNG\r\n\x1a\n" + b"0" * 40))
        _bilingual(r2, 422)
        assert _local_port(r2) == port  # the same keep-alive connection
        assert pool.pids() and pool.pids() != [pid]


def test_a_full_queue_is_503_with_retry_after() -> None:
    config = WebConfig(workers=1, queue_size=0)
    with serve_hardened(config) as (url, app):
        results: list[httpx.Response] = []
        big = png_bomb(9400, 9400)
        slow = threading.Thread(
            target=lambda: results.append(
                httpx.post(url + "/api/verify", files=_files("s.png", big), timeout=60)
            )
        )
        slow.start()
        deadline = time.monotonic() + 20
        while app.state.pool.idle() and time.monotonic() < deadline:
            time.sleep(0.01)  # until the only worker is busy; nobody may wait
        r = httpx.post(url + "/api/verify", files=_files("t.png", png_bomb(200, 200)), timeout=60)
        slow.join()
        err = _bilingual(r, 503)
        assert "busy" in err["en"] and r.headers["retry-after"].isdigit()
        assert results[0].status_code == 200


# --- the connection ----------------------------------------------------------------------


def test_an_unexpected_500_keeps_the_keep_alive_connection(
    pictures: Pictures, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the plain uvicorn of tests.core_helpers: the fix is in the app, not in serve's settings
    app = create_app(WebConfig(workers=1))
    with serve_in_thread(app) as url, httpx.Client(base_url=url) as c:
        ok = c.post("/api/verify", files=_files("t.png", pictures.t2i_png.read_bytes()))
        assert ok.status_code == 200
        port = _local_port(ok)

        def boom(data: bytes) -> str | None:
            raise RuntimeError("a bug")

        import myself_i2i.formats

        monkeypatch.setattr(myself_i2i.formats, "sniff_mime", boom)
        r = c.post("/api/verify", files=_files("t.png", pictures.t2i_png.read_bytes()))
        _bilingual(r, 500)
        assert "a bug" not in r.text
        monkeypatch.undo()
        again = c.post("/api/verify", files=_files("t.png", pictures.t2i_png.read_bytes()))
        assert again.status_code == 200
        assert _local_port(r) == port == _local_port(again)


def test_hostile_pngs_are_answered_on_one_connection(pictures: Pictures) -> None:
    """A short IHDR, a huge zTXt, a truncated file: each an answer, none a broken link."""
    signed = pictures.t2i_png
    short_ihdr = _png_with(signed, ihdr=_png_chunk(b"IHDR", b"\0\0\0\x10\0\0"))
    huge_ztxt = _png_with(
        signed, _png_chunk(b"zTXt", b"Comment\0\0" + zlib.compress(b"A" * (64 * MB), 9))
    )
    truncated = signed.read_bytes()[: len(signed.read_bytes()) // 2]
    with serve_hardened(WebConfig(workers=1)) as (url, _app), httpx.Client(base_url=url) as c:
        ports = set()
        for name, data in [
            ("short-ihdr.png", short_ihdr),
            ("ztxt.png", huge_ztxt),
            ("cut.png", truncated),
            ("t.png", signed.read_bytes()),
        ]:
            r = c.post("/api/verify", files=_files(name, data), timeout=60)
            # 422 once the library turns every decoder error into ImageError (issue 9 §3);
            # a 500 from the worker is still a bilingual answer on a kept connection.
            if r.status_code != 200:
                _bilingual(r, 422 if r.status_code == 422 else 500)
            ports.add(_local_port(r))
        assert r.status_code == 200 and r.json()["verdict"] == "untrusted-signer"
        assert len(ports) == 1


def _read_all(sock: socket.socket, limit: float) -> bytes:
    """Everything the server sends until it closes (or ``limit`` seconds)."""
    sock.settimeout(limit)
    out = b""
    try:
        while chunk := sock.recv(65536):
            out += chunk
    except TimeoutError:
        pass
    return out


def test_a_slow_body_gets_408_and_the_connection_is_closed() -> None:
    config = WebConfig(workers=1, body_timeout=1.0)
    with serve_hardened(config) as (url, _app):
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(
                b"POST /api/verify HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: multipart/form-data; boundary=b\r\n"
                b"Content-Length: 100000\r\n\r\n--b\r\n"
            )
            t0 = time.monotonic()
            answer = _read_all(s, 15)
            elapsed = time.monotonic() - t0
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b"connection: close" in answer.lower()
        assert 0.8 < elapsed < 10


def test_a_slow_request_head_is_cut_off() -> None:
    config = WebConfig(workers=1, header_timeout=1.0)
    with serve_hardened(config) as (url, _app):
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as s:
            t0 = time.monotonic()
            s.settimeout(0.2)
            closed = False
            # one byte of the head every 0.2 s: never complete
            for byte in b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
                try:
                    s.sendall(bytes([byte]))
                    if s.recv(1) == b"":
                        closed = True
                        break
                except TimeoutError:
                    continue
                except OSError:
                    closed = True
                    break
            elapsed = time.monotonic() - t0
        assert closed and elapsed < 8
        # a silent connection is closed too
        with socket.create_connection(("127.0.0.1", port)) as s:
            t0 = time.monotonic()
            assert _read_all(s, 10) == b""
            assert time.monotonic() - t0 < 8
        # and a normal request still works
        assert httpx.get(url + "/api/health").json()["ok"] is True


def test_requests_over_max_requests_get_503_before_their_body() -> None:
    config = WebConfig(workers=1, max_requests=1, body_timeout=5.0)
    with serve_hardened(config) as (url, _app):
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as hog:
            hog.sendall(
                b"POST /api/verify HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: multipart/form-data; boundary=b\r\n"
                b"Content-Length: 100000\r\n\r\n--b\r\n"
            )
            time.sleep(0.3)
            r = httpx.post(url + "/api/verify", files=_files("t.png", png_bomb(100, 100)))
            err = _bilingual(r, 503)
            assert "busy" in err["en"] and r.headers["retry-after"].isdigit()
            assert r.headers["connection"] == "close"
        assert httpx.get(url + "/api/health").status_code == 200


# --- configuration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"workers": 0},
        {"max_requests": 0},
        {"queue_size": -1},
        {"memory_limit_bytes": 100 * MB},
        {"time_limit": 0},
        {"body_timeout": -1.0},
    ],
)
def test_bad_settings_are_config_errors(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        WebConfig(**kwargs)


def test_health_says_whether_the_server_is_public() -> None:
    with TestClient(create_app(WebConfig(workers=1, public=True))) as c:
        assert c.get("/api/health").json()["public"] is True
    with TestClient(create_app(WebConfig(workers=1))) as c:
        assert c.get("/api/health").json()["public"] is False


# --- the heavy lane ----------------------------------------------------------------------


def test_declared_pixels_are_read_from_the_headers(pictures: Pictures, tmp_path: Path) -> None:
    from PIL import Image

    from myself_i2i.web.app import _declared_pixels

    assert _declared_pixels(png_bomb(6000, 6000)[:64]) == 6000 * 6000
    # the signed JPEG keeps its C2PA manifest (APP11) before the frame header
    with Image.open(pictures.t2i_jpeg) as im:
        assert _declared_pixels(pictures.t2i_jpeg.read_bytes()) == im.width * im.height
    for kwargs in ({"lossless": False}, {"lossless": True}):
        path = tmp_path / "p.webp"
        Image.new("RGB", (321, 123), "red").save(path, "WEBP", **kwargs)
        assert _declared_pixels(path.read_bytes()) == 321 * 123, kwargs
    path = tmp_path / "alpha.webp"
    Image.new("RGBA", (50, 70), (0, 0, 0, 0)).save(path, "WEBP")  # VP8X
    assert _declared_pixels(path.read_bytes()) == 50 * 70
    assert _declared_pixels(b"\xff\xd8\xff\xe0\x00") is None
    assert _declared_pixels(b"\x89PNG\r\n\x1a\n") is None
    assert _declared_pixels(b"garbage") is None


def test_large_pictures_cannot_take_every_worker(pictures: Pictures) -> None:
    """Two picture bombs and one ordinary picture, two workers: the ordinary one is
    answered first, because heavy pictures get one worker at a time."""
    big = png_bomb(9400, 9400)
    config = WebConfig(workers=2, heavy_workers=1)
    with serve_hardened(config) as (url, app):
        done: dict[str, float] = {}

        def post(name: str, data: bytes) -> None:
            r = httpx.post(url + "/api/verify", files=_files(name, data), timeout=120)
            assert r.status_code == 200, r.text
            done[name] = time.monotonic()

        threads = [
            threading.Thread(target=post, args=(n, big)) for n in ("bomb-1.png", "bomb-2.png")
        ]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 20
        while app.state.pool.idle() == 2 and time.monotonic() < deadline:
            time.sleep(0.01)  # a bomb is being verified
        post("ordinary.png", pictures.t2i_png.read_bytes())
        for t in threads:
            t.join()
    assert done["ordinary.png"] < min(done["bomb-1.png"], done["bomb-2.png"])


def test_waiting_for_a_worker_never_loses_one() -> None:
    """A wait that times out, or is cancelled, while the item arrives gives it back."""
    import asyncio

    from myself_i2i.web.pool import Busy, VerifierPool, WorkerSettings

    pool = VerifierPool(WorkerSettings(None, None, (), False), queue_timeout=0.05)

    async def scenario() -> None:
        q: asyncio.Queue[int] = asyncio.Queue()
        with pytest.raises(Busy):
            await pool._take(q)  # empty: Busy after the timeout
        q.put_nowait(1)
        assert await pool._take(q) == 1
        waiter = asyncio.ensure_future(pool._take(q))
        await asyncio.sleep(0)
        q.put_nowait(2)
        waiter.cancel()  # cancelled just as the item arrives
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert q.qsize() == 1 and q.get_nowait() == 2

    asyncio.run(scenario())
