"""Masking personal data before an admin sees a message or it becomes training data.

Each kind of detail in the forms customers really type it, Finnish and English, and the
numbers that must survive because they carry the meaning (dates, sums, times, years).
"""

from __future__ import annotations

import pytest

from bot.admin.masking import PLACEHOLDERS, mask, normalise

EMAILS = [
    ("Sähköpostini on matti.virtanen@example.com", "Sähköpostini on [EMAIL]"),
    (
        "lähetä kopio osoitteeseen Maija_M+laskut@posti.fi kiitos",
        "lähetä kopio osoitteeseen [EMAIL] kiitos",
    ),
    ("my email is john.o'brien@mail.co.uk.", "my email is [EMAIL]."),
    ("MATTI@EXAMPLE.COM", "[EMAIL]"),
]

PHONES = [
    ("Soita numeroon +358 40 123 4567 kiitos", "Soita numeroon [PHONE] kiitos"),
    ("puh. 040-123 4567", "puh. [PHONE]"),
    ("numeroni 0401234567", "numeroni [PHONE]"),
    ("vaihde 09 1234 5678 aukeaa klo 8", "vaihde [PHONE] aukeaa klo 8"),
    ("050 123 45 67", "[PHONE]"),
    ("+358401234567", "[PHONE]"),
    ("00358 40 1234567", "[PHONE]"),
    ("call me on +44 7700 900123 after 5", "call me on [PHONE] after 5"),
    ("my number is +1 (0) 555-0100 222", "my number is [PHONE]"),
]

IBANS = [
    ("IBAN FI21 1234 5600 0007 85", "IBAN [IBAN]"),
    ("tilini fi2112345600000785", "tilini [IBAN]"),
    ("FI2112345600000785, saaja Laskutus Oy", "[IBAN], saaja Laskutus Oy"),
    ("GB29 NWBK 6016 1331 9268 19 is my account", "[IBAN] is my account"),
    ("paid from DE89 3704 0044 0532 0130 00 yesterday", "paid from [IBAN] yesterday"),
    ("NO93 8601 1117 947", "[IBAN]"),
]

REFERENCES = [
    ("viitenumero on 12345 67890 12", "viitenumero on [REFERENCE]"),
    ("viite 10016", "viite [REFERENCE]"),
    ("maksoin viitteellä 10016 summan 89,90 €", "maksoin viitteellä [REFERENCE] summan 89,90 €"),
    ("Viitenumeroni: 1009", "Viitenumeroni: [REFERENCE]"),
    ("the reference number is 123456", "the reference number is [REFERENCE]"),
    ("ref. 10029 please", "ref. [REFERENCE] please"),
    ("ref:10029", "ref:[REFERENCE]"),
    ("viite:10016", "viite:[REFERENCE]"),
    ("reference no. 10029", "reference no. [REFERENCE]"),
    ("Reference: 1 23456 78901", "Reference: [REFERENCE]"),
    ("RF18 5390 0754 7034", "[REFERENCE]"),
    ("maksoin RF-viitteellä rf18539007547034", "maksoin RF-viitteellä [REFERENCE]"),
    ("paid with RF18 5390 0754 7034 on 15.12.", "paid with [REFERENCE] on 15.12."),
    ("maksoin 12345 67890 12 eilen", "maksoin [REFERENCE] eilen"),
]

INVOICES = [
    ("laskun 1001 eräpäivä on 15.12.2026", "laskun [INVOICE] eräpäivä on 15.12.2026"),
    ("Lasku 20261234 on väärin", "Lasku [INVOICE] on väärin"),
    ("invoice 12345678 due 2026-12-15", "invoice [INVOICE] due 2026-12-15"),
    ("invoice #4321 is wrong", "invoice #[INVOICE] is wrong"),
    ("lasku nro 2025", "lasku nro [INVOICE]"),
    ("laskut 1001 1002", "laskut [INVOICE] [INVOICE]"),
    ("INV-2026-0012", "INV-[INVOICE]-[INVOICE]"),
    ("asiakasnumeroni on 55512", "asiakasnumeroni on [INVOICE]"),
    ("123 456 789", "[REFERENCE]"),
    ("1234", "[INVOICE]"),
]

