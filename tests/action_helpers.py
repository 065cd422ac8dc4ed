"""Building blocks for the custom action tests (tests/test_action_*.py).

The tests call actions the way rasa-sdk's own tests do: an inline `Tracker(...)`,
a fresh `CollectingDispatcher()`, `await Action().run(dispatcher, tracker, domain)`.
These helpers only build the dicts Rasa would send (events, parse data, slots),
so each test still shows its whole tracker.
"""

from __future__ import annotations

import copy
import re
import socket
import string
import time
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

REPO = Path(__file__).resolve().parent.parent
DOMAIN_PATH = REPO / "domain.yml"
TIMEZONE = "Europe/Helsinki"

# Slots Rasa adds to every tracker on top of the domain's own.
RASA_DEFAULT_SLOTS = ("requested_slot", "session_started_metadata")


@lru_cache(maxsize=1)
def _parsed_domain() -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # same result, 10x faster
    return yaml.load(DOMAIN_PATH.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506


def load_domain() -> dict[str, Any]:
    """The real domain.yml as a dict (a fresh copy: actions may not share state)."""
    return copy.deepcopy(_parsed_domain())


def customer_today() -> date:
    """The day as the actions see it (they use the customer's time zone)."""
    return datetime.now(ZoneInfo(TIMEZONE)).date()


def days_from_today(count: int) -> date:
    return customer_today() + timedelta(days=count)


def fi_date(day: date) -> str:
    """How the Finnish responses write a date: 5.12.2026."""
    return f"{day.day}.{day.month}.{day.year}"


def en_date(day: date) -> str:
    """How the English responses write a date: 5 December 2026."""
    return f"{day.day} {day:%B} {day.year}"


def plain(text: str) -> str:
    """Money and dates as a reader sees them: no-break spaces shown as spaces."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def money_of(text: str) -> Decimal:
    """'416,67 €' or '€416.67' -> Decimal('416.67')."""
    digits = re.sub(r"[^\d,.]", "", plain(text))
    if "," in digits:
        digits = digits.replace(".", "").replace(",", ".")
    else:
        digits = digits.replace(",", "")
    return Decimal(digits)


def free_port() -> int:
    """A port nobody listens on right now: a helpdesk that is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- slots --------------------------------------------------------------------------


def slots(**values: Any) -> dict[str, Any]:
    """Every slot of the domain plus Rasa's own, at their initial values, then `values`."""
    domain_slots = _parsed_domain()["slots"]
    found: dict[str, Any] = {name: spec.get("initial_value") for name, spec in domain_slots.items()}
    found.update({name: None for name in RASA_DEFAULT_SLOTS})
    unknown = set(values) - set(found)
    if unknown:
        raise KeyError(f"not slots of the domain: {sorted(unknown)}")
    found.update(values)
    return found


# --- what Rasa sends: parse data and events -----------------------------------------


def parse_data(
    text: str,
    intent: str = "inform",
    confidence: float = 0.9,
    entities: list[dict[str, Any]] | None = None,
    ranking: list[tuple[str, float]] | None = None,
) -> dict[str, Any]:
    """A `latest_message` as Rasa's NLU produces it."""
    ranked = ranking or [(intent, confidence)]
    return {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "entities": entities or [],
        "intent_ranking": [{"name": name, "confidence": score} for name, score in ranked],
        "message_id": uuid.uuid4().hex,
        "metadata": {},
    }


def entity(name: str, value: str, text: str | None = None) -> dict[str, Any]:
    """An entity found by the NLU (start/end within `text` when given)."""
    start = text.find(value) if text else 0
    return {
        "entity": name,
        "value": value,
        "start": max(start, 0),
        "end": max(start, 0) + len(value),
        "extractor": "CRFEntityExtractor",
    }


_clock = [time.time() - 600]


def _timestamp() -> float:
    """Increasing timestamps, so events come in order like in a real tracker."""
    _clock[0] += 1.5
    return _clock[0]


def user_event(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "event": "user",
        "timestamp": _timestamp(),
        "text": message["text"],
        "parse_data": message,
        "input_channel": "rest",
        "message_id": message.get("message_id"),
        "metadata": {},
    }


def user(text: str, intent: str = "inform", **kwargs: Any) -> dict[str, Any]:
    """A customer message event (parse data built by `parse_data`)."""
    return user_event(parse_data(text, intent, **kwargs))


def bot(text: str, utter_action: str | None = None) -> dict[str, Any]:
    return {
        "event": "bot",
        "timestamp": _timestamp(),
        "text": text,
        "data": {"elements": None, "quick_replies": None, "buttons": None},
        "metadata": {"utter_action": utter_action} if utter_action else {},
    }


def action(name: str) -> dict[str, Any]:
    return {
        "event": "action",
        "timestamp": _timestamp(),
        "name": name,
        "policy": "RulePolicy",
        "confidence": 1.0,
    }


def slot_event(name: str, value: Any) -> dict[str, Any]:
    return {"event": "slot", "timestamp": _timestamp(), "name": name, "value": value}


def session_start_events() -> list[dict[str, Any]]:
    """What `action_session_start` leaves at the start of a session."""
    return [
        action("action_session_start"),
        {"event": "session_started", "timestamp": _timestamp()},
        action("action_listen"),
    ]


def form_turn(
    form: str,
    requested_slot: str | None,
    said: dict[str, Any],
    candidates: dict[str, Any] | None = None,
    history: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Events of the tracker Rasa sends to `validate_<form>` for one customer turn.

    As in Rasa's `FormAction._temporary_tracker`: the conversation so far, the
    customer's message, `requested_slot`, the form's own `action` event, and then
    one `slot` event per slot candidate extracted from this message (rasa-sdk's
    `tracker.slots_to_validate()` reads exactly these trailing slot events).
    """
    return [
        *(history or []),
        action("action_listen"),
        said,
        slot_event("requested_slot", requested_slot),
        action(form),
        *(slot_event(name, value) for name, value in (candidates or {}).items()),
    ]


# --- reading the results --------------------------------------------------------------


def slot_sets(events: list[dict[str, Any]]) -> dict[str, Any]:
    """name -> value of the last `SlotSet` of each slot in returned events."""
    return {event["name"]: event["value"] for event in events if event.get("event") == "slot"}


def responses(dispatcher: Any) -> list[str | None]:
    return [message.get("response") for message in dispatcher.messages]


def placeholders(text: str) -> set[str]:
    """The {names} a response text fills in (`{{` and `}}` are literal braces)."""
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}
