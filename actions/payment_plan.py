"""Payment plan: verify the invoice, choose 2-6 instalments, show the schedule, set it up."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import services
from actions.billing import Instalment, Invoice, payment_plan_block, plan_schedule
from actions.conversation import conversation_language
from actions.handoff_request import handoff_events, no_handoff_events
from actions.i18n import display_date, display_money
from actions.verified_form import SlotValues, VerifiedInvoiceForm, verified_invoice

MIN_INSTALMENTS, MAX_INSTALMENTS = 2, 6
PLAN_SLOTS = ("installments", "plan_confirmed")

# Number words as customers type them, inflected forms included ("kolmessa erässä").
NUMBER_WORDS = {
    2: ("kaksi", "kahdessa", "kahteen", "kahtena", "two", "2"),
    3: ("kolme", "kolmessa", "kolmeen", "kolmena", "three", "3"),
    4: ("neljä", "nelja", "neljässä", "neljassa", "neljään", "neljaan", "four", "4"),
    5: ("viisi", "viidessä", "viidessa", "viiteen", "five", "5"),
    6: ("kuusi", "kuudessa", "kuuteen", "six", "6"),
}
# Larger numbers in the same message are amounts or invoice numbers, not counts.
MAX_PLAUSIBLE_COUNT = 24
WORD_OR_NUMBER = re.compile(r"[a-zåäö]+|\d+", re.IGNORECASE)


def parse_instalment_count(text: str) -> int | None:
    """The number of instalments a customer asked for, if they named one."""
    for token in WORD_OR_NUMBER.findall(text.lower()):
        for count, words in NUMBER_WORDS.items():
            if token in words:
                return count
        if token.isdigit() and int(token) <= MAX_PLAUSIBLE_COUNT:
            return int(token)
    return None


def schedule_for(invoice: Invoice, count: int) -> list[Instalment]:
    return plan_schedule(invoice.amount, count, invoice.due_date)


def schedule_lines(schedule: list[Instalment], language: str) -> str:
    return "\n".join(
        f"{number}. {display_date(item.due_date, language)}: {display_money(item.amount, language)}"
        for number, item in enumerate(schedule, start=1)
    )


class ValidatePaymentPlanForm(VerifiedInvoiceForm):
    own_intents = frozenset({"request_payment_plan"})
    own_slots = PLAN_SLOTS

    def name(self) -> str:
        return "validate_payment_plan_form"

    def block_for(self, invoice: Invoice) -> str | None:
        return payment_plan_block(invoice)

    async def extract_installments(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> SlotValues:
        def parse(text: str) -> str | None:
            count = parse_instalment_count(text)
            return None if count is None else str(count)

        return self.answer_from_text(
            "installments", tracker, dispatcher, parse, "utter_invalid_installments"
        )

    async def extract_plan_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> SlotValues:
        return self.unclear_confirmation("plan_confirmed", tracker)

    async def validate_installments(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> SlotValues:
        if value is None:
            return {"installments": None}
        count = parse_instalment_count(str(value))
        if count is None or not MIN_INSTALMENTS <= count <= MAX_INSTALMENTS:
            return self.reject(
                "installments", tracker, dispatcher, "utter_invalid_installments", value=value
            )
        return self.accept("installments", tracker, {"installments": str(count)})


class ActionAskInstallments(Action):
    def name(self) -> str:
        return "action_ask_installments"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        invoice = verified_invoice(tracker)
        if invoice is not None:
            dispatcher.utter_message(
                response="utter_ask_installments",
                amount=display_money(invoice.amount, conversation_language(tracker)),
            )
        return []


class ActionAskPlanConfirmed(Action):
    """Shows the whole schedule before anything is agreed."""

    def name(self) -> str:
        return "action_ask_plan_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        invoice = verified_invoice(tracker)
        if invoice is None:
            return []
        count = int(tracker.get_slot("installments"))
        dispatcher.utter_message(
            response="utter_ask_plan_confirmed",
            installments=count,
            schedule=schedule_lines(schedule_for(invoice, count), conversation_language(tracker)),
        )
        return []


class ActionSubmitPaymentPlan(Action):
    def name(self) -> str:
        return "action_submit_payment_plan"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reset = [SlotSet(slot, None) for slot in (*PLAN_SLOTS, "invoice_block", "form_failures")]
        invoice = verified_invoice(tracker)
        if tracker.get_slot("handoff_reason") == "form_failure" or invoice is None:
            return reset + handoff_events("form_failure")
        language = conversation_language(tracker)
        block = tracker.get_slot("invoice_block")
        if block == "in_collection":
            dispatcher.utter_message(
                response="utter_invoice_in_collection", invoice_number=invoice.number
            )
            return reset + handoff_events("policy")
        if block == "paid":
            dispatcher.utter_message(
                response="utter_invoice_already_paid",
                invoice_number=invoice.number,
                paid_on=display_date(invoice.paid_on or invoice.due_date, language),
            )
        elif block == "has_plan":
            dispatcher.utter_message(response="utter_plan_exists", invoice_number=invoice.number)
        elif tracker.get_slot("plan_confirmed"):
            schedule = schedule_for(invoice, int(tracker.get_slot("installments")))
            plan = services.billing().create_payment_plan(invoice.number, schedule)
            first = plan.instalments[0]
            dispatcher.utter_message(
                response="utter_plan_done",
                invoice_number=invoice.number,
                first_amount=display_money(first.amount, language),
                first_due_date=display_date(first.due_date, language),
                reference_number=invoice.reference,
            )
        else:
            dispatcher.utter_message(response="utter_plan_cancelled")
        return reset + no_handoff_events()
