"""Opening hours, Finnish holidays and due times, with fixed datetimes."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import holidays
import pytest

from bot.config import ConfigError, Settings
from bot.service_hours import (
    OpeningHoursError,
    ServiceHours,
    due_time,
    parse_opening_hours,
    service_hours_for,
)

HELSINKI = ZoneInfo("Europe/Helsinki")
SETTINGS = Settings(helpdesk_api_token="t")  # mon-fri 08:00-16:00, 4 working hours


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=HELSINKI)


def hours(text: str = "mon-fri 08:00-16:00") -> ServiceHours:
    return ServiceHours(parse_opening_hours(text), HELSINKI)


# --- due_time ------------------------------------------------------------------


@pytest.mark.parametrize(
    "created,due",
    [
        # Tuesday inside hours: plain 4 hours later.
        (local(2024, 5, 7, 10, 0), local(2024, 5, 7, 14, 0)),
        # 1.5 h left today, 2.5 h tomorrow.
        (local(2024, 5, 7, 14, 30), local(2024, 5, 8, 10, 30)),
        # After closing the clock starts at the next opening.
        (local(2024, 5, 7, 17, 0), local(2024, 5, 8, 12, 0)),
        (local(2024, 5, 7, 16, 0), local(2024, 5, 8, 12, 0)),
        (local(2024, 5, 7, 23, 59), local(2024, 5, 8, 12, 0)),
        # Before opening.
        (local(2024, 5, 7, 6, 0), local(2024, 5, 7, 12, 0)),
        # Weekend rolls to Monday; Friday afternoon continues on Monday.
        (local(2024, 5, 11, 12, 0), local(2024, 5, 13, 12, 0)),
        (local(2024, 5, 10, 15, 0), local(2024, 5, 13, 11, 0)),
    ],
)
def test_due_time_counts_only_working_hours(created: datetime, due: datetime) -> None:
    assert due_time(created, SETTINGS) == due


def test_due_time_accepts_any_offset_and_answers_in_local_time() -> None:
    created = datetime(2024, 5, 7, 5, 30, tzinfo=timezone.utc)  # 08:30 in Helsinki
    due = due_time(created, SETTINGS)
    assert due == local(2024, 5, 7, 12, 30)
    assert due.utcoffset() == timedelta(hours=3)


def test_due_time_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        due_time(datetime(2024, 5, 7, 10, 0), SETTINGS)


def test_zero_response_hours_means_the_next_opening() -> None:
    settings = Settings(helpdesk_api_token="t", ticket_response_hours=0)
    assert due_time(local(2024, 5, 11, 12, 0), settings) == local(2024, 5, 13, 8, 0)
    assert due_time(local(2024, 5, 7, 9, 15), settings) == local(2024, 5, 7, 9, 15)


def test_response_hours_come_from_settings() -> None:
    settings = Settings(helpdesk_api_token="t", ticket_response_hours=10)
    assert due_time(local(2024, 5, 7, 10, 0), settings) == local(2024, 5, 8, 12, 0)


# --- Finnish holidays ----------------------------------------------------------


@pytest.mark.parametrize(
    "created,due",
    [
        # Itsenäisyyspäivä, Fri Dec 6 2024: Thursday 15:00 -> Monday 11:00.
        (local(2024, 12, 5, 15, 0), local(2024, 12, 9, 11, 0)),
        # Christmas Eve, Christmas Day and Boxing Day (Tue-Thu) closed.
        (local(2024, 12, 23, 14, 0), local(2024, 12, 27, 10, 0)),
        # Juhannusaatto (Midsummer Eve) Fri Jun 20 2025 closed.
        (local(2025, 6, 19, 15, 0), local(2025, 6, 23, 11, 0)),
        # Easter 2025: Good Friday Apr 18 and Easter Monday Apr 21.
        (local(2025, 4, 17, 15, 0), local(2025, 4, 22, 11, 0)),
        # New Year's Day 2025 (Wednesday) created during the holiday.
        (local(2025, 1, 1, 10, 0), local(2025, 1, 2, 12, 0)),
    ],
)
def test_public_holidays_are_closed_all_day(created: datetime, due: datetime) -> None:
    assert due_time(created, SETTINGS) == due


@pytest.mark.parametrize(
    "day", [date(2024, 12, 6), date(2024, 12, 24), date(2024, 12, 25), date(2025, 6, 20)]
)
def test_closed_days(day: date) -> None:
    service = hours()
    assert service.is_closed_day(day)
    assert not service.is_open(local(day.year, day.month, day.day, 10, 0))


def test_holidays_library_lists_christmas_eve_and_midsummer_eve() -> None:
    """We rely on holidays.Finland for Midsummer Eve; Dec 24 is also kept by our own rule."""
    finland = holidays.Finland(years=[2024, 2025, 2030])
    assert date(2030, 12, 24) in finland
    assert date(2025, 6, 20) in finland  # Midsummer Eve
    assert date(2030, 6, 21) in finland  # Midsummer Eve 2030 (a Friday)


def test_ordinary_weekday_is_not_closed() -> None:
    assert not hours().is_closed_day(date(2024, 12, 27))


# --- DST -----------------------------------------------------------------------


def test_spring_forward_weekend() -> None:
    # Fri Mar 28 2025 is +02:00; Mon Mar 31 is +03:00.
    due = due_time(local(2025, 3, 28, 15, 0), SETTINGS)
    assert due == local(2025, 3, 31, 11, 0)
    assert due.astimezone(timezone.utc) == datetime(2025, 3, 31, 8, 0, tzinfo=timezone.utc)


def test_fall_back_weekend() -> None:
    # Fri Oct 24 2025 is +03:00; Mon Oct 27 is +02:00.
    due = due_time(local(2025, 10, 24, 15, 0), SETTINGS)
    assert due.astimezone(timezone.utc) == datetime(2025, 10, 27, 9, 0, tzinfo=timezone.utc)


def test_hours_spanning_the_clock_change_count_real_time() -> None:
    # Sun Mar 30 2025 01:00-05:00 local is only 3 real hours (03:00 -> 04:00 is skipped).
    service = hours("sun 01:00-05:00")
    due = service.add_working_time(local(2025, 3, 30, 1, 0), timedelta(hours=4))
    assert due == local(2025, 4, 6, 2, 0)


def test_is_open_across_dst_uses_local_clock() -> None:
    service = hours()
    utc = timezone.utc
    assert service.is_open(datetime(2025, 3, 28, 6, 0, tzinfo=utc))  # 08:00 +02
    assert not service.is_open(datetime(2025, 3, 28, 5, 59, tzinfo=utc))
    assert service.is_open(datetime(2025, 3, 31, 5, 0, tzinfo=utc))  # 08:00 +03
    assert not service.is_open(datetime(2025, 3, 31, 13, 0, tzinfo=utc))  # 16:00 +03


# --- is_open / next_opening ----------------------------------------------------


def test_is_open() -> None:
    service = hours()
    assert service.is_open(local(2024, 5, 7, 8, 0))
    assert service.is_open(local(2024, 5, 7, 15, 59))
    assert not service.is_open(local(2024, 5, 7, 16, 0))
    assert not service.is_open(local(2024, 5, 7, 7, 59))
    assert not service.is_open(local(2024, 5, 11, 12, 0))


def test_next_opening() -> None:
    service = hours()
    assert service.next_opening(local(2024, 5, 11, 12, 0)) == local(2024, 5, 13, 8, 0)
    assert service.next_opening(local(2024, 5, 7, 6, 0)) == local(2024, 5, 7, 8, 0)
    assert service.next_opening(local(2024, 5, 7, 10, 0)) == local(2024, 5, 7, 10, 0)
    assert service.next_opening(local(2024, 12, 23, 17, 0)) == local(2024, 12, 27, 8, 0)


# --- several groups, parsing, display -----------------------------------------


def test_several_groups() -> None:
    settings = Settings(
        helpdesk_api_token="t", opening_hours="mon-thu 08:00-16:00, fri 08:00-15:00"
    )
    assert due_time(local(2024, 5, 10, 14, 0), settings) == local(2024, 5, 13, 11, 0)
    service = service_hours_for(settings)
    assert service.display("fi") == "ma–to klo 8.00–16.00, pe klo 8.00–15.00"
    assert service.display("en") == "Mon–Thu 8:00–16:00, Fri 8:00–15:00"


def test_default_display() -> None:
    assert hours().display("fi") == "ma–pe klo 8.00–16.00"
    assert hours().display("en") == "Mon–Fri 8:00–16:00"


def test_parse_is_forgiving_about_case_spacing_and_dots() -> None:
    assert parse_opening_hours(" Mon - Fri  8.00 - 16.30 ") == parse_opening_hours(
        "mon-fri 08:00-16:30"
    )


def test_lunch_break_as_two_groups_on_one_day() -> None:
    service = hours("mon-fri 08:00-11:30, mon-fri 12:00-16:00")
    assert not service.is_open(local(2024, 5, 7, 11, 45))
    assert service.add_working_time(local(2024, 5, 7, 11, 0), timedelta(hours=1)) == local(
        2024, 5, 7, 12, 30
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "monday-friday 08:00-16:00",
        "mon-fri",
        "mon-fri 16:00-08:00",
        "mon-fri 25:00-26:00",
        "xyz-fri 08:00-16:00",
        "mon-fri 08:00-16:00, mon 12:00-18:00",
    ],
)
def test_bad_opening_hours_are_rejected(text: str) -> None:
    with pytest.raises(OpeningHoursError):
        parse_opening_hours(text)


def test_settings_name_the_bad_variable() -> None:
    env = {"HELPDESK_API_TOKEN": "t", "OPENING_HOURS": "always", "TIMEZONE": "Mars/Olympus"}
    with pytest.raises(ConfigError) as error:
        Settings.from_env(env)
    assert "OPENING_HOURS" in str(error.value) and "TIMEZONE" in str(error.value)


def test_settings_require_the_api_token() -> None:
    with pytest.raises(ConfigError, match="HELPDESK_API_TOKEN"):
        Settings.from_env({})


def test_settings_from_env() -> None:
    settings = Settings.from_env(
        {
            "HELPDESK_API_TOKEN": " secret ",
            "BOT_PORT": "9000",
            "TICKET_RESPONSE_HOURS": "2.5",
            "OPENING_HOURS": "mon-thu 08:00-16:00, fri 08:00-15:00",
        }
    )
    assert settings.helpdesk_api_token == "secret"
    assert settings.port == 9000
    assert settings.ticket_response_hours == 2.5
    assert settings.helpdesk_db_url == "sqlite:///var/helpdesk.db"
    assert settings.timezone == "Europe/Helsinki"
    with pytest.raises(ConfigError, match="BOT_PORT"):
        Settings.from_env({"HELPDESK_API_TOKEN": "t", "BOT_PORT": "eighty"})
