"""The 1-5 rating after an agent resolved the ticket: validate_rating_form, action_save_rating.

The agent console starts rating_form from outside (`POST /conversations/<id>/execute`);
the form then reads the answer from whatever the customer writes. Ratings go to
the real helpdesk (`python -m bot serve`, fresh database per test); with the
helpdesk down they wait in the actions' outbox.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlparse

import pytest
import requests
from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import services
from actions.outbox import Outbox
from actions.rating import ActionSaveRating, ValidateRatingForm, parse_rating, started_from_outside
from tests.action_helpers import (
    action,
    bot,
    form_turn,
    parse_data,
    responses,
    slot_event,
    slot_sets,
    slots,
    user,
    user_event,
)

FORM = "rating_form"


# --- reading a rating ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rating"),
    [
        ("4", 4),
        ("5!", 5),
        (" 1 ", 1),
        ("4/5", 4),
        ("4 / 5", 4),
        ("Kiitos avusta, 5/5!", 5),
        ("neljä", 4),
        ("Neljä.", 4),
        ("ehkä kolme", 3),
        ("annan nelosen", 4),
        ("vitonen", 5),
        ("kaks", 2),
        ("neljä viidestä", 4),
        ("3 tähteä", 3),
        ("viisi tähteä, kiitos!", 5),
        ("arvosanaksi 4", 4),
        ("täydet pisteet", 5),
        ("five", 5),
        ("Four.", 4),
        ("I'd say 4", 4),
        ("I'd give it a 3", 3),
        ("4 out of 5", 4),
        ("four stars", 4),
        ("5 stars, thank you", 5),
        ("rating: 2", 2),
        ("10/10", 5),
        ("8/10", 4),
        ("★★★★", 4),
        ("★★★★☆", 4),
        ("⭐⭐⭐⭐⭐", 5),
        ("***", 3),
        ("5★", 5),
        ("5/5 ⭐⭐⭐⭐⭐", 5),
    ],
)
def test_ratings_are_read_the_way_customers_write_them(text: str, rating: int) -> None:
    assert parse_rating(text) == rating


@pytest.mark.parametrize(
    "text",
    [
        "",
        "kiitos paljon",
        "thanks!",
        "0",
        "6",
        "7/5",
        "4 tai 5",
        "3 or 4",
        "Voinko siirtää laskun 1002 eräpäivää 2 viikolla?",
        "can I have 2 more weeks for invoice 1002",
        "laskun 1001 eräpäivä on 15.12.",
        "jaetaan kolmeen erään",
        "kolme erää",
        "viitenumero 10016",
        "1001",
        "★★★★ 2",
    ],
)
def test_other_messages_are_not_ratings(text: str) -> None:
    assert parse_rating(text) is None


# --- validate_rating_form ---------------------------------------------------------------


def handed_off_and_resolved() -> list[dict[str, Any]]:
    """A customer who waited for a person, chatted with them, and the agent resolved it."""
    return [
        action("action_listen"),
        user("Haluan puhua ihmisen kanssa", "request_human"),
        action("action_create_ticket"),
        bot("Kiitos! Tein sinulle palvelupyynnön, numero T-00001.", "utter_ticket_created_chat"),
        slot_event("ticket_number", "T-00001"),
        {"event": "pause", "timestamp": None},
        user("Lasku 1002 on kahteen kertaan", "dispute_invoice"),
        user("Kiitos Aino, nyt selvisi!", "thank"),
        {"event": "resume", "timestamp": None},
    ]


def started_by_execute(history: list[dict[str, Any]]) -> Tracker:
    """What validate_rating_form gets when `/execute {"name": "rating_form"}` starts it."""
    return Tracker(
        sender_id="rating-start",
        slots=slots(language="fi", ticket_number="T-00001"),
        latest_message=parse_data("Kiitos Aino, nyt selvisi!", "thank"),
        events=[*history, slot_event("requested_slot", None), action(FORM)],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=FORM,
    )


def answered(said: dict[str, Any], candidates: dict[str, Any] | None = None, **slot_values: Any):
    """The tracker of the customer's answer to the rating question."""
    return Tracker(
        sender_id="rating-answer",
        slots=slots(requested_slot="rating", ticket_number="T-00001", **slot_values),
        latest_message=said,
        events=form_turn(
            FORM,
            "rating",
            user_event(said),
            candidates,
            history=[
                *handed_off_and_resolved(),
                action(FORM),
                {"event": "active_loop", "timestamp": None, "name": FORM},
                action("action_listen"),
                slot_event("requested_slot", "rating"),
                bot("Miten arvioisit palvelumme asteikolla 1–5?", "utter_ask_rating"),
            ],
        ),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name="action_listen",
    )


