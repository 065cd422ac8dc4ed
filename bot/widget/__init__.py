"""The chat widget and the demo site that embeds it.

- `/` (Finnish) and `/en` (English): a small invoice-company site, rendered with
  Jinja2 from `templates/`, that embeds the widget with one script tag;
- `/widget.js`, `/widget.css`: the widget (vanilla JS, no build step), which talks
  to Rasa's socket.io channel (docs/widget-protocol.md) at `RASA_PUBLIC_URL`;
- `/vendor/socket.io.min.js`: the official socket.io browser client, vendored
  (see `static/vendor/README.md`); `/demo.css`: the demo site's own styles.

Any site can embed the widget the same way: the script loads its stylesheet and
the socket.io client from next to itself.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, html

from bot.config import Settings
from bot.service_hours import service_hours_for

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

# The demo company's contact details, as the bot tells them (CONTACT_* in .env.example).
COMPANY = {
    "name": "Laskutus Oy",
    "business_id": "1234567-8",
    "street": "Esimerkkikatu 1",
    "postcode_city": "00100 Helsinki",
    "phone": "09 4242 4242",
    "phone_href": "+358942424242",
    "email": "asiakaspalvelu@example.com",
}

PAGES = {
    "fi": {"template": "index_fi.html", "path": "/", "other": "en"},
    "en": {"template": "index_en.html", "path": "/en", "other": "fi"},
}

# Assets change with the code: browsers revalidate (Last-Modified) on every load.
ASSET_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}


@lru_cache(maxsize=1)
def templates() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def page_headers(settings: Settings) -> dict[str, str]:
    """A strict CSP: no inline script at all, and sockets only to our Rasa server."""
    rasa = origin_of(settings.rasa_public_url)
    rasa_ws = "ws" + rasa[len("http") :]  # http -> ws, https -> wss
    policy = "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src 'self' {rasa} {rasa_ws}",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "Cache-Control": "no-cache",
    }


def render_page(settings: Settings, language: str) -> str:
    page = PAGES[language]
    return (
        templates()
        .get_template(page["template"])
        .render(
            lang=language,
            other_lang=page["other"],
            other_path=PAGES[page["other"]]["path"],
            path=page["path"],
            rasa_public_url=settings.rasa_public_url,
            opening_hours=service_hours_for(settings).display(language),
            company=COMPANY,
        )
    )


def widget_blueprint() -> Blueprint:
    """A new blueprint per app, so several apps can live in one process (tests)."""
    blueprint = Blueprint("widget")

    @blueprint.route("/", methods=["GET", "HEAD"])
    async def demo_fi(request: Request) -> HTTPResponse:
        settings = request.app.ctx.settings
        return html(render_page(settings, "fi"), headers=page_headers(settings))

    @blueprint.route("/en", methods=["GET", "HEAD"])
    async def demo_en(request: Request) -> HTTPResponse:
        settings = request.app.ctx.settings
        return html(render_page(settings, "en"), headers=page_headers(settings))

    for route, name in (
        ("/widget.js", "widget.js"),
        ("/widget.css", "widget.css"),
        ("/demo.css", "demo.css"),
        ("/vendor/socket.io.min.js", "vendor/socket.io.min.js"),
    ):
        blueprint.static(
            route,
            str(STATIC / name),
            name=name.replace("/", "_").replace(".", "_"),
        )

    @blueprint.on_response
    async def asset_headers(request: Request, response: HTTPResponse) -> None:
        if request.path.endswith((".js", ".css")) and response.status in (200, 304):
            response.headers.update(ASSET_HEADERS)

    return blueprint
