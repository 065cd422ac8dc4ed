"""The events by which an action asks the rules to bring in a person.

`needs_handoff` is the only slot the dialogue rules branch on; the reason
travels beside it to the ticket.
"""

from __future__ import annotations

from rasa_sdk.events import EventType, SlotSet

HANDOFF_REASONS = frozenset(
    {"customer_request", "dispute", "fallback", "policy", "form_failure", "financial_difficulty"}
)


def handoff_events(reason: str) -> list[EventType]:
    if reason not in HANDOFF_REASONS:
        raise ValueError(f"unknown handoff reason {reason!r}")
    return [SlotSet("handoff_reason", reason), SlotSet("needs_handoff", True)]


def no_handoff_events() -> list[EventType]:
    return [SlotSet("handoff_reason", None), SlotSet("needs_handoff", False)]
