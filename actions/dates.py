"""Dates in Finnish and English customer messages ("perjantaihin", "15.12.", "in 2 weeks").

dateparser alone gets the common Finnish forms wrong: "15.12" becomes 15:12 today,
inflected weekdays ("perjantaihin") and "ensi"/"next" are not understood, "to" is read
as Thursday and a lone "3" as March. So the forms customers use are matched first by
rules built from per-language word tables (`VOCABULARIES`), and dateparser only gets
what is left, with guards against such guesses.

Dates without a year are taken as the next such date (15.1. in November is next
January); weekdays as the next such day after today ("next friday" too: the bot
confirms the concrete date anyway); "ensi viikon perjantaina"/"friday next week" as
the Friday of next week. Explicit dates in the past are returned as they are: the
caller decides whether a past date makes sense.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache, lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dateparser.date import DateDataParser

LANGUAGES = ("fi", "en")

_DAY = r"(?P<day>[0-3]?\d)"
_YEAR = r"(?P<year>\d{4})"


@dataclass(frozen=True, eq=False)  # hashed by identity, so compiled patterns can be cached
class Vocabulary:
    """The words and phrase templates of one language. Every entry is a regex fragment.

    Templates may use {day}, {month}, {year}, {weekday}, {num} and {unit}; a template
    may capture `next` to mean "of next month" (month end and start patterns).
    """

    months: tuple[str, ...]  # January first
    weekdays: tuple[str, ...]  # Monday first; matched anywhere in the text
    weekday_abbreviations: tuple[str, ...]  # matched only as the whole message
    next_words: tuple[str, ...]  # "ensi", "next": may precede an abbreviation
    relative_days: Mapping[str, int]  # "huomenna" -> 1
    numbers: Mapping[str, int]  # "kahden" -> 2
    units: Mapping[str, int]  # "viikon" -> 7 (days) or -1 (one month)
    offset_patterns: tuple[str, ...]
    day_month_patterns: tuple[str, ...]
    day_of_month_patterns: tuple[str, ...]
    next_week_patterns: tuple[str, ...]
    month_end_patterns: tuple[str, ...]
    month_start_patterns: tuple[str, ...]


MONTH = -1  # a unit worth one calendar month

FINNISH = Vocabulary(
    months=tuple(
        rf"{stem}kuu\w*"
        for stem in (
            "tammi",
            "helmi",
            "maalis",
            "huhti",
            "touko",
            "kesä",
            "heinä",
            "elo",
            "syys",
            "loka",
            "marras",
            "joulu",
        )
    ),
    weekdays=(
        r"maanantai\w*",
        r"tiistai\w*",
        r"keskiviik\w*",
        r"torstai\w*",
        r"perjantai\w*",
        r"lauantai\w*",
        r"sunnuntai\w*",
    ),
    weekday_abbreviations=("ma", "ti", "ke", "to", "pe", "la", "su"),
    next_words=("ensi", "tulevana", "seuraavana"),
    relative_days={
        "toissapäivänä": -2,
        "eilen": -1,
        "tänään": 0,
        "huomenna": 1,
        r"huomise\w*": 1,
        "ylihuomenna": 2,
        r"ylihuomise\w*": 2,
    },
    numbers={
        "yksi": 1,
        "yhden": 1,
        "kaksi": 2,
        "kahden": 2,
        "pari": 2,
        "parin": 2,
        "kolme": 3,
        "kolmen": 3,
        "neljä": 4,
        "neljän": 4,
        "viisi": 5,
        "viiden": 5,
        "kuusi": 6,
        "kuuden": 6,
        "seitsemän": 7,
        "kahdeksan": 8,
        "yhdeksän": 9,
        "kymmenen": 10,
    },
    units={
        r"päivä\w*": 1,
        r"pv\.?": 1,
        r"vrk\.?": 1,
        r"viiko\w*|viikko\w*": 7,
        r"kuukau\w*|kk\.?": MONTH,
    },
    offset_patterns=(r"(?:{num}\s*)?{unit}\s+(?:päästä|kuluttua|päähän|eteenpäin)",),
    day_month_patterns=(
        r"{day}\.?\s*(?:päivä\w*\s+)?{month}(?:\s+{year})?",
        r"{month}\s+{day}\.?(?:\s*päivä\w*)?(?:\s+{year})?",
    ),
    day_of_month_patterns=(r"{day}\.\s*(?:päivä|päivänä|päivään|päiväksi)\b",),
    next_week_patterns=(r"(?:ensi|seuraavan|tulevan)\s+viikon\s+{weekday}",),
    month_end_patterns=(
        r"(?:(?P<next>ensi|seuraavan)\s+|tämän\s+)?(?:kuun|kuukauden)\s+(?:loppu|lopu)\w*",
        r"{month}\s+(?:loppu|lopu)\w*",
    ),
    month_start_patterns=(
        r"(?:(?P<next>ensi|seuraavan)\s+)?(?:kuun|kuukauden)\s+(?:alussa|alkuun|alku\w*)",
        r"{month}\s+(?:alussa|alkuun|alku\w*)",
    ),
)

ENGLISH = Vocabulary(
    months=(
        r"january|jan\.?",
        r"february|feb\.?",
        r"march|mar\.?",
        r"april|apr\.?",
        r"may",
        r"june|jun\.?",
        r"july|jul\.?",
        r"august|aug\.?",
        r"september|sept?\.?",
        r"october|oct\.?",
        r"november|nov\.?",
        r"december|dec\.?",
    ),
    weekdays=(
        r"mondays?",
        r"tuesdays?",
        r"wednesdays?",
        r"thursdays?",
        r"fridays?",
        r"saturdays?",
        r"sundays?",
    ),
    weekday_abbreviations=(
        r"mon",
        r"tue|tues",
        r"wed",
        r"thu|thur|thurs",
        r"fri",
        r"sat",
        r"sun",
    ),
    next_words=("next", "this", "coming", "this coming"),
    relative_days={
        r"(?:the\s+)?day\s+before\s+yesterday": -2,
        "yesterday": -1,
        "today": 0,
        "tomorrow": 1,
        r"(?:the\s+)?day\s+after\s+tomorrow": 2,
    },
    numbers={
        "a": 1,
        "an": 1,
        "one": 1,
        r"a\s+couple\s+of": 2,
        r"couple\s+of": 2,
        "two": 2,
        "three": 3,
        "four": 4,
        "five": 5,
        "six": 6,
        "seven": 7,
        "eight": 8,
        "nine": 9,
        "ten": 10,
    },
    units={r"days?": 1, r"weeks?": 7, r"fortnight": 14, r"months?": MONTH},
    offset_patterns=(
        r"\bin\s+(?:{num}\s+)?{unit}",
        r"(?:{num}\s+)?{unit}\s+from\s+(?:now|today)",
    ),
    day_month_patterns=(
        r"(?:the\s+)?{day}(?:st|nd|rd|th)?\.?\s*(?:of\s+)?{month}(?:,?\s+{year})?",
        r"{month}\s+(?:the\s+)?{day}(?:st|nd|rd|th)?(?:,?\s+{year})?",
    ),
    day_of_month_patterns=(r"{day}(?:st|nd|rd|th)\b",),
    next_week_patterns=(
        r"{weekday}\s+(?:of\s+)?next\s+week",
        r"next\s+week(?:'s)?\s+(?:on\s+)?{weekday}",
    ),
    month_end_patterns=(
        r"end\s+of\s+(?:the\s+|this\s+)?(?P<next>next\s+)?month",
        r"(?P<next>next\s+)?month(?:'s)?\s+end",
        r"end\s+of\s+{month}",
    ),
    month_start_patterns=(
        r"(?:beginning|start)\s+of\s+(?:the\s+)?(?P<next>next\s+)?month",
        r"early\s+(?P<next>next\s+)month",
        r"(?:beginning|start)\s+of\s+{month}",
        r"early\s+{month}",
    ),
)

VOCABULARIES: Mapping[str, Vocabulary] = {"fi": FINNISH, "en": ENGLISH}

Rule = Callable[[str, date, Vocabulary], "date | None"]


def parse_customer_date(text: str, today: date, language: str | None = None) -> date | None:
    """The date a customer means, or None when the text holds nothing date-like.

    `language` ("fi"/"en") decides which language is tried first (customers mix
    languages); only bare weekday abbreviations ("pe", "fri") are read in that language
    alone.
    """
    cleaned = _normalise(text)
    if not cleaned:
        return None
    vocabularies = [VOCABULARIES[code] for code in _language_order(language)]
    for rule in _RULES:
        bound = language in LANGUAGES and rule in _PREFERRED_LANGUAGE_ONLY
        for vocabulary in vocabularies[:1] if bound else vocabularies:
            found = rule(cleaned, today, vocabulary)
            if found is not None:
                return found
    return _dateparser_fallback(cleaned, today, _language_order(language))


def _normalise(text: str) -> str:
    """Lower case, single spaces, no trailing punctuation that carries no date."""
    cleaned = re.sub(r"\s+", " ", text.lower().replace("\u2019", "'")).strip()
    return cleaned.strip(" !?,;:\"'()")


def _language_order(language: str | None) -> tuple[str, ...]:
    if language in LANGUAGES:
        return (language, *(code for code in LANGUAGES if code != language))
    return LANGUAGES


# --- calendar helpers -------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """Same day of the month `months` later, clamped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _next_yearless(month: int, day: int, today: date) -> date | None:
    """This year's date, or next year's if this year's has passed."""
    for year in (today.year, today.year + 1):
        candidate = _safe_date(year, month, day)
        if candidate is not None and candidate >= today:
            return candidate
    return None


