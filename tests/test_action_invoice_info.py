"""Invoice lookups: validate_invoice_lookup_form and action_answer_invoice_question.

Copy of the invoice, "I already paid" and payment details, each after the invoice
has been verified; an invoice in collection goes to a person (reason `policy`).
"""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.invoice_info import ActionAnswerInvoiceQuestion, ValidateInvoiceLookupForm
from tests.action_helpers import (
    action,
    bot,
    days_from_today,
    en_date,
    fi_date,
    form_turn,
    parse_data,
    plain,
    responses,
    slot_event,
    slot_sets,
    slots,
    user,
    user_event,
)

FORM = "invoice_lookup_form"

pytestmark = pytest.mark.usefixtures("demo_billing")


def asked(question: str, intent: str, number: str, reference: str) -> list[dict[str, Any]]:
    """A lookup question, answered with the invoice and reference numbers."""
    return [
        action("action_listen"),
        user(question, intent),
        action(FORM),
        {"event": "active_loop", "timestamp": None, "name": FORM},
        slot_event("requested_slot", "invoice_number"),
        bot("Jotta löydän oikean laskun, tarvitsen laskun numeron.", "utter_ask_invoice_number"),
        action("action_listen"),
        user(number),
        action(FORM),
        slot_event("invoice_number", number),
        slot_event("requested_slot", "reference_number"),
        bot("Tarvitsen vielä viitenumeron.", "utter_ask_reference_number"),
        action("action_listen"),
        user(reference),
        action(FORM),
        slot_event("reference_number", reference),
        slot_event("requested_slot", None),
        {"event": "active_loop", "timestamp": None, "name": None},
    ]


# --- the form --------------------------------------------------------------------------


