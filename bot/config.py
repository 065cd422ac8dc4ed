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
