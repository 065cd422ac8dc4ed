"""Finnish reference numbers (viitenumero) and invoice numbers in customer text.

Customers type numbers in every shape ("1001 6", "viite: 10016", "lasku nro 1001")
next to dates, amounts, phone numbers and IBANs. The check digit lets us tell a real
reference from a mistyped one before we look anything up, and masking the other
number-like things keeps them from being mistaken for an invoice or a reference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WEIGHTS = (7, 3, 1)
MIN_REFERENCE_LENGTH = 4  # including the check digit
MAX_REFERENCE_LENGTH = 20
MIN_INVOICE_LENGTH = 4
MAX_INVOICE_LENGTH = 8

# Number-like things that are neither invoices nor references. Replaced by a filler
# of the same length so positions (and keyword context) stay as they were.
_NOT_IDENTIFIERS = (
    r"\b[a-z]{2}\d{2}(?:\s?[a-z0-9]{4}){2,7}(?:\s?[a-z0-9]{1,3})?\b",  # IBAN
    r"(?<!\d)\d{4}-\d{1,2}-\d{1,2}(?!\d)",  # ISO date
    r"(?<![\d.,])\d{1,2}[./]\d{1,2}(?:[./](?:\d{4}|\d{2}))?\.?(?![\d,])",  # 15.12.2026, 15/12
    r"(?<!\d)\d+(?:[.,]\d{1,2})?\s*(?:€|e\b|eur\w*|euro\w*)",  # 89,90 €, 1250 euroa
    r"(?<![\d.,])\d+[.,]\d{2}(?![\d.,]*\d)",  # 89,90
    (  # +358 40 123 4567, 040 1234567
        r"(?<![\w+])(?:\+\d{1,3}[\s-]?\(?\d{1,4}\)?(?:[\s-]?\d{2,4}){2,4}"
        r"|0\d{1,3}[\s-]?\d{3,4}[\s-]?\d{2,4})(?![\d])"
    ),
    r"\bklo\s*\d{1,2}(?:[.:]\d{2})?",  # klo 15.30
    r"\d{1,2}:\d{2}",  # 15:30
)
_REFERENCE_WORDS = r"viite\w*|viitte\w*|ref\b|ref\.|reference\w*"
_INVOICE_WORDS = r"lasku\w*|invoice\w*|nro|no\.?|numero|number|#"
_DIGIT_RUN = re.compile(r"(?<![\w])\d+(?![\w])")
_CONTEXT_CHARS = 40


@dataclass(frozen=True)
class _Run:
    """A run of digits in the masked text, with the keyword that precedes it."""

    start: int
    end: int
    digits: str
    context: str | None  # "reference", "invoice" or None


def check_digit(base: str) -> int:
    """Check digit for the base part of a Finnish reference (weights 7, 3, 1 from the right)."""
    if not base.isdigit() or not (
        MIN_REFERENCE_LENGTH - 1 <= len(base) <= MAX_REFERENCE_LENGTH - 1
    ):
        raise ValueError("reference base must be 3 to 19 digits")
    total = sum(int(digit) * _WEIGHTS[index % 3] for index, digit in enumerate(reversed(base)))
    return (10 - total % 10) % 10


def reference_for(base: str) -> str:
    """The full reference (base followed by its check digit), e.g. "1001" -> "10016"."""
    return f"{base}{check_digit(base)}"


def normalise_reference(text: str) -> str:
    """Strip the spaces customers and bank apps put in references.

    International RF references are not supported; they come back unchanged apart from
    the spaces, so `is_valid_reference` rejects them.
    """
    return re.sub(r"\s+", "", text)


def is_valid_reference(text: str) -> bool:
    """True for a 4-20 digit Finnish reference whose check digit is right."""
    reference = normalise_reference(text)
    if not reference.isdigit():
        return False
    if not MIN_REFERENCE_LENGTH <= len(reference) <= MAX_REFERENCE_LENGTH:
        return False
    return check_digit(reference[:-1]) == int(reference[-1])


def extract_reference(text: str) -> str | None:
    """The Finnish reference in a customer message, digits only, or None.

    Digit groups separated by single spaces are joined ("1001 6" -> "10016"). A number
    right after an invoice keyword is not taken as a reference. Among valid candidates
    one after a reference keyword wins, then the longest, then the first.
    """
    runs = _digit_runs(text)
    candidates: list[tuple[bool, int, int, str]] = []
    for group in _space_groups(runs, text):
        for first in range(len(group)):
            if group[first].context == "invoice":
                continue
            for last in range(first, len(group)):
                span = group[first : last + 1]
                digits = "".join(run.digits for run in span)
                if is_valid_reference(digits):
                    keyword = group[first].context == "reference"
                    candidates.append((keyword, len(digits), -span[0].start, digits))
    if not candidates:
        return None
    return max(candidates)[3]


def extract_invoice_number(text: str) -> str | None:
    """The invoice number (4-8 digits) in a customer message, or None.

    Dates, amounts, phone numbers, IBANs and numbers after a reference keyword are
    ignored. A number after an invoice keyword wins over a bare one.
    """
    runs = [
        run
        for run in _digit_runs(text)
        if MIN_INVOICE_LENGTH <= len(run.digits) <= MAX_INVOICE_LENGTH
        and run.context != "reference"
    ]
    for run in runs:
        if run.context == "invoice":
            return run.digits
    return runs[0].digits if runs else None


def _mask(text: str) -> str:
    """Lower-cased text with non-identifier numbers overwritten, positions kept."""
    masked = text.lower()
    for pattern in _NOT_IDENTIFIERS:
        masked = re.sub(pattern, lambda match: "_" * len(match.group()), masked)
    return masked


def _digit_runs(text: str) -> list[_Run]:
    """Digit runs left after masking, each tagged with its nearest preceding keyword."""
    masked = _mask(text)
    runs: list[_Run] = []
    previous_end = 0
    for match in _DIGIT_RUN.finditer(masked):
        window = masked[max(previous_end, match.start() - _CONTEXT_CHARS) : match.start()]
        runs.append(_Run(match.start(), match.end(), match.group(), _context(window)))
        previous_end = match.end()
    return runs


def _context(window: str) -> str | None:
    """Which kind of keyword comes last in the text before a number."""
    kinds = [
        (match.start(), kind)
        for kind, pattern in (("reference", _REFERENCE_WORDS), ("invoice", _INVOICE_WORDS))
        for match in re.finditer(rf"(?:^|\s|\W)(?:{pattern})", window)
    ]
    return max(kinds)[1] if kinds else None


def _space_groups(runs: list[_Run], text: str) -> list[list[_Run]]:
    """Runs separated by exactly one space, which may be one number typed in parts."""
    groups: list[list[_Run]] = []
    for run in runs:
        if groups and text[groups[-1][-1].end : run.start] == " ":
            groups[-1].append(run)
        else:
            groups.append([run])
    return groups
