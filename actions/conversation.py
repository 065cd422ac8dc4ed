"""Small readers of the tracker that several actions share."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rasa_sdk import Tracker

from actions.i18n import language_of

SMALL_TALK_INTENTS = frozenset({"greet", "goodbye", "thank", "affirm", "deny", "inform"})
MISUNDERSTOOD_INTENTS = frozenset({"nlu_fallback", "out_of_scope"})


def conversation_language(tracker: Tracker) -> str:
    return language_of(tracker.get_slot("language"))


def latest_intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


def user_intents_newest_first(tracker: Tracker) -> Iterable[str]:
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            yield ((event.get("parse_data") or {}).get("intent") or {}).get("name") or ""


def intent_ranking(tracker: Tracker) -> list[dict[str, Any]]:
    return list(tracker.latest_message.get("intent_ranking") or [])


def latest_text(tracker: Tracker) -> str:
    return tracker.latest_message.get("text") or ""
