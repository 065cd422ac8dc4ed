"""Bringing in a person: say so, ask how to reply, file the ticket, then step aside.

Spec "Handoff" steps 1-5. The ticket is created through the helpdesk API before
the customer is told anything; if the helpdesk is down the request waits in a
durable outbox and the customer is told so honestly.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import datetime, timezone
from itertools import islice
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import services
from actions.conversation import (
    MISUNDERSTOOD_INTENTS,
    SMALL_TALK_INTENTS,
    conversation_language,
    latest_text,
    user_intents_newest_first,
)
from actions.helpdesk import HelpdeskRejected, HelpdeskUnavailable, TicketCreated
from actions.i18n import display_datetime
from actions.verified_form import MAX_FAILURES, PatientForm, SlotValues

logger = logging.getLogger(__name__)

EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(\.[\w-]+)+")
PHONE = re.compile(r"\+?\d[\d ()-]{5,18}\d")
CONTACT_WORDS = {
    "email": ("sähköpost", "sahkopost", "email", "e-mail", "meili", "maili", "mail", "spost"),
    "phone": ("puhel", "soit", "phone", "call", "ring", "numeroon", "tekstiviest"),
    "chat": ("chat", "tässä", "tassa", "täällä", "taalla", "here", "this conversation"),
}
# What the chat widget sends for the customer when it opens a new conversation.
WIDGET_OPENED = "/greet"
# How many recent customer turns tell why a person was asked for.
RECENT_TURNS = 4
HIGH_PRIORITY_REASONS = frozenset({"financial_difficulty", "policy"})


def normalise_phone(text: str) -> str | None:
    match = PHONE.search(text)
    if not match:
        return None
    digits = re.sub(r"[^\d+]", "", match.group())
    return digits if 7 <= len(digits.lstrip("+")) <= 15 else None


def normalise_email(text: str) -> str | None:
    match = EMAIL.search(text)
    return match.group().lower() if match else None


def contact_method_in(text: str) -> str | None:
    """The channel a customer named, or implied by giving an address or number."""
    lowered = text.lower()
    if normalise_email(text):
        return "email"
    for method in ("email", "phone"):
        if any(word in lowered for word in CONTACT_WORDS[method]):
            return method
    if normalise_phone(text):
        return "phone"
    if any(word in lowered for word in CONTACT_WORDS["chat"]):
        return "chat"
    return None


def rounded_wait(minutes: float) -> int:
    """An estimate as precise as it honestly is: whole minutes up to 10, then fives,
    then quarter hours; never under 2 ("about 2 minutes" for "any moment now")."""
    if minutes <= 10:
        return max(2, round(minutes))
    if minutes <= 60:
        return int(5 * round(minutes / 5))
    return int(15 * round(minutes / 15))


def reason_from_conversation(tracker: Tracker) -> str:
    """Why the customer asked for a person, judged from what they said last."""
    recent = list(islice(user_intents_newest_first(tracker), RECENT_TURNS))
    if recent and recent[0] == "dispute_invoice":
        return "dispute"
    if "financial_difficulty" in recent:
        return "financial_difficulty"
    if "dispute_invoice" in recent:
        return "dispute"
    return "customer_request"


def topic_of(tracker: Tracker) -> str:
    """The business question the conversation was about, for the agent's queue."""
    ignored = (
        SMALL_TALK_INTENTS
        | MISUNDERSTOOD_INTENTS
        | {"request_human", "bot_challenge", "session_start", ""}
    )
    for intent in user_intents_newest_first(tracker):
        if intent not in ignored:
            return intent
    return "request_human"


def button_titles(bot_event: dict[str, Any]) -> dict[str, str]:
    """Payload -> title of the buttons a bot message offered."""
    buttons = (bot_event.get("data") or {}).get("buttons") or []
    return {button.get("payload"): button.get("title") for button in buttons}


