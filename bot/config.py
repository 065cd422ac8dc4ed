"""Settings of the bot service, read from the environment in one place.

Only the entry point (`python -m bot`) loads `.env`; everything else receives a
`Settings` instance, so tests can build one directly without touching os.environ.

To add a setting: add a field with its default, one line in `from_env`, and a
check in `problems` if a wrong value should stop the service from starting.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.service_hours import OpeningHoursError, parse_opening_hours

N = TypeVar("N", int, float)


class ConfigError(ValueError):
    """A setting is missing or wrong; the message says which variable to fix."""


@dataclass(frozen=True)
class Settings:
    helpdesk_api_token: str = ""
    helpdesk_db_url: str = "sqlite:///var/helpdesk.db"
    host: str = "127.0.0.1"
    port: int = 8000
    opening_hours: str = "mon-fri 08:00-16:00"
    timezone: str = "Europe/Helsinki"
    ticket_response_hours: float = 4.0
    # Where browsers reach Rasa's socket.io channel; the demo page gives it to the widget.
    rasa_public_url: str = "http://localhost:5005"
    # Staff sign-in (agent console and admin area).
    cookie_secure: bool = False  # True behind HTTPS: the session cookie gets the Secure flag
    session_idle_hours: float = 8.0  # signed out after this long without a request
    session_max_hours: float = 12.0  # and after this long in any case
    signin_max_failures: int = 5  # failed sign-ins in a row before the account is locked
    signin_lock_minutes: float = 15.0
    # Agent console: where the bot service reaches Rasa's HTTP API (widget push,
    # resume after a ticket is resolved) and the token of that API.
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str = ""
    # Agent replies to a customer who has left the chat go out by e-mail.
    smtp_host: str = "localhost"
    smtp_port: int = 8025
    smtp_from: str = "Laskutus Oy <asiakaspalvelu@example.com>"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    # The demo SMTP server (python -m bot.mail_server) keeps every message here.
    demo_mail_dir: str = "var/mail"
    # Admin loop: the conversation logs (Rasa's SQL tracker store), the project whose
    # data/ receives labelled examples and whose models/ receives candidates, and the
    # model Rasa was started with (the stack passes RASA_MODEL to every process).
    tracker_store_url: str = "sqlite:///var/tracker.db"
    # The actions' outbox (deliveries the helpdesk refused are shown to admins).
    outbox_path: str = "var/outbox.db"
    project_dir: str = ""  # empty: this checkout
    rasa_model: str = ""  # empty: models/current.tar.gz of the project

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every setting; raise ConfigError naming the variables that are wrong."""
        env = os.environ if environ is None else environ
        defaults = cls()
        settings = cls(
            helpdesk_api_token=env.get("HELPDESK_API_TOKEN", defaults.helpdesk_api_token).strip(),
            helpdesk_db_url=env.get("HELPDESK_DB_URL", defaults.helpdesk_db_url),
            host=env.get("BOT_HOST", defaults.host),
            port=_number(env, "BOT_PORT", defaults.port, int),
            opening_hours=env.get("OPENING_HOURS", defaults.opening_hours),
            timezone=env.get("TIMEZONE", defaults.timezone),
            ticket_response_hours=_number(
                env, "TICKET_RESPONSE_HOURS", defaults.ticket_response_hours, float
            ),
            rasa_public_url=(
                env.get("RASA_PUBLIC_URL", "").strip()
                or f"http://localhost:{env.get('RASA_PORT', '').strip() or 5005}"
            ).rstrip("/"),
            cookie_secure=_flag(env, "COOKIE_SECURE", defaults.cookie_secure),
            session_idle_hours=_number(
                env, "SESSION_IDLE_HOURS", defaults.session_idle_hours, float
            ),
            session_max_hours=_number(env, "SESSION_MAX_HOURS", defaults.session_max_hours, float),
            signin_max_failures=_number(
                env, "SIGNIN_MAX_FAILURES", defaults.signin_max_failures, int
            ),
            signin_lock_minutes=_number(
                env, "SIGNIN_LOCK_MINUTES", defaults.signin_lock_minutes, float
            ),
            rasa_url=(
                env.get("RASA_URL", "").strip()
                or f"http://127.0.0.1:{env.get('RASA_PORT', '').strip() or 5005}"
            ).rstrip("/"),
            rasa_token=env.get("RASA_TOKEN", defaults.rasa_token).strip(),
            smtp_host=env.get("SMTP_HOST", "").strip() or defaults.smtp_host,
            smtp_port=_number(env, "SMTP_PORT", defaults.smtp_port, int),
            smtp_from=env.get("SMTP_FROM", "").strip() or defaults.smtp_from,
            smtp_username=env.get("SMTP_USERNAME", defaults.smtp_username).strip(),
            smtp_password=env.get("SMTP_PASSWORD", defaults.smtp_password),
            smtp_starttls=_flag(env, "SMTP_STARTTLS", defaults.smtp_starttls),
            demo_mail_dir=env.get("DEMO_MAIL_DIR", "").strip() or defaults.demo_mail_dir,
            outbox_path=env.get("HELPDESK_OUTBOX_PATH", "").strip() or defaults.outbox_path,
            tracker_store_url=(
                env.get("TRACKER_STORE_URL", "").strip() or defaults.tracker_store_url
            ),
            project_dir=env.get("ADMIN_PROJECT_DIR", defaults.project_dir).strip(),
            rasa_model=env.get("RASA_MODEL", defaults.rasa_model).strip(),
        )
        settings.validate()
        return settings

    def problems(self) -> list[str]:
        """Everything wrong with these settings, one readable line each."""
        found = []
        if not self.helpdesk_api_token:
            found.append(
                "HELPDESK_API_TOKEN is empty: set it to a long random secret "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`); "
                "the action server uses the same value"
            )
        if not 0 < self.port < 65536:
            found.append(f"BOT_PORT must be between 1 and 65535, not {self.port}")
        if not 0 <= self.ticket_response_hours <= 1000:  # also catches nan
            found.append("TICKET_RESPONSE_HOURS must be a number of hours from 0 to 1000")
        public = urlsplit(self.rasa_public_url)
        if public.scheme not in ("http", "https") or not public.hostname:
            found.append(
                f"RASA_PUBLIC_URL must be an http(s) URL such as http://localhost:5005, "
                f"not {self.rasa_public_url!r}"
            )
        if not 0 < self.session_idle_hours <= 24 * 30:
            found.append("SESSION_IDLE_HOURS must be a number of hours above 0 and at most 720")
        if not 0 < self.session_max_hours <= 24 * 90:
            found.append("SESSION_MAX_HOURS must be a number of hours above 0 and at most 2160")
        if not 1 <= self.signin_max_failures <= 100:
            found.append("SIGNIN_MAX_FAILURES must be a whole number from 1 to 100")
        if not 0 < self.signin_lock_minutes <= 7 * 24 * 60:
            found.append(
                "SIGNIN_LOCK_MINUTES must be a number of minutes above 0 and at most 10080"
            )
        rasa = urlsplit(self.rasa_url)
        if rasa.scheme not in ("http", "https") or not rasa.hostname:
            found.append(
                f"RASA_URL must be an http(s) URL such as http://127.0.0.1:5005, "
                f"not {self.rasa_url!r}"
            )
        if not 0 < self.smtp_port < 65536:
            found.append(f"SMTP_PORT must be between 1 and 65535, not {self.smtp_port}")
        if "@" not in self.smtp_from:
            found.append(
                f"SMTP_FROM must be an e-mail address such as "
                f"'Laskutus Oy <asiakaspalvelu@example.com>', not {self.smtp_from!r}"
            )
        if bool(self.smtp_username) != bool(self.smtp_password):
            found.append("SMTP_USERNAME and SMTP_PASSWORD go together: set both or neither")
        if self.project_dir and not (Path(self.project_dir) / "domain.yml").is_file():
            found.append(
                f"ADMIN_PROJECT_DIR must be a Rasa project folder (with domain.yml), "
                f"not {self.project_dir!r}"
            )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            found.append(
                f"TIMEZONE {self.timezone!r} is not a known time zone (e.g. Europe/Helsinki)"
            )
        try:
            parse_opening_hours(self.opening_hours)
        except OpeningHoursError as error:
            found.append(f"OPENING_HOURS: {error}")
        return found

    def validate(self) -> None:
        """Refuse to run with settings that would break at the first request."""
        found = self.problems()
        if found:
            raise ConfigError("Invalid settings:\n  - " + "\n  - ".join(found))


def _number(env: Mapping[str, str], name: str, default: N, kind: Callable[[str], N]) -> N:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None


TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw == "":
        return default
    if raw in TRUE_WORDS:
        return True
    if raw in FALSE_WORDS:
        return False
    raise ConfigError(f"{name} must be true or false, not {env.get(name)!r}")
