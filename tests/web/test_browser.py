"""The page in a real browser: Debian's Chromium driven by Playwright (never downloaded).

Screenshots go to ``test-artifacts/web/`` (gitignored) for people to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from myself_i2i.web import WebConfig, create_app
from tests.core_helpers import serve_in_thread
from tests.web.conftest import Pictures, RecoveredCopy

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
RECOVERED_BG = "rgb(229, 238, 250)"
GREEN = "rgb(10, 107, 44)"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve_in_thread(create_app(WebConfig(workers=1))) as url:
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


def _green_marks(pg: Page) -> list[str]:
    """Texts of the result's marks and badges drawn in the 'good' green."""
    found: list[str] = pg.evaluate(
        """(green) => [...document.querySelectorAll('#result .mark, #result .badge')]
             .filter(e => e.offsetParent !== null && getComputedStyle(e).color === green)
             .map(e => e.textContent)""",
        GREEN,
    )
    return found


def test_tampered_is_red_says_what_changed_and_has_no_green_ticks(
    page: Page, pictures: Pictures
) -> None:
    _verify(page, pictures.tampered_png, text="#Myself_i2i")
    assert _banner(page) == ("tampered", "Tampered", BAD_BG)
    problems = page.inner_text("#problems")
    assert "changed after signing" in problems
    # internal codes only in the details, which start closed
    assert "hash.mismatch" not in problems
    assert "hash.mismatch" not in page.inner_text("#result")
    assert page.locator("details.more").get_attribute("open") is None
    assert "hash.mismatch" in page.locator("#all-checks").text_content()  # type: ignore[operator]
    # the signer is still shown; what passed is neutral under a red verdict
    assert page.inner_text("#signer-name") == "alice"
    assert _green_marks(page) == []
    assert page.locator("#result .sev-info").count() == 0
    assert page.locator("#result .sev-neutral").count() >= 1
    _shot(page, "tampered")


def _patched_reports(
    pg: Page, server: str, image: Path, changes: dict[str, object], text: str = ""
) -> None:
    """Answer with the real server's report on ``image``, changed as a newer library would.

    (Playwright's ``route.fetch`` loses the multipart file, so the report is fetched here.)
    """
    import httpx

    def handle(route: Any) -> None:
        resp = httpx.post(
            server + "/api/verify?include=thumbnails",
            files={"image": (image.name, image.read_bytes())},
            data={"text": text} if text else None,
            timeout=60,
        )
        body = resp.json()
        for key, value in changes.items():
            if key.startswith("signer."):
                body["signer"][key.split(".", 1)[1]] = value
            else:
                body[key] = value
        route.fulfill(status=200, json=body)

    pg.route("**/api/verify*", handle)


def test_tampered_shows_the_key_token_and_whether_it_matched_the_post(
    page: Page, server: str, pictures: Pictures
) -> None:
    _patched_reports(
        page,
        server,
        pictures.tampered_png,
        {
            "signer.token": pictures.identity.token,
            "signer.tokenMatchesPost": True,
            "signer.signedAt": "2026-11-30T09:15:00Z",
            "signer.subject": "CN=alice",
            "signer.issuer": "CN=alice personal CA",
        },
        f"#Myself_i2i {pictures.identity.token}",
    )
    _verify(page, pictures.tampered_png, text=f"#Myself_i2i {pictures.identity.token}")
    assert _banner(page)[0] == "tampered"
    assert page.inner_text("#signer-token") == pictures.identity.token
    trust = page.locator("#signer-trust")
    assert trust.get_attribute("data-match") == "true"
    assert "Key token matches" in trust.inner_text()
    assert _green_marks(page) == []  # the matching token is not a green badge here
    signed = page.inner_text("#signed-at")
    assert signed.startswith("Signed at: ") and "30 Nov 2026" in signed
    assert page.locator("#signed-at time").get_attribute("datetime") == "2026-11-30T09:15:00Z"
    assert "CN=alice personal CA" in page.inner_text("#signer-cert")
    page.click("#lang")
    assert page.inner_text("#signed-at").startswith("署名日時：2026年11月30日")
    assert "キートークン一致" in page.inner_text("#signer-trust")
    _shot(page, "tampered-token-ja")


def test_a_null_signing_time_says_not_recorded(page: Page, server: str, pictures: Pictures) -> None:
    _patched_reports(page, server, pictures.t2i_jpeg, {"signer.signedAt": None})
    _verify(page, pictures.t2i_jpeg)
    assert page.inner_text("#signed-at") == "Signed at: not recorded"


@pytest.mark.parametrize(
    ("verdict", "title"),
    [
        ("credential-invalid", "Signing certificate not acceptable"),
        ("invalid", "Invalid manifest"),
        ("something-new", "something-new"),  # an unknown verdict fails closed: red
    ],
)
def test_new_verdicts_are_red(
    page: Page, server: str, pictures: Pictures, verdict: str, title: str
) -> None:
    _patched_reports(page, server, pictures.t2i_jpeg, {"verdict": verdict})
    _verify(page, pictures.t2i_jpeg)
    assert _banner(page) == (verdict, title, BAD_BG)
    assert _green_marks(page) == []


