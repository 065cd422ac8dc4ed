"""The chat widget in a real browser (Playwright + Debian's chromium) against the real stack.

The demo page is served by the bot service, the widget talks socket.io to the Rasa
server's widget channel, and the bot answers from the trained model: nothing is
mocked. Chromium comes from apt (`tools/ensure-chromium.sh`), not from
`playwright install`. The screenshots in docs/ are taken here
(`UPDATE_SCREENSHOTS=1` to refresh them).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import urllib.request
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import RunningStack
from playwright.sync_api import Browser, ConsoleMessage, Locator, Page, expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # the tests run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DOCS = Path(__file__).resolve().parent.parent / "docs"
# The bot runs NLU and actions on shared cores: allow it time.
ANSWER_TIMEOUT_MS = 45_000
DESKTOP = {"width": 1280, "height": 820}


def finnish_date(day: date, year: bool = True) -> str:
    return f"{day.day}.{day.month}.{day.year}" if year else f"{day.day}.{day.month}."


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run tools/ensure-chromium.sh (as root)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class PageProblems:
    """JavaScript errors and failed requests of a page; the test fails on any."""

    NETWORK = re.compile(r"net::ERR_|WebSocket connection to .* failed")

    def __init__(self, page: Page, network_errors: bool = False) -> None:
        self.errors: list[str] = []
        self.network_errors = network_errors  # a test that cuts the network expects them
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        page.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        if self.network_errors and self.NETWORK.search(message.text):
            return
        self.errors.append(f"console: {message.text}")


@pytest.fixture
def new_page(browser: Browser, tmp_path: Path) -> Iterator[Any]:
    """Factory: a page in a fresh context (own sessionStorage), closed at the end.

    At the end each page's chat text is printed and a screenshot saved in tmp_path,
    so a failing test shows what the customer saw.
    """
    contexts = []
    pages: list[Page] = []
    problems: list[PageProblems] = []

    def make(
        viewport: dict[str, int] = DESKTOP, network_errors: bool = False, **options: Any
    ) -> Page:
        context = browser.new_context(viewport=viewport, timezone_id="Europe/Helsinki", **options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(ANSWER_TIMEOUT_MS)
        problems.append(PageProblems(page, network_errors))
        pages.append(page)
        return page

    yield make
    for number, page in enumerate(pages):
        try:
            shot = tmp_path / f"page-{number}.png"
            page.screenshot(path=str(shot), timeout=5000)
            chat = page.locator(".cw-root").inner_text(timeout=2000)
            print(f"--- page {number} ({page.url}), screenshot {shot}:\n{chat}")
        except Exception as error:  # the page may be gone; this is only for diagnosis
            print(f"--- page {number}: no snapshot ({error})")
    for context in contexts:
        context.close()
    errors = [error for watcher in problems for error in watcher.errors]
    assert not errors, "the page logged errors:\n" + "\n".join(errors)


class Widget:
    """The customer's view of the chat widget on a page."""

    scratch = Path(tempfile.gettempdir()) / "widget-screenshots"

    def __init__(self, page: Page, language: str = "fi") -> None:
        self.page = page
        self.language = language
        self.launcher = page.locator(".cw-launcher")
        self.panel = page.locator(".cw-panel")
        self.log = page.get_by_role("log")
        self.input = page.locator(".cw-input")
        self.quick_replies = page.locator(".cw-quick")
        self.banner = page.locator(".cw-banner")

    def open(self) -> None:
        self.launcher.click()
        expect(self.panel).to_be_visible()

    def greeted(self, words: str) -> None:
        expect(self.bot_messages().first).to_contain_text(words, timeout=ANSWER_TIMEOUT_MS)

    def bot_messages(self) -> Locator:
        return self.log.locator(".cw-msg--bot .cw-bubble")

    def customer_messages(self) -> Locator:
        return self.log.locator(".cw-msg--user")

    def say(self, text: str) -> None:
        """Type and send with Enter; wait for the server's receipt (the ✓)."""
        before = self.customer_messages().count()
        self.input.fill(text)
        self.input.press("Enter")
        expect(self.customer_messages()).to_have_count(before + 1)
        self.expect_delivered(self.customer_messages().last)
        expect(self.input).to_have_value("")

    def expect_delivered(self, message: Locator) -> None:
        expect(message.locator(".cw-status .cw-icon")).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
        expect(message).not_to_have_class(re.compile(r"cw-msg--pending"))

    def answer_contains(self, pattern: str | re.Pattern[str]) -> None:
        expect(self.log).to_contain_text(pattern, timeout=ANSWER_TIMEOUT_MS)

    def click_reply(self, title: str | re.Pattern[str]) -> None:
        before = self.customer_messages().count()
        button = self.quick_replies.get_by_role("button", name=title)
        shown = button.first.inner_text()
        button.first.click()
        expect(self.customer_messages()).to_have_count(before + 1)
        expect(self.customer_messages().last).to_contain_text(shown)
        self.expect_delivered(self.customer_messages().last)

    def session_id(self) -> str:
        state = self.page.evaluate(
            """() => {
                const key = Object.keys(sessionStorage).find(k => k.startsWith('supportchat:'));
                return JSON.parse(sessionStorage.getItem(key));
            }"""
        )
        return state["token"].split(".")[0]

    def screenshot(self, name: str) -> None:
        """Docs screenshot, once the panel's animation and the typing dots are done.

        Written to docs/ when missing or with UPDATE_SCREENSHOTS=1 (so that a test
        run leaves the working tree clean), else next to the test's temporary files.
        """
        expect(self.page.locator(".cw-typing")).to_be_hidden(timeout=ANSWER_TIMEOUT_MS)
        self.page.wait_for_timeout(400)
        # The log follows the conversation: the newest message is in view.
        expect(self.log.locator(".cw-msg").last).to_be_in_viewport(ratio=0.9)
        target = DOCS / name
        if target.exists() and os.environ.get("UPDATE_SCREENSHOTS") != "1":
            target = self.scratch / name
        target.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(target))