async def test_started_from_outside_it_starts_afresh_and_listens(domain: dict) -> None:
    """`/execute` runs the form and stops; without the `action_listen` the customer's
    answer would come right after the form, and Rasa would only listen again."""
    dispatcher = CollectingDispatcher()

    events = await ValidateRatingForm().run(
        dispatcher, started_by_execute(handed_off_and_resolved()), domain
    )

    assert events == [
        SlotSet("rating", None),
        SlotSet("form_failures", None),
        ActionExecuted("action_listen"),
    ]
    assert dispatcher.messages == []  # Rasa asks with utter_ask_rating


@pytest.mark.parametrize(
    "before",
    [
        # resumed, then /execute: the common case
        [{"event": "resume", "timestamp": None}],
        # the session had expired: /execute started a new one first
        [
            action("action_session_start"),
            {"event": "session_started", "timestamp": None},
            slot_event("ticket_number", "T-00001"),
            action("action_listen"),
        ],
        # never paused: the bot had finished its turn
        [user("Mitkä ovat aukioloajat?", "ask_contact_info"), action("action_listen")],
    ],
)
def test_execute_is_told_apart_from_a_rule(before: list[dict[str, Any]]) -> None:
    from_outside = started_by_execute([action("action_listen"), *before])
    assert started_from_outside(from_outside)

    by_a_rule = started_by_execute(
        [action("action_listen"), user("Haluan arvioida palvelun", "give_feedback")]
    )
    assert not started_from_outside(by_a_rule)
    after_an_action = started_by_execute([action("action_deactivate_loop")])
    assert not started_from_outside(after_an_action)


@pytest.mark.parametrize(
    ("text", "intent", "rating"),
    [
        ("5", "inform", 5),
        ("neljä", "nlu_fallback", 4),
        ("Kiitos avusta, 4/5", "give_feedback", 4),
        ("★★★", "affirm", 3),
        ("five stars, thanks!", "give_feedback", 5),
    ],
)
async def test_the_answer_fills_the_rating(
    domain: dict, text: str, intent: str, rating: int
) -> None:
    dispatcher = CollectingDispatcher()

    events = await ValidateRatingForm().run(dispatcher, answered(parse_data(text, intent)), domain)

    assert events == [SlotSet("rating", rating)]
    assert dispatcher.messages == []


async def test_a_button_fills_the_rating(domain: dict) -> None:
    said = parse_data(
        '/inform{"rating": "2"}', "inform", entities=[{"entity": "rating", "value": "2"}]
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateRatingForm().run(
        dispatcher, answered(said, {"rating": "2"}, rating="2"), domain
    )

    assert events == [SlotSet("rating", 2)]


async def test_not_a_rating_is_explained_once_then_let_go(domain: dict) -> None:
    dispatcher = CollectingDispatcher()
    first = await ValidateRatingForm().run(
        dispatcher, answered(parse_data("mikä on sääennuste", "out_of_scope")), domain
    )
    assert responses(dispatcher) == ["utter_invalid_rating"]
    assert slot_sets(first) == {"form_failures": {"rating": 1}, "rating": None}
    assert "requested_slot" not in slot_sets(first)  # Rasa asks again

    again = CollectingDispatcher()
    second = await ValidateRatingForm().run(
        again,
        answered(parse_data("hmm", "out_of_scope"), form_failures={"rating": 1}),
        domain,
    )
    assert again.messages == []  # no nagging
    assert slot_sets(second)["requested_slot"] is None  # the form ends without a rating
    assert slot_sets(second)["form_failures"] == {"rating": 2}


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Voinko siirtää laskun 1002 eräpäivää 2 viikolla?", "request_due_date_extension"),
        ("Can I get a copy of invoice 1003?", "request_invoice_copy"),
        ("haluan jutella ihmisen kanssa", "request_human"),
        ("Kiitos paljon!", "thank"),
        ("no thanks", "deny"),
        ("bye", "goodbye"),
        ("I have some feedback", "give_feedback"),
    ],
)
async def test_a_customer_who_moves_on_leaves_the_question(
    domain: dict, text: str, intent: str
) -> None:
    """Nothing extracted: Rasa rejects the form and the intent's rule runs."""
    dispatcher = CollectingDispatcher()

    events = await ValidateRatingForm().run(dispatcher, answered(parse_data(text, intent)), domain)

    assert events == []
    assert dispatcher.messages == []


# --- action_save_rating -------------------------------------------------------------------


def create_ticket(server: Any, conversation_id: str) -> dict[str, Any]:
    reply = requests.post(
        server.base_url + "/api/tickets",
        json={
            "request_id": f"req-{conversation_id}",
            "conversation_id": conversation_id,
            "reason": "customer_request",
            "topic": "request_human",
            "language": "fi",
            "contact_method": "chat",
        },
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=10,
    )
    reply.raise_for_status()
    return reply.json()