NAMES = [
    ("nimeni on Matti Virtanen ja haluan lisäaikaa", "nimeni on [NAME] ja haluan lisäaikaa"),
    ("nimeni on matti virtanen haluan lisäaikaa", "nimeni on [NAME] haluan lisäaikaa"),
    ("Minun nimeni on Juha Mäkinen", "Minun nimeni on [NAME]"),
    ("mun nimi on ville", "mun nimi on [NAME]"),
    ("Moi, täällä Liisa Nieminen. Maksoin jo", "Moi, täällä [NAME]. Maksoin jo"),
    ("yst. terv. Anne", "yst. terv. [NAME]"),
    ("t. Liisa Nieminen (040-7654321)", "t. [NAME] ([PHONE])"),
    ("I'm Tom and I can't pay this month", "I'm [NAME] and I can't pay this month"),
    ("My name's Olli", "My name's [NAME]"),
    ("Cheers, Dave", "Cheers, [NAME]"),
    ("Hei, olen Matti ja maksoin laskun eilen", "Hei, olen [NAME] ja maksoin laskun eilen"),
    ("Olen Anna-Liisa Mäkelä.", "Olen [NAME]."),
    ("Tässä Pekka Korhonen, hei", "Tässä [NAME], hei"),
    ("Terveisin Matti", "Terveisin [NAME]"),
    ("terveisin matti virtanen", "terveisin [NAME]"),
    ("Kiitos!\nt. Maija", "Kiitos!\nt. [NAME]"),
    ("Ystävällisin terveisin, Pekka Korhonen", "Ystävällisin terveisin, [NAME]"),
    ("Ystävällisin terveisin\nSari Laine", "Ystävällisin terveisin\n[NAME]"),
    ("kiitos, Maija", "kiitos, [NAME]"),
    ("Kiitos avusta!\nMatti Virtanen", "Kiitos avusta!\n[NAME]"),
    ("My name is John Smith and I need more time", "My name is [NAME] and I need more time"),
    ("my name is john smith", "my name is [NAME]"),
    ("MY NAME IS MATTI", "MY NAME IS [NAME]"),
    ("This is Jane Doe, about my invoice", "This is [NAME], about my invoice"),
    ("I am Matti", "I am [NAME]"),
    ("Hi, I'm Sarah O'Connor", "Hi, I'm [NAME]"),
    ("Regards, John", "Regards, [NAME]"),
    ("Kind regards,\nJohn Smith", "Kind regards,\n[NAME]"),
    ("Best, Jane", "Best, [NAME]"),
    ("Thanks, Matti", "Thanks, [NAME]"),
    ("Thank you Matti!", "Thank you [NAME]!"),
]

MIXED = [
    (
        "Hei, olen Matti Virtanen. Laskun 20261234 (viite 10016) eräpäivä on 15.12.2026, "
        "voinko maksaa 89,90 € vasta 30.12.? Tavoitatte numerosta 040 123 4567 tai "
        "matti@example.com.",
        "Hei, olen [NAME]. Laskun [INVOICE] (viite [REFERENCE]) eräpäivä on 15.12.2026, "
        "voinko maksaa 89,90 € vasta 30.12.? Tavoitatte numerosta [PHONE] tai [EMAIL].",
    ),
    (
        "I paid invoice 4321 (€1,250.00) on 2026-12-15 at 14:30 from FI21 1234 5600 0007 85. "
        "Regards, Jane Smith",
        "I paid invoice [INVOICE] (€1,250.00) on 2026-12-15 at 14:30 from [IBAN]. Regards, [NAME]",
    ),
    (
        "my name is john, ref 10029, phone +358 50 765 4321, email john@example.org",
        "my name is [NAME], ref [REFERENCE], phone [PHONE], email [EMAIL]",
    ),
]

KEPT = [
    # dates
    "eräpäivä on 15.12.2026",
    "voinko maksaa 15.12. mennessä",
    "due 2026-12-15",
    "siirto 1.1.27 asti",
    "maksan 12/2026",
    "due 12/15/2026",
    # money
    "maksoin 89,90 €",
    "summa 1250 euroa",
    "I paid €1,250.00",
    "142.50e maksettu",
    "lasku oli 1 250,00 €",
    "EUR 310 is too much",
    "paid 59.00 EUR",
    "maksoin 89,90",
    "I paid 1234.56",
    "5 e muistutusmaksu",
    # times
    "soitan klo 14:30",
    "auki 9.00-16.00",
    # years
    "vuonna 2025",
    "in 2026 I paid everything",
    "since 1999",
    # short numbers
    "3 erää",
    "haluan maksaa 6 erässä",
    "on the 15th",
    "2 laskua, 3 muistutusta",
    # plain words and capitalised words that are no names
    "Voinko saada lisäaikaa?",
    "olen maksanut jo",
    "olen Laskutus Oy:n asiakas",
    "olen Nordean asiakas",
    "tässä on lasku",
    "Kiitos paljon",
    "Kiitos, hyvää päivää!",
    "thanks a lot",
    "Thanks, bye",
    "this is about my invoice",
    "I am unable to pay",
    "I am writing about my invoice",
    "Olen Työtön enkä pysty maksamaan",
    "hei, olen Oy:n edustaja",
    "thank you so much",
    "Kiitos Paljon",
    "Haluan maksusuunnitelman, 4 erää, alkaen tammikuussa 2027",
    "Can I pay in 3 instalments starting January 2027?",
    "laskun summa oli 310,00e ja eräpäivä 1.12.2025",
    "I'm Not sure",
    "I am Finnish",
    "Maksan MobilePay-sovelluksella maanantaina",
    "Voinko maksaa Visalla joulukuussa?",
    "Laskutus Oy lähetti laskun",
    "I'll pay on Friday in December",
    "Tämä on Visa Electron",
    "Hei!\nMaksoin laskun eilen",
    "Moi\nLisäaikaa",
    "Hei\nVoinko Saada Lisäaikaa",
    "",
]