def push(stack: RunningStack, conversation_id: str, event: str, data: dict[str, Any]) -> Any:
    """What the helpdesk does: send an event to the customer's widget."""
    request = urllib.request.Request(
        f"{stack.config.rasa_url}/webhooks/widget/push",
        data=json.dumps(
            {"conversation_id": conversation_id, "event": event, "data": data}
        ).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {stack.helpdesk_token}",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


# --- 1. the Finnish due-date extension, then a person ------------------------------


def test_finnish_customer_moves_a_due_date_then_asks_for_a_person(
    running_stack: RunningStack, new_page: Any, fresh_demo_invoices: Any
) -> None:
    page = new_page()
    page.goto(running_stack.config.bot_url + "/")
    expect(page).to_have_title(re.compile("Laskutus Oy"))
    widget = Widget(page)
    expect(widget.launcher).to_have_accessible_name("Asiakaspalvelun chat")
    widget.open()
    widget.greeted("virtuaaliavustaja")

    widget.say("Voinko siirtää laskun 1001 eräpäivää?")
    widget.answer_contains("viitenumero")

    today = date.today()
    widget.say("10016")
    widget.answer_contains(finnish_date(today + timedelta(days=5)))  # the current due date

    new_due = today + timedelta(days=15)
    widget.say(finnish_date(new_due, year=False))
    expect(widget.quick_replies.get_by_role("button", name=re.compile("^Kyllä"))).to_be_visible(
        timeout=ANSWER_TIMEOUT_MS
    )
    widget.screenshot("widget-fi.png")

    widget.click_reply(re.compile("^Kyllä"))
    expect(widget.bot_messages().last).to_contain_text(finnish_date(new_due))
    expect(widget.log).to_contain_text("Valmista")

    page.get_by_role("button", name="Keskustele ihmisen kanssa").click()
    expect(widget.customer_messages().last).to_contain_text("Keskustele ihmisen kanssa")
    widget.click_reply("Tässä chatissa")

    ticket = re.compile(r"T-\d+")
    widget.answer_contains(ticket)
    expect(widget.banner).to_be_visible()
    expect(widget.banner).to_contain_text(ticket)
    expect(widget.banner).to_contain_text("Vastaus viimeistään")
    ticket_number = ticket.search(widget.banner.inner_text()).group(0)
    # The ticket message tells the number and the time; a queue position may follow it.
    told = widget.bot_messages().filter(has_text=ticket_number).last
    expect(told).to_contain_text("viimeistään")


# --- 2. message text is never HTML -----------------------------------------------------


def test_markup_in_messages_is_shown_as_text(running_stack: RunningStack, new_page: Any) -> None:
    page = new_page()
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(running_stack.config.bot_url + "/")
    widget = Widget(page)
    widget.open()
    widget.greeted("virtuaaliavustaja")

    attack = "<img src=x onerror=alert(1)>"
    # Counted before sending: the answer may arrive before the receipt has been checked.
    bot_before = widget.bot_messages().count()
    widget.say(attack)
    expect(widget.customer_messages().last.locator(".cw-bubble")).to_have_text(
        re.compile(re.escape(attack))
    )
    expect(widget.bot_messages()).not_to_have_count(bot_before, timeout=ANSWER_TIMEOUT_MS)

    # The same from the other side: an agent's reply and its buttons, pushed by the helpdesk.
    push(
        running_stack,
        widget.session_id(),
        "bot_uttered",
        {
            "text": "Hei <img src=x onerror=alert(2)> <script>alert(3)</script>\nrivi 2",
            "buttons": [{"title": "<img src=x onerror=alert(4)>", "payload": "/greet"}],
        },
    )
    expect(widget.bot_messages().last).to_contain_text("<script>alert(3)</script>")
    chip = widget.quick_replies.get_by_role("button", name="<img src=x onerror=alert(4)>")
    expect(chip).to_be_visible()
    page.wait_for_timeout(500)

    assert page.locator(".cw-root img").count() == 0
    assert page.locator(".cw-root script").count() == 0
    assert dialogs == []
    # Line breaks are kept (white-space: pre-line), not turned into markup.
    assert "rivi 2" in widget.bot_messages().last.inner_text().split("\n")[-1]


# --- 3. keyboard only --------------------------------------------------------------------


def focused(page: Page) -> str:
    """A short name for the focused element: its widget class, or tag."""
    return page.evaluate(
        """() => {
            const el = document.activeElement;
            const cls = [...el.classList].find(c => c.startsWith('cw-'));
            return cls || el.tagName.toLowerCase();
        }"""
    )


def test_keyboard_only(running_stack: RunningStack, new_page: Any) -> None:
    page = new_page()
    page.goto(running_stack.config.bot_url + "/")
    widget = Widget(page)

    for _ in range(60):  # Tab through the page to the launcher
        page.keyboard.press("Tab")
        if focused(page) == "cw-launcher":
            break
    else:
        pytest.fail("Tab never reached the chat launcher")

    page.keyboard.press("Enter")
    expect(widget.panel).to_be_visible()
    expect(widget.launcher).to_have_attribute("aria-expanded", "true")
    assert focused(page) == "cw-input", "opening moves focus into the panel"
    widget.greeted("virtuaaliavustaja")

    # Tab order: launcher -> messages -> quick replies -> input -> send -> person -> close.
    widget.launcher.focus()
    order = []
    for _ in range(10):
        page.keyboard.press("Tab")
        name = focused(page)
        if not order or order[-1] != name:
            order.append(name)
        if name == "cw-close":
            break
    assert order == ["cw-log", "cw-chip", "cw-input", "cw-send", "cw-human", "cw-close"]
    expect(widget.log).to_have_attribute("aria-live", "polite")

    widget.input.focus()
    page.keyboard.type("Mitkä ovat aukioloajat?")
    page.keyboard.press("Enter")
    expect(widget.customer_messages().last).to_contain_text("Mitkä ovat aukioloajat?")
    widget.expect_delivered(widget.customer_messages().last)
    widget.answer_contains(re.compile(r"klo|8\.00"))

    page.keyboard.press("Escape")
    expect(widget.panel).to_be_hidden()
    assert focused(page) == "cw-launcher", "closing returns focus to the launcher"
    expect(widget.launcher).to_have_attribute("aria-expanded", "false")

    # Enter opens it again with the conversation intact.
    page.keyboard.press("Enter")
    expect(widget.panel).to_be_visible()
    expect(widget.customer_messages().last).to_contain_text("Mitkä ovat aukioloajat?")


# --- 4. 320 px wide ------------------------------------------------------------------------


def test_fits_a_320px_screen(running_stack: RunningStack, new_page: Any) -> None:
    page = new_page(viewport={"width": 320, "height": 640}, is_mobile=True, has_touch=True)
    page.goto(running_stack.config.bot_url + "/")
    widget = Widget(page)
    widget.open()
    widget.greeted("virtuaaliavustaja")
    widget.say("Paljonko muistutusmaksu on?")
    widget.answer_contains("Maksumuistutus")
    widget.screenshot("widget-mobile.png")
    # Long words and addresses wrap instead of widening the panel.
    widget.say("FI2112345600000785 https://www.example.com/laskut/1001/hyvin-pitka-osoite")

    box = widget.panel.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= 320, box
    assert box["y"] >= 0 and box["y"] + box["height"] <= 640, box
    sizes = page.evaluate(
        """() => ({
            page: document.documentElement.scrollWidth,
            log: [document.querySelector('.cw-log').scrollWidth,
                  document.querySelector('.cw-log').clientWidth],
            footer: [document.querySelector('.cw-footer').scrollWidth,
                     document.querySelector('.cw-footer').clientWidth],
        })"""
    )
    assert sizes["page"] <= 320, sizes
    assert sizes["log"][0] <= sizes["log"][1], sizes
    assert sizes["footer"][0] <= sizes["footer"][1], sizes
    for control in (
        widget.input,
        page.locator(".cw-send"),
        page.locator(".cw-human"),
        page.locator(".cw-close"),
    ):
        control_box = control.bounding_box()
        assert control_box and control_box["x"] + control_box["width"] <= 320, control_box

    # Closed again, the demo page itself fits too.
    page.locator(".cw-close").click()
    expect(widget.panel).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= 320


# --- 5. English --------------------------------------------------------------------------------


def test_english_page_speaks_english(running_stack: RunningStack, new_page: Any) -> None:
    page = new_page()
    page.goto(running_stack.config.bot_url + "/")
    page.get_by_role("link", name="In English").click()
    expect(page).to_have_url(re.compile(r"/en$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    widget = Widget(page, "en")
    expect(widget.launcher).to_have_accessible_name("Customer service chat")
    page.get_by_role("button", name="Ask in the chat").click()  # the page's own button
    expect(widget.panel).to_be_visible()
    expect(page.get_by_role("button", name="Talk to a person")).to_be_visible()
    widget.greeted("virtual assistant")

    widget.say("Why did I get a reminder fee?")
    expect(widget.bot_messages()).not_to_have_count(1, timeout=ANSWER_TIMEOUT_MS)
    answer = widget.bot_messages().nth(1).inner_text()
    assert re.search(r"\b(the|you|your|fee)\b", answer, re.IGNORECASE), answer
    assert not re.search(r"\b(laskun|maksu|kiitos)\b", answer, re.IGNORECASE), answer

    page.get_by_role("button", name="Talk to a person").click()
    widget.click_reply(re.compile("chat", re.IGNORECASE))
    widget.answer_contains(re.compile(r"T-\d+"))
    expect(widget.banner).to_contain_text(re.compile(r"Ticket T-\d+"))
    expect(widget.banner).to_contain_text("Reply by")
    widget.screenshot("widget-en.png")

    link = page.get_by_role("link", name="Suomeksi")
    expect(link).to_have_attribute("href", "/")


# --- protocol: agent, reload and replay ------------------------------------------------------


def test_agent_join_and_reload_keep_everything_once(
    running_stack: RunningStack, new_page: Any
) -> None:
    page = new_page()
    page.goto(running_stack.config.bot_url + "/")
    widget = Widget(page)
    widget.open()
    widget.greeted("virtuaaliavustaja")
    widget.say("Mitkä ovat aukioloajat?")
    expect(widget.bot_messages()).not_to_have_count(1, timeout=ANSWER_TIMEOUT_MS)
    expect(page.locator(".cw-typing")).to_be_hidden()
    session = widget.session_id()

    push(running_stack, session, "handoff", {"state": "agent", "agent_name": "Aino"})
    expect(widget.banner).to_contain_text("Aino asiakaspalvelusta liittyi keskusteluun")
    push(running_stack, session, "bot_uttered", {"text": "Olen Aino. Katsotaan asiaa yhdessä."})
    expect(widget.bot_messages().last).to_contain_text("Katsotaan asiaa yhdessä")
    shown = widget.log.inner_text()

    # Away: a message arrives while the page is reloading; it is replayed once.
    page.goto("about:blank")
    push(running_stack, session, "bot_uttered", {"text": "Löysin laskusi, hetki vain."})
    page.go_back()
    widget = Widget(page)
    expect(widget.panel).to_be_visible()  # it stays open across the reload
    expect(widget.bot_messages().last).to_contain_text("Löysin laskusi")
    assert widget.session_id() == session
    page.wait_for_timeout(1000)
    text = widget.log.inner_text()
    assert text.startswith(shown.rstrip()[:200])
    for line in ("Katsotaan asiaa yhdessä", "Löysin laskusi", "Mitkä ovat aukioloajat?"):
        assert text.count(line) == 1, (line, text)
    expect(widget.banner).to_contain_text("Aino")

    push(running_stack, session, "handoff", {"state": "resolved"})
    expect(widget.banner).to_contain_text("hoidetuksi")

    # Closed, a new message shows as a badge on the launcher.
    page.locator(".cw-close").click()
    expect(widget.panel).to_be_hidden()
    push(running_stack, session, "bot_uttered", {"text": "Arvioisitko palvelun?"})
    expect(page.locator(".cw-badge")).to_have_text("1")
    expect(widget.launcher).to_have_accessible_name("Asiakaspalvelun chat, 1 uutta viestiä")
    widget.open()
    expect(page.locator(".cw-badge")).to_be_hidden()
    expect(widget.bot_messages().last).to_contain_text("Arvioisitko palvelun?")


# --- brand colour --------------------------------------------------------------------------------


def contrast_ratio(first: str, second: str) -> float:
    def luminance(css: str) -> float:
        channels = [int(value) / 255 for value in re.findall(r"\d+", css)[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize("brand", ["#ffd400", "#0b5cab", "#7fd1ff", "#222"])
def test_any_brand_colour_keeps_text_readable(
    running_stack: RunningStack, new_page: Any, brand: str
) -> None:
    page = new_page()
    # The embedding page's data-color, changed before the widget's script runs.
    recolour = """(brand => new MutationObserver(() => {
        const tag = document.querySelector('script[src$="widget.js"]');
        if (tag) tag.dataset.color = brand;
    }).observe(document, {childList: true, subtree: true}))"""
    page.add_init_script(f"{recolour}({json.dumps(brand)})")
    page.goto(running_stack.config.bot_url + "/")
    widget = Widget(page)
    widget.open()
    styles = page.evaluate(
        """() => {
            const style = (selector) => getComputedStyle(document.querySelector(selector));
            return {
                launcher: [style('.cw-launcher').color, style('.cw-launcher').backgroundColor],
                header: [style('.cw-header').color, style('.cw-header').backgroundColor],
                chip: [style('.cw-chip').color, 'rgb(239, 243, 248)'],
                person: [style('.cw-human').color, style('.cw-human').backgroundColor],
            };
        }"""
    )
    digits = brand.lstrip("#")
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    red, green, blue = (int(digits[i : i + 2], 16) for i in (0, 2, 4))
    # The brand itself (within rounding: the launcher may be mid-transition).
    shown = [int(part) for part in re.findall(r"\d+", styles["launcher"][1])[:3]]
    assert all(abs(a - b) <= 2 for a, b in zip(shown, (red, green, blue), strict=True)), shown
    for part, (text, background) in styles.items():
        assert contrast_ratio(text, background) >= 4.5, (brand, part, text, background)


# --- protocol: a dropped connection --------------------------------------------------------

# Installed before the page's scripts: lets the test cut the network under socket.io.
# While `offline`, frames sent are lost (as on a dead link) and new sockets fail.
NETWORK_SWITCH = """
(() => {
  const Native = window.WebSocket;
  const net = { offline: false, sockets: [], sent: [] };
  window.__net = net;
  function Switched(url, protocols) {
    const ws = new Native(net.offline ? 'ws://127.0.0.1:9/' : url, protocols);
    const send = ws.send.bind(ws);
    ws.send = (data) => {
      net.sent.push({ data: String(data), lost: net.offline });
      if (!net.offline) send(data);
    };
    net.sockets.push(ws);
    return ws;
  }
  Switched.prototype = Native.prototype;
  for (const name of ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED']) Switched[name] = Native[name];
  window.WebSocket = Switched;
})();
"""


class SentMessages:
    """`user_uttered` packets the page got to the server (WebSocket or polling)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.delivered: list[dict[str, Any]] = []
        page.on("requestfinished", self._request)
        page.on("websocket", lambda ws: ws.on("framesent", self._frame))

    def _packets(self, text: str) -> None:
        for packet in text.split("\x1e"):  # engine.io joins polling packets with RS
            body = packet.lstrip("0123456789")
            if body.startswith('["user_uttered"'):
                self.delivered.append(json.loads(body)[1])

    def _request(self, request: Any) -> None:
        if "/socket.io/" in request.url and request.method == "POST":
            self._packets(request.post_data or "")

    def _frame(self, payload: str | bytes) -> None:
        if isinstance(payload, str):
            self._packets(payload)

    def lost(self) -> list[dict[str, Any]]:
        """Sent while the switch was off: never reached the server."""
        lost = []
        for frame in self.page.evaluate("window.__net.sent.filter(f => f.lost)"):
            body = frame["data"].lstrip("0123456789")
            if body.startswith('["user_uttered"'):
                lost.append(json.loads(body)[1])
        return lost


def test_a_dropped_connection_resends_the_same_message_once(
    running_stack: RunningStack, new_page: Any
) -> None:
    page = new_page(network_errors=True)
    page.add_init_script(NETWORK_SWITCH)
    sent = SentMessages(page)
    page.goto(running_stack.config.bot_url + "/")
    widget = Widget(page)
    widget.open()
    widget.greeted("virtuaaliavustaja")
    expect(page.locator(".cw-offline")).to_be_hidden()
    # socket.io starts with HTTP polling; wait for its upgrade to the WebSocket ("5").
    page.wait_for_function("window.__net.sent.some(f => f.data === '5')")

    # The link dies: the message goes out into nothing, no receipt comes.
    page.evaluate("window.__net.offline = true")
    page.route("**/socket.io/**", lambda route: route.abort())
    widget.input.fill("Mitkä ovat aukioloajat?")
    widget.input.press("Enter")
    pending = widget.customer_messages().last
    expect(pending).to_have_class(re.compile("cw-msg--pending"))
    expect(pending.locator(".cw-status")).to_have_attribute("aria-label", "Lähetetään")
    page.evaluate("window.__net.sockets.forEach(ws => ws.close())")
    expect(page.locator(".cw-offline")).to_have_text("Yhteys katkesi, yhdistetään uudelleen…")
    page.wait_for_timeout(1500)  # a reconnection attempt or two fail meanwhile
    expect(pending).to_have_class(re.compile("cw-msg--pending"))

    # Back online: socket.io reconnects by itself and the message is resent.
    page.unroute("**/socket.io/**")
    page.evaluate("window.__net.offline = false")
    expect(page.locator(".cw-offline")).to_be_hidden(timeout=ANSWER_TIMEOUT_MS)
    widget.expect_delivered(pending)
    widget.answer_contains("8.00")

    lost = sent.lost()
    assert len(lost) == 1, lost
    assert [frame["message_id"] for frame in sent.delivered] == [lost[0]["message_id"]]
    resent = sent.delivered[0]
    assert resent["message"] == "Mitkä ovat aukioloajat?"
    assert resent["metadata"]["language"] == "fi"
    assert resent["metadata"]["page"].startswith(running_stack.config.bot_url)
    page.wait_for_timeout(1500)
    assert widget.log.inner_text().count("Mitkä ovat aukioloajat?") == 1
    assert widget.log.inner_text().count("8.00") == 1


# --- kind notes, nothing lost ----------------------------------------------------------------


def test_empty_and_too_long_messages_get_a_kind_note_and_keep_the_text(
    running_stack: RunningStack, new_page: Any
) -> None:
    page = new_page(reduced_motion="reduce")
    page.goto(running_stack.config.bot_url + "/en")
    widget = Widget(page, "en")
    widget.open()
    note = page.get_by_role("alert")
    # prefers-reduced-motion: the panel appears without its animation.
    assert widget.panel.evaluate("el => getComputedStyle(el).animationName") == "none"

    widget.input.press("Enter")
    expect(note).to_have_text("Type a message first and I'll pass it on.")

    long_text = "My invoice question, in detail. " * 160  # over 5000 characters
    widget.input.fill(long_text)
    widget.input.press("Enter")
    expect(note).to_contain_text("up to 5000 characters")
    expect(note).to_contain_text("your text is still in the box")
    expect(widget.input).to_have_value(long_text)
    expect(widget.customer_messages()).to_have_count(0)
    for text in (note.inner_text(),):
        assert "sorry" not in text.lower()

    widget.input.fill("Thanks!")
    expect(note).to_be_hidden()
