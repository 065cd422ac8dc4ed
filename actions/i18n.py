"""Dates, times and money written the way each language writes them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency

SUPPORTED_LANGUAGES = ("fi", "en")
DEFAULT_LANGUAGE = "fi"

DATE_PATTERNS = {"fi": "d.M.yyyy", "en": "d MMMM yyyy"}
DATETIME_PATTERNS = {"fi": "EEEE d.M. 'klo' H.mm", "en": "EEEE d MMMM 'at' HH:mm"}
LOCALES = {"fi": "fi_FI", "en": "en_GB"}


def language_of(value: object) -> str:
    """The conversation language, falling back to Finnish for anything unknown."""
    return value if value in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE  # type: ignore[return-value]


def display_date(value: date, language: str) -> str:
    language = language_of(language)
    return format_date(value, DATE_PATTERNS[language], locale=LOCALES[language])


def display_datetime(value: datetime, language: str, timezone: str) -> str:
    language = language_of(language)
    local = value.astimezone(ZoneInfo(timezone))
    return format_datetime(local, DATETIME_PATTERNS[language], locale=LOCALES[language])


def display_money(amount: Decimal, language: str) -> str:
    language = language_of(language)
    return format_currency(amount, "EUR", locale=LOCALES[language])


def display_number(value: Decimal, language: str) -> str:
    """Plain decimal number, e.g. an interest rate: 11,5 in Finnish, 11.5 in English."""
    text = format(value.normalize(), "f")
    return text.replace(".", ",") if language_of(language) == "fi" else text
