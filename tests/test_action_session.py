"""Session start and the conversation language (action_session_start and
action_validate_slot_mappings, which Rasa runs after every customer message)."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, ConversationPaused, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.session import ActionGreetBack, ActionSessionStart, ActionValidateSlotMappings
from tests.action_helpers import (
    action,
    bot,
    parse_data,
    session_start_events,
    slot_sets,
    slots,
    user,
    user_event,
)


def greeting(domain: dict, language: str) -> dict[str, Any]:
    """The utter_greet variant of a language, straight from the domain."""
    for variant in domain["responses"]["utter_greet"]:
        condition = variant.get("condition") or []
        if language == "en" and {"type": "slot", "name": "language", "value": "en"} in condition:
            return variant
        if language == "fi" and not condition:
            return variant
    raise LookupError(language)


# --- action_session_start ----------------------------------------------------------------


@pytest.mark.parametrize(
    "metadata",
    [
        {"language": "en"},  # Rasa's socket.io channel: `metadata`
        {"customData": {"language": "en"}},  # rasa-webchat: `customData`
        {"language": "en-GB", "page": "/invoices"},
    ],
)
async def test_session_takes_the_language_of_the_page(domain: dict, metadata: dict) -> None:
    tracker = Tracker(
        sender_id="session-page-language",
        slots=slots(session_started_metadata=metadata),
        latest_message={},
        events=[
            {
                "event": "slot",
                "timestamp": None,
                "name": "session_started_metadata",
                "value": metadata,
            }
        ],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=None,
    )
    dispatcher = CollectingDispatcher()

    events = await ActionSessionStart().run(dispatcher, tracker, domain)

    assert events[0] == SessionStarted()
    assert events[-1] == ActionExecuted("action_listen")
    assert slot_sets(events)["language"] == "en"
    assert dispatcher.messages == []


async def test_new_session_keeps_language_and_contact_details(domain: dict) -> None:
    tracker = Tracker(
        sender_id="session-carry-over",
        slots=slots(
            language="en",
            contact_email="aino.virtanen@example.com",
            contact_phone="0401234567",
            invoice_number="1001",
            reference_number="10016",
            ticket_number="T-00001",
        ),
        latest_message=parse_data("thanks", "thank"),
        events=[action("action_listen"), user("thanks", "thank"), bot("You're welcome")],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="utter_you_are_welcome",
    )
    dispatcher = CollectingDispatcher()

    events = await ActionSessionStart().run(dispatcher, tracker, domain)

    assert events[0] == SessionStarted()
    assert events[-1] == ActionExecuted("action_listen")
    assert slot_sets(events) == {
        "language": "en",
        "contact_email": "aino.virtanen@example.com",
        "contact_phone": "0401234567",
        # the rating asked when an agent resolves it must reach the right ticket
        "ticket_number": "T-00001",
    }  # the invoice must be verified again in a new session
    assert ConversationPaused() not in events


async def test_a_session_that_expires_while_a_person_has_it_stays_paused(domain: dict) -> None:
    """SessionStarted unpauses the bot: without the pause carried over, a customer
    who waited over an hour would get bot answers to messages meant for the agent."""
    tracker = Tracker(
        sender_id="session-paused",
        slots=slots(language="fi", ticket_number="T-00007"),
        latest_message=parse_data("Onko asiaan tullut mitään uutta?", "out_of_scope"),
        events=[
            action("action_create_ticket"),
            bot("Kiitos! Tein sinulle palvelupyynnön, numero T-00007."),
            {"event": "pause", "timestamp": None},
        ],
        paused=True,
        followup_action=None,
        active_loop={},
        latest_action_name="action_create_ticket",
    )
    dispatcher = CollectingDispatcher()

    events = await ActionSessionStart().run(dispatcher, tracker, domain)

    assert events[0] == SessionStarted()
    assert ConversationPaused() in events
    assert events.index(ConversationPaused()) < events.index(ActionExecuted("action_listen"))
    assert slot_sets(events)["ticket_number"] == "T-00007"
    assert dispatcher.messages == []


@pytest.mark.parametrize("metadata", [None, {}, {"language": "sv"}])
async def test_page_without_a_known_language_keeps_the_conversation_language(
    domain: dict, metadata: Any
) -> None:
    tracker = Tracker(
        sender_id="session-unknown-language",
        slots=slots(language="en", session_started_metadata=metadata),
        latest_message={},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=None,
    )
    dispatcher = CollectingDispatcher()

    events = await ActionSessionStart().run(dispatcher, tracker, domain)

    assert slot_sets(events)["language"] == "en"


async def test_first_session_without_metadata_is_in_finnish(domain: dict) -> None:
    tracker = Tracker(
        sender_id="session-default",
        slots=slots(language=None),
        latest_message={},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=None,
    )
    dispatcher = CollectingDispatcher()

    events = await ActionSessionStart().run(dispatcher, tracker, domain)

    assert slot_sets(events) == {"language": "fi"}


# --- action_validate_slot_mappings ----------------------------------------------------------


async def test_first_message_is_greeted_in_the_language_it_was_written_in(domain: dict) -> None:
    said = parse_data("Hi, could I get more time to pay my invoice?", "request_due_date_extension")
    tracker = Tracker(
        sender_id="greet-en",
        slots=slots(language="fi"),
        latest_message=said,
        events=[*session_start_events(), user_event(said)],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
    dispatcher = CollectingDispatcher()

    events = await ActionValidateSlotMappings().run(dispatcher, tracker, domain)

    assert len(dispatcher.messages) == 1
    assert dispatcher.messages[0]["text"] == greeting(domain, "en")["text"]
    assert dispatcher.messages[0]["text"].startswith("Hi and welcome!")
    assert SlotSet("language", "en") in events


async def test_first_message_in_finnish_on_an_english_page_is_greeted_in_finnish(
    domain: dict,
) -> None:
    said = parse_data("Moi, tarvitsen apua laskun kanssa", "greet")
    tracker = Tracker(
        sender_id="greet-fi",
        slots=slots(language="en"),
        latest_message=said,
        events=[*session_start_events(), user_event(said)],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
    dispatcher = CollectingDispatcher()

    events = await ActionValidateSlotMappings().run(dispatcher, tracker, domain)

    assert [message["text"] for message in dispatcher.messages] == [greeting(domain, "fi")["text"]]
    assert SlotSet("language", "fi") in events


async def test_first_message_without_language_signal_is_greeted_in_the_page_language(
    domain: dict,
) -> None:
    said = parse_data("1001", "inform")
    tracker = Tracker(
        sender_id="greet-no-signal",
        slots=slots(language="en"),
        latest_message=said,
        events=[*session_start_events(), user_event(said)],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
    dispatcher = CollectingDispatcher()

    events = await ActionValidateSlotMappings().run(dispatcher, tracker, domain)

    assert [message["text"] for message in dispatcher.messages] == [greeting(domain, "en")["text"]]
    assert "language" not in slot_sets(events)


async def test_later_messages_are_not_greeted_again(domain: dict) -> None:
    said = parse_data("Kiitos, entä maksusuunnitelma?", "request_payment_plan")
    tracker = Tracker(
        sender_id="greet-once",
        slots=slots(language="fi"),
        latest_message=said,
        events=[
            *session_start_events(),
            user("Moi", "greet"),
            bot(greeting(domain, "fi")["text"]),
            action("action_listen"),
            user_event(said),
        ],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
    dispatcher = CollectingDispatcher()

    events = await ActionValidateSlotMappings().run(dispatcher, tracker, domain)

    assert dispatcher.messages == []
    assert "language" not in slot_sets(events)


async def test_language_follows_a_customer_who_switches_to_english(domain: dict) -> None:
    said = parse_data("Sorry, can we continue in English please?", "inform")
    tracker = Tracker(
        sender_id="switch-en",
        slots=slots(language="fi"),
        latest_message=said,
        events=[
            *session_start_events(),
            user("Moi", "greet"),
            bot(greeting(domain, "fi")["text"]),
            action("action_listen"),
            user_event(said),
        ],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
    dispatcher = CollectingDispatcher()

    events = await ActionValidateSlotMappings().run(dispatcher, tracker, domain)

    assert dispatcher.messages == []
    assert events == [SlotSet("language", "en")]


async def test_language_follows_a_customer_who_switches_to_finnish(domain: dict) -> None:
    said = parse_data("Voinko maksaa laskun osissa?", "request_payment_plan")
    tracker = Tracker(
        sender_id="switch-fi",
        slots=slots(language="en"),
        latest_message=said,
        events=[
            *session_start_events(),
            user("Hi", "greet"),
            bot(greeting(domain, "en")["text"]),
            action("action_listen"),
            user_event(said),
        ],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
    dispatcher = CollectingDispatcher()

    events = await ActionValidateSlotMappings().run(dispatcher, tracker, domain)

    assert events == [SlotSet("language", "fi")]


@pytest.mark.parametrize("text", ["Me maksoimme sen jo eilen", "No niin"])
async def test_finnish_message_does_not_switch_the_conversation_to_english(
    domain: dict, text: str
) -> None:
    said = parse_data(text, "inform")
    tracker = Tracker(
        sender_id="switch-false-alarm",
        slots=slots(language="fi"),
        latest_message=said,
        events=[
            *session_start_events(),
            user("Moi", "greet"),
            bot(greeting(domain, "fi")["text"]),
            action("action_listen"),
            user_event(said),
        ],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
    dispatcher = CollectingDispatcher()

    events = await ActionValidateSlotMappings().run(dispatcher, tracker, domain)

    assert SlotSet("language", "en") not in events


# --- action_greet_back ---------------------------------------------------------------------


async def test_a_hi_later_in_the_conversation_is_answered(domain: dict) -> None:
    hello = parse_data("moi taas", "greet")
    tracker = Tracker(
        sender_id="greet-later",
        slots=slots(),
        latest_message=hello,
        events=[*session_start_events(), user("lasku 1001"), bot("Kiitos!"), user_event(hello)],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
    dispatcher = CollectingDispatcher()

    events = await ActionGreetBack().run(dispatcher, tracker, domain)

    assert events == []
    assert [message["response"] for message in dispatcher.messages] == ["utter_greet_again"]


async def test_a_first_hi_already_answered_by_the_session_greeting_gets_no_second_greeting(
    domain: dict,
) -> None:
    hello = parse_data("moi", "greet")
    tracker = Tracker(
        sender_id="greet-first",
        slots=slots(),
        latest_message=hello,
        events=[*session_start_events(), user_event(hello), bot("Hei ja tervetuloa!")],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
    dispatcher = CollectingDispatcher()

    events = await ActionGreetBack().run(dispatcher, tracker, domain)

    assert events == []
    assert dispatcher.messages == []


async def test_no_greeting_while_a_person_has_the_conversation(domain: dict) -> None:
    """Slots are extracted for messages logged while paused; the first message of a
    new session then must not get the bot's greeting (the agent is answering)."""
    said = parse_data("Onko asiaan tullut mitään uutta?", "out_of_scope")
    tracker = Tracker(
        sender_id="greet-paused",
        slots=slots(language="fi"),
        latest_message=said,
        events=[*session_start_events(), {"event": "pause", "timestamp": None}, user_event(said)],
        paused=True,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
    dispatcher = CollectingDispatcher()

    await ActionValidateSlotMappings().run(dispatcher, tracker, domain)

    assert dispatcher.messages == []


async def test_no_greeting_for_an_action_started_from_outside(domain: dict) -> None:
    """`/execute` in a fresh session (e.g. the rating form after a long handoff)
    extracts slots with no customer message yet: nothing to greet."""
    tracker = Tracker(
        sender_id="greet-execute",
        slots=slots(language="fi", ticket_number="T-00001"),
        latest_message={"intent": {}, "entities": [], "text": None},
        events=session_start_events(),
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
    dispatcher = CollectingDispatcher()

    events = await ActionValidateSlotMappings().run(dispatcher, tracker, domain)

    assert dispatcher.messages == []
    assert "language" not in slot_sets(events)
