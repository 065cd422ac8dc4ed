"""Customer dates in Finnish and English, relative to Monday 2026-11-23."""

from __future__ import annotations

from datetime import date

import pytest

from actions.dates import VOCABULARIES, add_months, parse_customer_date

TODAY = date(2026, 11, 23)  # a Monday
assert TODAY.weekday() == 0

FINNISH_CASES = [
    ("15.12.", date(2026, 12, 15)),
    ("15.12", date(2026, 12, 15)),
    ("15.12.2026", date(2026, 12, 15)),
    ("15.12.26", date(2026, 12, 15)),
    ("1.12.", date(2026, 12, 1)),
    ("15. joulukuuta", date(2026, 12, 15)),
    ("15 joulukuuta 2027", date(2027, 12, 15)),
    ("joulukuun 15.", date(2026, 12, 15)),
    ("joulukuun 15. päivä", date(2026, 12, 15)),
    ("2. tammikuuta", date(2027, 1, 2)),
    ("huomenna", date(2026, 11, 24)),
    ("ylihuomenna", date(2026, 11, 25)),
    ("tänään", TODAY),
    ("ensi perjantaina", date(2026, 11, 27)),
    ("perjantaina", date(2026, 11, 27)),
    ("perjantaihin", date(2026, 11, 27)),
    ("perjantaihin mennessä", date(2026, 11, 27)),
    ("pe", date(2026, 11, 27)),
    ("ensi pe", date(2026, 11, 27)),
    ("maanantaina", date(2026, 11, 30)),  # today is Monday: the next one
    ("ma", date(2026, 11, 30)),
    ("tiistaina", date(2026, 11, 24)),
    ("keskiviikkona", date(2026, 11, 25)),
    ("keskiviikkoon", date(2026, 11, 25)),
    ("torstaiksi", date(2026, 11, 26)),
    ("lauantaina", date(2026, 11, 28)),
    ("sunnuntaina", date(2026, 11, 29)),
    ("ensi viikon perjantaina", date(2026, 12, 4)),
    ("kuun loppuun", date(2026, 11, 30)),
    ("kuun lopussa", date(2026, 11, 30)),
    ("kuukauden loppuun", date(2026, 11, 30)),
    ("tämän kuun loppuun mennessä", date(2026, 11, 30)),
    ("ensi kuun loppuun", date(2026, 12, 31)),
    ("joulukuun loppuun", date(2026, 12, 31)),
    ("ensi kuun alussa", date(2026, 12, 1)),
    ("ensi kuun alkuun", date(2026, 12, 1)),
    ("tammikuun alussa", date(2027, 1, 1)),
    ("viikon päästä", date(2026, 11, 30)),
    ("kahden viikon päästä", date(2026, 12, 7)),
    ("2 viikon kuluttua", date(2026, 12, 7)),
    ("parin viikon päästä", date(2026, 12, 7)),
    ("10 päivän päästä", date(2026, 12, 3)),
    ("10 pv päästä", date(2026, 12, 3)),
    ("kolmen päivän päästä", date(2026, 11, 26)),
    ("kuukauden päästä", date(2026, 12, 23)),
    ("15. päivä", date(2026, 12, 15)),
    ("voisinko maksaa 15.12. mennessä?", date(2026, 12, 15)),
    ("maksan sen perjantaina, kiitos", date(2026, 11, 27)),
    ("lasku 1001, eräpäiväksi 15.12.", date(2026, 12, 15)),
]

ENGLISH_CASES = [
    ("15/12", date(2026, 12, 15)),
    ("12/15", date(2026, 12, 15)),  # only valid month-first
    ("2026-12-15", date(2026, 12, 15)),
    ("15 December", date(2026, 12, 15)),
    ("December 15th", date(2026, 12, 15)),
    ("Dec 15", date(2026, 12, 15)),
    ("the 15th of December, 2027", date(2027, 12, 15)),
    ("December 15, 2027", date(2027, 12, 15)),
    ("tomorrow", date(2026, 11, 24)),
    ("Tomorrow!", date(2026, 11, 24)),
    ("the day after tomorrow", date(2026, 11, 25)),
    ("today", TODAY),
    ("next friday", date(2026, 11, 27)),
    ("friday", date(2026, 11, 27)),
    ("on Friday please", date(2026, 11, 27)),
    ("fri", date(2026, 11, 27)),
    ("next monday", date(2026, 11, 30)),
    ("friday next week", date(2026, 12, 4)),
    ("next week on friday", date(2026, 12, 4)),
    ("end of the month", date(2026, 11, 30)),
    ("end of month", date(2026, 11, 30)),
    ("by the end of the month please", date(2026, 11, 30)),
    ("end of next month", date(2026, 12, 31)),
    ("end of December", date(2026, 12, 31)),
    ("beginning of next month", date(2026, 12, 1)),
    ("start of next month", date(2026, 12, 1)),
    ("early next month", date(2026, 12, 1)),
    ("beginning of January", date(2027, 1, 1)),
    ("in a week", date(2026, 11, 30)),
    ("a week from now", date(2026, 11, 30)),
    ("in two weeks", date(2026, 12, 7)),
    ("in 2 weeks", date(2026, 12, 7)),
    ("in a fortnight", date(2026, 12, 7)),
    ("in 10 days", date(2026, 12, 3)),
    ("in three days", date(2026, 11, 26)),
    ("3 days from now", date(2026, 11, 26)),
    ("in a month", date(2026, 12, 23)),
    ("Could I pay on the 15th?", date(2026, 12, 15)),
    ("the 31st", date(2026, 12, 31)),  # November has no 31st
    ("I can pay 15 December 2026", date(2026, 12, 15)),
]