def _next_weekday(weekday: int, today: date) -> date:
    """The next such weekday strictly after today."""
    return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)


# --- pattern building -------------------------------------------------------------


def _alternation(words: Iterable[str]) -> str:
    """Longest first, so "ylihuomenna" is tried before "huomenna"."""
    return "|".join(sorted(words, key=len, reverse=True))


def _index_of(patterns: Iterable[str], word: str) -> int:
    """Which entry of a table the matched word belongs to."""
    for index, pattern in enumerate(patterns):
        if re.fullmatch(pattern, word):
            return index
    raise LookupError(word)


def _value_of(table: Mapping[str, int], word: str) -> int:
    for pattern, value in table.items():
        if re.fullmatch(pattern, word):
            return value
    raise LookupError(word)


@cache
def _compiled(template: str, vocabulary: Vocabulary) -> re.Pattern[str]:
    """A template with its placeholders filled, whole words only."""
    filled = template.format(
        day=_DAY,
        year=_YEAR,
        month=rf"(?P<month>{_alternation(vocabulary.months)})",
        weekday=rf"(?P<weekday>{_alternation(vocabulary.weekdays)})",
        num=rf"(?P<num>\d{{1,3}}|{_alternation(vocabulary.numbers)})",
        unit=rf"(?P<unit>{_alternation(vocabulary.units)})",
    )
    return re.compile(rf"(?<![\w.,/-])(?:{filled})(?![\w/-]|[.,]\d)")


