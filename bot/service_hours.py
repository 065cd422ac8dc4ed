"""Opening hours and Finnish public holidays: when a person can answer.

The bot promises a real time ("by Monday 11.00"), so every promise is computed
here from the configured hours, the local time zone (DST included) and the
holidays of Finland. Times go in and come out timezone-aware.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import holidays
from babel.dates import get_day_names

if TYPE_CHECKING:
    from bot.config import Settings

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Days the office is closed although they may be missing from holidays.Finland.
# holidays 0.86 already lists Christmas Eve and Midsummer Eve as public holidays;
# Dec 24 stays here so an upgrade of the library cannot silently open the office.
EXTRA_CLOSED_DAYS = frozenset({(12, 24)})

# How far ahead to look for an opening before deciding the hours can never open.
_SEARCH_DAYS = 3 * 366

_GROUP = re.compile(
    r"^(?P<first>[a-z]{3})(?:\s*-\s*(?P<last>[a-z]{3}))?\s+"
    r"(?P<opens>\d{1,2}[:.]\d{2})\s*-\s*(?P<closes>\d{1,2}[:.]\d{2})$"
)


class OpeningHoursError(ValueError):
    """The opening-hours text cannot be understood; the message shows the right form."""


@dataclass(frozen=True)
class OpeningPeriod:
    """One group such as `mon-thu 08:00-16:00`: consecutive weekdays, same hours."""

    first_day: int
    last_day: int
    opens: time
    closes: time

    @property
    def weekdays(self) -> tuple[int, ...]:
        span = (self.last_day - self.first_day) % 7
        return tuple((self.first_day + offset) % 7 for offset in range(span + 1))


def parse_opening_hours(text: str) -> tuple[OpeningPeriod, ...]:
    """Parse `mon-thu 08:00-16:00, fri 08:00-15:00` (English weekday abbreviations)."""
    periods = []
    for raw_group in text.split(","):
        group = " ".join(raw_group.lower().split())
        if not group:
            continue
        match = _GROUP.match(group)
        if not match:
            raise OpeningHoursError(
                f"cannot read {raw_group.strip()!r}; write groups like "
                "'mon-fri 08:00-16:00', separated by commas"
            )
        first = _weekday(match["first"])
        last = _weekday(match["last"]) if match["last"] else first
        opens, closes = _clock(match["opens"]), _clock(match["closes"])
        if closes <= opens:
            raise OpeningHoursError(f"in {raw_group.strip()!r} closing must be after opening")
        periods.append(OpeningPeriod(first, last, opens, closes))
    if not periods:
        raise OpeningHoursError("no opening hours given, e.g. 'mon-fri 08:00-16:00'")
    _reject_overlaps(periods)
    return tuple(periods)


def _weekday(name: str) -> int:
    if name not in WEEKDAYS:
        raise OpeningHoursError(f"unknown weekday {name!r}; use one of {', '.join(WEEKDAYS)}")
    return WEEKDAYS.index(name)


def _clock(text: str) -> time:
    hours, minutes = (int(part) for part in re.split(r"[:.]", text))
    if hours == 24 and minutes == 0:
        return time.max
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise OpeningHoursError(f"{text!r} is not a time of day")
    return time(hours, minutes)


def _reject_overlaps(periods: list[OpeningPeriod]) -> None:
    """Overlapping hours would count the same working time twice."""
    for day in range(7):
        spans = sorted((p.opens, p.closes) for p in periods if day in p.weekdays)
        for (_, closes), (opens, _) in itertools.pairwise(spans):
            if opens < closes:
                raise OpeningHoursError(f"hours overlap on {WEEKDAYS[day]}")


class ServiceHours:
    """Answers "open now?", "when next open?" and "when is this due?"."""

    def __init__(self, periods: tuple[OpeningPeriod, ...], tz: ZoneInfo) -> None:
        self.periods = periods
        self.tz = tz
        self._holidays = holidays.Finland()

    def is_closed_day(self, day: date) -> bool:
        """Public holidays (and Christmas Eve) are closed all day."""
        return day in self._holidays or (day.month, day.day) in EXTRA_CLOSED_DAYS

    def intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The opening intervals of one local date, as aware UTC datetimes."""
        if self.is_closed_day(day):
            return []
        found = []
        for period in self.periods:
            if day.weekday() in period.weekdays:
                opens = datetime.combine(day, period.opens, self.tz)
                closes = datetime.combine(day, period.closes, self.tz)
                found.append((opens.astimezone(timezone.utc), closes.astimezone(timezone.utc)))
        return sorted(found)

    def _intervals_from(self, at: datetime):
        """Intervals (UTC) that end after `at`, in order, for a bounded time ahead."""
        start_day = _aware(at).astimezone(self.tz).date()
        for offset in range(_SEARCH_DAYS):
            for opens, closes in self.intervals(start_day + timedelta(days=offset)):
                if closes > at:
                    yield opens, closes
        raise OpeningHoursError("the opening hours never open")

    def is_open(self, at: datetime) -> bool:
        at = _aware(at)
        local_day = at.astimezone(self.tz).date()
        return any(opens <= at < closes for opens, closes in self.intervals(local_day))

    def next_opening(self, at: datetime) -> datetime:
        """The start of the next interval; `at` itself if open now. Local time zone."""
        at = _aware(at)
        opens, _ = next(self._intervals_from(at))
        return max(opens, at).astimezone(self.tz)

    def add_working_time(self, start: datetime, duration: timedelta) -> datetime:
        """`start` plus `duration` counted only while open (starts at the next opening)."""
        start = _aware(start)
        remaining = duration
        for opens, closes in self._intervals_from(start):
            begin = max(opens, start)
            if closes - begin >= remaining:
                return (begin + remaining).astimezone(self.tz)
            remaining -= closes - begin
        raise AssertionError("unreachable: _intervals_from raises when exhausted")

    def display(self, language: str) -> str:
        """Human-readable hours: fi `ma–pe klo 8.00–16.00`, en `Mon–Fri 8:00–16:00`."""
        names = get_day_names("abbreviated", context="stand-alone", locale=language)
        separator = "." if language == "fi" else ":"
        groups = []
        for period in self.periods:
            days = names[period.first_day]
            if period.last_day != period.first_day:
                days += "–" + names[period.last_day]
            hours = f"{_show(period.opens, separator)}–{_show(period.closes, separator)}"
            groups.append(f"{days} klo {hours}" if language == "fi" else f"{days} {hours}")
        return ", ".join(groups)


def _show(moment: time, separator: str) -> str:
    if moment == time.max:
        return f"24{separator}00"
    return f"{moment.hour}{separator}{moment.minute:02d}"


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("a timezone-aware datetime is required")
    return at.astimezone(timezone.utc)


@lru_cache(maxsize=8)
def _cached(opening_hours: str, tz_name: str) -> ServiceHours:
    return ServiceHours(parse_opening_hours(opening_hours), ZoneInfo(tz_name))


def service_hours_for(settings: Settings) -> ServiceHours:
    """The ServiceHours of these settings (built once per distinct configuration)."""
    return _cached(settings.opening_hours, settings.timezone)


def due_time(created_at: datetime, settings: Settings) -> datetime:
    """When a ticket created at `created_at` must be answered, in working time."""
    hours = service_hours_for(settings)
    return hours.add_working_time(created_at, timedelta(hours=settings.ticket_response_hours))