def transcript_of(tracker: Tracker) -> list[dict[str, str]]:
    """Everything said so far, so the customer never has to repeat it.

    A button click is written as the button's title, as the customer saw it,
    not as its payload (`/inform{...}`).
    """
    lines = []
    offered: dict[str, str] = {}
    for event in tracker.events:
        kind = event.get("event")
        text = event.get("text")
        if kind == "user" and text == WIDGET_OPENED:
            continue  # the widget opening the conversation, not something said
        if kind == "bot":
            offered = button_titles(event) or offered
        if kind in ("user", "bot") and text:
            if kind == "user":
                text = offered.get(text, text)
            sent_at = datetime.fromtimestamp(event.get("timestamp") or 0, tz=timezone.utc)
            lines.append(
                {
                    "sender": "customer" if kind == "user" else "bot",
                    "text": text,
                    "sent_at": sent_at.isoformat(),
                }
            )
    return lines


def request_id_for(tracker: Tracker) -> str:
    """Same conversation turn, same id: a retried action never files two tickets."""
    latest_user = next(
        (event for event in reversed(tracker.events) if event.get("event") == "user"), {}
    )
    seed = f"{tracker.sender_id}:{latest_user.get('timestamp')}:{len(tracker.events)}"
    return hashlib.sha256(seed.encode()).hexdigest()[:32]


class ActionStartHandoff(Action):
    """Step 1: say, in ownership language, that a person is taking this forward."""

    def name(self) -> str:
        return "action_start_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        pending = tracker.get_slot("handoff_reason") if tracker.get_slot("needs_handoff") else None
        reason = pending or reason_from_conversation(tracker)
        dispatcher.utter_message(response=f"utter_handoff_intro_{reason}")
        return [
            SlotSet("handoff_reason", reason),
            SlotSet("needs_handoff", False),
            SlotSet("contact_method", None),
            SlotSet("form_failures", None),
        ]


