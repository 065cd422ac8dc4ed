"""Who may open a staff page: `require_user(role)` and CSRF tokens for forms.

    @blueprint.get("/console")
    @require_user()                 # any signed-in agent or admin
    async def queue(request): ... request.ctx.user ...

    @blueprint.post("/admin/thing")
    @require_user("admin")          # admins only; the CSRF token is checked too
    async def thing(request): ...

Without a valid session a page request is redirected to the sign-in page (and
comes back after signing in); a JSON request (Accept: application/json, or any
path under /console/api/) gets 401 JSON. A user without the role gets 403.
POST, PUT, PATCH and DELETE must carry the session's CSRF token, in the form
field `csrf_token` or the header `X-CSRF-Token`; otherwise 403.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from functools import wraps
from urllib.parse import quote

from sanic.request import Request
from sanic.response import HTTPResponse, json, redirect

from bot.accounts import store
from bot.accounts.models import ROLES, role_allows
from bot.accounts.web import (
    LOGIN_PATH,
    SESSION_COOKIE,
    clear_cookie,
    render_staff,
)

Handler = Callable[..., Awaitable[HTTPResponse]]

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
API_PREFIX = "/console/api/"
_NOT_LOOKED_UP = object()


def require_user(role: str = "agent", *, api: bool = False) -> Callable[[Handler], Handler]:
    """Let only signed-in users with at least `role` through; sets `request.ctx.user`.

    `api=True` makes a route always answer like a JSON API (401 instead of a
    redirect), whatever the request's Accept header says.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, not {role!r}")

    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        async def guarded(request: Request, *args, **kwargs) -> HTTPResponse:
            as_json = api or wants_json(request)
            session = current_session(request)
            if session is None:
                return not_signed_in(request, as_json)
            request.ctx.user = session.user
            if not role_allows(session.user.role, role):
                return forbidden(request, as_json, "Your account doesn't have access to this page.")
            if request.method in UNSAFE_METHODS and not csrf_valid(request):
                return forbidden(request, as_json, CSRF_FAILED)
            return await handler(request, *args, **kwargs)

        return guarded

    return decorate


CSRF_FAILED = (
    "This form had expired or did not come from this site, so nothing was changed. "
    "Go back, reload the page and try again."
)


def wants_json(request: Request) -> bool:
    accept = request.headers.get("accept") or ""
    return request.path.startswith(API_PREFIX) or "application/json" in accept


def current_session(request: Request) -> store.SessionInfo | None:
    """The request's live session (looked up once per request), or None."""
    found = getattr(request.ctx, "accounts_session", _NOT_LOOKED_UP)
    if found is not _NOT_LOOKED_UP:
        return found
    token = request.cookies.get(SESSION_COOKIE) or ""
    session = None
    if token:
        settings = request.app.ctx.settings
        session = store.session_for(
            request.app.ctx.engine,
            token,
            datetime.now(timezone.utc),
            idle=timedelta(hours=settings.session_idle_hours),
            max_age=timedelta(hours=settings.session_max_hours),
        )
    request.ctx.accounts_session = session
    request.ctx.accounts_token = token if session else ""
    return session


def csrf_token(request: Request) -> str:
    """The CSRF token of the request's session, for forms and the X-CSRF-Token header.

    Derived from the session cookie with HMAC, so it changes with every sign-in
    and is never stored. Only for signed-in requests (behind `require_user`).
    """
    if current_session(request) is None:
        raise RuntimeError("csrf_token() needs a signed-in request (use @require_user)")
    return csrf_for(request.ctx.accounts_token)


def csrf_for(session_token: str) -> str:
    digest = hmac.new(session_token.encode(), b"console-csrf", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def given_csrf(request: Request) -> str:
    given = request.headers.get(CSRF_HEADER) or ""
    if not given and request.form:
        given = request.form.get(CSRF_FIELD) or ""
    return given


def csrf_valid(request: Request) -> bool:
    if current_session(request) is None:
        return False
    given = given_csrf(request)
    return bool(given) and hmac.compare_digest(given.encode(), csrf_token(request).encode())


def not_signed_in(request: Request, as_json: bool) -> HTTPResponse:
    if as_json:
        response = json({"error": "sign in first", "login": LOGIN_PATH}, status=401)
    else:
        target = LOGIN_PATH
        if request.method in ("GET", "HEAD"):
            here = request.path + (f"?{request.query_string}" if request.query_string else "")
            target += "?next=" + quote(here, safe="")
        response = redirect(target, status=302)
    if request.cookies.get(SESSION_COOKIE):
        clear_cookie(response, request, SESSION_COOKIE)  # expired or ended: forget it
    return response


def forbidden(request: Request, as_json: bool, message: str) -> HTTPResponse:
    if as_json:
        return json({"error": message}, status=403)
    return render_staff(request, "denied.html", status=403, message=message)
