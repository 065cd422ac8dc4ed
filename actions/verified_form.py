"""What every invoice form shares: find the invoice, verify it, count bad input.

The invoice number finds the invoice; the reference number proves it is the
customer's own (it is printed on the invoice, and its last digit is a check
digit, so typos are caught before we even look). Three rejected answers to the
same question bring in a person (reason `form_failure`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from contextvars import ContextVar
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import services
from actions.billing import Invoice
from actions.conversation import latest_intent, latest_text
from actions.reference import extract_invoice_number, extract_reference, is_valid_reference

MAX_FAILURES = 3
VERIFICATION_SLOTS = ("invoice_number", "reference_number")

# Intents that have their own rule while a form is active (data/rules/forms.yml):
# when nothing fits the requested slot, the form steps aside and the rule runs.
INTERRUPTING_INTENTS = frozenset(
    {
        "request_human",
        "dispute_invoice",
        "financial_difficulty",
        "bot_challenge",
        "ask_contact_info",
        "ask_reminder_fee",
        "deny",
        "goodbye",
        "request_due_date_extension",
        "request_payment_plan",
        "request_invoice_copy",
        "report_already_paid",
        "ask_payment_details",
    }
)

SlotValues = dict[str, Any]

# Side events (failure counters, handoff reason) of the request being handled.
# rasa-sdk shares one action instance between conversations, so no `self` state.
_side_events: ContextVar[list[EventType]] = ContextVar("side_events")


def today_for_customer() -> date:
    return datetime.now(ZoneInfo(services.settings().timezone)).date()


def value_before_latest_message(tracker: Tracker, slot: str) -> Any:
    """The slot's value as it was before the customer's latest message."""
    seen_latest_message = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen_latest_message = True
        elif seen_latest_message and event.get("event") == "slot" and event.get("name") == slot:
            return event.get("value")
    return None


def failure_events(
    tracker: Tracker, slot: str, hand_off: bool = True
) -> tuple[list[EventType], bool]:
    """Count one more rejected answer for `slot`; True once a person should take over."""
    failures = dict(tracker.get_slot("form_failures") or {})
    failures[slot] = failures.get(slot, 0) + 1
    events: list[EventType] = [SlotSet("form_failures", failures)]
    gave_up = failures[slot] >= MAX_FAILURES
    if gave_up and hand_off:
        events.append(SlotSet("handoff_reason", "form_failure"))
    return events, gave_up


class PatientForm(FormValidationAction, ABC):
    """A form that reads answers from free text and counts the ones it can't use."""

    @abstractmethod
    def name(self) -> str:
        """validate_<form name>; abstract so the action server skips this base."""

    # Slots this form owns; cleared when the form starts anew.
    own_slots: tuple[str, ...] = ()
    clears_on_start: tuple[str, ...] = ("form_failures",)
    # Three unusable answers end the form with handoff reason `form_failure`.
    hands_off_on_failure = True
    # Intents that started this form: saying them again is read as an answer.
    own_intents: frozenset[str] = frozenset()

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        side_events: list[EventType] = []
        _side_events.set(side_events)
        if tracker.get_slot("requested_slot") is None:
            side_events.extend(self._fresh_start_events(tracker))
            # Not `add_slots`: rasa-sdk would take these for slot candidates and
            # drop values validation sets later in this run (e.g. invoice_block).
            tracker.slots.update({event["name"]: event["value"] for event in side_events})
        events = await super().run(dispatcher, tracker, domain)
        return side_events + events

    def _fresh_start_events(self, tracker: Tracker) -> list[EventType]:
        """Forget a previous run's answers, keep what the customer just said."""
        said_now = tracker.slots_to_validate()
        stale = (*self.own_slots, *self.clears_on_start)
        return [SlotSet(slot, None) for slot in stale if slot not in said_now]

    def _record(self, events: list[EventType], tracker: Tracker) -> None:
        """Keep side events (counters, reasons) and let later steps see them."""
        _side_events.get().extend(events)
        tracker.slots.update({event["name"]: event["value"] for event in events})

    def answer_from_text(
        self,
        slot: str,
        tracker: Tracker,
        dispatcher: CollectingDispatcher,
        parse: Callable[[str], Any],
        invalid_response: str | None,
    ) -> SlotValues:
        """Fill the requested slot from the message text.

        An answer we cannot read counts as a failed attempt (with a kind,
        specific reply) unless the customer changed the subject, in which case
        the form steps aside for the matching rule.
        """
        if tracker.get_slot("requested_slot") != slot:
            return {}
        if tracker.slots_to_validate().get(slot) is not None:
            return {}
        text = latest_text(tracker)
        value = parse(text)
        if value is not None:
            return {slot: value}
        intent = latest_intent(tracker)
        if intent in INTERRUPTING_INTENTS and intent not in self.own_intents:
            return {}
        shown = text[:80]
        return self.reject(
            slot, tracker, dispatcher, invalid_response, value=shown, **{slot: shown}
        )

    def unclear_confirmation(self, slot: str, tracker: Tracker) -> SlotValues:
        """Neither yes nor no to a confirmation: ask again (a new topic steps aside)."""
        if tracker.get_slot("requested_slot") != slot:
            return {}
        if tracker.slots_to_validate().get(slot) is not None:
            return {}
        intent = latest_intent(tracker)
        if intent in INTERRUPTING_INTENTS and intent not in self.own_intents:
            return {}
        events, _ = failure_events(tracker, slot, self.hands_off_on_failure)
        self._record(events, tracker)
        return {slot: None}

    def reject(
        self,
        slot: str,
        tracker: Tracker,
        dispatcher: CollectingDispatcher,
        response: str | None,
        **response_values: Any,
    ) -> SlotValues:
        events, gave_up = failure_events(tracker, slot, self.hands_off_on_failure)
        self._record(events, tracker)
        if response and not gave_up:
            dispatcher.utter_message(response=response, **response_values)
        return {slot: None}

    def accept(self, slot: str, tracker: Tracker, values: SlotValues) -> SlotValues:
        failures = dict(tracker.get_slot("form_failures") or {})
        if failures.pop(slot, None) is not None:
            self._record([SlotSet("form_failures", failures)], tracker)
        return values


