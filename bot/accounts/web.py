"""What every staff page shares: templates, security headers and cookies.

Other staff areas (the agent console) render their pages with `staff_templates`
so they extend `staff_base.html`; see the package docstring.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from sanic.request import Request
from sanic.response import HTTPResponse, html

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
STYLESHEET_URL = "/staff/staff.css"

SESSION_COOKIE = "console_session"
LOGIN_CSRF_COOKIE = "console_login_csrf"
LOGIN_PATH = "/console/login"
HOME_PATH = "/console"


@cache
def staff_templates(*folders: str) -> Environment:
    """A Jinja2 environment over `folders` (searched first) and the staff templates.

    Call it with your own template folder, e.g. `staff_templates(str(MY_TEMPLATES))`,
    and extend "staff_base.html" from your templates.
    """
    loaders = [FileSystemLoader(folder) for folder in folders]
    return Environment(
        loader=ChoiceLoader([*loaders, FileSystemLoader(str(TEMPLATES))]),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def staff_headers(connect_src: Iterable[str] = ()) -> dict[str, str]:
    """Headers for every staff page: strict CSP, no caching, no framing.

    `connect_src` adds origins that page scripts may fetch from or open sockets to
    ('self' is always allowed).
    """
    policy = "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            " ".join(("connect-src 'self'", *connect_src)),
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        # Staff pages show customers' details: never keep them in a cache.
        "Cache-Control": "no-store",
    }


def render_staff(
    request: Request,
    template: str,
    status: int = 200,
    environment: Environment | None = None,
    **context: Any,
) -> HTTPResponse:
    """Render a page that extends staff_base.html.

    `user`, `csrf_token` and `request_path` (for the nav) are filled in; pass your
    own `environment` (from `staff_templates(your_folder)`) for your templates.
    """
    from bot.accounts.guard import csrf_token, current_session

    session = current_session(request)
    base_context: dict[str, Any] = {
        "user": session.user if session else None,
        "csrf_token": csrf_token(request) if session else "",
        "request_path": request.path,
    }
    page = (environment or staff_templates()).get_template(template)
    return html(page.render(**base_context, **context), status=status, headers=staff_headers())


async def staff_asset(folder: Path, assets: dict[str, str], name: str) -> HTTPResponse:
    """One of a staff area's own files (`assets`: name -> MIME type); 404 for anything else."""
    from sanic.exceptions import NotFound
    from sanic.response import file

    if name not in assets:
        raise NotFound(f"no file {name}")
    return await file(
        str(folder / name),
        mime_type=assets[name],
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


def set_cookie(
    response: HTTPResponse, request: Request, name: str, value: str, path: str = "/"
) -> None:
    """An HttpOnly, SameSite=Lax cookie for this browser session (no Max-Age)."""
    response.cookies[name] = value
    cookie = response.cookies[name]
    cookie["path"] = path
    cookie["httponly"] = True
    cookie["samesite"] = "Lax"
    if request.app.ctx.settings.cookie_secure:
        cookie["secure"] = True


def clear_cookie(response: HTTPResponse, request: Request, name: str, path: str = "/") -> None:
    set_cookie(response, request, name, "", path)
    response.cookies[name]["max-age"] = 0
