"""Finnish reference numbers and invoice numbers in customer text."""

from __future__ import annotations

import pytest

from actions.reference import (
    check_digit,
    extract_invoice_number,
    extract_reference,
    is_valid_reference,
    normalise_reference,
    reference_for,
)

DEMO = {"1001": "10016", "1002": "10029", "1003": "10032", "1004": "10045", "1005": "10058"}


@pytest.mark.parametrize(("base", "reference"), DEMO.items())
def test_demo_references_carry_the_check_digit(base: str, reference: str) -> None:
    assert reference_for(base) == reference
    assert check_digit(base) == int(reference[-1])
    assert is_valid_reference(reference)


def test_check_digit_of_a_long_reference() -> None:
    # from the right: 6*7 + 5*3 + 4*1 + 3*7 + 2*3 + 1*1 = 89 -> check digit 1
    assert check_digit("123456") == 1
    assert is_valid_reference("1234561")
    base = "1" * 19
    assert is_valid_reference(reference_for(base))  # 20 digits: the longest allowed
    assert not is_valid_reference("1" + reference_for(base))  # 21 digits


@pytest.mark.parametrize("base", ["12", "", "12a4", "1" * 20])
def test_check_digit_rejects_bad_bases(base: str) -> None:
    with pytest.raises(ValueError):
        check_digit(base)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1001 6", "10016"), (" 10 016 ", "10016"), ("RF18 5390 0754 7034", "RF18539007547034")],
)
def test_normalise_reference(text: str, expected: str) -> None:
    assert normalise_reference(text) == expected


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("10016", True),
        ("1001 6", True),
        ("10017", False),
        ("1001", False),
        ("106", False),  # too short
        ("RF18539007547034", False),
        ("", False),
        ("abcde", False),
    ],
)
def test_is_valid_reference(text: str, valid: bool) -> None:
    assert is_valid_reference(text) is valid


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("viitenumero on 1001 6", "10016"),
        ("10016", "10016"),
        ("viite: 10029", "10029"),
        ("my reference is 1004 5 thanks", "10045"),
        ("laskun 1002 viitenumero on 10029", "10029"),
        ("lasku 1001, viite 10045", "10045"),
        ("ref. 10058", "10058"),
        ("lasku nro 1001", None),
        ("1001", None),
        ("viite 10017", None),  # wrong check digit
        ("maksoin 89,90 e 15.12.2026", None),
        ("soita 040 123 4567", None),
        ("IBAN FI21 1234 5600 0007 85", None),
        ("", None),
    ],
)
def test_extract_reference(text: str, expected: str | None) -> None:
    assert extract_reference(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lasku nro 1001", "1001"),
        ("1001", "1001"),
        ("Invoice #1003", "1003"),
        ("invoice number 1004 please", "1004"),
        ("laskun 1002 viitenumero on 10029", "1002"),
        ("viite 10016 lasku 1002", "1002"),
        ("1250 euroa laskusta 1004", "1004"),
        ("+358 40 1234567 lasku 1004", "1004"),
        ("2026-12-15 1005", "1005"),
        ("eräpäivä 15.12.2026, lasku 12345678", "12345678"),
        ("viitenumero on 1001 6", None),
        ("maksoin 89,90", None),
        ("maksoin 89.90 €", None),
        ("15.12.2026", None),
        ("soita 040 123 4567", None),
        ("0401234567", None),
        ("IBAN FI21 1234 5600 0007 85", None),
        ("3", None),
        ("123", None),
        ("123456789", None),  # nine digits: not an invoice number
        ("klo 15.30", None),
        ("", None),
    ],
)
def test_extract_invoice_number(text: str, expected: str | None) -> None:
    assert extract_invoice_number(text) == expected
