"""The input rules every surface shares (bot/inbound.py)."""

from __future__ import annotations

import pytest

from bot.inbound import (
    MAX_INTEGER,
    InvalidInput,
    clean_json,
    clean_text,
    loads_json,
    whole_number,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("hei", "hei"),
        ("emoji cut \ud83d", "emoji cut \ufffd"),
        ("\ude00 alone", "\ufffd alone"),
        ("a pair \ud83d\ude00 rejoined", "a pair \U0001f600 rejoined"),
        ("nul\x00 and bell\x07 gone", "nul and bell gone"),
        ("rivit\nja\tsarkain\r", "rivit\nja\tsarkain\r"),
    ],
)
def test_clean_text(raw: str, expected: str) -> None:
    cleaned = clean_text(raw)
    assert cleaned == expected
    cleaned.encode("utf-8")  # never raises UnicodeEncodeError


def test_clean_json_cleans_keys_and_nested_strings() -> None:
    assert clean_json({"k\ud83d": ["x\ud83d", {"y": "\x00z"}], "n": 1}) == {
        "k\ufffd": ["x\ufffd", {"y": "z"}],
        "n": 1,
    }


def test_loads_json_replaces_lone_surrogate_escapes() -> None:
    assert loads_json(b'{"message": "hei \\ud83d"}') == {"message": "hei \ufffd"}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b"   ", "empty"),
        (b"\xff\xfe{}", "UTF-8"),
        (b'{"a": ', "malformed"),
        (b'{"a": NaN}', "NaN"),
        (b'{"a": -Infinity}', "Infinity"),
        (b"[" * 100_000 + b"]" * 100_000, "deeper"),
        (b"[" * 33 + b"]" * 33, "deeper"),
        (b'{"a":' * 40 + b"1" + b"}" * 40, "deeper"),
    ],
)
def test_loads_json_refuses_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        loads_json(body)


def test_loads_json_takes_its_depth_limit() -> None:
    assert loads_json(b"[" * 32 + b"]" * 32) is not None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, 7), ("", 7), ("0", 0), (" 12 ", 12), (str(MAX_INTEGER), MAX_INTEGER)],
)
def test_whole_number(raw: str | None, expected: int) -> None:
    assert whole_number(raw, "offset", 7) == expected


@pytest.mark.parametrize(
    "raw", ["abc", "1.5", "-1", "99999999999999999999", str(MAX_INTEGER + 1), "1e3", "٣"]
)
def test_whole_number_refuses(raw: str) -> None:
    with pytest.raises(InvalidInput, match="offset must be a whole number"):
        whole_number(raw, "offset", 0)