def all_cases() -> list[tuple[str, str]]:
    return EMAILS + PHONES + IBANS + REFERENCES + INVOICES + NAMES + MIXED


@pytest.mark.parametrize(("text", "masked"), EMAILS)
def test_email(text: str, masked: str) -> None:
    assert mask(text) == masked


@pytest.mark.parametrize(("text", "masked"), PHONES)
def test_phone(text: str, masked: str) -> None:
    assert mask(text) == masked


@pytest.mark.parametrize(("text", "masked"), IBANS)
def test_iban(text: str, masked: str) -> None:
    assert mask(text) == masked


@pytest.mark.parametrize(("text", "masked"), REFERENCES)
def test_reference(text: str, masked: str) -> None:
    assert mask(text) == masked


@pytest.mark.parametrize(("text", "masked"), INVOICES)
def test_invoice_and_other_long_numbers(text: str, masked: str) -> None:
    assert mask(text) == masked


@pytest.mark.parametrize(("text", "masked"), NAMES)
def test_names_after_an_introduction(text: str, masked: str) -> None:
    assert mask(text) == masked


@pytest.mark.parametrize(("text", "masked"), MIXED)
def test_mixed_messages(text: str, masked: str) -> None:
    assert mask(text) == masked


@pytest.mark.parametrize("text", KEPT)
def test_meaningful_numbers_and_ordinary_words_are_kept(text: str) -> None:
    assert mask(text) == text


@pytest.mark.parametrize("text", [text for text, _ in all_cases()] + KEPT)
def test_masking_twice_changes_nothing(text: str) -> None:
    once = mask(text)
    assert mask(once) == once


def test_placeholders_survive() -> None:
    text = " ".join(PLACEHOLDERS)
    assert mask(text) == text
    assert mask("nimeni on [NAME], viite [REFERENCE], tili [IBAN]") == (
        "nimeni on [NAME], viite [REFERENCE], tili [IBAN]"
    )


@pytest.mark.parametrize(
    ("text", "known", "masked"),
    [
        (
            "Maija here, could I get more time?",
            ["Maija Meikäläinen"],
            "[NAME] here, could I get more time?",
        ),
        ("terveiset maija meikäläiseltä", ["Maija Meikäläinen"], "terveiset [NAME] meikäläiseltä"),
        ("Meikäläinen, Maija", ["Maija Meikäläinen"], "[NAME], [NAME]"),
        ("MAIJA MEIKÄLÄINEN soitti", ["Maija Meikäläinen"], "[NAME] soitti"),
        ("matti ja Matti-Pekka", ["Matti"], "[NAME] ja [NAME]"),
        ("Ed asked for Eduardo", ["Ed Sheeran"], "Ed asked for Eduardo"),
        ("kysy Sarilta tai Sarin esimieheltä", ["sari"], "kysy [NAME] tai [NAME] esimieheltä"),
        ("Virtanen Matti maksoi", ["Matti Virtanen", "Jane Doe"], "[NAME] maksoi"),
        ("nothing to see", ["", "  ", "[NAME]"], "nothing to see"),
    ],
)
def test_known_names(text: str, known: list[str], masked: str) -> None:
    assert mask(text, known) == masked
    assert mask(mask(text, known), known) == masked


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Voinko saada lisäaikaa?", "voinko saada lisäaikaa"),
        ("  Voinko   saada\nlisäaikaa!!! 🙏 ", "voinko saada lisäaikaa"),
        ("Can I get more time?!", "can i get more time"),
        ("terveisin [NAME].", "terveisin [name]"),
        ("laskun [INVOICE] eräpäivä 😊👍🏽", "laskun [invoice] eräpäivä"),
        ("maksoin 50 €", "maksoin 50 €"),
        ("", ""),
    ],
)
def test_normalise(first: str, second: str) -> None:
    assert normalise(first) == second
    assert normalise(normalise(first)) == normalise(first)


def test_normalise_does_not_mask() -> None:
    assert normalise("Lasku 1001") == "lasku 1001"
