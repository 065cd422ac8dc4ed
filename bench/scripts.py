"""Scripted customer conversations for the load benchmark, Finnish and English.

Taken from what the bot asks in tests/stories/*.yml and tests/test_end_to_end.py
(demo invoices: 1001/10016 open, 1003/10032 paid, 1004/10045 payment plan).
Only the time to the first reply is measured, not its content, but each script
follows a path the bot really takes, so the load is the real mix of NLU, forms,
custom actions and tickets.

Scripts never change the demo data: the due-date and payment-plan forms are
declined at the confirmation step (the `/deny` button payload or a "no"), so
1001 and 1004 stay open for every simulated customer and every repeat. A handoff
script ends once the ticket is created: after that the bot is paused and the
customer's messages go to the ticket without an answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Language = Literal["fi", "en"]


@dataclass(frozen=True)
class Script:
    """One conversation: the page language and the customer's messages, in order."""

    name: str
    language: Language
    messages: tuple[str, ...]


FINNISH: tuple[Script, ...] = (
    Script(
        "fi_contact_info",
        "fi",
        (
            "moikka vaan",
            "mihin aikaan teidän asiakaspalvelu aukeaa aamulla?",
            "kiitos, tästä oli apua",
            "okei, heippa sitten",
        ),
    ),
    Script(
        "fi_payment_details_1001",
        "fi",
        (
            "hei",
            "mille tilille laskun voi maksaa?",
            "se on lasku 1001, viitenumero 10016",
            "kiitos paljon",
            "näkemiin",
        ),
    ),
    Script(
        "fi_fees",
        "fi",
        ("miksi laskussani on 5 euron muistutusmaksu?", "kiitos, tästä oli apua", "näkemiin"),
    ),
    Script(
        "fi_extension_1001_declined",
        "fi",
        (
            "voisinko saada lisää maksuaikaa laskulle 1001",
            "viite on 10016",
            "kahden viikon päästä olisi hyvä",
            "/deny",  # the "Ei, jätä ennalleen" button
            "okei, heippa sitten",
        ),
    ),
    Script(
        "fi_payment_plan_1004_declined",
        "fi",
        (
            "haluaisin maksaa laskun 1004 useammassa erässä",
            "viitteenä on 10045",
            "neljä erää käy minulle",
            "ei, jätetään tämä nyt",
        ),
    ),
    Script(
        "fi_already_paid_1003",
        "fi",
        ("mä maksoin laskun 1003 jo kuukausi sitten", "viite 10032", "kiitos", "näkemiin"),
    ),
    Script(
        "fi_handoff_chat",
        "fi",
        ("puhunko nyt tekoälyn kanssa?", "haluan puhua ihmiselle", "tähän chattiin"),
    ),
)

ENGLISH: tuple[Script, ...] = (
    Script(
        "en_contact_info",
        "en",
        (
            "hello there",
            "what time does your customer service open?",
            "thanks, that helps",
            "bye",
        ),
    ),
    Script(
        "en_payment_details_1001",
        "en",
        (
            "hi",
            "which bank account do I pay to?",
            "it's invoice 1001, reference number 10016",
            "thank you",
            "goodbye",
        ),
    ),
    Script(
        "en_fees",
        "en",
        ("why was a reminder fee added to my bill?", "ok thanks", "bye"),
    ),
    Script(
        "en_extension_1001_declined",
        "en",
        (
            "I need to push back the due date of invoice 1001",
            "reference no. 10016",
            "in two weeks please",
            "/deny",  # the "No, leave it" button
            "ok, bye for now",
        ),
    ),
    Script(
        "en_payment_plan_1004_declined",
        "en",
        (
            "could I split invoice 1004 into smaller payments",
            "the reference is 10045",
            '/inform{"installments": "4"}',  # the "4" button
            "/deny",
        ),
    ),
    Script(
        "en_already_paid_1003",
        "en",
        ("I paid invoice 1003 weeks ago, why is it still open", "ref 10032", "thanks", "bye"),
    ),
    Script(
        "en_handoff_chat",
        "en",
        ("are you a bot?", "I want to talk to a person", "here in the chat please"),
    ),
)

ALL_SCRIPTS: tuple[Script, ...] = FINNISH + ENGLISH
