"""Due-date extension: validate_due_date_extension_form, its ask actions and the submit.

Demo invoices (seeded relative to today): 1001 ref 10016 is open and due in 5 days
(extension allowed up to its original due date + 30 days); 1002 ref 10029 was
already extended once; 1003 ref 10032 is paid; 1005 ref 10058 is in collection.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.due_date import (
    ActionAskExtensionConfirmed,
    ActionAskNewDueDate,
    ActionSubmitDueDateExtension,
    ValidateDueDateExtensionForm,
)
from tests.action_helpers import (
    action,
    bot,
    days_from_today,
    en_date,
    entity,
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

FORM = "due_date_extension_form"

pytestmark = pytest.mark.usefixtures("demo_billing")


def started_extension() -> list[dict[str, Any]]:
    """The conversation before the form's first question was answered."""
    return [
        action("action_listen"),
        user("Voisinko saada lisää maksuaikaa laskulle?", "request_due_date_extension"),
        action(FORM),
        {"event": "active_loop", "timestamp": None, "name": FORM},
        slot_event("requested_slot", "invoice_number"),
        bot("Jotta löydän oikean laskun, tarvitsen laskun numeron.", "utter_ask_invoice_number"),
    ]


def day_month(day: Any) -> str:
    """The way customers type a date without a year: "15.12."."""
    return f"{day.day}.{day.month}."


# --- invoice number ------------------------------------------------------------------


