"""Session start and the conversation language."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.conversation import latest_text
from actions.i18n import SUPPORTED_LANGUAGES, language_of
from actions.language import detect_language
from actions.responses import response_variant

# Carried into a new session so the customer never has to repeat them.
CARRIED_OVER_SLOTS = ("language", "contact_email", "contact_phone")


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


class ActionSessionStart(Action):
    """Greets at once, in the page's language, and keeps what the customer told us."""

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
        greeting = response_variant(domain, "utter_greet", language)
        dispatcher.utter_message(text=greeting["text"], buttons=greeting.get("buttons", []))
        return [
            SessionStarted(),
            *carried,
            SlotSet("language", language),
            ActionExecuted("action_listen"),
        ]


class ActionDetectLanguage(Action):
    """Slot mapping action: follow the customer when they switch language."""

    def name(self) -> str:
        return "action_detect_language"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        detected = detect_language(latest_text(tracker))
        if detected and detected != tracker.get_slot("language"):
            return [SlotSet("language", detected)]
        return []
