"""Fees, contact information (hours from the helpdesk) and written feedback."""

from __future__ import annotations

import os

import pytest
import requests
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.feedback import ActionSaveFeedback, ValidateFeedbackForm
from actions.information import ActionAnswerContactInfo, ActionExplainFees
from actions.outbox import Outbox
from tests.action_helpers import (
    action,
    form_turn,
    parse_data,
    plain,
    responses,
    slots,
    user,
    user_event,
)

pytestmark = pytest.mark.usefixtures("action_env")


# --- fees --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "reminder_fee", "extension_fee", "late_interest"),
    [("fi", "5,00 €", "5,00 €", "11,5"), ("en", "€5.00", "€5.00", "11.5")],
)
async def test_fees_are_written_the_way_the_language_writes_money(
    domain: dict, language: str, reminder_fee: str, extension_fee: str, late_interest: str
) -> None:
    tracker = Tracker(
        sender_id=f"fees-{language}",
        slots=slots(language=language),
        latest_message=parse_data("Miksi laskulla on muistutusmaksu?", "ask_reminder_fee"),
        events=[
            action("action_listen"),
            user("Miksi laskulla on muistutusmaksu?", "ask_reminder_fee"),
        ],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
    dispatcher = CollectingDispatcher()

    events = await ActionExplainFees().run(dispatcher, tracker, domain)

    assert events == []
    assert responses(dispatcher) == ["utter_fees"]
    message = dispatcher.messages[0]
    assert plain(message["reminder_fee"]) == reminder_fee
    assert plain(message["extension_fee"]) == extension_fee
    assert message["late_interest"] == late_interest


async def test_fees_come_from_the_configuration(
    domain: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from actions import services

    monkeypatch.setenv("REMINDER_FEE_EUR", "7.50")
    monkeypatch.setenv("LATE_INTEREST_PERCENT", "12")
    services.settings.cache_clear()
    tracker = Tracker(
        sender_id="fees-configured",
        slots=slots(language="en"),
        latest_message=parse_data("what are the fees", "ask_reminder_fee"),
        events=[action("action_listen"), user("what are the fees", "ask_reminder_fee")],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
    dispatcher = CollectingDispatcher()

    await ActionExplainFees().run(dispatcher, tracker, domain)

    assert plain(dispatcher.messages[0]["reminder_fee"]) == "€7.50"
    assert dispatcher.messages[0]["late_interest"] == "12"


# --- contact information -------------------------------------------------------------------


@pytest.mark.parametrize("language", ["fi", "en"])
async def test_contact_info_has_the_helpdesks_opening_hours(
    domain: dict, action_helpdesk: object, language: str
) -> None:
    hours = requests.get(
        action_helpdesk.base_url + "/api/service-hours",
        headers={"Authorization": f"Bearer {action_helpdesk.token}"},
        timeout=10,
    ).json()
    tracker = Tracker(
        sender_id=f"contact-{language}",
        slots=slots(language=language),
        latest_message=parse_data("Milloin olette auki?", "ask_contact_info"),
        events=[action("action_listen"), user("Milloin olette auki?", "ask_contact_info")],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
    dispatcher = CollectingDispatcher()

    events = await ActionAnswerContactInfo().run(dispatcher, tracker, domain)

    assert events == []
    assert responses(dispatcher) == ["utter_contact_info"]
    message = dispatcher.messages[0]
    assert message["opening_hours"] == hours["display"][language]
    assert message["opening_hours"]  # something a customer can read
    assert message["phone"] == "09 4242 4242"
    assert message["email"] == "asiakaspalvelu@example.com"


async def test_contact_info_without_the_helpdesk_leaves_out_the_hours(domain: dict) -> None:
    tracker = Tracker(
        sender_id="contact-down",
        slots=slots(language="en"),
        latest_message=parse_data("What's your phone number?", "ask_contact_info"),
        events=[action("action_listen"), user("What's your phone number?", "ask_contact_info")],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
    dispatcher = CollectingDispatcher()

    events = await ActionAnswerContactInfo().run(dispatcher, tracker, domain)

    assert events == []
    assert responses(dispatcher) == ["utter_contact_info_no_hours"]
    assert dispatcher.messages[0]["phone"] == "09 4242 4242"
    assert dispatcher.messages[0]["email"] == "asiakaspalvelu@example.com"


# --- feedback ----------------------------------------------------------------------------


async def test_feedback_text_is_kept_as_written(domain: dict) -> None:
    text = "  Chat oli tosi selkeä, kiitos!  "
    said = parse_data(text, "give_feedback")
    tracker = Tracker(
        sender_id="feedback-form",
        slots=slots(requested_slot="feedback_text", feedback_text=text),
        latest_message=said,
        events=form_turn(
            "feedback_form", "feedback_text", user_event(said), {"feedback_text": text}
        ),
        paused=False,
        followup_action=None,
        active_loop={"name": "feedback_form"},
        latest_action_name="feedback_form",
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateFeedbackForm().run(dispatcher, tracker, domain)

    assert events == [SlotSet("feedback_text", "Chat oli tosi selkeä, kiitos!")]


async def test_feedback_is_delivered_and_thanked_for(domain: dict, action_helpdesk: object) -> None:
    tracker = Tracker(
        sender_id="feedback-save",
        slots=slots(feedback_text="Chat oli tosi selkeä, kiitos!"),
        latest_message=parse_data("Chat oli tosi selkeä, kiitos!", "inform"),
        events=[action("action_listen"), user("Chat oli tosi selkeä, kiitos!", "inform")],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="feedback_form",
    )
    dispatcher = CollectingDispatcher()

    events = await ActionSaveFeedback().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_feedback_thanks"]
    assert events == [SlotSet("feedback_text", None)]
    assert Outbox(os.environ["HELPDESK_OUTBOX_PATH"]).pending() == []  # delivered


async def test_feedback_waits_in_the_outbox_while_the_helpdesk_is_down(domain: dict) -> None:
    tracker = Tracker(
        sender_id="feedback-offline",
        slots=slots(feedback_text="Kiitos avusta", language="fi"),
        latest_message=parse_data("Kiitos avusta", "inform"),
        events=[action("action_listen"), user("Kiitos avusta", "inform")],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="feedback_form",
    )
    dispatcher = CollectingDispatcher()

    events = await ActionSaveFeedback().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_feedback_thanks"]
    assert events == [SlotSet("feedback_text", None)]
    [waiting] = Outbox(os.environ["HELPDESK_OUTBOX_PATH"]).pending()
    assert waiting.kind == "feedback"
    assert waiting.payload["text"] == "Kiitos avusta"
    assert waiting.payload["conversation_id"] == "feedback-offline"
