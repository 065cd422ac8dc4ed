"""Feedback in the customer's own words, passed to the team as written."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import services
from actions.conversation import conversation_language
from actions.helpdesk import HelpdeskError
from actions.verified_form import PatientForm, SlotValues

logger = logging.getLogger(__name__)

MAX_FEEDBACK_CHARS = 5000


class ValidateFeedbackForm(PatientForm):
    def name(self) -> str:
        return "validate_feedback_form"

    async def validate_feedback_text(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> SlotValues:
        text = str(value or "").strip()
        return {"feedback_text": text[:MAX_FEEDBACK_CHARS] or None}


class ActionSaveFeedback(Action):
    def name(self) -> str:
        return "action_save_feedback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = tracker.get_slot("feedback_text")
        if text:
            try:
                # When the helpdesk is down this keeps it in the outbox for later.
                await services.helpdesk().send_feedback(
                    tracker.sender_id, conversation_language(tracker), text
                )
            except HelpdeskError:
                logger.exception("feedback from %s was refused", tracker.sender_id)
        dispatcher.utter_message(response="utter_feedback_thanks")
        return [SlotSet("feedback_text", None)]
