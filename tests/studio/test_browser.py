"""The studio in a real browser: Debian's Chromium driven by Playwright (never downloaded).

Screenshots go to ``test-artifacts/studio/`` (gitignored) for people to look at.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from myself_i2i._internal import c2pa_backend
from myself_i2i.grants import parse_grant
from myself_i2i.protect import PROTECTION_LABELS
from myself_i2i.studio import create_studio_app
from tests.core_helpers import serve_in_thread
from tests.studio.conftest import People, make_people, x_copy

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "studio"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's Chromium at /usr/bin/chromium (apt-get install -y chromium)",
    ),
]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve_in_thread(create_studio_app()) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield b
        b.close()


def _page(browser: Browser, server: str, locale: str = "en-US") -> Page:
    ctx = browser.new_context(
        locale=locale, viewport={"width": 900, "height": 1000}, accept_downloads=True
    )
    pg = ctx.new_page()
    pg.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith((server, "data:", "blob:"))
            else route.abort()
        ),
    )
    pg.goto(server + "/")
    return pg


def _shot(pg: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _drop(pg: Page, target: str, path: Path) -> None:
    """A real drag and drop: a DataTransfer holding the file, dropped on ``target``."""
    b64 = base64.b64encode(path.read_bytes()).decode()
    pg.evaluate(
        """([sel, name, b64]) => {
          const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
          const dt = new DataTransfer();
          dt.items.add(new File([bytes], name, { type: "image/png" }));
          const el = document.querySelector(sel);
          el.dispatchEvent(new DragEvent("dragover", { dataTransfer: dt, bubbles: true }));
          el.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true }));
        }""",
        [target, path.name, b64],
    )


def _download(pg: Page, link: str, to: Path) -> Path:
    with pg.expect_download() as info:
        pg.click(link)
    info.value.save_as(str(to))
    return to


def test_protect_grant_refuse_and_sign(
    browser: Browser, server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    people: People = make_people(tmp_path)
    # 1. The artist drops a drawing, protects it and downloads the protected copy.
    monkeypatch.setenv("MYSELF_I2I_HOME", str(people.artist_home))
    pg = _page(browser, server)
    pg.wait_for_selector("#id-token:has-text('mi2i:')")
    assert pg.inner_text("#id-name") == "@hanako_draws"
    _drop(pg, "#protect-drop", people.drawing)
    assert "hanako.png" in pg.inner_text("#protect-names")
    pg.click("#protect-form button[type=submit]")
    pg.wait_for_selector("#protect-results a.download", timeout=60_000)
    protected = _download(pg, "#protect-results a.download", tmp_path / "hanako.protected.png")
    read = c2pa_backend.read_manifest(protected.read_bytes(), "image/png")
    assert read is not None and read.active is not None
    assert read.active.assertion(*PROTECTION_LABELS) is not None
    _shot(pg, "1-protected")

    # 2. She makes a grant for the AI user's token and downloads it.
    pg.set_input_files("#permit-artwork", str(protected))
    pg.fill("#permit-to", people.ai.token)
    pg.fill("#permit-note", "for the fan art contest")
    pg.click("#permit-form button[type=submit]")
    pg.wait_for_selector("#permit-results a.download", timeout=30_000)
    grant = _download(pg, "#permit-results a.download", tmp_path / "for_ai.grant")
    g = parse_grant(grant.read_bytes())
    assert g.grantee_token == people.ai.token and g.grantor_token == people.artist.token
    assert people.ai.token in pg.inner_text("#permit-msg")
    _shot(pg, "2-grant")
    pg.context.close()

    # 3. The AI user tries i2i from the X copy: refused, the artist's name on screen.
    monkeypatch.setenv("MYSELF_I2I_HOME", str(people.ai_home))
    x = x_copy(protected, tmp_path / "from_x.jpg")
    pg = _page(browser, server)
    pg.wait_for_selector("#id-name:has-text('@ai_user')")
    pg.set_input_files("#sign-image", str(people.generated))
    pg.set_input_files("#sign-sources", str(x))
    pg.click("#sign-form button[type=submit]")
    pg.wait_for_selector("#sign-msg.error", timeout=60_000)
    msg = pg.inner_text("#sign-msg")
    assert "@hanako_draws" in msg and people.artist.token in msg and "grant" in msg
    assert msg.startswith("from_x.jpg: ")  # the file's name, not the studio's private folder
    assert not pg.is_visible("#id-form")  # the identity exists: no creation form
    pg.locator("#sign").scroll_into_view_if_needed()
    _shot(pg, "3-refused")

    # 4. With the grant, signing succeeds and the signed image downloads.
    pg.set_input_files("#sign-grants", str(grant))
    pg.click("#sign-form button[type=submit]")
    pg.wait_for_selector("#sign-msg.ok", timeout=60_000)
    assert "permitted-by-grant" in pg.inner_text("#sign-msg")
    signed = _download(pg, "#sign-results a.download", tmp_path / "generated.signed.png")
    assert signed.stat().st_size > 0
    pg.locator("#sign").scroll_into_view_if_needed()
    _shot(pg, "4-signed")
    pg.context.close()


def test_japanese_and_refused_source_in_japanese(
    browser: Browser, server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from myself_i2i.protect import ProtectOptions, protect_artwork

    people = make_people(tmp_path)
    monkeypatch.setenv("MYSELF_I2I_HOME", str(people.artist_home))
    protected = protect_artwork(
        people.drawing, people.artist, options=ProtectOptions(keep_in_repository=False)
    ).output
    monkeypatch.setenv("MYSELF_I2I_HOME", str(people.ai_home))
    pg = _page(browser, server, locale="ja-JP")
    assert pg.inner_text("h1") == "myself_i2i スタジオ"
    pg.set_input_files("#sign-image", str(people.generated))
    pg.set_input_files("#sign-sources", str(x_copy(protected, tmp_path / "x.jpg")))
    pg.click("#sign-form button[type=submit]")
    pg.wait_for_selector("#sign-msg.error", timeout=60_000)
    assert "@hanako_draws" in pg.inner_text("#sign-msg") and "許可証" in pg.inner_text("#sign-msg")
    _shot(pg, "5-refused-ja")
    pg.click("#lang")
    assert pg.inner_text("h1") == "myself_i2i studio"
    pg.context.close()
