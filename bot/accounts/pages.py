"""Sign-in, sign-out, `/console/me` and the admin page (users).

Routes:
    GET  /console/login     the sign-in form (?next=/where/to/go/afterwards)
    POST /console/login     signs in; the form carries a CSRF token bound to a cookie
    POST /console/logout    signs out (ends the session in the database)
    GET  /console/me        the signed-in user as JSON (for scripts); 401 otherwise
    GET  /admin             admins: the staff accounts
    POST /admin/users/<username>/unlock   admins: lift a lock-out
    GET  /staff/staff.css   the staff pages' stylesheet
"""

from __future__ import annotations

import hmac
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, html, json, redirect

from bot.accounts import store
from bot.accounts.guard import (
    CSRF_FIELD,
    csrf_token,
    current_session,
    forbidden,
    require_user,
)
from bot.accounts.signin import Outcome, UnknownNames, login_csrf_token, sign_in
from bot.accounts.web import (
    HOME_PATH,
    LOGIN_CSRF_COOKIE,
    LOGIN_PATH,
    SESSION_COOKIE,
    STATIC,
    clear_cookie,
    render_staff,
    set_cookie,
    staff_headers,
    staff_templates,
)

LOGIN_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
WRONG = "That username and password don't match. Check them and try again."
EXPIRED_FORM = "The sign-in form had expired, so we loaded a fresh one. Please try again."
SIGNED_OUT = "You have signed out. Thanks for your work today!"


def locked_message(minutes: float) -> str:
    return (
        "Too many sign-in attempts in a row, so signing in to this account is paused for "
        f"{_minutes(minutes)}. Please try again after that, or ask an admin to unlock it."
    )


def _minutes(minutes: float) -> str:
    whole = round(minutes)
    return "1 minute" if whole == 1 else f"{whole:g} minutes"


def safe_next(target: str | None) -> str:
    """Only a path on this site may follow sign-in (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return HOME_PATH
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(ch) < 32 for ch in target):
        return HOME_PATH
    if parts.path == LOGIN_PATH:
        return HOME_PATH
    return target


def accounts_blueprint() -> Blueprint:
    """A new blueprint per app, so several apps can live in one process (tests)."""
    blueprint = Blueprint("accounts")

    def unknown_names(request: Request) -> UnknownNames:
        ctx = request.app.ctx
        if not hasattr(ctx, "accounts_unknown_names"):
            ctx.accounts_unknown_names = UnknownNames()
        return ctx.accounts_unknown_names

    def login_page(
        request: Request,
        next_path: str,
        message: str = "",
        error: str = "",
        username: str = "",
        status: int = 200,
        retry_after: int | None = None,
    ) -> HTTPResponse:
        # One token per browser, kept while it signs in: several open tabs all work.
        token = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
        if not LOGIN_TOKEN.fullmatch(token):
            token = login_csrf_token()
        page = (
            staff_templates()
            .get_template("login.html")
            .render(
                user=None,
                csrf_token=token,
                next=next_path,
                message=message,
                error=error,
                username=username[:64],
            )
        )
        headers = staff_headers()
        if retry_after:
            headers["Retry-After"] = str(retry_after)
        response = html(page, status=status, headers=headers)
        set_cookie(response, request, LOGIN_CSRF_COOKIE, token, path=LOGIN_PATH)
        return response

    @blueprint.get(LOGIN_PATH)
    async def login_form(request: Request) -> HTTPResponse:
        next_path = safe_next(request.args.get("next"))
        if current_session(request) is not None:
            return redirect(next_path, status=302)
        message = SIGNED_OUT if request.args.get("signed_out") else ""
        return login_page(request, next_path, message=message)

    @blueprint.post(LOGIN_PATH)
    async def login(request: Request) -> HTTPResponse:
        form = request.form
        next_path = safe_next(form.get("next"))
        username = (form.get("username") or "").strip()
        expected = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
        given = form.get(CSRF_FIELD) or ""
        if not expected or not given or not hmac.compare_digest(given.encode(), expected.encode()):
            return login_page(request, next_path, error=EXPIRED_FORM, username=username, status=403)

        settings = request.app.ctx.settings
        engine = request.app.ctx.engine
        now = datetime.now(timezone.utc)
        result = await sign_in(
            engine, settings, unknown_names(request), username, form.get("password") or "", now
        )
        if result.outcome is Outcome.LOCKED:
            return login_page(
                request,
                next_path,
                error=locked_message(settings.signin_lock_minutes),
                username=username,
                status=429,
                retry_after=int(settings.signin_lock_minutes * 60),
            )
        if result.outcome is Outcome.WRONG or result.user is None:
            return login_page(request, next_path, error=WRONG, username=username, status=401)

        old_token = request.cookies.get(SESSION_COOKIE)
        if old_token:
            store.end_session(engine, old_token)
        token = store.new_session(
            engine, result.user.id, now, timedelta(hours=settings.session_max_hours)
        )
        response = redirect(next_path, status=303)
        set_cookie(response, request, SESSION_COOKIE, token)
        clear_cookie(response, request, LOGIN_CSRF_COOKIE, path=LOGIN_PATH)
        return response

    @blueprint.post("/console/logout")
    async def logout(request: Request) -> HTTPResponse:
        session = current_session(request)
        if session is not None:
            given = request.form.get(CSRF_FIELD) or request.headers.get("X-CSRF-Token") or ""
            if not given or not hmac.compare_digest(given.encode(), csrf_token(request).encode()):
                request.ctx.user = session.user
                return forbidden(
                    request,
                    False,
                    "Sign-out needs the page's form: reload the page and press Sign out again.",
                )
            store.end_session(request.app.ctx.engine, request.ctx.accounts_token)
        response = redirect(f"{LOGIN_PATH}?signed_out=1", status=303)
        clear_cookie(response, request, SESSION_COOKIE)
        return response

    @blueprint.get("/console/me")
    @require_user(api=True)
    async def me(request: Request) -> HTTPResponse:
        user = request.ctx.user
        return json(
            {
                "id": user.id,
                "username": user.username,
                "first_name": user.first_name,
                "role": user.role,
                "csrf_token": csrf_token(request),
            },
            headers={"Cache-Control": "no-store"},
        )

    @blueprint.get("/admin")
    @require_user("admin")
    async def admin(request: Request) -> HTTPResponse:
        now = datetime.now(timezone.utc)
        accounts = store.list_accounts(request.app.ctx.engine)
        unlocked = request.args.get("unlocked", "")
        return render_staff(
            request,
            "admin.html",
            accounts=accounts,
            now=now,
            unlocked=unlocked if any(a.user.username == unlocked for a in accounts) else "",
        )

    @blueprint.post("/admin/users/<username>/unlock")
    @require_user("admin")
    async def unlock(request: Request, username: str) -> HTTPResponse:
        if not store.unlock(request.app.ctx.engine, username):
            return render_staff(
                request, "denied.html", status=404, message=f"There is no user {username[:64]!r}."
            )
        return redirect(f"/admin?unlocked={store.normalize_username(username)}", status=303)

    blueprint.static("/staff/staff.css", str(STATIC / "staff.css"), name="staff_css")

    @blueprint.on_response
    async def stylesheet_headers(request: Request, response: HTTPResponse) -> None:
        if request.path == "/staff/staff.css" and response.status in (200, 304):
            response.headers["Cache-Control"] = "no-cache"
            response.headers["X-Content-Type-Options"] = "nosniff"

    return blueprint
