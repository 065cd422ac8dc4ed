"""Payment plan: validate_payment_plan_form, the ask actions and the submit.

Demo invoice 1004 (ref 10045, 1250.00 €, due in 12 days) may be split into 2-6
monthly instalments; 1005 (ref 10058) is in collection.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.billing import Instalment
from actions.dates import add_months
from actions.payment_plan import (
    ActionAskInstallments,
    ActionAskPlanConfirmed,
    ActionSubmitPaymentPlan,
    ValidatePaymentPlanForm,
)
from tests.action_helpers import (
    action,
    bot,
    days_from_today,
    en_date,
    entity,
    fi_date,
    form_turn,
    money_of,
    parse_data,
    plain,
    responses,
    slot_event,
    slot_sets,
    slots,
    user,
    user_event,
)

FORM = "payment_plan_form"

pytestmark = pytest.mark.usefixtures("demo_billing")


def verified_1004() -> list[dict[str, Any]]:
    """The conversation up to the question about instalments."""
    return [
        action("action_listen"),
        user("Voisinko maksaa laskun 1004 osissa?", "request_payment_plan"),
        action(FORM),
        {"event": "active_loop", "timestamp": None, "name": FORM},
        slot_event("requested_slot", "reference_number"),
        bot("Tarvitsen vielä viitenumeron.", "utter_ask_reference_number"),
        action("action_listen"),
        user("10045"),
        action(FORM),
        slot_event("reference_number", "10045"),
        slot_event("requested_slot", "installments"),
        bot("Kuinka moneen erään haluaisit sen jakaa?", "utter_ask_installments"),
    ]


# --- instalments -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "count"),
    [("kolmessa erässä", "3"), ("kuuteen erään kiitos", "6"), ("2", "2"), ("four please", "4")],
)
async def test_number_of_instalments_is_read_from_free_text(
    domain: dict, text: str, count: str
) -> None:
    said = parse_data(text, "inform")
    tracker = Tracker(
        sender_id="plan-count",
        slots=slots(requested_slot="installments", invoice_number="1004", reference_number="10045"),
        latest_message=said,
        events=form_turn(FORM, "installments", user_event(said), history=verified_1004()),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidatePaymentPlanForm().run(dispatcher, tracker, domain)

    assert events == [SlotSet("installments", count)]
    assert dispatcher.messages == []


async def test_number_of_instalments_from_a_button_is_accepted(domain: dict) -> None:
    said = parse_data(
        '/inform{"installments": "3"}', "inform", entities=[entity("installments", "3")]
    )
    tracker = Tracker(
        sender_id="plan-button",
        slots=slots(
            requested_slot="installments",
            invoice_number="1004",
            reference_number="10045",
            installments="3",
        ),
        latest_message=said,
        events=form_turn(FORM, "installments", user_event(said), {"installments": "3"}),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidatePaymentPlanForm().run(dispatcher, tracker, domain)

    assert events == [SlotSet("installments", "3")]


@pytest.mark.parametrize("text", ["7", "1"])
async def test_number_of_instalments_outside_two_to_six_is_refused(domain: dict, text: str) -> None:
    said = parse_data(text, "inform")
    tracker = Tracker(
        sender_id=f"plan-invalid-{text}",
        slots=slots(requested_slot="installments", invoice_number="1004", reference_number="10045"),
        latest_message=said,
        events=form_turn(FORM, "installments", user_event(said), history=verified_1004()),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidatePaymentPlanForm().run(dispatcher, tracker, domain)

    assert slot_sets(events) == {"form_failures": {"installments": 1}, "installments": None}
    assert responses(dispatcher) == ["utter_invalid_installments"]
    assert dispatcher.messages[0]["value"] == text


async def test_answer_without_a_number_is_refused(domain: dict) -> None:
    said = parse_data("mahdollisimman moneen", "inform")
    tracker = Tracker(
        sender_id="plan-no-number",
        slots=slots(requested_slot="installments", invoice_number="1004", reference_number="10045"),
        latest_message=said,
        events=form_turn(FORM, "installments", user_event(said), history=verified_1004()),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidatePaymentPlanForm().run(dispatcher, tracker, domain)

    assert slot_sets(events)["installments"] is None
    assert responses(dispatcher) == ["utter_invalid_installments"]
    assert dispatcher.messages[0]["value"] == "mahdollisimman moneen"


@pytest.mark.parametrize(
    ("number", "reference", "block"),
    [("1005", "10058", "in_collection"), ("1003", "10032", "paid")],
)
async def test_invoice_without_self_service_plan_ends_the_form(
    domain: dict, number: str, reference: str, block: str
) -> None:
    said = parse_data(reference, "inform")
    tracker = Tracker(
        sender_id=f"plan-block-{number}",
        slots=slots(requested_slot="reference_number", invoice_number=number),
        latest_message=said,
        events=form_turn(FORM, "reference_number", user_event(said)),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidatePaymentPlanForm().run(dispatcher, tracker, domain)

    assert events == [
        SlotSet("reference_number", reference),
        SlotSet("invoice_block", block),
        SlotSet("requested_slot", None),
    ]


async def test_invoice_that_already_has_a_plan_ends_the_form(
    domain: dict, demo_billing: Any
) -> None:
    demo_billing.create_payment_plan(
        "1004",
        [
            Instalment(days_from_today(12), Decimal("625.00")),
            Instalment(add_months(days_from_today(12), 1), Decimal("625.00")),
        ],
    )
    said = parse_data("10045", "inform")
    tracker = Tracker(
        sender_id="plan-has-plan",
        slots=slots(requested_slot="reference_number", invoice_number="1004"),
        latest_message=said,
        events=form_turn(FORM, "reference_number", user_event(said)),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidatePaymentPlanForm().run(dispatcher, tracker, domain)

    assert slot_sets(events) == {
        "reference_number": "10045",
        "invoice_block": "has_plan",
        "requested_slot": None,
    }


async def test_invoice_in_collection_named_in_the_first_message_is_blocked(domain: dict) -> None:
    text = "Voiko laskun 1005 maksaa osissa? Viite 10058"
    said = parse_data(
        text,
        "request_payment_plan",
        entities=[
            entity("invoice_number", "1005", text),
            entity("reference_number", "10058", text),
        ],
    )
    tracker = Tracker(
        sender_id="plan-first-message",
        slots=slots(invoice_number="1005", reference_number="10058"),
        latest_message=said,
        events=form_turn(
            FORM, None, user_event(said), {"invoice_number": "1005", "reference_number": "10058"}
        ),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidatePaymentPlanForm().run(dispatcher, tracker, domain)

    assert slot_sets(events)["requested_slot"] is None
    assert slot_sets(events)["invoice_block"] == "in_collection"


# --- the questions -------------------------------------------------------------------


@pytest.mark.parametrize(("language", "amount"), [("fi", "1 250,00 €"), ("en", "€1,250.00")])
async def test_ask_installments_names_the_amount(domain: dict, language: str, amount: str) -> None:
    tracker = Tracker(
        sender_id=f"plan-ask-{language}",
        slots=slots(
            requested_slot="installments",
            invoice_number="1004",
            reference_number="10045",
            language=language,
        ),
        latest_message=parse_data("10045", "inform"),
        events=verified_1004()[:-2],
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    assert await ActionAskInstallments().run(dispatcher, tracker, domain) == []
    assert responses(dispatcher) == ["utter_ask_installments"]
    assert plain(dispatcher.messages[0]["amount"]) == amount


@pytest.mark.parametrize("count", [2, 3, 4, 5, 6])
async def test_ask_plan_confirmed_shows_a_schedule_that_adds_up(domain: dict, count: int) -> None:
    tracker = Tracker(
        sender_id=f"plan-schedule-{count}",
        slots=slots(
            requested_slot="plan_confirmed",
            invoice_number="1004",
            reference_number="10045",
            installments=str(count),
        ),
        latest_message=parse_data(str(count), "inform"),
        events=[*verified_1004(), action("action_listen"), user(str(count))],
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    assert await ActionAskPlanConfirmed().run(dispatcher, tracker, domain) == []

    assert responses(dispatcher) == ["utter_ask_plan_confirmed"]
    message = dispatcher.messages[0]
    assert message["installments"] == count
    lines = message["schedule"].split("\n")
    assert len(lines) == count
    first_due = days_from_today(12)
    amounts = []
    for number, line in enumerate(lines, start=1):
        position, rest = line.split(". ", 1)
        shown_date, shown_amount = rest.split(": ")
        assert position == str(number)
        assert shown_date == fi_date(add_months(first_due, number - 1))
        amounts.append(money_of(shown_amount))
    assert sum(amounts) == Decimal("1250.00")
    assert max(amounts) - min(amounts) <= Decimal("0.01")


async def test_schedule_is_written_in_english_for_english_customers(domain: dict) -> None:
    tracker = Tracker(
        sender_id="plan-schedule-en",
        slots=slots(
            requested_slot="plan_confirmed",
            invoice_number="1004",
            reference_number="10045",
            installments="3",
            language="en",
        ),
        latest_message=parse_data("three", "inform"),
        events=[*verified_1004(), action("action_listen"), user("three")],
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    await ActionAskPlanConfirmed().run(dispatcher, tracker, domain)

    first = dispatcher.messages[0]["schedule"].split("\n")[0]
    assert plain(first) == f"1. {en_date(days_from_today(12))}: €416.67"


# --- submit ----------------------------------------------------------------------------


async def test_confirmed_plan_is_created_in_billing(domain: dict, demo_billing: Any) -> None:
    tracker = Tracker(
        sender_id="plan-submit",
        slots=slots(
            invoice_number="1004",
            reference_number="10045",
            installments="3",
            plan_confirmed=True,
        ),
        latest_message=parse_data("kyllä", "affirm"),
        events=[*verified_1004(), action("action_listen"), user("kyllä", "affirm")],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ActionSubmitPaymentPlan().run(dispatcher, tracker, domain)

    plan = demo_billing.payment_plan_for("1004")
    assert plan is not None
    assert [item.amount for item in plan.instalments] == [
        Decimal("416.67"),  # the odd cents go to the first instalments
        Decimal("416.67"),
        Decimal("416.66"),
    ]
    assert plan.total == Decimal("1250.00")
    assert [item.due_date for item in plan.instalments] == [
        add_months(days_from_today(12), months) for months in range(3)
    ]
    assert responses(dispatcher) == ["utter_plan_done"]
    message = dispatcher.messages[0]
    assert message["invoice_number"] == "1004"
    assert plain(message["first_amount"]) == "416,67 €"
    assert message["first_due_date"] == fi_date(days_from_today(12))
    assert message["reference_number"] == "10045"
    assert slot_sets(events) == {
        "installments": None,
        "plan_confirmed": None,
        "invoice_block": None,
        "form_failures": None,
        "handoff_reason": None,
        "needs_handoff": False,
    }


async def test_declined_plan_creates_nothing(domain: dict, demo_billing: Any) -> None:
    tracker = Tracker(
        sender_id="plan-declined",
        slots=slots(
            invoice_number="1004",
            reference_number="10045",
            installments="3",
            plan_confirmed=False,
        ),
        latest_message=parse_data("ei kiitos", "deny"),
        events=[*verified_1004(), action("action_listen"), user("ei kiitos", "deny")],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    await ActionSubmitPaymentPlan().run(dispatcher, tracker, domain)

    assert demo_billing.payment_plan_for("1004") is None
    assert responses(dispatcher) == ["utter_plan_cancelled"]


async def test_existing_plan_is_explained(domain: dict) -> None:
    tracker = Tracker(
        sender_id="plan-exists",
        slots=slots(invoice_number="1004", reference_number="10045", invoice_block="has_plan"),
        latest_message=parse_data("10045", "inform"),
        events=verified_1004()[:-2],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ActionSubmitPaymentPlan().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_plan_exists"]
    assert dispatcher.messages[0]["invoice_number"] == "1004"
    assert slot_sets(events)["needs_handoff"] is False


async def test_invoice_in_collection_is_handed_to_a_person(domain: dict, demo_billing: Any) -> None:
    tracker = Tracker(
        sender_id="plan-collection",
        slots=slots(invoice_number="1005", reference_number="10058", invoice_block="in_collection"),
        latest_message=parse_data("10058", "inform"),
        events=[action("action_listen"), user("10058")],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ActionSubmitPaymentPlan().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_invoice_in_collection"]
    assert SlotSet("needs_handoff", True) in events
    assert SlotSet("handoff_reason", "policy") in events
    assert demo_billing.payment_plan_for("1005") is None
