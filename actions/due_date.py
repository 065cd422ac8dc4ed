"""Due-date extension: verify the invoice, agree a new date, confirm, change it."""

from __future__ import annotations

from datetime import date
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import services
from actions.billing import Invoice, extension_block, latest_extension_date
from actions.conversation import conversation_language
from actions.dates import parse_customer_date
from actions.handoff_request import handoff_events, no_handoff_events
from actions.i18n import display_date, display_money
from actions.verified_form import (
    SlotValues,
    VerifiedInvoiceForm,
    today_for_customer,
    verified_invoice,
)

EXTENSION_SLOTS = ("new_due_date", "extension_confirmed")


def latest_date_for(invoice: Invoice) -> date:
    return latest_extension_date(invoice, services.settings().extension_max_days)


class ValidateDueDateExtensionForm(VerifiedInvoiceForm):
    own_intents = frozenset({"request_due_date_extension"})
    own_slots = EXTENSION_SLOTS

    def name(self) -> str:
        return "validate_due_date_extension_form"

    def block_for(self, invoice: Invoice) -> str | None:
        return extension_block(invoice)

    async def extract_new_due_date(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> SlotValues:
        language = conversation_language(tracker)
        today = today_for_customer()

        def parse(text: str) -> str | None:
            parsed = parse_customer_date(text, today, language)
            return parsed.isoformat() if parsed else None

        return self.answer_from_text(
            "new_due_date", tracker, dispatcher, parse, "utter_invalid_date"
        )

    async def extract_extension_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> SlotValues:
        return self.unclear_confirmation("extension_confirmed", tracker)

    async def validate_new_due_date(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> SlotValues:
        if value is None:
            return {"new_due_date": None}
        invoice = verified_invoice(tracker)
        if invoice is None:
            # Said before the invoice was verified: it is asked again once it is.
            return {"new_due_date": None}
        language = conversation_language(tracker)
        today = today_for_customer()
        requested = _as_date(str(value), today, language)
        if requested is None:
            return self.reject("new_due_date", tracker, dispatcher, "utter_invalid_date")
        latest = latest_date_for(invoice)
        shown = {
            "date": display_date(requested, language),
            "current_due_date": display_date(invoice.due_date, language),
            "latest_due_date": display_date(latest, language),
        }
        if requested < today:
            return self.reject("new_due_date", tracker, dispatcher, "utter_date_in_past", **shown)
        if requested <= invoice.due_date:
            return self.reject(
                "new_due_date", tracker, dispatcher, "utter_date_not_after_current_due", **shown
            )
        if requested > latest:
            return self.reject("new_due_date", tracker, dispatcher, "utter_date_too_late", **shown)
        return self.accept("new_due_date", tracker, {"new_due_date": requested.isoformat()})


def _as_date(value: str, today: date, language: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return parse_customer_date(value, today, language)


class ActionAskNewDueDate(Action):
    """Asks for the date and says up front which dates are possible."""

    def name(self) -> str:
        return "action_ask_new_due_date"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        invoice = verified_invoice(tracker)
        if invoice is None:
            return []
        language = conversation_language(tracker)
        dispatcher.utter_message(
            response="utter_ask_new_due_date",
            current_due_date=display_date(invoice.due_date, language),
            latest_due_date=display_date(latest_date_for(invoice), language),
        )
        return []


class ActionAskExtensionConfirmed(Action):
    """Shows exactly what will change, fee included, before changing anything."""

    def name(self) -> str:
        return "action_ask_extension_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        language = conversation_language(tracker)
        new_due_date = date.fromisoformat(tracker.get_slot("new_due_date"))
        dispatcher.utter_message(
            response="utter_ask_extension_confirmed",
            invoice_number=tracker.get_slot("invoice_number"),
            new_due_date=display_date(new_due_date, language),
            fee=display_money(services.settings().extension_fee, language),
        )
        return []


class ActionSubmitDueDateExtension(Action):
    """Makes the change, or explains plainly why it can't and what can be done."""

    def name(self) -> str:
        return "action_submit_due_date_extension"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reset = [
            SlotSet(slot, None) for slot in (*EXTENSION_SLOTS, "invoice_block", "form_failures")
        ]
        if tracker.get_slot("handoff_reason") == "form_failure":
            return reset + handoff_events("form_failure")
        language = conversation_language(tracker)
        invoice = verified_invoice(tracker)
        if invoice is None:
            return reset + handoff_events("form_failure")
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
        elif block == "already_extended":
            dispatcher.utter_message(
                response="utter_extension_refused_already_extended",
                invoice_number=invoice.number,
                due_date=display_date(invoice.due_date, language),
            )
        elif tracker.get_slot("extension_confirmed"):
            fee = services.settings().extension_fee
            new_due_date = date.fromisoformat(tracker.get_slot("new_due_date"))
            updated = services.billing().extend_due_date(invoice.number, new_due_date, fee)
            dispatcher.utter_message(
                response="utter_extension_done",
                invoice_number=updated.number,
                new_due_date=display_date(updated.due_date, language),
                fee=display_money(fee, language),
            )
        else:
            dispatcher.utter_message(response="utter_extension_cancelled")
        return reset + no_handoff_events()
