"""`python -m bot users ...`: accounts made from the shell, no fixed passwords anywhere."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings
from tests.test_accounts_auth import ACCOUNT_ENV, Staff, printed_password


@pytest.fixture
def offline(tmp_path: Path) -> Staff:
    """Only a database file: the CLI works without a running server."""
    return Staff("http://127.0.0.1:9", secrets.token_urlsafe(16), f"sqlite:///{tmp_path / 'h.db'}")


@pytest.fixture
def online(start_helpdesk, tmp_path: Path) -> Staff:
    """A running helpdesk with an empty database, and its CLI."""
    db_url = f"sqlite:///{tmp_path / 'helpdesk.db'}"
    server = start_helpdesk(db_url=db_url, env=ACCOUNT_ENV)
    return Staff(server.base_url, server.token, db_url)


def demo_passwords(output: str) -> dict[str, str]:
    return dict(re.findall(r"(demo-agent|demo-admin)\s.*?password: (\S+)", output))


def test_users_add_prints_a_generated_password_once(offline: Staff) -> None:
    done = offline.cli("add", "--username", "Aino", "--first-name", "Aino", "--role", "admin")

    assert done.returncode == 0, done.stderr
    password = printed_password(done.stdout)
    assert len(password) >= 20
    assert done.stdout.count(password) == 1
    [(username, role, stored)] = offline.execute("SELECT username, role, password_hash FROM users")
    assert (username, role) == ("aino", "admin")  # usernames are lower case
    assert stored.startswith("$argon2id$")
    assert password not in offline.cli("list").stdout


def test_two_users_get_different_generated_passwords(offline: Staff) -> None:
    first = offline.cli("add", "--username", "aino", "--first-name", "Aino")
    second = offline.cli("add", "--username", "eero", "--first-name", "Eero")

    assert printed_password(first.stdout) != printed_password(second.stdout)


def test_password_from_stdin_is_used_and_never_printed(online: Staff) -> None:
    password = "correct horse battery staple"
    done = online.cli(
        "add", "--username", "eero", "--first-name", "Eero", "--password-stdin", stdin=password
    )

    assert done.returncode == 0, done.stderr
    assert password not in done.stdout + done.stderr
    assert online.browser().sign_in("eero", password).status_code == 303


@pytest.mark.parametrize(
    ("args", "stdin", "complaint"),
    [
        (("--username", "x", "--first-name", "X"), None, "username"),
        (("--username", "bad name", "--first-name", "X"), None, "username"),
        (("--username", "short", "--first-name", "X", "--password-stdin"), "tooshort", "12"),
        (("--username", "blank", "--first-name", " "), None, "first name"),
    ],
)
def test_users_add_refuses_bad_input(
    offline: Staff, args: tuple[str, ...], stdin: str | None, complaint: str
) -> None:
    done = offline.cli("add", *args, stdin=stdin)

    assert done.returncode == 1
    assert complaint in done.stderr
    assert offline.execute("SELECT COUNT(*) FROM users") == [(0,)]


def test_users_add_refuses_a_taken_username(offline: Staff) -> None:
    offline.cli("add", "--username", "aino", "--first-name", "Aino")

    again = offline.cli("add", "--username", "AINO", "--first-name", "Aino")

    assert again.returncode == 1
    assert "already" in again.stderr


def test_unknown_roles_are_refused(offline: Staff) -> None:
    done = offline.cli("add", "--username", "aino", "--first-name", "Aino", "--role", "root")

    assert done.returncode == 2  # argparse: not one of agent, admin


def test_list_unlock_and_remove(offline: Staff) -> None:
    offline.cli("add", "--username", "aino", "--first-name", "Aino")
    offline.execute(
        "UPDATE users SET failed_attempts = 0, locked_until = '2999-01-01 00:00:00.000000'"
    )

    listing = offline.cli("list")
    assert listing.returncode == 0
    assert re.search(r"aino\s+Aino\s+agent\s+never\s+locked until 2999-01-01", listing.stdout)

    assert offline.cli("unlock", "aino").returncode == 0
    assert "active" in offline.cli("list").stdout
    assert offline.cli("unlock", "nobody").returncode == 1

    assert offline.cli("remove", "aino").returncode == 0
    assert offline.execute("SELECT COUNT(*) FROM users") == [(0,)]


def test_ensure_demo_creates_the_demo_users_once_with_fresh_passwords(online: Staff) -> None:
    first = online.cli("ensure-demo")
    second = online.cli("ensure-demo")

    assert first.returncode == second.returncode == 0
    passwords = demo_passwords(first.stdout)
    assert set(passwords) == {"demo-agent", "demo-admin"}
    assert "/console/login" in first.stdout
    assert demo_passwords(second.stdout) == {}
    assert "password" not in second.stdout.lower()
    rows = online.execute("SELECT username, first_name, role FROM users ORDER BY username")
    assert [(name, role) for name, _, role in rows] == [
        ("demo-admin", "admin"),
        ("demo-agent", "agent"),
    ]

    agent = online.browser()
    assert agent.sign_in("demo-agent", passwords["demo-agent"]).status_code == 303
    assert agent.get("/admin").status_code == 403
    admin = online.browser()
    assert admin.sign_in("demo-admin", passwords["demo-admin"]).status_code == 303
    assert admin.get("/admin").status_code == 200


def test_ensure_demo_passwords_differ_between_installations(tmp_path: Path) -> None:
    outputs = []
    for name in ("one", "two"):
        staff = Staff("http://127.0.0.1:9", "t", f"sqlite:///{tmp_path / name}.db")
        outputs.append(demo_passwords(staff.cli("ensure-demo").stdout))

    assert outputs[0]["demo-agent"] != outputs[1]["demo-agent"]
    assert outputs[0]["demo-admin"] != outputs[1]["demo-admin"]


def test_ensure_demo_does_nothing_when_someone_already_has_an_account(offline: Staff) -> None:
    offline.cli("add", "--username", "aino", "--first-name", "Aino", "--role", "admin")

    done = offline.cli("ensure-demo")

    assert done.returncode == 0
    assert demo_passwords(done.stdout) == {}
    assert offline.execute("SELECT username FROM users") == [("aino",)]


def test_no_fixed_password_in_the_repository() -> None:
    """Nothing that sets up the demo carries a password of its own."""
    repo = Path(__file__).resolve().parent.parent
    example = (repo / ".env.example").read_text()
    makefile = (repo / "Makefile").read_text()

    # A password variable may exist (e.g. for SMTP) but never with a value filled in.
    fixed = re.findall(r"(?im)^[ \t]*(\w*PASSWORD\w*)[ \t]*=[ \t]*(?!<generate>)(\S+)", example)
    assert fixed == []
    assert "users ensure-demo" in makefile
    assert "--password" not in makefile


def test_account_settings_are_read_and_checked() -> None:
    settings = Settings.from_env(
        {
            "HELPDESK_API_TOKEN": "t",
            "COOKIE_SECURE": "true",
            "SESSION_IDLE_HOURS": "1.5",
            "SIGNIN_MAX_FAILURES": "3",
            "SIGNIN_LOCK_MINUTES": "5",
        }
    )
    assert settings.cookie_secure is True
    assert settings.session_idle_hours == 1.5
    assert settings.session_max_hours == 12
    assert (settings.signin_max_failures, settings.signin_lock_minutes) == (3, 5)

    for name, value in (
        ("COOKIE_SECURE", "maybe"),
        ("SESSION_IDLE_HOURS", "0"),
        ("SESSION_MAX_HOURS", "-1"),
        ("SIGNIN_MAX_FAILURES", "0"),
        ("SIGNIN_LOCK_MINUTES", "nan"),
    ):
        with pytest.raises(ConfigError, match=name):
            Settings.from_env({"HELPDESK_API_TOKEN": "t", name: value})