class ValidateHandoffForm(PatientForm):
    """Step 2: how the customer wants to hear back, and the address for it."""

    # Already handing off: after three unusable answers the ticket is filed for this chat.
    hands_off_on_failure = False

    def name(self) -> str:
        return "validate_handoff_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        failures = tracker.get_slot("form_failures") or {}
        if any(count >= MAX_FAILURES for count in failures.values()):
            return []
        method = tracker.get_slot("contact_method")
        extra = {"email": ["contact_email"], "phone": ["contact_phone"]}.get(method, [])
        return ["contact_method", *extra]

    async def extract_contact_method(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> SlotValues:
        if tracker.get_slot("requested_slot") != "contact_method":
            return {}
        text = latest_text(tracker)
        method = tracker.slots_to_validate().get("contact_method") or contact_method_in(text)
        if method is None:
            return self.reject("contact_method", tracker, dispatcher, None)
        values: SlotValues = {"contact_method": method}
        if method == "email" and normalise_email(text):
            values["contact_email"] = normalise_email(text)
        if method == "phone" and normalise_phone(text):
            values["contact_phone"] = normalise_phone(text)
        return values

    async def extract_contact_email(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> SlotValues:
        return self._address_from_text(
            "contact_email", tracker, dispatcher, normalise_email, "utter_invalid_email"
        )

    async def extract_contact_phone(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> SlotValues:
        return self._address_from_text(
            "contact_phone", tracker, dispatcher, normalise_phone, "utter_invalid_phone"
        )

    def _address_from_text(
        self,
        slot: str,
        tracker: Tracker,
        dispatcher: CollectingDispatcher,
        parse: Any,
        invalid_response: str,
    ) -> SlotValues:
        if tracker.get_slot("requested_slot") != slot:
            return {}
        text = latest_text(tracker)
        value = parse(text)
        if value is None:
            return self.reject(slot, tracker, dispatcher, invalid_response, value=text[:80])
        return self.accept(slot, tracker, {slot: value})

    async def validate_contact_method(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> SlotValues:
        if value in ("chat", "email", "phone"):
            return self.accept("contact_method", tracker, {"contact_method": value})
        return {"contact_method": None}

    async def validate_contact_email(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> SlotValues:
        return {"contact_email": normalise_email(str(value)) if value else None}

    async def validate_contact_phone(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> SlotValues:
        return {"contact_phone": normalise_phone(str(value)) if value else None}


class ActionCreateTicket(Action):
    """Steps 3-5: file the ticket first, then tell the number and the time, then pause."""

    def name(self) -> str:
        return "action_create_ticket"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        method = tracker.get_slot("contact_method") or "chat"
        address = {
            "email": tracker.get_slot("contact_email"),
            "phone": tracker.get_slot("contact_phone"),
        }.get(method)
        if method != "chat" and not address:
            method, address = "chat", None
        reason = tracker.get_slot("handoff_reason") or reason_from_conversation(tracker)
        ticket = {
            "request_id": request_id_for(tracker),
            "conversation_id": tracker.sender_id,
            "reason": reason,
            "topic": topic_of(tracker),
            "language": conversation_language(tracker),
            "invoice_number": tracker.get_slot("invoice_number"),
            "contact_method": method,
            "contact_address": address,
            "priority": "high" if reason in HIGH_PRIORITY_REASONS else "normal",
            "transcript": transcript_of(tracker),
        }
        events: list[EventType] = [
            SlotSet("handoff_reason", None),
            SlotSet("needs_handoff", False),
            SlotSet("form_failures", None),
        ]
        settings = services.settings()
        try:
            created = await services.helpdesk().create_ticket(ticket)
        except HelpdeskUnavailable as unavailable:
            dispatcher.utter_message(
                response="utter_ticket_saved_offline", request_id=unavailable.request_id[:8].upper()
            )
            # The banner without a number: the widget channel still forwards what
            # the customer writes, to this conversation's ticket once it exists.
            dispatcher.utter_message(json_message={"handoff": {"state": "waiting"}})
            return events + [SlotSet("ticket_number", None), ConversationPaused()]
        except HelpdeskRejected:
            logger.exception("helpdesk refused ticket for %s", tracker.sender_id)
            dispatcher.utter_message(
                response="utter_contact_info_no_hours",
                phone=settings.contact_phone,
                email=settings.contact_email,
            )
            return events
        due_text = display_datetime(created.due_at, ticket["language"], settings.timezone)
        dispatcher.utter_message(
            response=f"utter_ticket_created_{method}",
            ticket_number=created.number,
            due_time=due_text,
            contact_email=tracker.get_slot("contact_email") or "",
            contact_phone=tracker.get_slot("contact_phone") or "",
        )
        if created.agents_online:
            # Only with someone at work: a queue nobody serves now says nothing
            # honest about the wait (the due time above is the promise then).
            if created.expected_wait_minutes is not None:
                dispatcher.utter_message(
                    response="utter_ticket_expected_wait",
                    minutes=rounded_wait(created.expected_wait_minutes),
                )
            if created.queue_position:
                dispatcher.utter_message(
                    response="utter_ticket_queue_position", queue_position=created.queue_position
                )
        # For the widget's banner (channels that don't know it ignore it).
        dispatcher.utter_message(json_message={"handoff": ticket_banner(created, due_text)})
        return events + [SlotSet("ticket_number", created.number), ConversationPaused()]


class ActionAnnounceFiledTicket(Action):
    """The ticket that waited in the outbox is filed: tell its number and reply time.

    Run by the outbox's client through Rasa's API (actions/announce.py) in a
    conversation that is paused for the handoff; said once per ticket.
    """

    def name(self) -> str:
        return "action_announce_filed_ticket"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            ticket = await services.helpdesk().latest_ticket(tracker.sender_id)
        except HelpdeskUnavailable:
            logger.warning("no ticket to announce for %s: helpdesk unavailable", tracker.sender_id)
            return []
        if ticket is None or ticket.number == tracker.get_slot("ticket_number"):
            return []  # nothing filed, or the customer knows it already
        due_text = display_datetime(
            ticket.due_at, conversation_language(tracker), services.settings().timezone
        )
        dispatcher.utter_message(
            response="utter_ticket_filed_later", ticket_number=ticket.number, due_time=due_text
        )
        dispatcher.utter_message(json_message={"handoff": ticket_banner(ticket, due_text)})
        return [SlotSet("ticket_number", ticket.number)]


def ticket_banner(created: TicketCreated, due_text: str) -> dict[str, Any]:
    """The widget's handoff banner for a filed ticket."""
    banner: dict[str, Any] = {
        "state": "waiting",
        "ticket_number": created.number,
        "due_at": created.due_at.isoformat(),
        "due_text": due_text,
        "queue_position": created.queue_position,
    }
    if created.expected_wait_minutes is not None:
        banner["expected_wait_minutes"] = rounded_wait(created.expected_wait_minutes)
    if created.agents_online is not None:
        banner["agents_online"] = created.agents_online
    return banner
