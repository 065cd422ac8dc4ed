"""Invoice copy, "I already paid" and payment details: verify, look up, answer."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import services
from actions.billing import Invoice
from actions.conversation import conversation_language, user_intents_newest_first
from actions.handoff_request import handoff_events, no_handoff_events
from actions.i18n import display_date, display_money
from actions.verified_form import VerifiedInvoiceForm, verified_invoice

LOOKUP_INTENTS = ("request_invoice_copy", "report_already_paid", "ask_payment_details")


def mask_email(address: str) -> str:
    """Show enough of the address to recognise it, not enough to harvest it."""
    local, _, domain = address.partition("@")
    if not domain:
        return address
    return f"{local[:1]}{'*' * max(len(local) - 1, 2)}@{domain}"


def lookup_question(tracker: Tracker) -> str:
    """Which of the lookup questions the customer asked last."""
    for intent in user_intents_newest_first(tracker):
        if intent in LOOKUP_INTENTS:
            return intent
    return "ask_payment_details"


class ValidateInvoiceLookupForm(VerifiedInvoiceForm):
    own_intents = frozenset(LOOKUP_INTENTS)

    def name(self) -> str:
        return "validate_invoice_lookup_form"

    def block_for(self, invoice: Invoice) -> str | None:
        return "in_collection" if invoice.state == "collection" else None


class ActionAnswerInvoiceQuestion(Action):
    def name(self) -> str:
        return "action_answer_invoice_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reset = [SlotSet("invoice_block", None), SlotSet("form_failures", None)]
        invoice = verified_invoice(tracker)
        if tracker.get_slot("handoff_reason") == "form_failure" or invoice is None:
            return reset + handoff_events("form_failure")
        if invoice.state == "collection":
            dispatcher.utter_message(
                response="utter_invoice_in_collection", invoice_number=invoice.number
            )
            return reset + handoff_events("policy")
        language = conversation_language(tracker)
        question = lookup_question(tracker)
        if question == "request_invoice_copy":
            email = services.billing().request_invoice_copy(invoice.number)
            dispatcher.utter_message(
                response="utter_invoice_copy_sent",
                invoice_number=invoice.number,
                email=mask_email(email),
            )
        elif question == "report_already_paid" and invoice.state == "paid":
            dispatcher.utter_message(
                response="utter_payment_received",
                invoice_number=invoice.number,
                amount=display_money(invoice.amount, language),
                paid_on=display_date(invoice.paid_on or invoice.due_date, language),
            )
        elif question == "report_already_paid":
            dispatcher.utter_message(
                response="utter_payment_not_seen_yet",
                invoice_number=invoice.number,
                due_date=display_date(invoice.due_date, language),
            )
        else:
            dispatcher.utter_message(
                response="utter_payment_details",
                invoice_number=invoice.number,
                recipient=invoice.recipient,
                iban=invoice.iban,
                bic=invoice.bic,
                reference_number=invoice.reference,
                amount=display_money(invoice.amount, language),
                due_date=display_date(invoice.due_date, language),
            )
        return reset + no_handoff_events()