def _matches(
    templates: Iterable[str], text: str, vocabulary: Vocabulary
) -> Iterator[re.Match[str]]:
    for template in templates:
        yield from _compiled(template, vocabulary).finditer(text)


def _month_of(match: re.Match[str], vocabulary: Vocabulary) -> int:
    return _index_of(vocabulary.months, match.group("month")) + 1


# --- rules, most specific first ---------------------------------------------------


_ISO = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")
_NUMERIC = re.compile(
    r"(?<![\d.,/:])(?<!klo )(?<!kello )(?<!at )"
    r"(\d{1,2})([./])(\d{1,2})(?:\2(\d{4}|\d{2}))?\.?(?![\d,:]|[./]\d)"
)


def _iso_date(text: str, today: date, vocabulary: Vocabulary) -> date | None:
    for match in _ISO.finditer(text):
        found = _safe_date(*(int(part) for part in match.groups()))
        if found is not None:
            return found
    return None


def _numeric_date(text: str, today: date, vocabulary: Vocabulary) -> date | None:
    """15.12.2026, 15.12.26, 15.12., 15.12, 15/12 (and 12/15 when only that is valid)."""
    for match in _NUMERIC.finditer(text):
        first, separator, second, year = match.groups()
        orders = [(int(first), int(second))]
        if separator == "/":
            orders.append((int(second), int(first)))
        for day, month in orders:
            found = _dated(day, month, year, today)
            if found is not None:
                return found
    return None


def _dated(day: int, month: int, year: str | None, today: date) -> date | None:
    if year is None:
        return _next_yearless(month, day, today)
    full_year = int(year) + (2000 if len(year) == 2 else 0)
    return _safe_date(full_year, month, day)


def _day_month(text: str, today: date, vocabulary: Vocabulary) -> date | None:
    """15. joulukuuta, joulukuun 15., 15 December 2026, December 15th."""
    for match in _matches(vocabulary.day_month_patterns, text, vocabulary):
        found = _dated(
            int(match.group("day")), _month_of(match, vocabulary), match.group("year"), today
        )
        if found is not None:
            return found
    return None


def _relative_day(text: str, today: date, vocabulary: Vocabulary) -> date | None:
    """huomenna, ylihuomenna, tomorrow, the day after tomorrow."""
    for word in sorted(vocabulary.relative_days, key=len, reverse=True):
        if re.search(rf"(?<!\w){word}(?!\w)", text):
            return today + timedelta(days=vocabulary.relative_days[word])
    return None


def _offset(text: str, today: date, vocabulary: Vocabulary) -> date | None:
    """viikon päästä, 10 päivän päästä, in two weeks, 3 days from now."""
    for match in _matches(vocabulary.offset_patterns, text, vocabulary):
        count_word = match.group("num")
        if count_word is None:
            count = 1
        elif count_word.isdigit():
            count = int(count_word)
        else:
            count = _value_of(vocabulary.numbers, count_word)
        unit = _value_of(vocabulary.units, match.group("unit"))
        if unit == MONTH:
            return add_months(today, count)
        return today + timedelta(days=count * unit)
    return None