class VerifiedInvoiceForm(PatientForm):
    """Base for the forms that start by identifying and verifying one invoice."""

    clears_on_start = ("invoice_block", "form_failures", "handoff_reason")

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        corrections = self._number_read_as_the_other_kind(tracker)
        tracker.add_slots(corrections)
        return corrections + await super().run(dispatcher, tracker, domain)

    def _number_read_as_the_other_kind(self, tracker: Tracker) -> list[EventType]:
        """A number given when we asked for an invoice number is one (and likewise
        for reference numbers), even if the model tagged it as the other kind."""
        asked = tracker.get_slot("requested_slot")
        other = {"invoice_number": "reference_number", "reference_number": "invoice_number"}
        misread_as = other.get(asked)
        said_now = tracker.slots_to_validate()
        if misread_as is None or misread_as not in said_now or asked in said_now:
            return []
        return [
            SlotSet(misread_as, value_before_latest_message(tracker, misread_as)),
            SlotSet(asked, said_now[misread_as]),
        ]

    def block_for(self, invoice: Invoice) -> str | None:
        """Why this form cannot serve `invoice` (a reason code), or None."""
        return None

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        stopped = tracker.get_slot("invoice_block") or (
            tracker.get_slot("handoff_reason") == "form_failure"
        )
        return [] if stopped else domain_slots

    # --- invoice number and reference number -------------------------------

    async def extract_invoice_number(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> SlotValues:
        return self.answer_from_text(
            "invoice_number",
            tracker,
            dispatcher,
            extract_invoice_number,
            "utter_invalid_invoice_number",
        )

    async def extract_reference_number(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> SlotValues:
        return self.answer_from_text(
            "reference_number",
            tracker,
            dispatcher,
            extract_reference,
            "utter_invalid_reference_number",
        )

    async def validate_invoice_number(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> SlotValues:
        if value is None:
            return {"invoice_number": None}
        number = extract_invoice_number(str(value))
        if number is None:
            return self.reject(
                "invoice_number",
                tracker,
                dispatcher,
                "utter_invalid_invoice_number",
                value=value,
            )
        invoice = services.billing().find_invoice(number)
        if invoice is None:
            return self.reject(
                "invoice_number",
                tracker,
                dispatcher,
                "utter_invoice_not_found",
                invoice_number=number,
            )
        values: SlotValues = {"invoice_number": number}
        reference = tracker.get_slot("reference_number")
        if "reference_number" in tracker.slots_to_validate():
            pass  # said in the same message: validate_reference_number compares them
        elif reference and reference != invoice.reference:
            dispatcher.utter_message(response="utter_reference_mismatch", invoice_number=number)
            values["reference_number"] = None
        elif reference:
            values.update(self._block_values(invoice))
        return self.accept("invoice_number", tracker, values)

    async def validate_reference_number(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> SlotValues:
        if value is None:
            return {"reference_number": None}
        reference = extract_reference(str(value))
        if reference is None or not is_valid_reference(reference):
            return self.reject(
                "reference_number",
                tracker,
                dispatcher,
                "utter_invalid_reference_number",
                reference_number=value,
            )
        number = tracker.get_slot("invoice_number")
        if not number:
            return self.accept("reference_number", tracker, {"reference_number": reference})
        invoice = services.billing().find_invoice(number)
        if invoice is None or invoice.reference != reference:
            return self.reject(
                "reference_number",
                tracker,
                dispatcher,
                "utter_reference_mismatch",
                invoice_number=number,
            )
        values = {"reference_number": reference, **self._block_values(invoice)}
        return self.accept("reference_number", tracker, values)

    def _block_values(self, invoice: Invoice) -> SlotValues:
        block = self.block_for(invoice)
        return {"invoice_block": block} if block else {}


def verified_invoice(tracker: Tracker) -> Invoice | None:
    """The invoice the customer has proven is theirs in this conversation."""
    number = tracker.get_slot("invoice_number")
    reference = tracker.get_slot("reference_number")
    if not number or not reference:
        return None
    invoice = services.billing().find_invoice(number)
    if invoice is None or invoice.reference != reference:
        return None
    return invoice