def ticket(server: Any, number: str) -> dict[str, Any]:
    reply = requests.get(
        f"{server.base_url}/api/tickets/{number}",
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=10,
    )
    reply.raise_for_status()
    return reply.json()


def rated(conversation_id: str, rating: Any, language: str = "fi", **slot_values: Any) -> Tracker:
    return Tracker(
        sender_id=conversation_id,
        slots=slots(language=language, rating=rating, **slot_values),
        latest_message=parse_data(str(rating), "inform"),
        events=[*handed_off_and_resolved(), action(FORM), slot_event("rating", rating)],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=FORM,
    )


async def test_rating_is_saved_on_the_ticket_with_thanks(
    domain: dict, action_helpdesk: Any
) -> None:
    number = create_ticket(action_helpdesk, "rating-saved")["number"]
    dispatcher = CollectingDispatcher()

    events = await ActionSaveRating().run(
        dispatcher, rated("rating-saved", 4, ticket_number=number), domain
    )

    assert ticket(action_helpdesk, number)["rating"] == 4
    assert responses(dispatcher) == ["utter_thanks_for_rating"]
    assert dispatcher.messages[0]["rating"] == 4
    # Cleared: the next resolution asks afresh instead of taking this as the answer.
    assert slot_sets(events) == {"rating": None, "form_failures": None}


async def test_a_low_rating_is_thanked_and_invited_to_say_more(
    domain: dict, action_helpdesk: Any
) -> None:
    number = create_ticket(action_helpdesk, "rating-low")["number"]
    dispatcher = CollectingDispatcher()

    await ActionSaveRating().run(
        dispatcher, rated("rating-low", 2.0, "en", ticket_number=number), domain
    )

    assert ticket(action_helpdesk, number)["rating"] == 2
    assert responses(dispatcher) == ["utter_thanks_for_low_rating"]
    [variant] = [
        v for v in domain["responses"]["utter_thanks_for_low_rating"] if v.get("condition")
    ]
    assert [button["payload"] for button in variant["buttons"]] == ["/give_feedback"]


async def test_without_the_number_the_conversations_ticket_is_rated(
    domain: dict, action_helpdesk: Any
) -> None:
    """A ticket filed through the outbox: the slot has no number, the helpdesk knows it."""
    number = create_ticket(action_helpdesk, "rating-lookup")["number"]

    await ActionSaveRating().run(CollectingDispatcher(), rated("rating-lookup", 5), domain)

    assert ticket(action_helpdesk, number)["rating"] == 5


async def test_no_rating_says_nothing_and_saves_nothing(domain: dict, action_helpdesk: Any) -> None:
    number = create_ticket(action_helpdesk, "rating-none")["number"]
    dispatcher = CollectingDispatcher()

    events = await ActionSaveRating().run(
        dispatcher, rated("rating-none", None, ticket_number=number), domain
    )

    assert dispatcher.messages == []  # the rule goes on to utter_anything_else
    assert ticket(action_helpdesk, number)["rating"] is None
    assert slot_sets(events) == {"rating": None, "form_failures": None}


async def test_rating_waits_in_the_outbox_while_the_helpdesk_is_down(
    domain: dict, action_env: Any, start_helpdesk: Any, tmp_path: Any
) -> None:
    down = urlparse(os.environ["HELPDESK_URL"])
    token = os.environ["HELPDESK_API_TOKEN"]
    db_url = f"sqlite:///{tmp_path / 'helpdesk-rating.db'}"
    # The ticket exists; then the helpdesk goes away.
    from tests.conftest import HelpdeskProcesses

    first = HelpdeskProcesses(tmp_path / "first")
    (tmp_path / "first").mkdir()
    server = first.start(port=down.port, db_url=db_url, token=token)
    number = create_ticket(server, "rating-offline")["number"]
    first.stop_all()

    dispatcher = CollectingDispatcher()
    await ActionSaveRating().run(
        dispatcher, rated("rating-offline", 3, ticket_number=number), domain
    )

    # Thanked all the same; the rating is safe in the outbox.
    assert responses(dispatcher) == ["utter_thanks_for_rating"]
    [waiting] = Outbox(os.environ["HELPDESK_OUTBOX_PATH"]).pending()
    assert waiting.kind == "rating"
    assert waiting.payload == {"ticket_number": number, "rating": 3}

    server = start_helpdesk(port=down.port, db_url=db_url, token=token)
    assert await services.helpdesk().flush_outbox() == 1
    assert ticket(server, number)["rating"] == 3
    assert Outbox(os.environ["HELPDESK_OUTBOX_PATH"]).pending() == []
