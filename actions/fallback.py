"""Don't guess: ask once which topic was meant, then bring in a person."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.conversation import (
    MISUNDERSTOOD_INTENTS,
    conversation_language,
    intent_ranking,
    user_intents_newest_first,
)
from actions.handoff_request import handoff_events, no_handoff_events
from actions.responses import response_variant

# Offered when the model has no better guess: the two most common questions.
DEFAULT_TOPICS = ("request_due_date_extension", "request_payment_plan")


def misunderstandings_in_a_row(tracker: Tracker) -> int:
    count = 0
    for intent in user_intents_newest_first(tracker):
        if intent not in MISUNDERSTOOD_INTENTS:
            break
        count += 1
    return count


def likely_topics(tracker: Tracker, domain: DomainDict) -> list[str]:
    """The two most likely business topics that have a button label."""
    labelled = [
        entry.get("name")
        for entry in intent_ranking(tracker)
        if f"utter_topic_{entry.get('name')}" in domain.get("responses", {})
    ]
    topics = list(dict.fromkeys([*labelled, *DEFAULT_TOPICS]))
    return topics[:2]


class ActionClarifyOrHandoff(Action):
    def name(self) -> str:
        return "action_clarify_or_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if misunderstandings_in_a_row(tracker) >= 2:
            return handoff_events("fallback")
        language = conversation_language(tracker)
        first, second = likely_topics(tracker, domain)
        dispatcher.utter_message(
            response="utter_clarify",
            topic_1=first,
            topic_1_title=response_variant(domain, f"utter_topic_{first}", language)["text"],
            topic_2=second,
            topic_2_title=response_variant(domain, f"utter_topic_{second}", language)["text"],
        )
        return no_handoff_events()