async def test_paid_invoice_can_be_looked_up(domain: dict) -> None:
    said = parse_data("10032", "inform")
    tracker = Tracker(
        sender_id="lookup-paid",
        slots=slots(requested_slot="reference_number", invoice_number="1003"),
        latest_message=said,
        events=form_turn(FORM, "reference_number", user_event(said)),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateInvoiceLookupForm().run(dispatcher, tracker, domain)

    assert events == [SlotSet("reference_number", "10032")]


async def test_invoice_in_collection_ends_the_lookup(domain: dict) -> None:
    said = parse_data("10058", "inform")
    tracker = Tracker(
        sender_id="lookup-collection",
        slots=slots(requested_slot="reference_number", invoice_number="1005"),
        latest_message=said,
        events=form_turn(FORM, "reference_number", user_event(said)),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateInvoiceLookupForm().run(dispatcher, tracker, domain)

    assert events == [
        SlotSet("reference_number", "10058"),
        SlotSet("invoice_block", "in_collection"),
        SlotSet("requested_slot", None),
    ]


async def test_lookup_question_said_again_is_read_as_the_answer(domain: dict) -> None:
    """ "Lähetättekö laskun 1001 kopion" while the form asks for the number fills it."""
    said = parse_data("Lähettäisittekö kopion laskusta 1001", "request_invoice_copy")
    tracker = Tracker(
        sender_id="lookup-own-intent",
        slots=slots(requested_slot="invoice_number"),
        latest_message=said,
        events=form_turn(FORM, "invoice_number", user_event(said)),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateInvoiceLookupForm().run(dispatcher, tracker, domain)

    assert events == [SlotSet("invoice_number", "1001")]


# --- the answers -------------------------------------------------------------------------


async def test_invoice_copy_is_requested_and_the_address_masked(
    domain: dict, demo_billing: Any
) -> None:
    tracker = Tracker(
        sender_id="copy-1001",
        slots=slots(invoice_number="1001", reference_number="10016"),
        latest_message=parse_data("10016", "inform"),
        events=asked(
            "En saanut laskua, voinko saada kopion?", "request_invoice_copy", "1001", "10016"
        ),
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ActionAnswerInvoiceQuestion().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_invoice_copy_sent"]
    message = dispatcher.messages[0]
    assert message["invoice_number"] == "1001"
    assert message["email"] == "a************@example.com"  # aino.virtanen@example.com
    assert "virtanen" not in message["email"]
    assert demo_billing.pending_copy_requests() == [("1001", "aino.virtanen@example.com")]
    assert slot_sets(events) == {
        "invoice_block": None,
        "form_failures": None,
        "handoff_reason": None,
        "needs_handoff": False,
    }


async def test_payment_of_a_paid_invoice_is_confirmed(domain: dict) -> None:
    tracker = Tracker(
        sender_id="paid-1003",
        slots=slots(invoice_number="1003", reference_number="10032"),
        latest_message=parse_data("10032", "inform"),
        events=asked("Maksoin tämän jo!", "report_already_paid", "1003", "10032"),
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ActionAnswerInvoiceQuestion().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_payment_received"]
    message = dispatcher.messages[0]
    assert message["invoice_number"] == "1003"
    assert plain(message["amount"]) == "59,00 €"
    # 1003 was due 20 days ago and paid 3 days after it was issued (14 days before due).
    assert message["paid_on"] == fi_date(days_from_today(-31))
    assert slot_sets(events)["needs_handoff"] is False


async def test_payment_not_seen_yet_explains_bank_delays(domain: dict) -> None:
    tracker = Tracker(
        sender_id="paid-1001",
        slots=slots(invoice_number="1001", reference_number="10016", language="en"),
        latest_message=parse_data("10016", "inform"),
        events=asked("I already paid this", "report_already_paid", "1001", "10016"),
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ActionAnswerInvoiceQuestion().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_payment_not_seen_yet"]
    assert dispatcher.messages[0]["invoice_number"] == "1001"
    assert dispatcher.messages[0]["due_date"] == en_date(days_from_today(5))
    assert slot_sets(events)["needs_handoff"] is False


async def test_payment_details_give_iban_and_reference(domain: dict) -> None:
    tracker = Tracker(
        sender_id="details-1001",
        slots=slots(invoice_number="1001", reference_number="10016"),
        latest_message=parse_data("10016", "inform"),
        events=asked("Mikä on tilinumero ja viite?", "ask_payment_details", "1001", "10016"),
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    await ActionAnswerInvoiceQuestion().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_payment_details"]
    message = dispatcher.messages[0]
    assert message["invoice_number"] == "1001"
    assert message["recipient"] == "Laskutus Oy"
    assert message["iban"] == "FI21 1234 5600 0007 85"
    assert message["bic"] == "NDEAFIHH"
    assert message["reference_number"] == "10016"
    assert plain(message["amount"]) == "89,90 €"
    assert message["due_date"] == fi_date(days_from_today(5))


async def test_latest_lookup_question_is_the_one_answered(domain: dict) -> None:
    history = asked("Mikä on tilinumero?", "ask_payment_details", "1003", "10032")
    tracker = Tracker(
        sender_id="lookup-latest",
        slots=slots(invoice_number="1003", reference_number="10032"),
        latest_message=parse_data("Mutta maksoin sen jo", "report_already_paid"),
        events=[
            *history,
            action("action_listen"),
            user("Mutta maksoin sen jo", "report_already_paid"),
        ],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    await ActionAnswerInvoiceQuestion().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_payment_received"]


async def test_invoice_in_collection_goes_to_a_person(domain: dict, demo_billing: Any) -> None:
    tracker = Tracker(
        sender_id="lookup-1005",
        slots=slots(invoice_number="1005", reference_number="10058", invoice_block="in_collection"),
        latest_message=parse_data("10058", "inform"),
        events=asked("Lähettäkää kopio laskusta", "request_invoice_copy", "1005", "10058"),
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ActionAnswerInvoiceQuestion().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_invoice_in_collection"]
    assert dispatcher.messages[0]["invoice_number"] == "1005"
    assert SlotSet("needs_handoff", True) in events
    assert SlotSet("handoff_reason", "policy") in events
    assert demo_billing.pending_copy_requests() == []  # nothing sent for it


async def test_unverified_invoice_is_never_answered(domain: dict, demo_billing: Any) -> None:
    tracker = Tracker(
        sender_id="lookup-unverified",
        slots=slots(invoice_number="1001", reference_number="10029"),
        latest_message=parse_data("10029", "inform"),
        events=asked("Kopio laskusta kiitos", "request_invoice_copy", "1001", "10029"),
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ActionAnswerInvoiceQuestion().run(dispatcher, tracker, domain)

    assert dispatcher.messages == []
    assert SlotSet("needs_handoff", True) in events
    assert SlotSet("handoff_reason", "form_failure") in events
    assert demo_billing.pending_copy_requests() == []
