"""The HTTP API of the web verifier, through FastAPI's TestClient (no network)."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from myself_i2i.errors import ConfigError
from myself_i2i.verify import VerifyOptions, verify_image
from myself_i2i.web import WebConfig, create_app, require_web
from tests.core_helpers import report_errors
from tests.web.conftest import Pictures

PNG = "image/png"


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app(WebConfig(workers=1))) as c:
        yield c


def _post(
    client: TestClient,
    image: Path | tuple[str, bytes],
    *,
    query: str = "",
    against: Path | tuple[str, bytes] | None = None,
    **form: str,
) -> Any:
    def part(x: Path | tuple[str, bytes]) -> tuple[str, bytes, str]:
        name, data = (x.name, x.read_bytes()) if isinstance(x, Path) else x
        return (name, data, "application/octet-stream")

    files = {"image": part(image)}
    if against is not None:
        files["against"] = part(against)
    return client.post(f"/api/verify{query}", files=files, data=form)


def _error(resp: Any, status: int) -> dict[str, str]:
    assert resp.status_code == status, resp.text
    err: dict[str, str] = resp.json()["error"]
    assert err["en"] and err["ja"] and err["en"] != err["ja"]
    assert "Traceback" not in resp.text
    return err


# --- reports ---------------------------------------------------------------------------


def test_signed_is_untrusted_and_equals_the_cli_json(
    client: TestClient, pictures: Pictures
) -> None:
    resp = _post(client, pictures.t2i_png)
    assert resp.status_code == 200
    body = resp.json()
    assert report_errors(body) == []
    assert body["verdict"] == "untrusted-signer"
    assert "thumbnails" not in body
    cli = verify_image(pictures.t2i_png, VerifyOptions()).to_dict()
    cli["image"] = pictures.t2i_png.name  # the API names the upload by its base name
    assert body == cli


def test_key_token_and_post_text_make_it_verified(client: TestClient, pictures: Pictures) -> None:
    resp = _post(
        client, pictures.t2i_jpeg, text="new picture #Myself_i2i", key_token=pictures.identity.token
    )
    body = resp.json()
    assert report_errors(body) == []
    assert body["verdict"] == "verified", body["findings"]
    assert body["post"]["hashtags"] == ["#Myself_i2i"]
    assert body["signer"]["tokenMatchesPost"] is True


def test_tampered_and_unsigned(client: TestClient, pictures: Pictures) -> None:
    tampered = _post(client, pictures.tampered_png).json()
    assert tampered["verdict"] == "tampered"
    assert any(f["code"] == "hash.mismatch" for f in tampered["findings"])
    unsigned = _post(client, pictures.unsigned_png, text="#Myself_i2i").json()
    assert unsigned["verdict"] == "unsigned"
    assert report_errors(tampered) == [] and report_errors(unsigned) == []


def test_thumbnails_only_on_request(client: TestClient, pictures: Pictures) -> None:
    body = _post(client, pictures.i2i_png, query="?include=thumbnails").json()
    assert report_errors(body) == []
    thumbs = body["thumbnails"]
    source_id = body["pledge"]["sources"][0]["ingredient"]
    assert source_id in thumbs
    assert all(v.startswith("data:image/") for v in thumbs.values())


def test_against_gives_evidence_and_leaves_no_temp_file(
    client: TestClient, pictures: Pictures, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    body = _post(client, pictures.i2i_png, against=pictures.source).json()
    assert report_errors(body) == []
    (ev,) = body["evidence"]
    assert ev["declaredSource"]["match"] == "exact"
    assert ev["original"] == pictures.source.name  # not the server's temp path
    # a corrupt original is a 422, and its temp copy is gone too
    _error(
        _post(client, pictures.i2i_png, against=("o.png", b"\x89PNG\r\n\x1a\n" + b"0" * 50)), 422
    )
    assert os.listdir(tmp) == []


# --- limits and errors -----------------------------------------------------------------


def test_content_length_over_the_limit_is_413_before_reading(pictures: Pictures) -> None:
    with TestClient(create_app(WebConfig(workers=1, max_upload_bytes=4096))) as c:
        err = _error(_post(c, pictures.t2i_png), 413)
    assert "at most" in err["en"]


def test_chunked_body_over_the_limit_is_413_while_reading() -> None:
    def body() -> Iterator[bytes]:
        yield b'--b\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n'
        for _ in range(64):
            yield b"\0" * 1024

    with TestClient(create_app(WebConfig(workers=1, max_upload_bytes=8192))) as c:
        resp = c.post(
            "/api/verify",
            content=body(),
            headers={"content-type": "multipart/form-data; boundary=b"},
        )
    _error(resp, 413)


@pytest.mark.parametrize("data", [b"just text", b"\0\1\2\3" * 40, b"BM" + b"\0" * 100])
def test_not_an_image_by_content_is_415(client: TestClient, data: bytes) -> None:
    # the file name says PNG; the content decides (BMP: c2pa does not read it)
    _error(_post(client, ("picture.png", data)), 415)


@pytest.mark.parametrize("data", [b"GIF89a" + b"\0" * 100, b"%PDF-1.4 hello"])
def test_a_broken_file_of_a_format_c2pa_reads_is_422(client: TestClient, data: bytes) -> None:
    # GIF and PDF are formats c2pa reads: accepted, then refused as corrupt (one line)
    _error(_post(client, ("picture.png", data)), 422)


def test_any_format_c2pa_reads_gets_a_verdict(client: TestClient) -> None:
    corpus = Path(__file__).resolve().parents[1] / "corpus" / "c2pa"
    for name, verdict in [
        ("valid-ps256__trustnxt-icon-signed-v2.heic", "no-pledge"),
        ("credential-invalid__cards_trusted.svg", "credential-invalid"),
        ("valid-ed25519__c2pa_signed_ed25519.tiff", "no-pledge"),
    ]:
        resp = _post(client, (name, (corpus / name).read_bytes()))
        assert resp.status_code == 200, resp.text
        assert resp.json()["verdict"] == verdict, name


def test_against_must_be_an_image_too(client: TestClient, pictures: Pictures) -> None:
    _error(_post(client, pictures.t2i_png, against=("orig.png", b"not an image")), 415)


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n" + b"\0" * 40,
        b"\xff\xd8\xff\xe0" + b"\0" * 40,
        b"RIFF\x10\0\0\0WEBPVP8 " + b"\0" * 8,
    ],
)
def test_corrupt_image_is_422_with_the_library_message(client: TestClient, data: bytes) -> None:
    err = _error(_post(client, ("broken.png", data)), 422)
    assert "broken.png" in err["en"]


def test_truncated_signed_image_is_never_a_500(client: TestClient, pictures: Pictures) -> None:
    data = pictures.t2i_jpeg.read_bytes()
    for cut in (200, len(data) // 2, len(data) - 10):
        resp = _post(client, ("cut.jpg", data[:cut]))
        assert resp.status_code in (200, 422), resp.text
        assert "Traceback" not in resp.text


def test_bad_key_token_and_missing_image_are_422(client: TestClient, pictures: Pictures) -> None:
    _error(_post(client, pictures.t2i_png, key_token="not-a-token"), 422)
    err = _error(client.post("/api/verify", data={"text": "x"}), 422)
    assert "image" in err["en"]
    _error(client.post("/api/verify", files={"image": ("e.png", b"")}), 422)


# --- page, docs, headers ---------------------------------------------------------------


def test_page_assets_are_local_and_csp_is_strict(client: TestClient) -> None:
    for path in ("/", "/docs", "/static/app.js", "/static/style.css", "/static/favicon.svg"):
        resp = client.get(path)
        assert resp.status_code == 200, path
        csp = resp.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'self';" in csp
        assert "unsafe-inline" not in csp
        assert resp.headers["x-content-type-options"] == "nosniff"
    assert client.get("/static/../app.py").status_code == 404
    assert client.get("/static/nope.js").status_code == 404
    static = resources.files("myself_i2i.web").joinpath("static")
    for f in static.iterdir():
        text = f.read_text("utf-8")
        # no CDN, no external font, no inline script or style
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), f.name
        assert "@import" not in text and "fonts.googleapis" not in text
        if f.name.endswith(".html"):
            assert not re.search(r"<script(?![^>]*\bsrc=)", text), f.name
            assert "<style" not in text and " style=" not in text, f.name


def test_openapi_documents_the_verify_endpoint(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    op = spec["paths"]["/api/verify"]["post"]
    schema_ref = op["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"]
    props = spec["components"]["schemas"][schema_ref.rsplit("/", 1)[-1]]["properties"]
    assert set(props) == {"image", "text", "key_token", "against"}
    assert {"413", "415", "422"} <= set(op["responses"])
    health = client.get("/api/health").json()
    assert health["ok"] is True and health["maxUploadBytes"] == 50 * 1024 * 1024
    assert health["public"] is False
    assert {"408", "500", "503"} <= set(op["responses"])


# --- the extra and the CLI -------------------------------------------------------------


def test_missing_web_extra_is_a_friendly_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec

    def fake(name: str, *a: Any, **k: Any) -> Any:
        return None if name == "fastapi" else real(name, *a, **k)

    monkeypatch.setattr(importlib.util, "find_spec", fake)
    with pytest.raises(ConfigError) as e:
        require_web()
    assert "pip install 'myself-i2i[web]'" in e.value.text.en
    assert "pip install 'myself-i2i[web]'" in e.value.text.ja


def test_tiny_upload_limit_is_refused() -> None:
    with pytest.raises(ConfigError):
        WebConfig(max_upload_bytes=10)


def test_cli_serve_calls_the_web_server(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    import myself_i2i.web
    from myself_i2i.cli import app

    calls: list[tuple[str, int, WebConfig | None]] = []
    monkeypatch.setattr(
        myself_i2i.web, "serve", lambda host, port, config: calls.append((host, port, config))
    )
    result = CliRunner().invoke(app, ["serve", "--port", "8123", "--max-upload-mb", "5"])
    assert result.exit_code == 0, result.output
    ((host, port, cfg),) = calls
    assert (host, port) == ("127.0.0.1", 8123)
    assert cfg is not None and cfg.max_upload_bytes == 5 * 1024 * 1024
    assert cfg.public is False and cfg.workers == 2
    assert cfg.memory_limit_bytes == 768 * 1024 * 1024 and cfg.time_limit == 20
    calls.clear()
    args = ["serve", "--port", "8124", "--public", "--workers", "3"]
    args += ["--memory-limit-mb", "512", "--time-limit", "5"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    ((_, _, cfg),) = calls
    assert cfg is not None and cfg.public and cfg.workers == 3
    assert cfg.memory_limit_bytes == 512 * 1024 * 1024 and cfg.time_limit == 5
    assert json.dumps(calls, default=str)
