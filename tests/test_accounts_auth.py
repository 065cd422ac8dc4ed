"""Staff sign-in against the real service (`python -m bot serve`) and a real SQLite file.

Accounts are made with the real CLI (`python -m bot users add`), browsers are
`requests` sessions. One server serves the module; each test uses its own users.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
import sqlalchemy as sa

from bot.accounts import store
from bot.accounts.passwords import generate_password
from bot.db import create_engine
from tests.conftest import HelpdeskProcesses

REPO = Path(__file__).resolve().parent.parent

# Every accounts setting is set, so a local .env cannot change what is tested.
ACCOUNT_ENV = {
    "COOKIE_SECURE": "false",
    "SESSION_IDLE_HOURS": "8",
    "SESSION_MAX_HOURS": "12",
    "SIGNIN_MAX_FAILURES": "5",
    "SIGNIN_LOCK_MINUTES": "15",
}
LOGIN = "/console/login"


@dataclass(frozen=True)
class Staff:
    """A running helpdesk and its database, for the CLI and for checks on the tables."""

    base_url: str
    token: str
    db_url: str

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        env = {
            **os.environ,
            **ACCOUNT_ENV,
            "HELPDESK_DB_URL": self.db_url,
            "HELPDESK_API_TOKEN": self.token,
        }
        return subprocess.run(
            [sys.executable, "-m", "bot", "users", *args],
            cwd=REPO,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def add_user(self, role: str = "agent", first_name: str = "Aino") -> tuple[str, str]:
        """A new user with a generated password: (username, password).

        Made in this process with the store the CLI uses (the CLI tests run the
        command itself; starting it costs a second each time).
        """
        username = f"{role}-{secrets.token_hex(4)}"
        password = generate_password()
        engine = create_engine(self.db_url)
        try:
            store.create_user(
                engine, username, first_name, role, password, datetime.now(timezone.utc)
            )
        finally:
            engine.dispose()
        return username, password

    def cli_add_user(self, role: str = "agent", first_name: str = "Aino") -> tuple[str, str]:
        """A new user made by `python -m bot users add`: (username, printed password)."""
        username = f"{role}-{secrets.token_hex(4)}"
        done = self.cli("add", "--username", username, "--first-name", first_name, "--role", role)
        assert done.returncode == 0, done.stderr
        return username, printed_password(done.stdout)

    def browser(self) -> Browser:
        return Browser(self.base_url)

    def signed_in(self, role: str = "agent") -> tuple[Browser, str]:
        username, password = self.add_user(role)
        browser = self.browser()
        response = browser.sign_in(username, password)
        assert response.status_code == 303, response.text
        return browser, username

    def execute(self, statement: str, **params: object) -> list:
        engine = create_engine(self.db_url)
        try:
            with engine.begin() as connection:
                result = connection.execute(sa.text(statement), params)
                return result.fetchall() if result.returns_rows else []
        finally:
            engine.dispose()


def printed_password(output: str) -> str:
    found = re.search(r"[Pp]assword[^:]*: (\S+)", output)
    assert found, f"no password in {output!r}"
    return found.group(1)


def form_token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has no CSRF field"
    return found.group(1)


class Browser:
    """A requests.Session that signs in through the real form, like a person would."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()

    def get(self, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("allow_redirects", False)
        return self.http.get(self.base_url + path, timeout=10, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("allow_redirects", False)
        return self.http.post(self.base_url + path, timeout=10, **kwargs)

    def sign_in(self, username: str, password: str, next_path: str | None = None):
        page = self.get(LOGIN + (f"?next={quote(next_path, safe='')}" if next_path else ""))
        assert page.status_code == 200
        data = {"csrf_token": form_token(page.text), "username": username, "password": password}
        found = re.search(r'name="next" value="([^"]*)"', page.text)
        data["next"] = found.group(1) if found else ""
        return self.post(LOGIN, data=data)

    def csrf(self) -> str:
        me = self.get("/console/me")
        assert me.status_code == 200, me.text
        return me.json()["csrf_token"]

    @property
    def session_cookie(self) -> str | None:
        return self.http.cookies.get("console_session")


def set_cookie_headers(response: requests.Response) -> list[str]:
    return response.raw.headers.getlist("Set-Cookie")


@pytest.fixture(scope="module")
def staff(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Staff]:
    directory = tmp_path_factory.mktemp("accounts")
    db_url = f"sqlite:///{directory / 'helpdesk.db'}"
    processes = HelpdeskProcesses(directory)
    server = processes.start(db_url=db_url, env=ACCOUNT_ENV)
    yield Staff(server.base_url, server.token, db_url)
    processes.stop_all()


# --- signing in -------------------------------------------------------------------


def test_a_user_made_with_the_cli_can_sign_in(staff: Staff) -> None:
    username, password = staff.cli_add_user("agent", first_name="Aino")
    browser = staff.browser()

    response = browser.sign_in(username, password)

    assert response.status_code == 303
    assert response.headers["Location"] == "/console"
    me = browser.get("/console/me")
    assert me.status_code == 200
    assert me.json()["username"] == username
    assert me.json()["first_name"] == "Aino"
    assert me.json()["role"] == "agent"


def test_passwords_are_stored_as_argon2_hashes(staff: Staff) -> None:
    username, password = staff.cli_add_user()

    [(stored,)] = staff.execute(
        "SELECT password_hash FROM users WHERE username = :name", name=username
    )

    assert stored.startswith("$argon2id$")
    assert password not in stored


def test_the_session_cookie_is_httponly_samesite_and_only_hashed_in_the_database(
    staff: Staff,
) -> None:
    username, password = staff.add_user()
    browser = staff.browser()

    response = browser.sign_in(username, password)

    [cookie] = [c for c in set_cookie_headers(response) if c.startswith("console_session=")]
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "path=/" in attributes
    assert "secure" not in attributes  # COOKIE_SECURE=false: plain http on localhost
    token = browser.session_cookie
    assert token and len(token) >= 40
    stored = staff.execute(
        "SELECT token_hash FROM web_sessions s JOIN users u ON u.id = s.user_id "
        "WHERE u.username = :name",
        name=username,
    )
    assert stored == [(hashlib.sha256(token.encode()).hexdigest(),)]


def test_cookie_secure_setting_adds_the_secure_flag(start_helpdesk, tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'secure.db'}"
    server = start_helpdesk(db_url=db_url, env={**ACCOUNT_ENV, "COOKIE_SECURE": "true"})
    staff = Staff(server.base_url, server.token, db_url)
    username, password = staff.add_user()
    page = requests.get(staff.base_url + LOGIN, timeout=10)
    # requests (rightly) keeps Secure cookies from plain http: send it by hand.
    login_cookie = page.cookies["console_login_csrf"]

    response = requests.post(
        staff.base_url + LOGIN,
        data={"csrf_token": form_token(page.text), "username": username, "password": password},
        cookies={"console_login_csrf": login_cookie},
        allow_redirects=False,
        timeout=10,
    )

    assert response.status_code == 303
    for answer, name in ((page, "console_login_csrf"), (response, "console_session")):
        [cookie] = [c for c in set_cookie_headers(answer) if c.startswith(name + "=")]
        assert "secure" in [part.strip().lower() for part in cookie.split(";")]


def test_wrong_password_and_unknown_user_get_the_same_answer(staff: Staff) -> None:
    username, _ = staff.add_user()

    wrong_password = staff.browser().sign_in(username, "not-the-password-at-all")
    unknown_user = staff.browser().sign_in("nobody-" + secrets.token_hex(4), "whatever-it-is")

    assert wrong_password.status_code == unknown_user.status_code == 401
    message = re.compile(r'role="alert"[^>]*>([^<]+)<')
    assert message.search(wrong_password.text).group(1) == message.search(unknown_user.text).group(
        1
    )
    assert "console_session" not in wrong_password.headers.get("Set-Cookie", "")


def test_after_sign_in_the_user_lands_where_they_were_going(staff: Staff) -> None:
    browser = staff.browser()
    username, password = staff.add_user("admin")

    bounced = browser.get("/admin")
    assert bounced.status_code == 302
    assert bounced.headers["Location"] == f"{LOGIN}?next=%2Fadmin"

    response = browser.sign_in(username, password, next_path="/admin")
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin"


@pytest.mark.parametrize(
    "next_path", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"]
)
def test_sign_in_never_redirects_to_another_site(staff: Staff, next_path: str) -> None:
    username, password = staff.add_user()

    response = staff.browser().sign_in(username, password, next_path=next_path)

    assert response.status_code == 303
    assert response.headers["Location"] == "/console"


def test_the_sign_in_form_itself_needs_its_csrf_token(staff: Staff) -> None:
    username, password = staff.add_user()
    browser = staff.browser()
    page = browser.get(LOGIN)

    without = browser.post(LOGIN, data={"username": username, "password": password})
    wrong = browser.post(
        LOGIN, data={"username": username, "password": password, "csrf_token": "x" * 43}
    )
    # A token from the page but without the browser's cookie (another site's form post).
    foreign = requests.post(
        staff.base_url + LOGIN,
        data={"username": username, "password": password, "csrf_token": form_token(page.text)},
        allow_redirects=False,
        timeout=10,
    )

    for response in (without, wrong, foreign):
        assert response.status_code == 403
        assert "console_session" not in response.headers.get("Set-Cookie", "")


def test_two_sign_in_tabs_in_one_browser_both_work(staff: Staff) -> None:
    username, password = staff.add_user()
    browser = staff.browser()
    first_tab = form_token(browser.get(LOGIN).text)
    second_tab = form_token(browser.get(LOGIN).text)

    response = browser.post(
        LOGIN, data={"csrf_token": first_tab, "username": username, "password": password}
    )

    assert first_tab == second_tab
    assert response.status_code == 303


# --- no way in without signing in ---------------------------------------------------


def test_pages_redirect_to_sign_in_and_json_gets_401(staff: Staff) -> None:
    browser = staff.browser()

    page = browser.get("/admin")
    as_json = browser.get("/admin", headers={"Accept": "application/json"})
    me = browser.get("/console/me")

    assert page.status_code == 302
    assert page.headers["Location"].startswith(f"{LOGIN}?next=")
    assert as_json.status_code == 401
    assert as_json.json()["error"]
    assert me.status_code == 401


def test_the_console_needs_sign_in(staff: Staff) -> None:
    """`/console` (the queue) and its JSON API under /console/api/ (bot/console)."""
    routes = app_routes()
    if "/console" not in {path for path, _, _, _ in routes}:
        pytest.skip("bot/console does not register /console yet")
    browser = staff.browser()

    page = browser.get("/console")

    assert page.status_code == 302
    assert page.headers["Location"] == f"{LOGIN}?next=%2Fconsole"
    for path, methods, _, _ in routes:
        if path.startswith("/console/api/") and "GET" in methods:
            assert browser.get(path).status_code == 401, path


# Routes anyone may open: health, the demo page and widget, and the sign-in itself.
PUBLIC_BLUEPRINTS = {"health", "widget"}
PUBLIC_ACCOUNT_ROUTES = {"login_form", "login", "logout", "staff_css"}


def app_routes() -> list[tuple[str, frozenset[str], str, str]]:
    """(path with sample values, methods, blueprint, handler name) of every route."""
    from bot.app import create_app
    from bot.config import Settings

    app = create_app(Settings(helpdesk_api_token="listing-routes-only"))
    found = []
    for route in app.router.routes:
        path = "/" + re.sub(r"<[^>:]+:int>", "1", route.path)
        path = re.sub(r"<[^>]+>", "sample", path)
        _, blueprint, handler = route.name.split(".", 2)
        found.append((path, frozenset(route.methods), blueprint, handler))
    return found


def test_no_route_is_reachable_without_signing_in_except_the_public_ones(staff: Staff) -> None:
    """Every route of the app, including ones added later, answers 302/401/403 to strangers."""
    checked = []
    for path, methods, blueprint, handler in app_routes():
        if blueprint in PUBLIC_BLUEPRINTS or (
            blueprint == "accounts" and handler in PUBLIC_ACCOUNT_ROUTES
        ):
            continue
        for method in sorted(methods - {"HEAD", "OPTIONS"}):
            response = requests.request(
                method, staff.base_url + path, allow_redirects=False, timeout=10
            )
            checked.append((method, path))
            assert response.status_code in (301, 302, 303, 401, 403), (method, path)
            if response.status_code in (301, 302, 303):
                assert response.headers["Location"].startswith(LOGIN), (method, path)
    assert ("GET", "/admin") in checked
    assert ("GET", "/api/tickets") in checked


def test_the_ticket_api_still_takes_its_bearer_token_not_a_session(staff: Staff) -> None:
    browser, _ = staff.signed_in("admin")

    with_session_only = browser.get("/api/tickets")
    with_token = requests.get(
        staff.base_url + "/api/tickets",
        headers={"Authorization": f"Bearer {staff.token}"},
        timeout=10,
    )

    assert with_session_only.status_code == 401
    assert with_token.status_code == 200


# --- roles ------------------------------------------------------------------------------


def test_agents_cannot_open_admin_pages(staff: Staff) -> None:
    browser, _ = staff.signed_in("agent")

    page = browser.get("/admin")
    as_json = browser.get("/admin", headers={"Accept": "application/json"})
    action = browser.post("/admin/users/anyone/unlock", data={"csrf_token": browser.csrf()})

    assert page.status_code == 403
    assert "Admin</a>" not in page.text  # the nav offers no admin link to agents
    assert as_json.status_code == 403
    assert action.status_code == 403


def test_admins_see_the_users_and_reach_agent_pages_too(staff: Staff) -> None:
    agent, agent_name = staff.signed_in("agent")
    admin, _ = staff.signed_in("admin")

    page = admin.get("/admin")

    assert page.status_code == 200
    assert agent_name in page.text
    assert 'href="/admin"' in page.text
    assert "$argon2" not in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert admin.get("/console/me").json()["role"] == "admin"


# --- CSRF -------------------------------------------------------------------------------


def test_state_changes_need_the_sessions_csrf_token(staff: Staff) -> None:
    admin, _ = staff.signed_in("admin")
    target, _ = staff.add_user()
    other, _ = staff.signed_in("admin")
    path = f"/admin/users/{target}/unlock"

    missing = admin.post(path)
    wrong = admin.post(path, data={"csrf_token": "not-the-token"})
    someone_elses = admin.post(path, data={"csrf_token": other.csrf()})
    json_missing = admin.post(path, headers={"Accept": "application/json"})

    assert missing.status_code == wrong.status_code == someone_elses.status_code == 403
    assert json_missing.status_code == 403
    assert json_missing.json()["error"]

    by_form = admin.post(path, data={"csrf_token": admin.csrf()})
    by_header = admin.post(path, headers={"X-CSRF-Token": admin.csrf()})
    assert by_form.status_code == by_header.status_code == 303


def test_every_form_on_a_staff_page_carries_the_csrf_token(staff: Staff) -> None:
    admin, _ = staff.signed_in("admin")
    target, password = staff.add_user()
    for _ in range(5):
        staff.browser().sign_in(target, password + "-wrong")  # so an Unlock form shows

    page = admin.get("/admin").text
    forms = re.findall(r"<form[^>]*method=\"post\".*?</form>", page, flags=re.S)

    assert len(forms) >= 2  # sign out, unlock
    token = admin.csrf()
    for form in forms:
        assert f'name="csrf_token" value="{token}"' in form
    assert f'<meta name="csrf-token" content="{token}">' in page


# --- lock-out ---------------------------------------------------------------------------


def test_five_failures_lock_the_account_until_an_admin_unlocks_it(staff: Staff) -> None:
    username, password = staff.add_user()
    browser = staff.browser()

    answers = [browser.sign_in(username, f"wrong-guess-{n}").status_code for n in range(5)]
    while_locked = browser.sign_in(username, password)

    assert answers == [401, 401, 401, 401, 429]
    assert while_locked.status_code == 429
    assert "paused for 15 minutes" in while_locked.text
    assert while_locked.headers["Retry-After"] == "900"
    assert browser.get("/console/me").status_code == 401

    unlocked = staff.cli("unlock", username)
    assert unlocked.returncode == 0, unlocked.stderr
    assert browser.sign_in(username, password).status_code == 303
    assert browser.get("/console/me").status_code == 200


def test_a_lock_ends_by_itself(staff: Staff) -> None:
    username, password = staff.add_user()
    browser = staff.browser()
    for n in range(5):
        browser.sign_in(username, f"wrong-guess-{n}")
    assert browser.sign_in(username, password).status_code == 429

    staff.execute(
        "UPDATE users SET locked_until = :past WHERE username = :name",
        past=datetime.now(timezone.utc) - timedelta(seconds=1),
        name=username,
    )

    assert browser.sign_in(username, password).status_code == 303


def test_an_admin_can_unlock_from_the_admin_page(staff: Staff) -> None:
    admin, _ = staff.signed_in("admin")
    username, password = staff.add_user()
    for n in range(5):
        staff.browser().sign_in(username, f"wrong-guess-{n}")

    page = admin.get("/admin").text
    assert f"/admin/users/{username}/unlock" in page
    response = admin.post(f"/admin/users/{username}/unlock", data={"csrf_token": admin.csrf()})

    assert response.status_code == 303
    assert staff.browser().sign_in(username, password).status_code == 303


def test_a_successful_sign_in_resets_the_failure_count(staff: Staff) -> None:
    username, password = staff.add_user()
    browser = staff.browser()

    for n in range(4):
        assert browser.sign_in(username, f"wrong-guess-{n}").status_code == 401
    assert browser.sign_in(username, password).status_code == 303
    other = staff.browser()
    answers = [other.sign_in(username, f"again-wrong-{n}").status_code for n in range(4)]

    assert answers == [401, 401, 401, 401]
    assert other.sign_in(username, password).status_code == 303


def test_unknown_usernames_lock_too_so_the_lock_reveals_nothing(staff: Staff) -> None:
    browser = staff.browser()
    nobody = "nobody-" + secrets.token_hex(4)

    answers = [browser.sign_in(nobody, f"guess-{n}").status_code for n in range(6)]

    assert answers == [401, 401, 401, 401, 429, 429]


# --- signing out and expiry -------------------------------------------------------------


def test_signing_out_ends_the_session_on_the_server(staff: Staff) -> None:
    browser, username = staff.signed_in()
    old_cookie = browser.session_cookie

    refused = browser.post("/console/logout")  # no CSRF token: not even sign-out
    assert refused.status_code == 403
    assert browser.get("/console/me").status_code == 200

    response = browser.post("/console/logout", data={"csrf_token": browser.csrf()})
    assert response.status_code == 303
    assert response.headers["Location"] == f"{LOGIN}?signed_out=1"

    replayed = requests.get(
        staff.base_url + "/console/me", cookies={"console_session": old_cookie}, timeout=10
    )
    assert replayed.status_code == 401
    assert (
        staff.execute(
            "SELECT s.id FROM web_sessions s JOIN users u ON u.id = s.user_id "
            "WHERE u.username = :n",
            n=username,
        )
        == []
    )


def test_an_idle_session_expires(staff: Staff) -> None:
    browser, username = staff.signed_in()
    assert browser.get("/console/me").status_code == 200

    staff.execute(
        "UPDATE web_sessions SET last_seen_at = :then "
        "WHERE user_id = (SELECT id FROM users WHERE username = :name)",
        then=datetime.now(timezone.utc) - timedelta(hours=8, seconds=1),
        name=username,
    )

    assert browser.get("/console/me").status_code == 401
    assert browser.get("/admin").headers["Location"].startswith(LOGIN)


def test_a_session_ends_after_its_maximum_age_even_when_in_use(staff: Staff) -> None:
    browser, username = staff.signed_in()

    staff.execute(
        "UPDATE web_sessions SET created_at = :then "
        "WHERE user_id = (SELECT id FROM users WHERE username = :name)",
        then=datetime.now(timezone.utc) - timedelta(hours=12, seconds=1),
        name=username,
    )

    assert browser.get("/console/me").status_code == 401


def test_each_sign_in_gets_a_new_session_never_a_planted_one(staff: Staff) -> None:
    username, password = staff.add_user()
    planted = "chosen-by-someone-else-" + secrets.token_urlsafe(16)
    browser = staff.browser()
    host = staff.base_url.split("//")[1].split(":")[0]
    browser.http.cookies.set("console_session", planted, domain=host, path="/")
    other = staff.browser()

    assert browser.sign_in(username, password).status_code == 303
    assert other.sign_in(username, password).status_code == 303

    assert browser.session_cookie not in (planted, other.session_cookie)
    planted_session = requests.get(
        staff.base_url + "/console/me", cookies={"console_session": planted}, timeout=10
    )
    assert planted_session.status_code == 401
    assert browser.get("/console/me").status_code == other.get("/console/me").status_code == 200


def test_a_new_password_signs_the_user_out_everywhere(staff: Staff) -> None:
    browser, username = staff.signed_in()

    reset = staff.cli("reset-password", username)

    assert reset.returncode == 0, reset.stderr
    assert browser.get("/console/me").status_code == 401
    new_password = printed_password(reset.stdout)
    assert staff.browser().sign_in(username, new_password).status_code == 303


def test_the_sign_in_page_and_stylesheet_are_public(staff: Staff) -> None:
    page = requests.get(staff.base_url + LOGIN, timeout=10)
    css = requests.get(staff.base_url + "/staff/staff.css", timeout=10)

    assert page.status_code == 200
    assert 'autocomplete="current-password"' in page.text
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert css.status_code == 200
    assert css.headers["Content-Type"].startswith("text/css")