def test_no_cli_command_on_the_page(page: Page, pictures: Pictures) -> None:
    # the untrusted-signer report's message suggests `myself-i2i trust add TOKEN` to CLI users
    _verify(page, pictures.t2i_jpeg)
    page.click("details.more summary")
    shown = page.inner_text("#result").split("{", 1)[0]  # the raw JSON is raw
    assert "myself-i2i" not in shown and "`" not in shown and "trust add" not in shown
    assert "with the one in the creator's profile" in shown
    page.click("#lang")
    shown = page.inner_text("#result").split("{", 1)[0]
    assert "myself-i2i" not in shown and "作者のプロフィールのものと見比べ" in shown


def test_unsigned(page: Page, pictures: Pictures) -> None:
    _verify(page, pictures.unsigned_png, text="look #Myself_i2i")
    assert _banner(page) == ("unsigned", "Unsigned", NEUTRAL_BG)
    assert "cannot be verified" in page.inner_text("#result")
    _shot(page, "unsigned")


def test_not_an_image_shows_the_bilingual_error(page: Page, tmp_path: Path) -> None:
    bogus = tmp_path / "notes.png"
    bogus.write_bytes(b"just some notes, not a picture\n" * 4)
    page.set_input_files("#image", str(bogus))
    page.click("#submit")
    page.wait_for_selector("#status.error")
    assert "not an image or media file" in page.inner_text("#status")
    assert page.locator("#result").is_hidden()
    page.click("#lang")
    assert "C2PA を格納できる画像・メディアファイル" in page.inner_text("#status")


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
    # Japanese labels take the full-width colon, like the rest of the card
    shown = pg.inner_text("#result")
    assert all(f"{label}：" in shown for label in ("ソフトウェア", "モデル", "LoRA")), shown
    assert not any(f"{label}: " in shown for label in ("ソフトウェア", "モデル", "LoRA"))
    # nothing wider than the screen: no sideways scrolling on a phone
    assert pg.evaluate("document.documentElement.scrollWidth") <= 375
    _shot(pg, "phone-verified-ja")
    ctx.close()


def test_labels_for_every_field(page: Page) -> None:
    for field in ("image", "text", "key_token", "against"):
        assert page.locator(f"label[for={field}]").count() >= 1, field


def test_recovered_looks_different_and_names_no_server_path(
    browser: Browser, pictures: Pictures, recovered_copy: RecoveredCopy
) -> None:
    """A copy re-encoded like X (manifest stripped, JPEG q85, smaller) is recovered."""
    config = WebConfig(
        workers=1,
        repositories=(str(recovered_copy.repository),),
        use_default_repositories=False,
    )
    with serve_in_thread(create_app(config)) as url:
        ctx = browser.new_context(locale="en-US", viewport={"width": 1000, "height": 900})
        try:
            pg = ctx.new_page()
            pg.goto(url + "/")
            _verify(pg, recovered_copy.copy, text="#Myself_i2i", token=pictures.identity.token)
            verdict, title, bg = _banner(pg)
            assert (verdict, title, bg) == (
                "recovered",
                "Recovered from a repository",
                RECOVERED_BG,
            )
            assert bg != GOOD_BG
            assert pg.inner_text("#verdict .icon") == "↻"
            assert "bytes cannot be checked" in pg.inner_text("#verdict-note")
            text = pg.inner_text("#result")
            assert "via watermark in repo" in text
            pg.click("details.more summary")
            assert str(recovered_copy.repository.parent) not in pg.inner_text("#result")
            _shot(pg, "recovered-from-x")
            pg.click("#lang")
            assert "検証できません" in pg.inner_text("#verdict-note")
            assert "電子透かし" in pg.inner_text("#result")
        finally:
            ctx.close()


def test_a_public_server_says_what_trusted_means(
    browser: Browser, server: str, pictures: Pictures
) -> None:
    with serve_in_thread(create_app(WebConfig(workers=1, public=True))) as url:
        ctx = browser.new_context(locale="en-US")
        try:
            pg = ctx.new_page()
            pg.goto(url + "/")
            note = pg.locator("#trust-note")
            note.wait_for(state="visible")
            assert "only" in note.inner_text() and "operator of this server" in note.inner_text()
            pg.click("#lang")
            assert "運営者が登録した鍵" in note.inner_text()
        finally:
            ctx.close()
    # a private server (the default) says nothing of the kind
    ctx = browser.new_context(locale="en-US")
    pg = ctx.new_page()
    pg.goto(server + "/")
    pg.wait_for_load_state("networkidle")
    assert pg.locator("#trust-note").is_hidden()
    ctx.close()