def _month_end_or_start(
    templates: tuple[str, ...], text: str, today: date, vocabulary: Vocabulary, end: bool
) -> date | None:
    for match in _matches(templates, text, vocabulary):
        groups = match.groupdict()
        if groups.get("month"):
            month = _month_of(match, vocabulary)
            year = today.year if month >= today.month else today.year + 1
            if not end and (year, month) == (today.year, today.month) and today.day > 1:
                year += 1
            first = date(year, month, 1)
        else:
            first = today.replace(day=1)
            if groups.get("next") or not end:
                first = add_months(first, 1)
        return _month_end(first.year, first.month) if end else first
    return None


def _month_end_rule(text: str, today: date, vocabulary: Vocabulary) -> date | None:
    """kuun loppuun, ensi kuun lopussa, end of the month, joulukuun loppuun."""
    return _month_end_or_start(vocabulary.month_end_patterns, text, today, vocabulary, end=True)


def _month_start_rule(text: str, today: date, vocabulary: Vocabulary) -> date | None:
    """ensi kuun alussa, beginning of next month: the first day of that month."""
    return _month_end_or_start(vocabulary.month_start_patterns, text, today, vocabulary, end=False)


def _next_week_weekday(text: str, today: date, vocabulary: Vocabulary) -> date | None:
    """ensi viikon perjantaina, friday next week: that day of next calendar week."""
    for match in _matches(vocabulary.next_week_patterns, text, vocabulary):
        weekday = _index_of(vocabulary.weekdays, match.group("weekday"))
        next_monday = today + timedelta(days=7 - today.weekday())
        return next_monday + timedelta(days=weekday)
    return None


def _weekday(text: str, today: date, vocabulary: Vocabulary) -> date | None:
    """perjantaina, perjantaihin, ensi perjantaina, next friday: the next such day."""
    match = _compiled("{weekday}", vocabulary).search(text)
    if match is None:
        return None
    return _next_weekday(_index_of(vocabulary.weekdays, match.group("weekday")), today)


def _weekday_abbreviation(text: str, today: date, vocabulary: Vocabulary) -> date | None:
    """ "pe", "ensi pe", "fri": only as the whole message, since "to" and "ma" are words too."""
    pattern = rf"(?:(?:{_alternation(vocabulary.next_words)})\s+)?(?P<abbr>[a-z]+)\.?"
    match = re.fullmatch(pattern, text)
    if match is None:
        return None
    for weekday, abbreviation in enumerate(vocabulary.weekday_abbreviations):
        if re.fullmatch(abbreviation, match.group("abbr")):
            return _next_weekday(weekday, today)
    return None


def _day_of_month(text: str, today: date, vocabulary: Vocabulary) -> date | None:
    """ "the 15th", "15. päivä": the next 15th."""
    for match in _matches(vocabulary.day_of_month_patterns, text, vocabulary):
        day = int(match.group("day"))
        for months in range(3):
            month_start = add_months(today.replace(day=1), months)
            candidate = _safe_date(month_start.year, month_start.month, day)
            if candidate is not None and candidate >= today:
                return candidate
    return None


_RULES: tuple[Rule, ...] = (
    _iso_date,
    _numeric_date,
    _day_month,
    _offset,
    _month_end_rule,
    _month_start_rule,
    _relative_day,
    _next_week_weekday,
    _weekday,
    _weekday_abbreviation,
    _day_of_month,
)
# Abbreviations are too short to guess the language from ("to" is Thursday in Finnish).
_PREFERRED_LANGUAGE_ONLY: frozenset[Rule] = frozenset({_weekday_abbreviation})


# --- dateparser, for what the rules do not know -----------------------------------


def _dateparser_fallback(text: str, today: date, languages: tuple[str, ...]) -> date | None:
    """dateparser's reading, unless it is one of its known guesses.

    Rejected: text without letters ("3", "1001"), single short words ("to" would be
    Thursday), anything it reads as a month, year, week or time of day rather than a
    day, and dates far from today.
    """
    if not re.search(r"[^\W\d_]", text) or re.fullmatch(r"[^\W\d_]{1,3}\.?", text):
        return None
    data = _date_parser(languages, today).get_date_data(text)
    found = data.date_obj
    if found is None or data.period != "day":
        return None
    if (found.hour, found.minute, found.second) != (0, 0, 0):
        return None
    if not today.year - 1 <= found.year <= today.year + 2:
        return None
    return found.date()


@lru_cache(maxsize=8)
def _date_parser(languages: tuple[str, ...], today: date) -> DateDataParser:
    """Built on first use (it is slow to build), one per language order and day."""
    from dateparser.date import DateDataParser

    return DateDataParser(
        languages=list(languages),
        settings={
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": datetime.combine(today, datetime.min.time()),
        },
    )
