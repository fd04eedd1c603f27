"""The page in a real browser: Debian's Chromium driven by Playwright (never downloaded).

Screenshots go to ``test-artifacts/web/`` (gitignored) for people to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from myself_i2i.web import create_app
from tests.core_helpers import serve_in_thread
from tests.web.conftest import Pictures

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's Chromium at /usr/bin/chromium (apt-get install -y chromium)",
    ),
]

#: Verdict colours from style.css (background of the verdict banner).
GOOD_BG = "rgb(230, 244, 234)"
CAUTION_BG = "rgb(255, 243, 214)"
NEUTRAL_BG = "rgb(236, 236, 240)"
BAD_BG = "rgb(253, 232, 230)"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve_in_thread(create_app()) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser, server: str) -> Iterator[Page]:
    ctx = browser.new_context(locale="en-US", viewport={"width": 1000, "height": 900})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    # (an HTTP error status is logged by Chromium as "Failed to load resource": expected)
    pg.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    # Only this server: any other request would be a CDN or a leak.
    pg.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(server)
            or route.request.url.startswith(("data:", "blob:"))
            else route.abort()
        ),
    )
    pg.goto(server + "/")
    yield pg
    ctx.close()
    assert errors == [], errors


def _verify(
    pg: Page, image: Path, text: str = "", token: str = "", against: Path | None = None
) -> None:
    pg.set_input_files("#image", str(image))
    if text:
        pg.fill("#text", text)
    if token:
        pg.fill("#key_token", token)
    if against is not None:
        pg.click("details.against summary")
        pg.set_input_files("#against", str(against))
    pg.click("#submit")
    pg.wait_for_selector("#verdict", timeout=30_000)
    # every part of the card is an element: no stray text such as "null" between sections
    stray = pg.evaluate(
        "[...document.getElementById('result').childNodes].filter(n => n.nodeType === 3).length"
    )
    assert stray == 0


def _shot(pg: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _banner(pg: Page) -> tuple[str, str, str]:
    v = pg.locator("#verdict")
    bg = str(v.evaluate("e => getComputedStyle(e).backgroundColor"))
    return str(v.get_attribute("data-verdict")), pg.inner_text("#verdict-title"), bg


def test_verified_i2i_with_source_tree_and_evidence(page: Page, pictures: Pictures) -> None:
    _verify(
        page,
        pictures.i2i_png,
        text="my new picture #Myself_i2i",
        token=pictures.identity.token,
        against=pictures.source,
    )
    assert _banner(page) == ("verified", "Verified", GOOD_BG)
    assert page.inner_text("#signer-name") == "alice"
    tree = page.locator("#source-tree")
    assert "my-original.png" in tree.inner_text()
    assert "used with the author's permission" in tree.inner_text()
    # the source thumbnail came from the manifest as a data: URL
    srcs = tree.locator("img.thumb").evaluate_all("els => els.map(e => e.src.slice(0, 11))")
    assert "data:image/" in srcs
    assert "IS one of the declared sources" in page.inner_text("#result")
    _shot(page, "verified-i2i")


def test_untrusted_t2i_signer(page: Page, pictures: Pictures) -> None:
    _verify(page, pictures.t2i_jpeg, text="#Myself_i2i")
    assert _banner(page) == ("untrusted-signer", "Signer not known", CAUTION_BG)
    assert "Not trusted" in page.inner_text("#result")
    assert "Text only (t2i)" in page.inner_text("#result")
    _shot(page, "untrusted-t2i")


def test_tampered_is_red_and_says_what_changed(page: Page, pictures: Pictures) -> None:
    _verify(page, pictures.tampered_png, text="#Myself_i2i")
    assert _banner(page) == ("tampered", "Tampered", BAD_BG)
    assert "hash.mismatch" in page.inner_text("#problems")
    _shot(page, "tampered")


def test_unsigned(page: Page, pictures: Pictures) -> None:
    _verify(page, pictures.unsigned_png, text="look #Myself_i2i")
    assert _banner(page) == ("unsigned", "Unsigned", NEUTRAL_BG)
    assert "cannot be verified" in page.inner_text("#result")
    _shot(page, "unsigned")


def test_not_an_image_shows_the_bilingual_error(page: Page, tmp_path: Path) -> None:
    bogus = tmp_path / "notes.png"
    bogus.write_bytes(b"GIF89a" + b"\0" * 64)
    page.set_input_files("#image", str(bogus))
    page.click("#submit")
    page.wait_for_selector("#status.error")
    assert "not a PNG, JPEG or WebP" in page.inner_text("#status")
    assert page.locator("#result").is_hidden()
    page.click("#lang")
    assert "PNG・JPEG・WebP 画像ではありません" in page.inner_text("#status")


def test_japanese_switch_and_default(
    page: Page, browser: Browser, server: str, pictures: Pictures
) -> None:
    _verify(page, pictures.tampered_png)
    page.click("#lang")
    assert page.get_attribute("html", "lang") == "ja"
    assert page.inner_text("#verdict-title") == "改ざん"
    assert "署名後に" in page.inner_text("#verdict-summary")
    assert page.inner_text("#submit") == "検証する"
    _shot(page, "tampered-ja")
    # a Japanese browser starts in Japanese
    ctx = browser.new_context(locale="ja-JP")
    pg = ctx.new_page()
    pg.goto(server + "/")
    assert pg.get_attribute("html", "lang") == "ja"
    assert pg.inner_text("#submit") == "検証する"
    ctx.close()


def test_phone_width(browser: Browser, server: str, pictures: Pictures) -> None:
    ctx = browser.new_context(
        locale="ja-JP",
        viewport={"width": 375, "height": 812},
        device_scale_factor=2,
        is_mobile=True,
    )
    pg = ctx.new_page()
    pg.goto(server + "/")
    _verify(pg, pictures.i2i_png, text="新作 #Myself_i2i", token=pictures.identity.token)
    assert _banner(pg)[0] == "verified"
    # nothing wider than the screen: no sideways scrolling on a phone
    assert pg.evaluate("document.documentElement.scrollWidth") <= 375
    _shot(pg, "phone-verified-ja")
    ctx.close()


def test_labels_for_every_field(page: Page) -> None:
    for field in ("image", "text", "key_token", "against"):
        assert page.locator(f"label[for={field}]").count() >= 1, field


def test_recovered_copy_from_a_repository(
    browser: Browser, pictures: Pictures, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A copy re-encoded like X (manifest stripped, JPEG q85, smaller) is recovered."""
    import io

    from PIL import Image

    from myself_i2i._internal.containers import strip_manifest
    from myself_i2i.repository import LocalRepository
    from myself_i2i.sign import SignOptions, sign_image
    from myself_i2i.testing import illustration, save
    from myself_i2i.web import WebConfig

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

    config = WebConfig(repositories=(str(d / "repo"),), use_default_repositories=False)
    with serve_in_thread(create_app(config)) as url:
        ctx = browser.new_context(locale="en-US", viewport={"width": 1000, "height": 900})
        try:
            pg = ctx.new_page()
            pg.goto(url + "/")
            _verify(pg, copy, text="#Myself_i2i", token=pictures.identity.token)
            verdict, title, bg = _banner(pg)
            assert verdict == "recovered" and bg == GOOD_BG, (verdict, title, bg)
            assert "via watermark" in pg.inner_text("#result")
            _shot(pg, "recovered-from-x")
        finally:
            ctx.close()