async def test_invoice_number_is_read_from_free_text(domain: dict) -> None:
    said = parse_data("lasku 1001", "inform")
    tracker = Tracker(
        sender_id="ext-free-text",
        slots=slots(requested_slot="invoice_number"),
        latest_message=said,
        events=form_turn(FORM, "invoice_number", user_event(said), history=started_extension()),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateDueDateExtensionForm().run(dispatcher, tracker, domain)

    assert events == [SlotSet("invoice_number", "1001")]
    assert dispatcher.messages == []


async def test_invoice_number_found_by_the_nlu_is_checked_against_billing(domain: dict) -> None:
    said = parse_data(
        "Laskun numero on 1001", "inform", entities=[entity("invoice_number", "1001")]
    )
    tracker = Tracker(
        sender_id="ext-entity",
        slots=slots(requested_slot="invoice_number", invoice_number="1001"),
        latest_message=said,
        events=form_turn(FORM, "invoice_number", user_event(said), {"invoice_number": "1001"}),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateDueDateExtensionForm().run(dispatcher, tracker, domain)

    assert events == [SlotSet("invoice_number", "1001")]
    assert dispatcher.messages == []


async def test_unknown_invoice_number_is_not_found(domain: dict) -> None:
    said = parse_data("9999", "inform")
    tracker = Tracker(
        sender_id="ext-not-found",
        slots=slots(requested_slot="invoice_number"),
        latest_message=said,
        events=form_turn(FORM, "invoice_number", user_event(said), history=started_extension()),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateDueDateExtensionForm().run(dispatcher, tracker, domain)

    assert slot_sets(events) == {"form_failures": {"invoice_number": 1}, "invoice_number": None}
    assert responses(dispatcher) == ["utter_invoice_not_found"]
    assert dispatcher.messages[0]["invoice_number"] == "9999"


async def test_text_without_an_invoice_number_is_rejected_kindly(domain: dict) -> None:
    said = parse_data("se on AB-12", "inform")
    tracker = Tracker(
        sender_id="ext-invalid-number",
        slots=slots(requested_slot="invoice_number"),
        latest_message=said,
        events=form_turn(FORM, "invoice_number", user_event(said), history=started_extension()),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateDueDateExtensionForm().run(dispatcher, tracker, domain)

    assert slot_sets(events) == {"form_failures": {"invoice_number": 1}, "invoice_number": None}
    assert responses(dispatcher) == ["utter_invalid_invoice_number"]
    assert dispatcher.messages[0]["value"] == "se on AB-12"


async def test_invalid_invoice_number_entity_is_rejected(domain: dict) -> None:
    said = parse_data("numero 12", "inform", entities=[entity("invoice_number", "12")])
    tracker = Tracker(
        sender_id="ext-invalid-entity",
        slots=slots(requested_slot="invoice_number", invoice_number="12"),
        latest_message=said,
        events=form_turn(FORM, "invoice_number", user_event(said), {"invoice_number": "12"}),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateDueDateExtensionForm().run(dispatcher, tracker, domain)

    assert slot_sets(events)["invoice_number"] is None
    assert responses(dispatcher) == ["utter_invalid_invoice_number"]
    assert dispatcher.messages[0]["value"] == "12"


async def test_number_tagged_as_a_reference_is_the_invoice_number_that_was_asked(
    domain: dict,
) -> None:
    said = parse_data("1001", "inform", entities=[entity("reference_number", "1001")])
    tracker = Tracker(
        sender_id="ext-misread-invoice",
        slots=slots(requested_slot="invoice_number", reference_number="1001"),
        latest_message=said,
        events=form_turn(
            FORM,
            "invoice_number",
            user_event(said),
            {"reference_number": "1001"},
            history=started_extension(),
        ),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateDueDateExtensionForm().run(dispatcher, tracker, domain)

    assert slot_sets(events) == {"invoice_number": "1001", "reference_number": None}
    assert dispatcher.messages == []


async def test_reference_tagged_as_an_invoice_number_keeps_the_invoice(domain: dict) -> None:
    said = parse_data("10016", "inform", entities=[entity("invoice_number", "10016")])
    history = [
        *started_extension(),
        action("action_listen"),
        user("1001"),
        action(FORM),
        slot_event("invoice_number", "1001"),
        slot_event("requested_slot", "reference_number"),
        bot("Tarvitsen vielä viitenumeron.", "utter_ask_reference_number"),
    ]
    tracker = Tracker(
        sender_id="ext-misread-reference",
        slots=slots(requested_slot="reference_number", invoice_number="10016"),
        latest_message=said,
        events=form_turn(
            FORM, "reference_number", user_event(said), {"invoice_number": "10016"}, history
        ),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateDueDateExtensionForm().run(dispatcher, tracker, domain)

    changed = slot_sets(events)
    assert (changed["invoice_number"], changed["reference_number"]) == ("1001", "10016")
    assert "invoice_block" not in changed
    assert dispatcher.messages == []


async def test_a_new_question_steps_aside_without_counting_a_failure(domain: dict) -> None:
    """No slot filled, no reply: Rasa rejects the form and the fee rule answers."""
    said = parse_data("Paljonko muistutusmaksu on?", "ask_reminder_fee")
    tracker = Tracker(
        sender_id="ext-interrupt",
        slots=slots(requested_slot="invoice_number"),
        latest_message=said,
        events=form_turn(FORM, "invoice_number", user_event(said), history=started_extension()),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateDueDateExtensionForm().run(dispatcher, tracker, domain)

    assert events == []
    assert dispatcher.messages == []


# --- reference number ----------------------------------------------------------------


async def test_reference_with_a_wrong_check_digit_is_rejected(domain: dict) -> None:
    said = parse_data("10017", "inform", entities=[entity("reference_number", "10017")])
    tracker = Tracker(
        sender_id="ext-check-digit",
        slots=slots(
            requested_slot="reference_number", invoice_number="1001", reference_number="10017"
        ),
        latest_message=said,
        events=form_turn(FORM, "reference_number", user_event(said), {"reference_number": "10017"}),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateDueDateExtensionForm().run(dispatcher, tracker, domain)

    assert slot_sets(events) == {
        "form_failures": {"reference_number": 1},
        "reference_number": None,
    }
    assert responses(dispatcher) == ["utter_invalid_reference_number"]
    assert dispatcher.messages[0]["reference_number"] == "10017"


async def test_reference_typed_as_text_with_a_wrong_check_digit_is_named_in_the_reply(
    domain: dict,
) -> None:
    said = parse_data("viite 10017", "inform")
    tracker = Tracker(
        sender_id="ext-check-digit-text",
        slots=slots(requested_slot="reference_number", invoice_number="1001"),
        latest_message=said,
        events=form_turn(FORM, "reference_number", user_event(said)),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    await ValidateDueDateExtensionForm().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_invalid_reference_number"]
    assert dispatcher.messages[0].get("reference_number") == "viite 10017"


async def test_reference_of_another_invoice_is_a_mismatch(domain: dict) -> None:
    said = parse_data("10029", "inform")
    tracker = Tracker(
        sender_id="ext-mismatch",
        slots=slots(requested_slot="reference_number", invoice_number="1001"),
        latest_message=said,
        events=form_turn(FORM, "reference_number", user_event(said)),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateDueDateExtensionForm().run(dispatcher, tracker, domain)

    assert slot_sets(events) == {
        "form_failures": {"reference_number": 1},
        "reference_number": None,
    }
    assert responses(dispatcher) == ["utter_reference_mismatch"]
    assert dispatcher.messages[0]["invoice_number"] == "1001"


async def test_verified_open_invoice_goes_on_to_the_date(domain: dict) -> None:
    said = parse_data("1001 6", "inform")
    tracker = Tracker(
        sender_id="ext-verified",
        slots=slots(requested_slot="reference_number", invoice_number="1001"),
        latest_message=said,
        events=form_turn(FORM, "reference_number", user_event(said)),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateDueDateExtensionForm().run(dispatcher, tracker, domain)

    # No block and no requested_slot: Rasa asks for the next slot (the new date).
    assert events == [SlotSet("reference_number", "10016")]
    assert dispatcher.messages == []


@pytest.mark.parametrize(
    ("number", "reference", "block"),
    [
        ("1002", "10029", "already_extended"),
        ("1003", "10032", "paid"),
        ("1005", "10058", "in_collection"),
    ],
)
async def test_verified_invoice_the_bot_may_not_extend_ends_the_form(
    domain: dict, number: str, reference: str, block: str
) -> None:
    said = parse_data(reference, "inform")
    tracker = Tracker(
        sender_id=f"ext-block-{number}",
        slots=slots(requested_slot="reference_number", invoice_number=number),
        latest_message=said,
        events=form_turn(FORM, "reference_number", user_event(said)),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateDueDateExtensionForm().run(dispatcher, tracker, domain)

    assert events == [
        SlotSet("reference_number", reference),
        SlotSet("invoice_block", block),
        SlotSet("requested_slot", None),
    ]
    assert dispatcher.messages == []


@pytest.mark.parametrize(
    ("number", "reference", "block"),
    [("1002", "10029", "already_extended"), ("1005", "10058", "in_collection")],
)
async def test_blocked_invoice_named_in_the_first_message_still_reports_its_block(
    domain: dict, number: str, reference: str, block: str
) -> None:
    """Both numbers in the opening message (or known from an earlier question).

    Rasa activates the form and validates the pre-filled slots with requested_slot
    None. The block must reach the submit action, or 1002 gets "nothing changed"
    instead of the kind refusal, and 1005 (in collection) is not handed off.
    """
    text = f"Haluan siirtää laskun {number} eräpäivää, viite {reference}"
    said = parse_data(
        text,
        "request_due_date_extension",
        entities=[
            entity("invoice_number", number, text),
            entity("reference_number", reference, text),
        ],
    )
    tracker = Tracker(
        sender_id=f"ext-first-message-{number}",
        slots=slots(invoice_number=number, reference_number=reference),
        latest_message=said,
        events=form_turn(
            FORM, None, user_event(said), {"invoice_number": number, "reference_number": reference}
        ),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateDueDateExtensionForm().run(dispatcher, tracker, domain)

    # The form ends at once (requested_slot None), so Rasa runs the submit next,
    # with the slots as the validation events left them.
    assert events[-1] == SlotSet("requested_slot", None)
    after_form = {**tracker.slots, **slot_sets(events)}
    submit_dispatcher = CollectingDispatcher()
    await ActionSubmitDueDateExtension().run(
        submit_dispatcher,
        Tracker(
            sender_id=f"ext-first-message-{number}",
            slots=after_form,
            latest_message=said,
            events=tracker.events,
            paused=False,
            followup_action=None,
            active_loop={},
            latest_action_name=FORM,
        ),
        domain,
    )
    expected = {
        "already_extended": "utter_extension_refused_already_extended",
        "in_collection": "utter_invoice_in_collection",
    }[block]
    assert responses(submit_dispatcher) == [expected]  # not "utter_extension_cancelled"
    assert after_form["invoice_block"] == block


async def test_fresh_start_forgets_the_previous_runs_answers(domain: dict) -> None:
    said = parse_data("Voinko siirtää eräpäivää?", "request_due_date_extension")
    tracker = Tracker(
        sender_id="ext-fresh",
        slots=slots(
            new_due_date="2020-01-01",
            extension_confirmed=False,
            invoice_block="paid",
            form_failures={"invoice_number": 2},
            handoff_reason="form_failure",
        ),
        latest_message=said,
        events=form_turn(FORM, None, user_event(said)),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateDueDateExtensionForm().run(dispatcher, tracker, domain)

    cleared = slot_sets(events)
    for slot in ("new_due_date", "extension_confirmed", "invoice_block", "form_failures"):
        assert cleared[slot] is None
    assert cleared["handoff_reason"] is None
    assert "requested_slot" not in cleared  # Rasa asks for the invoice number next
    assert dispatcher.messages == []


# --- the new date --------------------------------------------------------------------


async def test_date_typed_as_day_and_month_is_read(domain: dict) -> None:
    wanted = days_from_today(10)  # after the due date (+5), before the latest (+35)
    said = parse_data(day_month(wanted), "inform")
    tracker = Tracker(
        sender_id="ext-date",
        slots=slots(requested_slot="new_due_date", invoice_number="1001", reference_number="10016"),
        latest_message=said,
        events=form_turn(FORM, "new_due_date", user_event(said)),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateDueDateExtensionForm().run(dispatcher, tracker, domain)

    assert events == [SlotSet("new_due_date", wanted.isoformat())]
    assert dispatcher.messages == []


async def test_date_entity_from_the_nlu_is_read(domain: dict) -> None:
    wanted = days_from_today(12)
    text = f"vaikka {day_month(wanted)}"
    said = parse_data(text, "inform", entities=[entity("date", day_month(wanted), text)])
    tracker = Tracker(
        sender_id="ext-date-entity",
        slots=slots(
            requested_slot="new_due_date",
            invoice_number="1001",
            reference_number="10016",
            new_due_date=day_month(wanted),
        ),
        latest_message=said,
        events=form_turn(
            FORM, "new_due_date", user_event(said), {"new_due_date": day_month(wanted)}
        ),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateDueDateExtensionForm().run(dispatcher, tracker, domain)

    assert events == [SlotSet("new_due_date", wanted.isoformat())]


async def test_date_in_english_is_read(domain: dict) -> None:
    wanted = days_from_today(20)
    said = parse_data(f"{wanted:%B} {wanted.day}", "inform")
    tracker = Tracker(
        sender_id="ext-date-en",
        slots=slots(
            requested_slot="new_due_date",
            invoice_number="1001",
            reference_number="10016",
            language="en",
        ),
        latest_message=said,
        events=form_turn(FORM, "new_due_date", user_event(said)),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateDueDateExtensionForm().run(dispatcher, tracker, domain)

    assert events == [SlotSet("new_due_date", wanted.isoformat())]


async def test_date_in_the_past_is_refused(domain: dict) -> None:
    past = days_from_today(-3)
    said = parse_data(fi_date(past), "inform")
    tracker = Tracker(
        sender_id="ext-past",
        slots=slots(requested_slot="new_due_date", invoice_number="1001", reference_number="10016"),
        latest_message=said,
        events=form_turn(FORM, "new_due_date", user_event(said)),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateDueDateExtensionForm().run(dispatcher, tracker, domain)

    assert slot_sets(events) == {"form_failures": {"new_due_date": 1}, "new_due_date": None}
    assert responses(dispatcher) == ["utter_date_in_past"]
    assert dispatcher.messages[0]["date"] == fi_date(past)
    assert dispatcher.messages[0]["latest_due_date"] == fi_date(days_from_today(35))


async def test_date_beyond_the_latest_possible_is_refused(domain: dict) -> None:
    too_late = days_from_today(40)
    said = parse_data(day_month(too_late), "inform")
    tracker = Tracker(
        sender_id="ext-too-late",
        slots=slots(requested_slot="new_due_date", invoice_number="1001", reference_number="10016"),
        latest_message=said,
        events=form_turn(FORM, "new_due_date", user_event(said)),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateDueDateExtensionForm().run(dispatcher, tracker, domain)

    assert slot_sets(events)["new_due_date"] is None
    assert responses(dispatcher) == ["utter_date_too_late"]
    message = dispatcher.messages[0]
    assert message["date"] == fi_date(too_late)
    assert message["latest_due_date"] == fi_date(days_from_today(35))


async def test_latest_possible_date_itself_is_accepted(domain: dict) -> None:
    latest = days_from_today(35)
    said = parse_data(fi_date(latest), "inform")
    tracker = Tracker(
        sender_id="ext-latest",
        slots=slots(requested_slot="new_due_date", invoice_number="1001", reference_number="10016"),
        latest_message=said,
        events=form_turn(FORM, "new_due_date", user_event(said)),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateDueDateExtensionForm().run(dispatcher, tracker, domain)

    assert events == [SlotSet("new_due_date", latest.isoformat())]


async def test_today_is_not_said_to_have_passed(domain: dict) -> None:
    said = parse_data("tänään", "inform")
    tracker = Tracker(
        sender_id="ext-today",
        slots=slots(requested_slot="new_due_date", invoice_number="1001", reference_number="10016"),
        latest_message=said,
        events=form_turn(FORM, "new_due_date", user_event(said)),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    await ValidateDueDateExtensionForm().run(dispatcher, tracker, domain)

    # 1001 is due in 5 days: today is simply not after the current due date.
    assert responses(dispatcher) == ["utter_date_not_after_current_due"]


@pytest.mark.parametrize("offset", [3, 5])
async def test_date_not_after_the_current_due_date_is_refused(domain: dict, offset: int) -> None:
    too_early = days_from_today(offset)  # 1001 is due in 5 days
    said = parse_data(day_month(too_early), "inform")
    tracker = Tracker(
        sender_id=f"ext-early-{offset}",
        slots=slots(requested_slot="new_due_date", invoice_number="1001", reference_number="10016"),
        latest_message=said,
        events=form_turn(FORM, "new_due_date", user_event(said)),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateDueDateExtensionForm().run(dispatcher, tracker, domain)

    assert slot_sets(events)["new_due_date"] is None
    assert responses(dispatcher) == ["utter_date_not_after_current_due"]
    message = dispatcher.messages[0]
    assert message["date"] == fi_date(too_early)
    assert message["current_due_date"] == fi_date(days_from_today(5))
    assert message["latest_due_date"] == fi_date(days_from_today(35))


async def test_refused_date_is_shown_in_english_for_english_customers(domain: dict) -> None:
    past = days_from_today(-3)
    said = parse_data(past.isoformat(), "inform")
    tracker = Tracker(
        sender_id="ext-past-en",
        slots=slots(
            requested_slot="new_due_date",
            invoice_number="1001",
            reference_number="10016",
            language="en",
        ),
        latest_message=said,
        events=form_turn(FORM, "new_due_date", user_event(said)),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    await ValidateDueDateExtensionForm().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_date_in_past"]
    assert dispatcher.messages[0]["date"] == en_date(past)
    assert dispatcher.messages[0]["latest_due_date"] == en_date(days_from_today(35))


async def test_text_that_is_no_date_is_asked_again(domain: dict) -> None:
    said = parse_data("joskus myöhemmin", "inform")
    tracker = Tracker(
        sender_id="ext-no-date",
        slots=slots(requested_slot="new_due_date", invoice_number="1001", reference_number="10016"),
        latest_message=said,
        events=form_turn(FORM, "new_due_date", user_event(said)),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateDueDateExtensionForm().run(dispatcher, tracker, domain)

    assert slot_sets(events) == {"form_failures": {"new_due_date": 1}, "new_due_date": None}
    assert responses(dispatcher) == ["utter_invalid_date"]


async def test_good_answer_after_failures_clears_the_count(domain: dict) -> None:
    wanted = days_from_today(10)
    said = parse_data(day_month(wanted), "inform")
    tracker = Tracker(
        sender_id="ext-recovered",
        slots=slots(
            requested_slot="new_due_date",
            invoice_number="1001",
            reference_number="10016",
            form_failures={"new_due_date": 2},
        ),
        latest_message=said,
        events=form_turn(FORM, "new_due_date", user_event(said)),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateDueDateExtensionForm().run(dispatcher, tracker, domain)

    assert slot_sets(events) == {"form_failures": {}, "new_due_date": wanted.isoformat()}


@pytest.mark.parametrize(
    ("requested", "filled", "text"),
    [
        ("new_due_date", {"invoice_number": "1001", "reference_number": "10016"}, "en tiedä"),
        ("invoice_number", {}, "9999"),
        ("reference_number", {"invoice_number": "1001"}, "10029"),
    ],
)
async def test_third_rejected_answer_brings_in_a_person(
    domain: dict, requested: str, filled: dict[str, str], text: str
) -> None:
    said = parse_data(text, "inform")
    tracker = Tracker(
        sender_id=f"ext-third-{requested}",
        slots=slots(requested_slot=requested, form_failures={requested: 2}, **filled),
        latest_message=said,
        events=form_turn(FORM, requested, user_event(said)),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateDueDateExtensionForm().run(dispatcher, tracker, domain)

    changed = slot_sets(events)
    assert changed["form_failures"] == {requested: 3}
    assert changed["handoff_reason"] == "form_failure"
    assert changed["requested_slot"] is None  # the form ends
    assert events[-1] == SlotSet("requested_slot", None)
    assert dispatcher.messages == []  # the handoff intro speaks next, not another "try again"


# --- confirmation ------------------------------------------------------------------


async def test_yes_to_the_confirmation_is_kept(domain: dict) -> None:
    said = parse_data("kyllä", "affirm")
    wanted = days_from_today(10).isoformat()
    tracker = Tracker(
        sender_id="ext-yes",
        slots=slots(
            requested_slot="extension_confirmed",
            invoice_number="1001",
            reference_number="10016",
            new_due_date=wanted,
            extension_confirmed=True,
        ),
        latest_message=said,
        events=form_turn(
            FORM, "extension_confirmed", user_event(said), {"extension_confirmed": True}
        ),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateDueDateExtensionForm().run(dispatcher, tracker, domain)

    assert events == [SlotSet("extension_confirmed", True)]


async def test_unclear_answer_to_the_confirmation_asks_again(domain: dict) -> None:
    said = parse_data("hmm, mitä se maksaa taas", "inform")
    tracker = Tracker(
        sender_id="ext-unclear",
        slots=slots(
            requested_slot="extension_confirmed",
            invoice_number="1001",
            reference_number="10016",
            new_due_date=days_from_today(10).isoformat(),
        ),
        latest_message=said,
        events=form_turn(FORM, "extension_confirmed", user_event(said)),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateDueDateExtensionForm().run(dispatcher, tracker, domain)

    assert slot_sets(events) == {
        "form_failures": {"extension_confirmed": 1},
        "extension_confirmed": None,
    }
    assert dispatcher.messages == []  # action_ask_extension_confirmed asks again


# --- the questions -------------------------------------------------------------------


@pytest.mark.parametrize(("language", "shown"), [("fi", fi_date), ("en", en_date)])
async def test_ask_new_due_date_says_which_dates_are_possible(
    domain: dict, language: str, shown: Any
) -> None:
    tracker = Tracker(
        sender_id=f"ask-date-{language}",
        slots=slots(
            requested_slot="new_due_date",
            invoice_number="1001",
            reference_number="10016",
            language=language,
        ),
        latest_message=parse_data("10016", "inform"),
        events=[*started_extension(), action("action_listen"), user("10016")],
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ActionAskNewDueDate().run(dispatcher, tracker, domain)

    assert events == []
    assert responses(dispatcher) == ["utter_ask_new_due_date"]
    message = dispatcher.messages[0]
    assert message["current_due_date"] == shown(days_from_today(5))
    assert message["latest_due_date"] == shown(days_from_today(35))


async def test_ask_new_due_date_says_nothing_about_an_unverified_invoice(domain: dict) -> None:
    tracker = Tracker(
        sender_id="ask-date-unverified",
        slots=slots(requested_slot="new_due_date", invoice_number="1001", reference_number="10029"),
        latest_message=parse_data("10029", "inform"),
        events=[*started_extension(), action("action_listen"), user("10029")],
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    assert await ActionAskNewDueDate().run(dispatcher, tracker, domain) == []
    assert dispatcher.messages == []


@pytest.mark.parametrize(
    ("language", "shown", "fee"), [("fi", fi_date, "5,00 €"), ("en", en_date, "€5.00")]
)
async def test_ask_extension_confirmed_shows_the_change_and_the_fee(
    domain: dict, language: str, shown: Any, fee: str
) -> None:
    wanted = days_from_today(10)
    tracker = Tracker(
        sender_id=f"ask-confirm-{language}",
        slots=slots(
            requested_slot="extension_confirmed",
            invoice_number="1001",
            reference_number="10016",
            new_due_date=wanted.isoformat(),
            language=language,
        ),
        latest_message=parse_data(day_month(wanted), "inform"),
        events=[*started_extension(), action("action_listen"), user(day_month(wanted))],
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ActionAskExtensionConfirmed().run(dispatcher, tracker, domain)

    assert events == []
    assert responses(dispatcher) == ["utter_ask_extension_confirmed"]
    message = dispatcher.messages[0]
    assert message["invoice_number"] == "1001"
    assert message["new_due_date"] == shown(wanted)
    assert plain(message["fee"]) == fee


# --- submit ----------------------------------------------------------------------------


async def test_confirmed_extension_moves_the_due_date_and_adds_the_fee(
    domain: dict, demo_billing: Any
) -> None:
    wanted = days_from_today(10)
    tracker = Tracker(
        sender_id="ext-submit-yes",
        slots=slots(
            invoice_number="1001",
            reference_number="10016",
            new_due_date=wanted.isoformat(),
            extension_confirmed=True,
        ),
        latest_message=parse_data("kyllä", "affirm"),
        events=[*started_extension(), action("action_listen"), user("kyllä", "affirm")],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ActionSubmitDueDateExtension().run(dispatcher, tracker, domain)

    invoice = demo_billing.find_invoice("1001")
    assert invoice.due_date == wanted
    assert invoice.amount == Decimal("94.90")  # 89.90 + the 5.00 fee
    assert invoice.extension_count == 1
    assert demo_billing.extension_history("1001") == [(days_from_today(5), wanted, Decimal("5.00"))]
    assert responses(dispatcher) == ["utter_extension_done"]
    message = dispatcher.messages[0]
    assert message["invoice_number"] == "1001"
    assert message["new_due_date"] == fi_date(wanted)
    assert plain(message["fee"]) == "5,00 €"
    assert slot_sets(events) == {
        "new_due_date": None,
        "extension_confirmed": None,
        "invoice_block": None,
        "form_failures": None,
        "handoff_reason": None,
        "needs_handoff": False,
    }


async def test_confirmed_extension_is_told_in_english(domain: dict) -> None:
    wanted = days_from_today(30)
    tracker = Tracker(
        sender_id="ext-submit-en",
        slots=slots(
            invoice_number="1001",
            reference_number="10016",
            new_due_date=wanted.isoformat(),
            extension_confirmed=True,
            language="en",
        ),
        latest_message=parse_data("kyllä", "affirm"),
        events=[*started_extension(), action("action_listen"), user("kyllä", "affirm")],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    await ActionSubmitDueDateExtension().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_extension_done"]
    assert dispatcher.messages[0]["new_due_date"] == en_date(wanted)
    assert plain(dispatcher.messages[0]["fee"]) == "€5.00"


async def test_declined_extension_changes_nothing(domain: dict, demo_billing: Any) -> None:
    tracker = Tracker(
        sender_id="ext-submit-no",
        slots=slots(
            invoice_number="1001",
            reference_number="10016",
            new_due_date=days_from_today(10).isoformat(),
            extension_confirmed=False,
        ),
        latest_message=parse_data("ei sittenkään", "deny"),
        events=[*started_extension(), action("action_listen"), user("ei sittenkään", "deny")],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ActionSubmitDueDateExtension().run(dispatcher, tracker, domain)

    invoice = demo_billing.find_invoice("1001")
    assert invoice.due_date == days_from_today(5)
    assert invoice.amount == Decimal("89.90")
    assert demo_billing.extension_history("1001") == []
    assert responses(dispatcher) == ["utter_extension_cancelled"]
    assert slot_sets(events)["needs_handoff"] is False


async def test_already_extended_invoice_is_refused_kindly(domain: dict, demo_billing: Any) -> None:
    tracker = Tracker(
        sender_id="ext-submit-extended",
        slots=slots(
            invoice_number="1002",
            reference_number="10029",
            invoice_block="already_extended",
        ),
        latest_message=parse_data("kyllä", "affirm"),
        events=[*started_extension(), action("action_listen"), user("kyllä", "affirm")],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ActionSubmitDueDateExtension().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_extension_refused_already_extended"]
    assert dispatcher.messages[0]["invoice_number"] == "1002"
    assert dispatcher.messages[0]["due_date"] == fi_date(days_from_today(10))
    assert slot_sets(events)["needs_handoff"] is False
    assert slot_sets(events)["handoff_reason"] is None
    assert demo_billing.find_invoice("1002").extension_count == 1


async def test_invoice_in_collection_is_handed_to_a_person(domain: dict, demo_billing: Any) -> None:
    tracker = Tracker(
        sender_id="ext-submit-collection",
        slots=slots(
            invoice_number="1005",
            reference_number="10058",
            invoice_block="in_collection",
        ),
        latest_message=parse_data("kyllä", "affirm"),
        events=[*started_extension(), action("action_listen"), user("kyllä", "affirm")],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ActionSubmitDueDateExtension().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_invoice_in_collection"]
    assert dispatcher.messages[0]["invoice_number"] == "1005"
    assert SlotSet("needs_handoff", True) in events
    assert SlotSet("handoff_reason", "policy") in events
    assert demo_billing.find_invoice("1005").extension_count == 0


async def test_paid_invoice_needs_no_extension(domain: dict) -> None:
    tracker = Tracker(
        sender_id="ext-submit-paid",
        slots=slots(
            invoice_number="1003",
            reference_number="10032",
            invoice_block="paid",
        ),
        latest_message=parse_data("kyllä", "affirm"),
        events=[*started_extension(), action("action_listen"), user("kyllä", "affirm")],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ActionSubmitDueDateExtension().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_invoice_already_paid"]
    # 1003 was due 20 days ago and paid 3 days after it was issued (14 days before due).
    assert dispatcher.messages[0]["paid_on"] == fi_date(days_from_today(-31))
    assert slot_sets(events)["needs_handoff"] is False


async def test_form_given_up_on_hands_off_without_changing_anything(
    domain: dict, demo_billing: Any
) -> None:
    tracker = Tracker(
        sender_id="ext-submit-failure",
        slots=slots(
            invoice_number="1001",
            reference_number="10016",
            handoff_reason="form_failure",
            form_failures={"new_due_date": 3},
        ),
        latest_message=parse_data("kyllä", "affirm"),
        events=[*started_extension(), action("action_listen"), user("kyllä", "affirm")],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ActionSubmitDueDateExtension().run(dispatcher, tracker, domain)

    assert dispatcher.messages == []
    assert SlotSet("needs_handoff", True) in events
    assert SlotSet("handoff_reason", "form_failure") in events
    assert demo_billing.find_invoice("1001").due_date == days_from_today(5)