@pytest.mark.parametrize(("text", "expected"), FINNISH_CASES)
def test_finnish(text: str, expected: date) -> None:
    assert parse_customer_date(text, TODAY, "fi") == expected


@pytest.mark.parametrize(("text", "expected"), ENGLISH_CASES)
def test_english(text: str, expected: date) -> None:
    assert parse_customer_date(text, TODAY, "en") == expected


BARE_ABBREVIATIONS = {"pe", "ensi pe", "ma", "fri"}  # read in the conversation's language only


@pytest.mark.parametrize(
    ("text", "expected"),
    [case for case in FINNISH_CASES + ENGLISH_CASES if case[0] not in BARE_ABBREVIATIONS],
)
@pytest.mark.parametrize("language", [None, "fi", "en"])
def test_any_language_setting(text: str, expected: date, language: str | None) -> None:
    """Customers mix languages; the slot only sets which language is tried first."""
    assert parse_customer_date(text, TODAY, language) == expected


@pytest.mark.parametrize("text", sorted(BARE_ABBREVIATIONS))
def test_bare_abbreviations_without_language(text: str) -> None:
    assert parse_customer_date(text, TODAY) is not None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15.1.", date(2027, 1, 15)),  # already past this year: next January
        ("20.11.", date(2027, 11, 20)),
        ("23.11.", TODAY),
        ("24.11.", date(2026, 11, 24)),
        ("15.1.2026", date(2026, 1, 15)),  # an explicit year is kept, even in the past
        ("eilen", date(2026, 11, 22)),
        ("yesterday", date(2026, 11, 22)),
    ],
)
def test_year_roll_and_explicit_past(text: str, expected: date) -> None:
    assert parse_customer_date(text, TODAY) == expected


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("3", None),
        ("1001", None),
        ("10016", None),
        ("2026", None),
        ("1 2", None),
        ("89,90", None),
        ("maksoin 89.90", "fi"),
        ("040 123 4567", None),
        ("klo 15.30", "fi"),
        ("31.11.", None),
        ("32.12.", None),
        ("15.13.", None),
        ("lasku 1001", "fi"),
        ("kiitos", "fi"),
        ("kyllä", "fi"),
        ("ei käy", "fi"),
        ("voinko saada lisää aikaa", "fi"),
        ("joulukuussa", "fi"),  # a month is not a day: ask
        ("ensi viikolla", "fi"),  # a week is not a day: ask
        ("hello", "en"),
        ("ok", "en"),
        ("to", "en"),  # "to" is Thursday only in Finnish
        ("pe", "en"),
        ("may", "en"),
        ("may I have more time", "en"),
        ("I want to pay later", "en"),
        ("next week", "en"),
        ("december", "en"),
        ("", None),
        ("   ", None),
    ],
)
def test_nothing_date_like(text: str, language: str | None) -> None:
    assert parse_customer_date(text, TODAY, language) is None


def test_bare_finnish_abbreviation_needs_finnish_context() -> None:
    assert parse_customer_date("to", TODAY, "fi") == date(2026, 11, 26)
    assert parse_customer_date("to", TODAY, "en") is None


def test_dateparser_fallback_is_used_for_other_forms() -> None:
    # Not in the rule tables: dateparser reads it.
    assert parse_customer_date("3 days ago", TODAY, "en") == date(2026, 11, 20)


def test_result_depends_on_today() -> None:
    friday = date(2026, 11, 27)
    assert parse_customer_date("perjantaina", friday, "fi") == date(2026, 12, 4)
    assert parse_customer_date("kuun loppuun", date(2026, 12, 31), "fi") == date(2026, 12, 31)
    assert parse_customer_date("tomorrow", date(2026, 12, 31), "en") == date(2027, 1, 1)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 11, 23), 14, date(2028, 1, 23)),
    ],
)
def test_add_months(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


def test_vocabularies_are_complete() -> None:
    for vocabulary in VOCABULARIES.values():
        assert len(vocabulary.months) == 12
        assert len(vocabulary.weekdays) == 7
        assert len(vocabulary.weekday_abbreviations) == 7
