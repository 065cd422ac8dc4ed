"""Turn request bodies into store inputs, or a 400 that names the bad field.

Clients are programs (the action server, the agent console); a precise message
("transcript[2].sender must be one of ...") saves a debugging session.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from sanic.exceptions import InvalidUsage, NotFound
from sanic.request import Request

from bot.inbound import MAX_MESSAGE_LENGTH, clean_text, loads_json, whole_number
from bot.tickets.store import (
    CONTACT_METHODS,
    LANGUAGES,
    PRIORITIES,
    REASONS,
    SENDERS,
    STATUSES,
    NewMessage,
    NewTicket,
)

MAX_TEXT = MAX_MESSAGE_LENGTH
MAX_CLIENT_MESSAGE_ID = 100
MAX_TRANSCRIPT = 1000
MAX_LIST_LIMIT = 200
# How much of an unknown ticket number a 404 repeats back (paths may be kilobytes long).
SHOWN_NUMBER = 40

TICKET_FIELDS = {
    "request_id",
    "conversation_id",
    "reason",
    "topic",
    "language",
    "invoice_number",
    "contact_method",
    "contact_address",
    "priority",
    "transcript",
}
CHANGE_FIELDS = {"status", "assignee", "priority", "rating"}


def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object, strings cleaned (`bot.inbound`); anything else is a 400.

    Malformed, non-UTF-8, too deep or NaN-carrying JSON raises InvalidInput, which the
    error handler (`bot.errors`) answers with a 400 and its reason.
    """
    if not request.body:
        raise InvalidUsage("request body must be a JSON object")
    body = loads_json(request.body)
    if not isinstance(body, dict):
        raise InvalidUsage(f"request body must be a JSON object, not {_json_type(body)}")
    return body


def shown_number(number: str) -> str:
    """A ticket number from a path as messages repeat it: cleaned, a long one clipped."""
    return _clip(clean_text(number), SHOWN_NUMBER)


def no_ticket(number: str) -> NotFound:
    """The 404 for a ticket number nobody has."""
    return NotFound(f"no ticket {shown_number(number)}")


def new_ticket(body: Mapping[str, Any], now: datetime) -> NewTicket:
    _reject_unknown(body, TICKET_FIELDS)
    method = _choice(body, "contact_method", CONTACT_METHODS)
    address = _text(body, "contact_address", 255, required=method != "chat")
    if method == "email" and address and "@" not in address:
        raise InvalidUsage("contact_address must be an e-mail address when contact_method is email")
    return NewTicket(
        request_id=_text(body, "request_id", 64),
        conversation_id=_text(body, "conversation_id", 255),
        reason=_choice(body, "reason", REASONS),
        topic=_text(body, "topic", 100),
        language=_choice(body, "language", LANGUAGES),
        invoice_number=_text(body, "invoice_number", 64, required=False, numbers=True),
        contact_method=method,
        contact_address=address,
        priority=_choice(body, "priority", PRIORITIES, default="normal"),
        transcript=_transcript(body.get("transcript"), now),
    )


