"""Session start and the conversation language."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker, ValidationAction
from rasa_sdk.events import (
    ActionExecuted,
    ConversationPaused,
    EventType,
    SessionStarted,
    SlotSet,
)
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.conversation import latest_text
from actions.i18n import SUPPORTED_LANGUAGES, language_of
from actions.language import detect_language
from actions.responses import response_variant

# Carried into a new session so the customer never has to repeat them (and the
# ticket, so the rating asked when an agent resolves it goes to the right one).
CARRIED_OVER_SLOTS = ("language", "contact_email", "contact_phone", "ticket_number")


def page_language(metadata: dict[str, Any] | None) -> str | None:
    """Language from the widget's page metadata ("fi", "en-GB"...).

    rasa-webchat sends page data as `customData`, Rasa's channels as `metadata`.
    """
    metadata = metadata or {}
    for source in (metadata, metadata.get("customData") or {}, metadata.get("metadata") or {}):
        if isinstance(source, dict):
            value = str(source.get("language") or source.get("lang") or "")[:2].lower()
            if value in SUPPORTED_LANGUAGES:
                return value
    return None


def is_first_message_of_session(tracker: Tracker) -> bool:
    """True for the customer's first message of a session the bot hasn't spoken in.

    False when no message came since the session started: then the slots are
    being extracted for an action started from outside (Rasa's `/execute`).
    """
    said_something = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            said_something = True
        if event.get("event") == "session_started":
            return said_something
        if event.get("event") == "bot":
            return False
    return said_something


class ActionSessionStart(Action):
    """Takes the page's language and keeps what the customer already told us."""

    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        carried = [
            SlotSet(slot, tracker.get_slot(slot))
            for slot in CARRIED_OVER_SLOTS
            if tracker.get_slot(slot) is not None
        ]
        metadata = tracker.get_slot("session_started_metadata")
        language = page_language(metadata) or language_of(tracker.get_slot("language"))
        # A session that expires while a person has the conversation stays with the
        # person: a new session would otherwise unpause the bot (SessionStarted
        # resets the pause) and it would answer messages meant for the agent.
        still_with_a_person = [ConversationPaused()] if tracker.is_paused() else []
        return [
            SessionStarted(),
            *carried,
            SlotSet("language", language),
            *still_with_a_person,
            ActionExecuted("action_listen"),
        ]


class ActionValidateSlotMappings(ValidationAction):
    """Runs after every customer message: follow the customer's language.

    On the first message of a session it also greets, so the greeting is in the
    language the customer actually wrote in, before the answer to their question.
    """

    def name(self) -> str:
        return "action_validate_slot_mappings"

    def domain_slots(self, domain: DomainDict) -> list[str]:
        """Only the language is ours to set here; the forms validate the rest."""
        return ["language"]

    async def extract_language(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        current = language_of(tracker.get_slot("language"))
        text = latest_text(tracker)
        # A button's payload ("/request_human") is ours, not the customer's language.
        detected = (None if text.startswith("/") else detect_language(text)) or current
        if is_first_message_of_session(tracker) and not tracker.is_paused():
            # Rasa renders with the slots as they were, so pick the variant here.
            greeting = response_variant(domain, "utter_greet", detected)
            dispatcher.utter_message(text=greeting["text"], buttons=greeting.get("buttons", []))
        return {"language": detected} if detected != current else {}


class ActionGreetBack(Action):
    """A "hi" answered in kind, unless the session greeting just answered it."""

    def name(self) -> str:
        return "action_greet_back"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if not already_greeted_this_turn(tracker):
            dispatcher.utter_message(response="utter_greet_again")
        return []


def already_greeted_this_turn(tracker: Tracker) -> bool:
    """True when a bot message followed the customer's latest message already."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "bot":
            return True
    return False
