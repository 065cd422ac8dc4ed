"""An unmodified Rasa widget (rasa-webchat 1.0.1 from npm) against the real stack.

The spec promises compatibility with Rasa's socket.io protocol. rasa-webchat
renders a `bot_uttered` only in Rasa's exact shapes (`{text}`, `{text,
quick_replies}`, an attachment), so the channel sends this protocol's extras only
to clients that ask for them (`bot.channels.widget.asks_for_extras`). This test
loads the published package in Debian's chromium, next to the project's own
widget tests (tests/test_widget_browser.py), and holds a conversation with it.

The package comes from the npm registry with `npm pack` (the tarball only, its
integrity checked against the one pinned here) into `.cache/`; the page is served
by Playwright at the demo site's origin, which the channel allows.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import RunningStack
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from tests.test_widget_browser import ANSWER_TIMEOUT_MS, CHROMIUM, CHROMIUM_ARGS

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache" / "rasa-webchat-1.0.1"
PACKAGE = "rasa-webchat@1.0.1"
# `npm view rasa-webchat@1.0.1 dist.integrity`
INTEGRITY = (
    "sha512-Ld1zVJvTAaTrs6A5p8t70agNNrKYRyXlvqXZRgBoDvKKUXbA0jhJKECi5bdPGlaR6jsmqWtVylHS+YqIqo0x8w=="
)


def webchat_bundle() -> Path:
    """rasa-webchat's standalone build (lib/index.js), fetched once and kept."""
    bundle = CACHE / "package" / "lib" / "index.js"
    if bundle.exists():
        return bundle
    CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["npm", "pack", PACKAGE, "--pack-destination", str(CACHE), "--silent"],
        check=True,
        cwd=CACHE,
        timeout=300,
    )
    tarball = CACHE / "rasa-webchat-1.0.1.tgz"
    digest = base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
    assert f"sha512-{digest}" == INTEGRITY, "the downloaded rasa-webchat is not the pinned one"
    with tarfile.open(tarball) as archive:
        archive.extract("package/lib/index.js", CACHE, filter="data")
    return bundle


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rasa-webchat</title></head>
<body>
<div id="webchat"></div>
<script src="/rasa-webchat/index.js"></script>
<script>
  WebChat.default({
    selector: "#webchat",
    socketUrl: "%(rasa_url)s",
    socketPath: "/socket.io/",
    customData: { language: "en" },
    title: "Customer service",
    params: { storage: "session" },
  }, null);
</script>
</body></html>
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run tools/ensure-packages.sh (as root)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def webchat_page(browser: Browser, running_stack: RunningStack) -> Iterator[Page]:
    """rasa-webchat on a page at the demo site's origin (allowed by the channel)."""
    bundle = webchat_bundle().read_bytes()
    config = running_stack.config
    origin = f"http://localhost:{config.bot_port}"
    page_html = PAGE % {"rasa_url": f"http://localhost:{config.rasa_port}"}
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(ANSWER_TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def serve(route: Route) -> None:
        if route.request.url.endswith("/rasa-webchat/index.js"):
            route.fulfill(body=bundle, content_type="application/javascript")
        else:
            route.fulfill(body=page_html, content_type="text/html")

    page.route(f"{origin}/rasa-webchat/**", serve)
    page.goto(f"{origin}/rasa-webchat/")
    yield page
    context.close()
    assert not errors, errors


def test_rasa_webchat_from_npm_holds_a_conversation(webchat_page: Page) -> None:
    page = webchat_page
    page.locator(".rw-launcher").click()
    # The channel greets a new session by itself, in the page's language (customData).
    responses = page.locator(".rw-response")
    expect(responses.first).to_contain_text("Hi and welcome")

    before = responses.count()
    page.locator(".rw-new-message").fill("What are your opening hours?")
    page.locator(".rw-new-message").press("Enter")
    expect(page.locator(".rw-client").last).to_contain_text("What are your opening hours?")
    expect(responses.nth(before)).to_be_visible()
    answer = " ".join(responses.all_inner_texts()[before:])
    assert "8:00" in answer or "08:00" in answer or "open" in answer.lower(), answer

    # A question with buttons: rasa-webchat shows them as quick replies and a click
    # sends the payload.
    page.locator(".rw-new-message").fill("I'd like to move the due date of invoice 1001")
    page.locator(".rw-new-message").press("Enter")
    expect(responses.last).to_contain_text("reference")
