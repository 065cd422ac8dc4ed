"""Answers that need only configuration: fees and how to reach customer service."""

from __future__ import annotations

import logging

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import services
from actions.conversation import conversation_language
from actions.helpdesk import HelpdeskRejected, HelpdeskUnavailable
from actions.i18n import display_money, display_number

logger = logging.getLogger(__name__)


class ActionExplainFees(Action):
    def name(self) -> str:
        return "action_explain_fees"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        settings = services.settings()
        language = conversation_language(tracker)
        dispatcher.utter_message(
            response="utter_fees",
            reminder_fee=display_money(settings.reminder_fee, language),
            extension_fee=display_money(settings.extension_fee, language),
            late_interest=display_number(settings.late_interest_percent, language),
        )
        return []


class ActionAnswerContactInfo(Action):
    """Opening hours come from the helpdesk, the one place they are configured."""

    def name(self) -> str:
        return "action_answer_contact_info"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        settings = services.settings()
        language = conversation_language(tracker)
        try:
            hours = await services.helpdesk().service_hours()
        except (HelpdeskUnavailable, HelpdeskRejected):
            logger.warning("opening hours unavailable; answering without them")
            dispatcher.utter_message(
                response="utter_contact_info_no_hours",
                phone=settings.contact_phone,
                email=settings.contact_email,
            )
            return []
        dispatcher.utter_message(
            response="utter_contact_info",
            opening_hours=hours["display"][language],
            phone=settings.contact_phone,
            email=settings.contact_email,
        )
        return []
