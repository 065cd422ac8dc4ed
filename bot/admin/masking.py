"""Mask personal data in customer messages before an admin sees them or they become training data.

What customers type into a billing chat carries invoice and reference numbers, bank accounts,
e-mail addresses, phone numbers and names. The admin loop (design "Admin loop") shows messages
and writes them to data/, so every such detail is replaced by a placeholder first:
`[EMAIL]`, `[PHONE]`, `[IBAN]`, `[REFERENCE]`, `[INVOICE]`, `[NAME]`.

The rules err on the side of masking: a date, a sum of money, a time of day or a year stays
(they say what the customer wants and identify nobody), any other number of four or more
digits goes. Masking is idempotent, so masked text can be masked again safely.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

EMAIL = "[EMAIL]"
PHONE = "[PHONE]"
IBAN = "[IBAN]"
REFERENCE = "[REFERENCE]"
INVOICE = "[INVOICE]"
NAME = "[NAME]"
PLACEHOLDERS = (EMAIL, PHONE, IBAN, REFERENCE, INVOICE, NAME)

_PLACEHOLDER = re.compile(r"\[(?:EMAIL|PHONE|IBAN|REFERENCE|INVOICE|NAME)\]")

# --- numbers -------------------------------------------------------------------------------

_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
# RF creditor reference (ISO 11649): RF, two check digits, then the reference itself.
_RF_REFERENCE = re.compile(
    r"(?<!\w)RF\d{2}(?:(?: ?\d{1,4}){1,6}|[0-9A-Z]{1,21})(?!\w)", re.IGNORECASE
)
# Country, check digits, a first group that may hold a bank code in letters, then digits.
_IBAN = re.compile(
    r"(?<!\w)[A-Z]{2}\d{2} ?[A-Z0-9]{4}(?: ?\d{4}){1,6}(?: ?\d{1,3})?(?!\w)", re.IGNORECASE
)
# A number right after a reference word is a reference, whatever it looks like.
_REFERENCE_AFTER_WORD = re.compile(
    r"(?P<lead>(?<!\w)(?:viit(?:e|te)\w*|ref|refs|ref\.|refnro|reference|references"
    r"|referenssi\w*)"
    r"(?:\s*(?:[:#=]|(?:n:o|nro|no|nr|num(?:ber|ero)?\w*|is|on|oli|was)(?!\w)\.?))*\s*)"
    r"(?P<number>\d+(?: \d+)*)(?![.,:/-]?\d)",
    re.IGNORECASE,
)
_PHONE = re.compile(
    r"(?<![\w+])(?:\+|00)\d{1,3}(?:[ -]?\(0\))?(?:[ -]?\d{1,4}){2,5}(?!\w)"
    r"|(?<![\w+])0\d{1,3}(?:[ -]?\d{2,4}){2,4}(?!\w)"
)

# Up to millions: a "sum" of eleven digits is an invoice number with a euro sign after it.
_AMOUNT = r"\d{1,3}(?:[ \u00a0.,]\d{3}){1,2}(?:[.,]\d{1,2})?|\d{1,7}(?:[.,]\d{1,2})?"
_CURRENCY_AFTER = (
    r"(?:€|e(?!\w)|e\.|eur(?!\w)|euro\w*|eu(?!\w)|snt(?!\w)|sentti\w*|\$|£|usd(?!\w)"
    r"|gbp(?!\w)|dollar\w*|pounds?(?!\w)|kr(?!\w)|sek(?!\w))"
)
_MONEY = re.compile(
    rf"(?<![\w.,])(?:(?:[€$£]|eur(?!\w)|usd(?!\w))\s?(?:{_AMOUNT})(?![\d.,]\d|\d)"
    rf"|(?:{_AMOUNT})[ \u00a0]?{_CURRENCY_AFTER})",
    re.IGNORECASE,
)
# "89,90" without a currency is still a sum: invoice numbers have no decimals.
_DECIMAL = re.compile(r"(?<![\w.,])\d+[.,]\d{2}(?![\w]|[.,]\d)")
_DATE = re.compile(
    r"(?<![\w.,/-])(?:\d{1,2}[./](?:19|20)\d\d"  # 12/2026
    r"|\d{1,2}\.\d{1,2}\.(?:\d{4}|\d{2})?"  # 15.12.2026, 15.12.
    r"|\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}(?:/\d{2,4})?|\d{1,2}-\d{1,2}-\d{2,4})"
    r"(?![\w/-]|\.\d)"
)
_TIME = re.compile(r"(?<![\w.,:])(?:[01]?\d|2[0-3])[:.][0-5]\d(?![\w:]|[.,]\d)")
_YEAR = re.compile(r"(?<![\w.,:/#-])(?:199\d|20\d\d)(?![\w.,:/-])")
# Words after which a year-like number is an invoice number after all ("lasku 2025").
_INVOICE_WORD = re.compile(
    r"\w*lasku\w*|\w*invoice\w*|bills?|nro|n:o|no|nr|numero\w*|number|tilaus\w*|order"
    r"|asiakasnumero\w*|asiakasnro|account",
    re.IGNORECASE,
)
_LAST_WORD = re.compile(r"(?<![\w\[:])(\w+(?::\w+)?)[^\w\]]*\Z")
# Digits grouped by single spaces: "12345 67890 12" is one reference, not three numbers.
_DIGIT_GROUPS = re.compile(r"(?<![\w.,])\d{1,5}(?: \d{1,5}){1,4}(?![\w]|[.,]\d)")
_LONG_NUMBER = re.compile(r"(?<!\d)\d{4,}(?!\d)")

# Protected spans are swapped for private-use characters (no digits, not word characters)
# while the number rules run, so a date can never look like a phone number.
_SENTINEL_OPEN, _SENTINEL_CLOSE = "\ue000", "\ue001"
_SENTINEL = re.compile(f"{_SENTINEL_OPEN}([\ue100-\ue8ff]+){_SENTINEL_CLOSE}")


def _digits(text: str) -> int:
    return sum(char.isdigit() for char in text)


def _replace_email(text: str) -> str:
    return _EMAIL.sub(EMAIL, text)


def _replace_rf_reference(text: str) -> str:
    return _RF_REFERENCE.sub(
        lambda m: REFERENCE if len(m.group().replace(" ", "")) >= 6 else m.group(), text
    )


def _replace_iban(text: str) -> str:
    def iban(match: re.Match[str]) -> str:
        compact = match.group().replace(" ", "")
        return IBAN if 15 <= len(compact) <= 34 else match.group()

    return _IBAN.sub(iban, text)


def _replace_reference_after_word(text: str) -> str:
    def reference(match: re.Match[str]) -> str:
        if _digits(match.group("number")) < 4:
            return match.group()
        return match.group("lead") + REFERENCE

    return _REFERENCE_AFTER_WORD.sub(reference, text)


def _replace_phone(text: str) -> str:
    def phone(match: re.Match[str]) -> str:
        count = _digits(match.group())
        return PHONE if 7 <= count <= 15 else match.group()

    return _PHONE.sub(phone, text)


class _Protected:
    """Spans that must survive the number rules, parked behind sentinels."""

    def __init__(self) -> None:
        self.spans: list[str] = []

    def park(
        self, pattern: re.Pattern[str], text: str, keep: Callable[..., bool] | None = None
    ) -> str:
        def swap(match: re.Match[str]) -> str:
            if keep is not None and not keep(match, text):
                return match.group()
            self.spans.append(match.group())
            index = len(self.spans) - 1
            return f"{_SENTINEL_OPEN}{_encode(index)}{_SENTINEL_CLOSE}"

        return pattern.sub(swap, text)

    def restore(self, text: str) -> str:
        return _SENTINEL.sub(lambda m: self.spans[_decode(m.group(1))], text)


def _encode(index: int) -> str:
    """An index as private-use characters, base 1792: no digits for the number rules to see."""
    chars = []
    while True:
        index, rest = divmod(index, 0x700)
        chars.append(chr(0xE100 + rest))
        if not index:
            return "".join(reversed(chars))


def _decode(chars: str) -> int:
    index = 0
    for char in chars:
        index = index * 0x700 + ord(char) - 0xE100
    return index


def _is_year(match: re.Match[str], text: str) -> bool:
    """A year stands alone, not after a word that makes it an invoice number ("lasku 2025")."""
    previous = _LAST_WORD.search(text, 0, match.start())
    return not (previous and _INVOICE_WORD.fullmatch(previous.group(1)))


def _replace_digit_groups(text: str) -> str:
    """Grouped digits are a reference unless every group could be an invoice number itself."""

    def groups(match: re.Match[str]) -> str:
        parts = match.group().split()
        if _digits(match.group()) < 6:
            return match.group()
        if all(len(part) >= 4 and len(part) != 5 for part in parts):
            return match.group()  # "1001 1002": two invoice numbers, masked one by one
        return REFERENCE

    return _DIGIT_GROUPS.sub(groups, text)


def _mask_numbers(text: str) -> str:
    # Sentinel characters are ours alone (private use, meaningless in a customer's message).
    text = text.replace(_SENTINEL_OPEN, "").replace(_SENTINEL_CLOSE, "")
    text = _replace_email(text)
    text = _replace_rf_reference(text)
    text = _replace_iban(text)
    text = _replace_reference_after_word(text)
    protected = _Protected()
    text = protected.park(_DATE, text)
    text = protected.park(_MONEY, text)
    text = protected.park(_DECIMAL, text)
    text = protected.park(_TIME, text)
    text = _replace_phone(text)
    text = protected.park(_YEAR, text, keep=_is_year)
    text = _replace_digit_groups(text)
    text = _LONG_NUMBER.sub(INVOICE, text)
    return protected.restore(text)


# --- names ---------------------------------------------------------------------------------

_LETTERS = r"[^\W\d_]"
_NAME_WORD = re.compile(rf"{_LETTERS}+(?:['’-]{_LETTERS}+)*")
_NAME_GAP = re.compile(r"[ \t]+")

# Said before a name whatever its case: "nimeni on matti", "terveisin Maija".
_STRONG_PHRASES = (
    r"nimeni\s+on",
    r"(?:minun|mun|mu)\s+(?:nimeni|nimi)\s+on",
    r"nimeni",
    r"nimi\s*:",
    r"my\s+name\s+is",
    r"my\s+name['’]s",
    r"name\s*:",
    r"(?:ystävällisin|parhain|lämpimin|hyvin)?\s*terveisin",
    r"yst\.\s*terv\.?",
    r"terv\.",
    r"(?:kind|best|warm|many|warmest)?\s*regards",
    r"(?:yours\s+)?sincerely",
)
# Before a name only when it is capitalised: "olen Matti", never "olen maksanut".
_WEAK_PHRASES = (
    r"olen",
    r"oon",
    r"i\s+am",
    r"i['’]m",
    r"this\s+is",
    r"tässä",
    r"täällä",
    r"t\.",
)
# Sign-offs: a name only at the very end of the message ("Thanks, Matti").
_SIGN_OFF_PHRASES = (
    r"t\.",
    r"best",
    r"thanks",
    r"thank\s+you",
    r"cheers",
    r"br",
    r"kiitos",
    r"kiittäen",
)


def _phrases(alternatives: Iterable[str], separator: str) -> re.Pattern[str]:
    joined = "|".join(alternatives)
    # "t.Maija": a phrase ending in a full stop needs no space after it.
    return re.compile(rf"(?<!\w)(?:{joined})(?:(?<=\.)|(?!\w)){separator}", re.IGNORECASE)


_STRONG = _phrases(_STRONG_PHRASES, r"(?:[ \t]*[,:\-–—])?\s*")
_WEAK = _phrases(_WEAK_PHRASES, r"[ \t]+")
_SIGN_OFF = _phrases(_SIGN_OFF_PHRASES, r"(?P<separator>[ \t]*[,!.:\-–—]?\s*)")
_REST_IS_EMPTY = re.compile(rf"(?:{_PLACEHOLDER.pattern}|\s|[^\w\s])*\Z")

# Function words: never a name, and where a lowercase name ends.
_STOP_WORDS = frozenset(
    """
    ja tai mutta sekä ett että kun jos koska niin myös vaan vain on ole olen oon olin ei en et
    minä mä mun minun me te he se tämä tuo ne nyt jo vielä taas täällä tässä siellä tänne
    haluan haluaisin tarvitsen voisin voinko voitteko kiitos kiitti paljon kovasti hei moi
    terve heippa morjens ok okei joo kyllä asiakas asiakkaana ja
    and or but also so then if when because as i me my we you he she it they this that
    here there now just still again not no yes am is are was were be been have has had
    do does did want would need could can will please thanks thank you lot much very
    hi hello hey bye goodbye all everyone anyway a an the to of for from with in on at by
    about your our their his her its sir madam team customer service ok okay
    """.split()
)
# Capitalised words that are no name: months, weekdays, brands, nationalities, sentence starts.
_NOT_NAMES = _STOP_WORDS | frozenset(
    """
    january february march april may june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday
    visa mastercard amex mobilepay paypal klarna siirto apple google pivo op nordea danske
    aktia handelsbanken s-pankki säästöpankki pop osuuspankki
    laskutus lasku laskun laskusta asiakaspalvelu perintä
    finnish english swedish british american german estonian russian suomi suomalainen
    englanti ruotsi finland suomen sorry afraid unable trying writing calling looking going
    sure happy glad sick unemployed retired student pensioner työtön sairas eläkeläinen
    opiskelija yrittäjä new uusi your dear hyvä oy oyj ab ltd inc ky tmi ry
    hyvää päivää päivänjatkoa viikonloppua
    moikka moikku heippa nähdään kuulemiin hyvästi later soon care
    good great nice have day again kaikesta avusta avustasi help vastauksesta
    """.split()
)
_NOT_NAME_STEMS = (
    "tammikuu",
    "helmikuu",
    "maaliskuu",
    "huhtikuu",
    "toukokuu",
    "kesäkuu",
    "heinäkuu",
    "elokuu",
    "syyskuu",
    "lokakuu",
    "marraskuu",
    "joulukuu",
    "maanantai",
    "tiistai",
    "keskiviiko",
    "keskiviikko",
    "torstai",
    "perjantai",
    "lauantai",
    "sunnuntai",
    "nordea",
    "danske",
    "osuuspank",
    "säästöpank",
    "handelsbank",
    "mobilepay",
    "laskutu",
)
_COMPANY_SUFFIX = re.compile(r"(?:oy|oyj|ab|ltd|inc|ky|tmi|gmbh|llc|plc|ry|corp)(?!\w)", re.I)


def _is_stop_word(word: str) -> bool:
    return word.casefold() in _STOP_WORDS


def _is_not_name(word: str) -> bool:
    folded = word.casefold()
    return folded in _NOT_NAMES or folded.startswith(_NOT_NAME_STEMS)


@dataclass(frozen=True)
class _NameRule:
    """How a phrase introduces a name: how many lowercase words it may be, and how sure it is.

    After "nimeni on" anything is a name, even "matti virtanen"; after "olen" only
    capitalised words that are no month, brand or nationality ("olen Nordean asiakas").
    """

    lowercase_words: int
    strict: bool


_STRONG_RULE = _NameRule(lowercase_words=2, strict=False)
_WEAK_RULE = _NameRule(lowercase_words=0, strict=True)
# "kiitos, maija virtanen" after a comma; "Kiitos, hyvää päivää" is no name.
_SIGN_OFF_RULE = _NameRule(lowercase_words=2, strict=True)
_CAPITALISED_SIGN_OFF_RULE = _NameRule(lowercase_words=0, strict=True)
_MAX_NAME_WORDS = 3


def _acceptable(word: str, capitalised: bool, rule: _NameRule) -> bool:
    if len(word) < 2 or _is_stop_word(word) or word[0].isupper() != capitalised:
        return False
    return not (rule.strict and _is_not_name(word))


def _name_words(text: str, start: int, rule: _NameRule) -> tuple[int, int] | None:
    """The span of the name starting at `start`, or None when no name starts there.

    Capitalised names may be long ("Anna-Liisa Maria Virtanen"); a lowercase one ends at the
    first function word or after the words the rule allows.
    """
    first = _NAME_WORD.match(text, start)
    if first is None:
        return None
    capitalised = first.group()[0].isupper()
    limit = _MAX_NAME_WORDS if capitalised else rule.lowercase_words
    if not limit or not _acceptable(first.group(), capitalised, rule):
        return None
    end, words = first.end(), 1
    while words < limit:
        gap = _NAME_GAP.match(text, end)
        following = _NAME_WORD.match(text, gap.end()) if gap else None
        if following is None or not _acceptable(following.group(), capitalised, rule):
            break
        end, words = following.end(), words + 1
    company = _NAME_GAP.match(text, end)
    if company and _COMPANY_SUFFIX.match(text, company.end()):
        return None  # "Laskutus Oy": a company, not a person
    if not capitalised and words > rule.lowercase_words:
        return None
    return start, end


def _introduced_names(text: str) -> list[tuple[int, int]]:
    """Spans of names that follow an introducing phrase or end a message as a sign-off."""
    spans = [_name_words(text, match.end(), _STRONG_RULE) for match in _STRONG.finditer(text)]
    spans += [_name_words(text, match.end(), _WEAK_RULE) for match in _WEAK.finditer(text)]
    for match in _SIGN_OFF.finditer(text):
        separated = bool(re.search(r"[,\n]", match.group("separator")))
        rule = _SIGN_OFF_RULE if separated else _CAPITALISED_SIGN_OFF_RULE
        span = _name_words(text, match.end(), rule)
        if span and _REST_IS_EMPTY.match(text, span[1]):
            spans.append(span)
    spans.append(_signature_line(text))
    return [span for span in spans if span]


def _signature_line(text: str) -> tuple[int, int] | None:
    """The last line of a longer message, when it is nothing but a capitalised full name.

    "Kiitos avusta!\nMatti Virtanen": a signature under the message, no phrase before it.
    One word alone ("...\nLisäaikaa") is more likely a word than a name.
    """
    lines = text.rstrip().rsplit("\n", 1)
    if len(lines) < 2 or not lines[0].strip():
        return None
    start = len(lines[0]) + 1 + (len(lines[1]) - len(lines[1].lstrip()))
    span = _name_words(text, start, _WEAK_RULE)
    if span and len(text[span[0] : span[1]].split()) >= 2 and _REST_IS_EMPTY.match(text, span[1]):
        return span
    return None


# Finnish case endings a known name takes without changing its stem ("Sarilta", "John:lle").
_CASE_ENDING = (
    r"(?::?(?:n|a|ä|ta|tä|na|nä|lla|llä|lta|ltä|lle|ssa|ssä|sta|stä|han|hen|hin|hon|hun"
    r"|ksi|kin|kaan|kään|lle|ine|ineen))?"
)


def _known_name_patterns(known_names: Iterable[str]) -> list[re.Pattern[str]]:
    """The whole name first, then each capitalised part of three or more letters.

    A hyphenated name containing a known one ("Matti-Pekka") goes whole: part of a name is
    still a name.
    """
    patterns: list[re.Pattern[str]] = []
    for name in known_names:
        parts = str(name or "").split()
        if not parts or _PLACEHOLDER.fullmatch(" ".join(parts)):
            continue
        candidates = [" ".join(parts)] if len(" ".join(parts)) >= 2 else []
        if len(parts) > 1:
            candidates += [part for part in parts if len(part) >= 3 and part[0].isupper()]
        for candidate in candidates:
            words = r"\s+".join(re.escape(word) for word in candidate.split())
            pattern = rf"(?<![\w\[])(?:\w+-)*{words}{_CASE_ENDING}(?:-\w+)*(?![\w-])"
            patterns.append(re.compile(pattern, re.IGNORECASE))
    return patterns


def _replace_spans(text: str, spans: Iterable[tuple[int, int]], placeholder: str) -> str:
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in reversed(merged):
        text = text[:start] + placeholder + text[end:]
    return text


def _mask_names(text: str, known_names: Iterable[str]) -> str:
    for pattern in _known_name_patterns(known_names):
        text = pattern.sub(NAME, text)
    text = _replace_spans(text, _introduced_names(text), NAME)
    return re.sub(r"\[NAME\](?:[ \t]+\[NAME\])+", NAME, text)


def mask(text: str, known_names: Iterable[str] = ()) -> str:
    """Replace personal data with placeholders; masking masked text changes nothing."""
    if not text:
        return text
    names = tuple(name for name in known_names if name and str(name).strip())
    if not names:
        return _mask_without_names(text)
    return _mask_names(_mask_numbers(text), names)


@lru_cache(maxsize=65536)
def _mask_without_names(text: str) -> str:
    """Cached: the inbox masks the same few thousand texts again on every page."""
    return _mask_names(_mask_numbers(text), ())


# --- grouping ------------------------------------------------------------------------------

_TRAILING_KEEP = frozenset("%€$£")
_TRAILING_PLACEHOLDER = re.compile(r"\[(?:email|phone|iban|reference|invoice|name)\]\Z")


def _is_trailing_noise(char: str) -> bool:
    """Punctuation, symbols and emoji (with their joiners and modifiers) at the end of a text."""
    if char in _TRAILING_KEEP:
        return False
    category = unicodedata.category(char)
    return char.isspace() or category[0] in "PS" or category in ("Mn", "Cf", "Me")


def normalise(text: str) -> str:
    """The form two messages share when they say the same thing: for grouping and duplicates.

    Case, spacing and closing punctuation or emoji don't change what was asked. Placeholders
    are kept whole: "terveisin [NAME]" keeps its closing bracket.
    """
    text = " ".join(unicodedata.normalize("NFC", text or "").casefold().split())
    end = len(text)
    while end and _is_trailing_noise(text[end - 1]):
        if _TRAILING_PLACEHOLDER.search(text, 0, end):
            break
        end -= 1
    return text[:end].strip()
