"""The studio's HTTP API: who may drive it, and the four things it does."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

from myself_i2i.errors import ConfigError
from myself_i2i.studio import StudioConfig, check_loopback, create_studio_app
from tests.studio.conftest import People, x_copy

TOKEN = "test-csrf-token"
H = {"X-CSRF-Token": TOKEN}


@pytest.fixture
def client() -> TestClient:
    return TestClient(
        create_studio_app(StudioConfig(csrf_token=TOKEN)), base_url="http://127.0.0.1"
    )


def _png(path: Path) -> tuple[str, bytes, str]:
    return (path.name, path.read_bytes(), "image/png" if path.suffix == ".png" else "image/jpeg")


def test_only_loopback_and_only_with_the_page_token(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert f'content="{TOKEN}"' in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    # no token, a wrong token, another site's Origin, another Host: refused, bilingual
    for headers in ({}, {"X-CSRF-Token": "guess"}, {**H, "Origin": "https://evil.example"}):
        r = client.post("/api/identity", data={"name": "@x"}, headers=headers)
        assert r.status_code == 403 and r.json()["error"]["ja"]
    rebound = TestClient(client.app, base_url="http://evil.example")
    assert rebound.get("/").status_code == 403
    assert client.get("/api/identity").json() == {"exists": False}  # nothing was created


def test_check_loopback() -> None:
    check_loopback("127.0.0.1")
    for host in ("0.0.0.0", "192.168.1.2", "::", "example.com"):
        with pytest.raises(ConfigError, match=r"127\.0\.0\.1"):
            check_loopback(host)


def test_protect_permit_then_sign_refused_and_granted(
    people: People, tmp_path: Path, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The artist protects and downloads the protected copy.
    monkeypatch.setenv("MYSELF_I2I_HOME", str(people.artist_home))
    r = client.post("/api/protect", files=[("files", _png(people.drawing))], headers=H)
    assert r.status_code == 200, r.text
    (res,) = r.json()["results"]
    protected = tmp_path / res["name"]
    protected.write_bytes(client.get(res["url"]).content)
    assert res["name"] == "hanako.protected.png"
    # ... and makes a grant for the AI user.
    r = client.post(
        "/api/permit",
        files=[("artwork", _png(protected))],
        data={"to": people.ai.token, "until": "2099-12-31", "note": "one piece"},
        headers=H,
    )
    assert r.status_code == 200, r.text
    grant = client.get(r.json()["result"]["url"]).content
    assert r.json()["grant"]["expires"].startswith("2099-12-31")
    # The AI user signs an i2i of the X copy: refused with the artist's name, then granted.
    monkeypatch.setenv("MYSELF_I2I_HOME", str(people.ai_home))
    x = x_copy(protected, tmp_path / "from_x.jpg")
    files = [("image", _png(people.generated)), ("sources", _png(x))]
    r = client.post("/api/sign", files=files, headers=H)
    assert r.status_code == 422
    err = r.json()["error"]
    assert "@hanako_draws" in err["en"] and people.artist.token in err["en"]
    assert "@hanako_draws" in err["ja"]
    r = client.post(
        "/api/sign",
        files=[*files, ("grants", ("h.grant", grant, "application/octet-stream"))],
        headers=H,
    )
    assert r.status_code == 200, r.text
    assert r.json()["sources"][0]["relation"] == "permitted-by-grant"
    assert client.get(r.json()["result"]["url"]).status_code == 200


def test_register_sources_and_sign_t2i(
    people: People, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MYSELF_I2I_HOME", str(people.ai_home))
    r = client.post(
        "/api/sources",
        files=[("files", _png(people.drawing))],
        data={"relation": "own-drawing"},
        headers=H,
    )
    assert r.status_code == 200 and r.json()["added"] == 1
    r = client.post(
        "/api/sources",
        files=[("files", _png(people.drawing))],
        data={"relation": "permitted"},
        headers=H,
    )
    assert r.status_code == 400 and "grant" in r.json()["error"]["en"]
    r = client.post(
        "/api/sign",
        files=[("image", _png(people.generated)), ("sources", _png(people.drawing))],
        headers=H,
    )
    assert r.status_code == 200, r.text
    assert r.json()["sources"][0]["relation"] == "own-drawing"
    r = client.post(
        "/api/sign", files=[("image", _png(people.generated))], data={"t2i": "true"}, headers=H
    )
    assert r.status_code == 200 and r.json()["kind"] == "t2i"


def test_cli_refuses_other_addresses() -> None:
    from typer.testing import CliRunner

    from myself_i2i.cli import app

    r = CliRunner().invoke(app, ["studio", "--host", "0.0.0.0", "--no-open"])
    assert r.exit_code == 2
    assert "127.0.0.1" in r.stdout + r.stderr and "Traceback" not in r.stdout + r.stderr


def test_an_encrypted_key_takes_the_page_passphrase(
    tmp_path: Path, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from myself_i2i.testing import illustration, save
    from tests.core_helpers import new_identity

    monkeypatch.setenv("MYSELF_I2I_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MYSELF_I2I_PASSPHRASE", raising=False)
    new_identity("@locked", passphrase="correct horse")
    assert client.get("/api/identity").json()["encrypted"] is True
    art = save(illustration(300, 300, seed=2), tmp_path / "a.png")
    r = client.post("/api/protect", files=[("files", _png(art))], headers=H)
    assert r.status_code == 400 and "passphrase" in r.json()["error"]["en"]
    r = client.post(
        "/api/protect",
        files=[("files", _png(art))],
        data={"passphrase": "correct horse"},
        headers=H,
    )
    assert r.status_code == 200, r.text