def changes(body: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a PATCH; null assignee un-assigns."""
    _reject_unknown(body, CHANGE_FIELDS)
    if not body:
        raise InvalidUsage(f"nothing to change; send any of {', '.join(sorted(CHANGE_FIELDS))}")
    found: dict[str, Any] = {}
    if "status" in body:
        found["status"] = _choice(body, "status", STATUSES)
    if "priority" in body:
        found["priority"] = _choice(body, "priority", PRIORITIES)
    if "assignee" in body:
        found["assignee"] = _text(body, "assignee", 100, required=False)
    if "rating" in body:
        rating = body["rating"]
        if rating is not None and (
            isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5
        ):
            raise InvalidUsage("rating must be a whole number from 1 to 5 (or null)")
        found["rating"] = rating
    return found


def message(body: Mapping[str, Any], now: datetime) -> NewMessage:
    """POST /api/tickets/<number>/messages; `message_id` makes a retried POST harmless."""
    _reject_unknown(body, {"sender", "text", "sent_at", "message_id"})
    client_message_id = _text(
        body, "message_id", MAX_CLIENT_MESSAGE_ID, required=False, numbers=True
    )
    return replace(_message(body, "", now), client_message_id=client_message_id or None)


def note(body: Mapping[str, Any]) -> tuple[str, str]:
    _reject_unknown(body, {"author", "text"})
    return _text(body, "author", 100), _text(body, "text", MAX_TEXT)


def feedback(body: Mapping[str, Any]) -> dict[str, Any]:
    _reject_unknown(body, {"request_id", "conversation_id", "language", "text"})
    return {
        "request_id": _text(body, "request_id", 64, required=False),
        "conversation_id": _text(body, "conversation_id", 255),
        "language": _choice(body, "language", LANGUAGES),
        "text": _text(body, "text", MAX_TEXT),
    }


def listing(args: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """Query string of GET /api/tickets: status (comma-separated), conversation_id, paging."""
    statuses = [s for raw in args.get("status", []) for s in raw.split(",") if s.strip()]
    for status in statuses:
        if status.strip() not in STATUSES:
            raise InvalidUsage(
                f"status must be one of {', '.join(STATUSES)}, not {_clip(repr(status))}"
            )
    conversation = args.get("conversation_id")
    return {
        "statuses": [s.strip() for s in statuses],
        "conversation_id": clean_text(conversation[0]) if conversation else None,
        "limit": whole_number(_first(args, "limit"), "limit", 50, 1, MAX_LIST_LIMIT),
        "offset": whole_number(_first(args, "offset"), "offset", 0, 0),
    }


def _transcript(value: Any, now: datetime) -> list[NewMessage]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidUsage("transcript must be a list of {sender, text, sent_at}")
    if len(value) > MAX_TRANSCRIPT:
        raise InvalidUsage(f"transcript has more than {MAX_TRANSCRIPT} messages")
    found = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise InvalidUsage(f"transcript[{index}] must be an object {{sender, text, sent_at}}")
        found.append(_message(item, f"transcript[{index}].", now))
    return found


def _message(body: Mapping[str, Any], prefix: str, now: datetime) -> NewMessage:
    sent_at = body.get("sent_at")
    return NewMessage(
        sender=_choice(body, "sender", SENDERS, prefix=prefix),
        text=_text(body, "text", MAX_TEXT, prefix=prefix),
        sent_at=now if sent_at is None else _timestamp(sent_at, prefix + "sent_at"),
    )


def _timestamp(value: Any, name: str) -> datetime:
    """ISO-8601 with an offset, or Unix seconds (what Rasa events carry)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise InvalidUsage(f"{name} is not a valid Unix timestamp") from None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None and parsed.utcoffset() is not None:
            return parsed.astimezone(timezone.utc)
    raise InvalidUsage(
        f"{name} must be an ISO-8601 time with offset (e.g. 2024-05-01T09:30:00+03:00) "
        "or Unix seconds"
    )


def _text(
    body: Mapping[str, Any],
    name: str,
    max_length: int,
    required: bool = True,
    prefix: str = "",
    numbers: bool = False,
) -> str | None:
    value = body.get(name)
    if numbers and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidUsage(f"{prefix}{name} is required")
        return None
    if not isinstance(value, str):
        raise InvalidUsage(f"{prefix}{name} must be a string")
    value = value.strip()
    if len(value) > max_length:
        raise InvalidUsage(f"{prefix}{name} is longer than {max_length} characters")
    return value


def _choice(
    body: Mapping[str, Any],
    name: str,
    choices: Sequence[str],
    default: str | None = None,
    prefix: str = "",
) -> str:
    value = body.get(name)
    if value is None and default is not None:
        return default
    if value not in choices:
        shown = "missing" if value is None else _clip(repr(value))
        raise InvalidUsage(f"{prefix}{name} must be one of {', '.join(choices)} (got {shown})")
    return value


def _first(args: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = args.get(name)
    return values[0] if values else None


def _clip(shown: str, length: int = 60) -> str:
    """Enough of a client's value to recognise it in an error message."""
    return shown if len(shown) <= length else shown[:length] + "…"


def _json_type(value: Any) -> str:
    """How a client would name the JSON value it sent (for the 400's message)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _reject_unknown(body: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidUsage(
            f"unknown field(s): {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )
