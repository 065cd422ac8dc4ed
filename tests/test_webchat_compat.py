"""An unmodified Rasa widget (rasa-webchat 1.0.1 from npm) against the real stack.

The spec promises compatibility with Rasa's socket.io protocol. rasa-webchat
renders a `bot_uttered` only in Rasa's exact shapes (`{text}`, `{text,
quick_replies}`, an attachment), so the channel sends this protocol's extras only
to clients that ask for them (`bot.channels.widget.asks_for_extras`). This test
loads the published package in Debian's chromium, next to the project's own
widget tests (tests/test_widget_browser.py), and holds a conversation with it.

The package comes from the npm registry with `npm pack` (the tarball only, its
integrity checked against the one pinned here) into `.cache/`; the page is served
from another local web site that the stack allows to embed the chat
(`RunningStack.site_origin`), as a customer's own site would.
"""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import RunningStack
from playwright.sync_api import Page, expect
from test_widget_browser import (  # noqa: F401 - fixtures used by name
    ANSWER_TIMEOUT_MS,
    browser,
    new_page,
)

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache" / "rasa-webchat-1.0.1"
PACKAGE = "rasa-webchat@1.0.1"
# `npm view rasa-webchat@1.0.1 dist.integrity`
INTEGRITY = (
    "sha512-Ld1zVJvTAaTrs6A5p8t70agNNrKYRyXlvqXZRgBoDvKKUXbA0jhJKECi5bdPGl"
    "aR6jsmqWtVylHS+YqIqo0x8w=="
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


@pytest.fixture
def webchat_site(running_stack: RunningStack) -> Iterator[str]:
    """Another web site (allowed by the channel) whose page embeds rasa-webchat."""
    files = {
        "/": PAGE.replace("%(rasa_url)s", f"http://localhost:{running_stack.config.rasa_port}"),
        "/rasa-webchat/index.js": webchat_bundle().read_text(),
    }

    class Site(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path == "/favicon.ico":
                self.send_response(204)
                self.end_headers()
                return
            body = files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            data = body.encode()
            kind = "text/html" if self.path == "/" else "application/javascript"
            self.send_response(200)
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", running_stack.site_port), Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield running_stack.site_origin
    server.shutdown()
    server.server_close()


@pytest.fixture
def webchat_page(new_page: Any, webchat_site: str) -> Page:  # noqa: F811 - the fixture
    # rasa-webchat asks Google for a font this machine can't reach: a network error.
    page = new_page(network_errors=True)
    page.goto(webchat_site + "/")
    return page


def test_rasa_webchat_from_npm_holds_a_conversation(webchat_page: Page) -> None:
    page = webchat_page
    page.locator(".rw-launcher").click()
    # Greeted once rasa-webchat sends its first user_uttered (with customData: English).
    responses = page.locator(".rw-response")
    expect(responses.first).to_contain_text("Hi and welcome", timeout=ANSWER_TIMEOUT_MS)

    page.locator(".rw-new-message").fill("Why did I get a reminder fee?")
    page.locator(".rw-new-message").press("Enter")
    expect(page.locator(".rw-client").last).to_contain_text(
        "Why did I get a reminder fee?", timeout=ANSWER_TIMEOUT_MS
    )
    expect(responses.last).to_contain_text(
        re.compile(r"\bfee", re.IGNORECASE), timeout=ANSWER_TIMEOUT_MS
    )

    # Buttons arrive as rasa-webchat's quick replies; a click sends the payload.
    page.locator(".rw-new-message").fill("I'd like to talk to a person")
    page.locator(".rw-new-message").press("Enter")
    chat = page.locator(".rw-reply", has_text=re.compile("chat", re.IGNORECASE))
    expect(chat).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    chat.click()
    # The ticket's message; a queue-position note may come after it (other handoffs wait).
    ticket = page.locator(".rw-response", has_text=re.compile(r"T-\d+"))
    expect(ticket.first).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    # Nothing of this protocol's extras leaked into the conversation as text.
    assert "seq" not in page.locator(".rw-messages-container").inner_text()
