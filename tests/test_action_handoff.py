"""Handoff: action_start_handoff, validate_handoff_form and action_create_ticket.

Tickets go to the real helpdesk (`python -m bot serve`, fresh database per test);
with the helpdesk down they wait in the actions' outbox and are delivered once.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import pytest
import requests
from rasa_sdk import Tracker
from rasa_sdk.events import ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import services
from actions.handoff import (
    ActionAnnounceFiledTicket,
    ActionCreateTicket,
    ActionStartHandoff,
    ValidateHandoffForm,
    rounded_wait,
    transcript_of,
)
from actions.helpdesk import TicketCreated
from actions.outbox import Outbox
from tests.action_helpers import (
    TIMEZONE,
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

FORM = "handoff_form"
WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
# "viimeistään maanantaina": the weekday in the essive, as Finnish says "on Monday".
WEEKDAYS_FI = ("maanantaina", "tiistaina", "keskiviikkona", "torstaina", "perjantaina")


def tickets_of(server: Any, conversation_id: str) -> list[dict[str, Any]]:
    response = requests.get(
        server.base_url + "/api/tickets",
        params={"conversation_id": conversation_id},
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["tickets"]


def local_due(ticket: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(ticket["due_at"]).astimezone(ZoneInfo(TIMEZONE))


def asked_for_contact() -> list[dict[str, Any]]:
    """A customer who asked for a person and was asked how to hear back."""
    return [
        action("action_listen"),
        user("Haluan puhua ihmisen kanssa", "request_human"),
        action("action_start_handoff"),
        slot_event("handoff_reason", "customer_request"),
        bot("Totta kai! Pyydän mukaan asiakaspalvelijan.", "utter_handoff_intro_customer_request"),
        action(FORM),
        {"event": "active_loop", "timestamp": None, "name": FORM},
        slot_event("requested_slot", "contact_method"),
        bot("Miten haluaisit kuulla meistä?", "utter_ask_contact_method"),
    ]


# --- action_start_handoff --------------------------------------------------------------


@pytest.mark.parametrize(
    ("said_before", "reason"),
    [
        ([("Haluan puhua ihmisen kanssa", "request_human")], "customer_request"),
        ([("Tämä lasku on väärin, en ole tilannut mitään", "dispute_invoice")], "dispute"),
        (
            [
                ("En pysty maksamaan laskua nyt", "financial_difficulty"),
                ("Voinko puhua jonkun kanssa?", "request_human"),
            ],
            "financial_difficulty",
        ),
        (
            [
                ("The amount is wrong", "dispute_invoice"),
                ("a person please", "request_human"),
            ],
            "dispute",
        ),
    ],
)
async def test_start_handoff_infers_the_reason_from_the_conversation(
    domain: dict, said_before: list[tuple[str, str]], reason: str
) -> None:
    events = []
    for text, intent in said_before:
        events += [action("action_listen"), user(text, intent), bot("...")]
    text, intent = said_before[-1]
    tracker = Tracker(
        sender_id=f"start-{reason}",
        slots=slots(),
        latest_message=parse_data(text, intent),
        events=events[:-1],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
    dispatcher = CollectingDispatcher()

    result = await ActionStartHandoff().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == [f"utter_handoff_intro_{reason}"]
    assert result == [
        SlotSet("handoff_reason", reason),
        SlotSet("needs_handoff", False),
        SlotSet("contact_method", None),
        SlotSet("form_failures", None),
    ]


@pytest.mark.parametrize("reason", ["policy", "form_failure", "fallback"])
async def test_start_handoff_uses_the_reason_an_action_asked_for(domain: dict, reason: str) -> None:
    tracker = Tracker(
        sender_id=f"start-pending-{reason}",
        slots=slots(needs_handoff=True, handoff_reason=reason, form_failures={"new_due_date": 3}),
        latest_message=parse_data("en tiedä", "inform"),
        events=[
            action("action_listen"),
            user("en tiedä", "inform"),
            action("action_submit_due_date_extension"),
        ],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_submit_due_date_extension",
    )
    dispatcher = CollectingDispatcher()

    result = await ActionStartHandoff().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == [f"utter_handoff_intro_{reason}"]
    assert slot_sets(result) == {
        "handoff_reason": reason,
        "needs_handoff": False,
        "contact_method": None,
        "form_failures": None,
    }


async def test_stale_reason_without_a_pending_handoff_is_not_reused(domain: dict) -> None:
    tracker = Tracker(
        sender_id="start-stale",
        slots=slots(needs_handoff=False, handoff_reason="policy"),
        latest_message=parse_data("ihminen kiitos", "request_human"),
        events=[action("action_listen"), user("ihminen kiitos", "request_human")],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
    dispatcher = CollectingDispatcher()

    result = await ActionStartHandoff().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_handoff_intro_customer_request"]
    assert slot_sets(result)["handoff_reason"] == "customer_request"


# --- validate_handoff_form ------------------------------------------------------------


async def test_contact_method_named_in_finnish(domain: dict) -> None:
    said = parse_data("sähköpostilla", "inform")
    tracker = Tracker(
        sender_id="contact-email-word",
        slots=slots(requested_slot="contact_method", handoff_reason="customer_request"),
        latest_message=said,
        events=form_turn(FORM, "contact_method", user_event(said), history=asked_for_contact()),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateHandoffForm().run(dispatcher, tracker, domain)

    assert events == [
        SlotSet("contact_method", "email"),
        SlotSet("requested_slot", "contact_email"),
    ]
    assert dispatcher.messages == []


async def test_email_address_given_directly_answers_both_questions(domain: dict) -> None:
    said = parse_data("Aino.Virtanen@Example.com", "inform")
    tracker = Tracker(
        sender_id="contact-email-address",
        slots=slots(requested_slot="contact_method", handoff_reason="customer_request"),
        latest_message=said,
        events=form_turn(FORM, "contact_method", user_event(said), history=asked_for_contact()),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateHandoffForm().run(dispatcher, tracker, domain)

    assert events == [
        SlotSet("contact_method", "email"),
        SlotSet("contact_email", "aino.virtanen@example.com"),
        SlotSet("requested_slot", None),
    ]


async def test_contact_method_from_a_button(domain: dict) -> None:
    said = parse_data(
        '/inform{"contact_method": "phone"}',
        "inform",
        entities=[{"entity": "contact_method", "value": "phone"}],
    )
    tracker = Tracker(
        sender_id="contact-button",
        slots=slots(requested_slot="contact_method", contact_method="phone"),
        latest_message=said,
        events=form_turn(FORM, "contact_method", user_event(said), {"contact_method": "phone"}),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateHandoffForm().run(dispatcher, tracker, domain)

    assert events == [
        SlotSet("contact_method", "phone"),
        SlotSet("requested_slot", "contact_phone"),
    ]


async def test_chat_needs_no_address(domain: dict) -> None:
    said = parse_data("tässä chatissa on hyvä", "inform")
    tracker = Tracker(
        sender_id="contact-chat",
        slots=slots(requested_slot="contact_method"),
        latest_message=said,
        events=form_turn(FORM, "contact_method", user_event(said), history=asked_for_contact()),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateHandoffForm().run(dispatcher, tracker, domain)

    assert events == [SlotSet("contact_method", "chat"), SlotSet("requested_slot", None)]


async def test_invalid_email_is_asked_again(domain: dict) -> None:
    said = parse_data("aino at example dot com", "inform")
    tracker = Tracker(
        sender_id="contact-bad-email",
        slots=slots(requested_slot="contact_email", contact_method="email"),
        latest_message=said,
        events=form_turn(FORM, "contact_email", user_event(said), history=asked_for_contact()),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateHandoffForm().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_invalid_email"]
    assert dispatcher.messages[0]["value"] == "aino at example dot com"
    changed = slot_sets(events)
    assert changed["contact_email"] is None
    assert changed["form_failures"] == {"contact_email": 1}
    assert changed["requested_slot"] == "contact_email"


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("040 123 4567", "0401234567"),
        ("+358 40 123 4567", "+358401234567"),
        ("numeroon 050-111 2233 kiitos", "0501112233"),
    ],
)
async def test_phone_number_is_normalised(domain: dict, text: str, phone: str) -> None:
    said = parse_data(text, "inform")
    tracker = Tracker(
        sender_id="contact-phone",
        slots=slots(requested_slot="contact_phone", contact_method="phone"),
        latest_message=said,
        events=form_turn(FORM, "contact_phone", user_event(said), history=asked_for_contact()),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateHandoffForm().run(dispatcher, tracker, domain)

    assert events == [SlotSet("contact_phone", phone), SlotSet("requested_slot", None)]
    assert dispatcher.messages == []


async def test_phone_number_with_the_method_answers_both_questions(domain: dict) -> None:
    said = parse_data("Soittakaa numeroon 040-123 4567", "inform")
    tracker = Tracker(
        sender_id="contact-phone-direct",
        slots=slots(requested_slot="contact_method"),
        latest_message=said,
        events=form_turn(FORM, "contact_method", user_event(said), history=asked_for_contact()),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateHandoffForm().run(dispatcher, tracker, domain)

    assert events == [
        SlotSet("contact_method", "phone"),
        SlotSet("contact_phone", "0401234567"),
        SlotSet("requested_slot", None),
    ]


@pytest.mark.parametrize(
    "text", ["Tässä numeroni: 040 123 4567", "Here's my number 040 123 4567"], ids=["fi", "en"]
)
async def test_phone_number_given_as_the_answer_means_phone(domain: dict, text: str) -> None:
    said = parse_data(text, "inform")
    tracker = Tracker(
        sender_id="contact-here-is-my-number",
        slots=slots(requested_slot="contact_method"),
        latest_message=said,
        events=form_turn(FORM, "contact_method", user_event(said), history=asked_for_contact()),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateHandoffForm().run(dispatcher, tracker, domain)

    assert slot_sets(events)["contact_method"] == "phone"
    assert slot_sets(events)["contact_phone"] == "0401234567"


async def test_invalid_phone_is_asked_again(domain: dict) -> None:
    said = parse_data("en muista sitä", "inform")
    tracker = Tracker(
        sender_id="contact-bad-phone",
        slots=slots(requested_slot="contact_phone", contact_method="phone"),
        latest_message=said,
        events=form_turn(FORM, "contact_phone", user_event(said), history=asked_for_contact()),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateHandoffForm().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_invalid_phone"]
    assert slot_sets(events)["contact_phone"] is None


async def test_third_unusable_address_files_the_ticket_for_this_chat(domain: dict) -> None:
    said = parse_data("ei ole sähköpostia", "inform")
    tracker = Tracker(
        sender_id="contact-give-up",
        slots=slots(
            requested_slot="contact_email",
            contact_method="email",
            handoff_reason="customer_request",
            form_failures={"contact_email": 2},
        ),
        latest_message=said,
        events=form_turn(FORM, "contact_email", user_event(said), history=asked_for_contact()),
        paused=False,
        followup_action=None,
        active_loop={"name": FORM},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ValidateHandoffForm().run(dispatcher, tracker, domain)

    changed = slot_sets(events)
    assert changed["form_failures"] == {"contact_email": 3}
    assert changed["requested_slot"] is None
    assert "handoff_reason" not in changed  # already handing off: the reason stays
    assert dispatcher.messages == []


# --- action_create_ticket --------------------------------------------------------------


def dispute_conversation() -> list[dict[str, Any]]:
    return [
        action("action_listen"),
        user("The amount on invoice 1001 is wrong", "dispute_invoice"),
        action("action_start_handoff"),
        bot(
            "Thanks for letting us know. A person needs to look at the invoice.",
            "utter_handoff_intro_dispute",
        ),
        action(FORM),
        bot("How would you like to hear back from us?", "utter_ask_contact_method"),
        action("action_listen"),
        user("by e-mail: aino.virtanen@example.com", "inform"),
        action(FORM),
        slot_event("contact_method", "email"),
        slot_event("contact_email", "aino.virtanen@example.com"),
        slot_event("requested_slot", None),
        {"event": "active_loop", "timestamp": None, "name": None},
    ]


async def test_ticket_is_created_with_the_whole_story(domain: dict, action_helpdesk: Any) -> None:
    tracker = Tracker(
        sender_id="ticket-email",
        slots=slots(
            language="en",
            invoice_number="1001",
            handoff_reason="dispute",
            contact_method="email",
            contact_email="aino.virtanen@example.com",
        ),
        latest_message=parse_data("by e-mail: aino.virtanen@example.com", "inform"),
        events=dispute_conversation(),
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ActionCreateTicket().run(dispatcher, tracker, domain)

    [ticket] = tickets_of(action_helpdesk, "ticket-email")
    assert ticket["reason"] == "dispute"
    assert ticket["topic"] == "dispute_invoice"
    assert ticket["language"] == "en"
    assert ticket["invoice_number"] == "1001"
    assert ticket["contact_method"] == "email"
    assert ticket["contact_address"] == "aino.virtanen@example.com"
    assert ticket["priority"] == "normal"
    assert ticket["status"] == "open"
    assert [(line["sender"], line["text"]) for line in ticket["transcript"]] == [
        ("customer", "The amount on invoice 1001 is wrong"),
        ("bot", "Thanks for letting us know. A person needs to look at the invoice."),
        ("bot", "How would you like to hear back from us?"),
        ("customer", "by e-mail: aino.virtanen@example.com"),
    ]

    # The ticket response, then the widget's banner (a custom message other channels ignore).
    assert responses(dispatcher) == ["utter_ticket_created_email", None]
    message = dispatcher.messages[0]
    assert message["ticket_number"] == ticket["number"]
    assert re.fullmatch(r"T-\d{5}", ticket["number"])
    assert message["contact_email"] == "aino.virtanen@example.com"
    due = local_due(ticket)
    assert message["due_time"] == f"{due:%A} {due.day} {due:%B} at {due:%H:%M}"
    assert due.strftime("%A") in WEEKDAYS_EN  # within opening hours (mon-fri 8-16)
    assert 8 <= due.hour <= 16

    banner = dispatcher.messages[1]["custom"]["handoff"]
    assert banner["state"] == "waiting"
    assert banner["ticket_number"] == ticket["number"]
    assert datetime.fromisoformat(banner["due_at"]) == datetime.fromisoformat(ticket["due_at"])
    assert banner["due_text"] == message["due_time"]
    assert banner["queue_position"] == ticket["queue_position"]

    assert SlotSet("ticket_number", ticket["number"]) in events
    assert ConversationPaused() in events
    assert slot_sets(events)["handoff_reason"] is None
    assert slot_sets(events)["needs_handoff"] is False


async def test_phone_ticket_in_finnish_for_financial_difficulty_is_high_priority(
    domain: dict, action_helpdesk: Any
) -> None:
    tracker = Tracker(
        sender_id="ticket-phone",
        slots=slots(
            handoff_reason="financial_difficulty",
            contact_method="phone",
            contact_phone="0401234567",
        ),
        latest_message=parse_data("0401234567", "inform"),
        events=[
            action("action_listen"),
            user("En pysty maksamaan tätä kuussa", "financial_difficulty"),
            bot("Kiitos, että kerroit.", "utter_financial_difficulty"),
            action("action_listen"),
            user("Haluan jutella jonkun kanssa", "request_human"),
            action("action_listen"),
            user("0401234567", "inform"),
        ],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ActionCreateTicket().run(dispatcher, tracker, domain)

    [ticket] = tickets_of(action_helpdesk, "ticket-phone")
    assert ticket["reason"] == "financial_difficulty"
    assert ticket["topic"] == "financial_difficulty"
    assert ticket["language"] == "fi"
    assert ticket["priority"] == "high"
    assert (ticket["contact_method"], ticket["contact_address"]) == ("phone", "0401234567")
    assert responses(dispatcher)[0] == "utter_ticket_created_phone"
    message = dispatcher.messages[0]
    assert message["contact_phone"] == "0401234567"
    due = local_due(ticket)
    assert due.weekday() < 5 and 8 <= due.hour <= 16  # within opening hours
    weekday = WEEKDAYS_FI[due.weekday()]
    assert message["due_time"] == f"{weekday} {due.day}.{due.month}. klo {due.hour}.{due:%M}"
    assert ConversationPaused() in events


async def test_email_chosen_without_an_address_is_answered_in_the_chat(
    domain: dict, action_helpdesk: Any
) -> None:
    tracker = Tracker(
        sender_id="ticket-no-address",
        slots=slots(handoff_reason="customer_request", contact_method="email"),
        latest_message=parse_data("ihminen", "request_human"),
        events=[action("action_listen"), user("ihminen", "request_human")],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    await ActionCreateTicket().run(dispatcher, tracker, domain)

    [ticket] = tickets_of(action_helpdesk, "ticket-no-address")
    assert (ticket["contact_method"], ticket["contact_address"]) == ("chat", None)
    assert ticket["topic"] == "request_human"
    assert ticket["invoice_number"] is None
    assert responses(dispatcher)[0] == "utter_ticket_created_chat"


async def test_retried_action_files_one_ticket(domain: dict, action_helpdesk: Any) -> None:
    def same_turn() -> Tracker:
        return Tracker(
            sender_id="ticket-retry",
            slots=slots(handoff_reason="customer_request", contact_method="chat"),
            latest_message=parse_data("tässä chatissa", "inform"),
            events=events,
            paused=False,
            followup_action=None,
            active_loop={},
            latest_action_name=FORM,
        )

    events = [*asked_for_contact(), action("action_listen"), user("tässä chatissa", "inform")]
    first, second = CollectingDispatcher(), CollectingDispatcher()

    await ActionCreateTicket().run(first, same_turn(), domain)
    await ActionCreateTicket().run(second, same_turn(), domain)

    [ticket] = tickets_of(action_helpdesk, "ticket-retry")
    assert first.messages[0]["ticket_number"] == second.messages[0]["ticket_number"]
    assert first.messages[0]["ticket_number"] == ticket["number"]


async def test_ticket_waits_in_the_outbox_while_the_helpdesk_is_down(
    domain: dict, action_env: Any, start_helpdesk: Any
) -> None:
    tracker = Tracker(
        sender_id="ticket-offline",
        slots=slots(
            handoff_reason="customer_request",
            contact_method="email",
            contact_email="aino.virtanen@example.com",
            invoice_number="1001",
        ),
        latest_message=parse_data("aino.virtanen@example.com", "inform"),
        events=[
            *asked_for_contact(),
            action("action_listen"),
            user("aino.virtanen@example.com", "inform"),
        ],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=FORM,
    )
    dispatcher = CollectingDispatcher()

    events = await ActionCreateTicket().run(dispatcher, tracker, domain)

    # Told honestly, with a reference, and the bot steps aside all the same.
    assert responses(dispatcher) == ["utter_ticket_saved_offline", None]
    request_reference = dispatcher.messages[0]["request_id"]
    assert re.fullmatch(r"[0-9A-F]{8}", request_reference)
    # The banner has no number yet; the widget channel still sends what the customer
    # writes to this conversation's ticket once the relay has filed it.
    assert dispatcher.messages[1]["custom"] == {"handoff": {"state": "waiting"}}
    assert ConversationPaused() in events
    assert slot_sets(events)["ticket_number"] is None  # not an earlier ticket's number
    [waiting] = Outbox(os.environ["HELPDESK_OUTBOX_PATH"]).pending()
    assert waiting.kind == "ticket"
    assert waiting.request_id[:8].upper() == request_reference
    assert waiting.payload["conversation_id"] == "ticket-offline"
    assert waiting.payload["contact_address"] == "aino.virtanen@example.com"

    # The helpdesk comes back where the actions expect it; the relay flushes the outbox.
    down = urlparse(os.environ["HELPDESK_URL"])
    server = start_helpdesk(port=down.port, token=os.environ["HELPDESK_API_TOKEN"])
    assert await services.helpdesk().flush_outbox() == 1
    assert await services.helpdesk().flush_outbox() == 0

    [ticket] = tickets_of(server, "ticket-offline")
    assert ticket["reason"] == "customer_request"
    assert ticket["invoice_number"] == "1001"
    assert ticket["contact_address"] == "aino.virtanen@example.com"
    assert Outbox(os.environ["HELPDESK_OUTBOX_PATH"]).pending() == []

    # Rasa retrying the same turn now gets the same ticket, not a second one.
    retry = CollectingDispatcher()
    await ActionCreateTicket().run(retry, tracker, domain)
    assert retry.messages[0]["ticket_number"] == ticket["number"]
    assert len(tickets_of(server, "ticket-offline")) == 1


# --- queue position and expected wait (spec "Handoff" step 4) ------------------------------


class StaffedHelpdesk:
    """A helpdesk that knows its staffing (the fields are optional in the API)."""

    def __init__(self, agents_online: int | None, expected_wait: float | None) -> None:
        self.agents_online = agents_online
        self.expected_wait = expected_wait

    async def create_ticket(self, ticket: dict[str, Any]) -> TicketCreated:
        return TicketCreated(
            number="T-00042",
            due_at=datetime(2030, 1, 2, 10, 0, tzinfo=ZoneInfo(TIMEZONE)),
            queue_position=3,
            status="open",
            expected_wait_minutes=self.expected_wait,
            agents_online=self.agents_online,
        )


def chat_ticket_tracker(language: str) -> Tracker:
    return Tracker(
        sender_id=f"ticket-queue-{language}",
        slots=slots(language=language, handoff_reason="customer_request", contact_method="chat"),
        latest_message=parse_data("tässä chatissa", "inform"),
        events=[*asked_for_contact(), action("action_listen"), user("tässä chatissa", "inform")],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=FORM,
    )


async def test_with_agents_online_the_queue_and_an_honest_wait_are_told(
    domain: dict, action_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "helpdesk", lambda: StaffedHelpdesk(2, 7.4))
    dispatcher = CollectingDispatcher()

    await ActionCreateTicket().run(dispatcher, chat_ticket_tracker("fi"), domain)

    assert responses(dispatcher) == [
        "utter_ticket_created_chat",
        "utter_ticket_expected_wait",
        "utter_ticket_queue_position",
        None,
    ]
    assert dispatcher.messages[1]["minutes"] == 7
    assert dispatcher.messages[2]["queue_position"] == 3
    banner = dispatcher.messages[3]["custom"]["handoff"]
    assert banner["queue_position"] == 3
    assert banner["expected_wait_minutes"] == 7
    assert banner["agents_online"] == 2


@pytest.mark.parametrize(("agents_online", "expected_wait"), [(0, 45.0), (None, None)])
async def test_without_agents_online_only_the_due_time_is_promised(
    domain: dict,
    action_env: Any,
    monkeypatch: pytest.MonkeyPatch,
    agents_online: int | None,
    expected_wait: float | None,
) -> None:
    monkeypatch.setattr(services, "helpdesk", lambda: StaffedHelpdesk(agents_online, expected_wait))
    dispatcher = CollectingDispatcher()

    await ActionCreateTicket().run(dispatcher, chat_ticket_tracker("en"), domain)

    assert responses(dispatcher) == ["utter_ticket_created_chat", None]
    banner = dispatcher.messages[1]["custom"]["handoff"]
    assert banner["queue_position"] == 3
    assert banner.get("agents_online") == agents_online
    assert ("expected_wait_minutes" in banner) is (expected_wait is not None)


@pytest.mark.parametrize(
    ("minutes", "said"),
    [(0, 2), (1.2, 2), (3.4, 3), (10, 10), (12, 10), (13, 15), (58, 60), (70, 75), (200, 195)],
)
def test_wait_estimates_are_as_precise_as_they_honestly_are(minutes: float, said: int) -> None:
    assert rounded_wait(minutes) == said


def test_staffing_fields_are_optional_in_the_helpdesk_answer() -> None:
    base = {"number": "T-00001", "due_at": "2030-01-02T08:00:00+00:00", "status": "open"}
    plain = TicketCreated.from_json(base)
    assert plain.expected_wait_minutes is None and plain.agents_online is None
    staffed = TicketCreated.from_json({**base, "expected_wait_minutes": 12, "agents_online": 3})
    assert staffed.expected_wait_minutes == 12.0 and staffed.agents_online == 3
    odd = TicketCreated.from_json({**base, "expected_wait_minutes": "soon", "agents_online": True})
    assert odd.expected_wait_minutes is None and odd.agents_online is None


def test_the_transcript_shows_a_clicked_button_as_the_customer_saw_it() -> None:
    question = bot("Miten haluaisit kuulla meistä?")
    question["data"]["buttons"] = [
        {"title": "Tässä chatissa", "payload": '/inform{"contact_method": "chat"}'},
        {"title": "Sähköpostilla", "payload": '/inform{"contact_method": "email"}'},
    ]
    tracker = Tracker(
        sender_id="transcript-buttons",
        slots=slots(),
        latest_message={},
        events=[
            user("/greet", "greet"),
            user("Laskussa on väärä summa", "dispute_invoice"),
            question,
            user('/inform{"contact_method": "chat"}', "inform"),
        ],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )

    lines = transcript_of(tracker)

    assert [(line["sender"], line["text"]) for line in lines] == [
        ("customer", "Laskussa on väärä summa"),
        ("bot", "Miten haluaisit kuulla meistä?"),
        ("customer", "Tässä chatissa"),
    ]


async def test_a_ticket_filed_later_is_announced_once(domain: dict, action_helpdesk: Any) -> None:
    """The outbox filed the ticket after the customer heard it was saved: now they hear
    its number and the reply time, in their language, once."""
    created = requests.post(
        action_helpdesk.base_url + "/api/tickets",
        json={
            "request_id": "filed-later-1",
            "conversation_id": "announce-me",
            "reason": "customer_request",
            "topic": "request_human",
            "language": "en",
            "contact_method": "chat",
            "transcript": [{"sender": "customer", "text": "a person please"}],
        },
        headers={"Authorization": f"Bearer {action_helpdesk.token}"},
        timeout=10,
    ).json()

    def paused_tracker(ticket_number: str | None) -> Tracker:
        return Tracker(
            sender_id="announce-me",
            slots=slots(language="en", ticket_number=ticket_number),
            latest_message=parse_data("a person please", "request_human"),
            events=[],
            paused=True,
            followup_action=None,
            active_loop={},
            latest_action_name="action_listen",
        )

    dispatcher = CollectingDispatcher()
    events = await ActionAnnounceFiledTicket().run(dispatcher, paused_tracker(None), domain)
    assert responses(dispatcher) == ["utter_ticket_filed_later", None]
    told = dispatcher.messages[0]
    assert told["ticket_number"] == created["number"]
    assert any(day in told["due_time"] for day in WEEKDAYS_EN) or ":" in told["due_time"]
    banner = dispatcher.messages[1]["custom"]["handoff"]
    assert (banner["state"], banner["ticket_number"]) == ("waiting", created["number"])
    assert slot_sets(events) == {"ticket_number": created["number"]}

    # Announced again (a retry): the customer already knows, nothing is said twice.
    again = CollectingDispatcher()
    assert (
        await ActionAnnounceFiledTicket().run(again, paused_tracker(created["number"]), domain)
        == []
    )
    assert again.messages == []


async def test_no_ticket_means_nothing_to_announce(domain: dict, action_helpdesk: Any) -> None:
    tracker = Tracker(
        sender_id="nothing-filed",
        slots=slots(language="fi"),
        latest_message=parse_data("hei", "greet"),
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
    dispatcher = CollectingDispatcher()
    assert await ActionAnnounceFiledTicket().run(dispatcher, tracker, domain) == []
    assert dispatcher.messages == []
