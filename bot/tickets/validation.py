"""Turn request bodies into store inputs, or a 400 that names the bad field.

Clients are programs (the action server, the agent console); a precise message
("transcript[2].sender must be one of ...") saves a debugging session.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from sanic.exceptions import InvalidUsage
from sanic.request import Request

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

MAX_TEXT = 5000
MAX_CLIENT_MESSAGE_ID = 100
MAX_TRANSCRIPT = 1000
MAX_LIST_LIMIT = 200

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
    """The body as a JSON object; anything else is the client's mistake (400)."""
    if not request.body:
        raise InvalidUsage("request body must be a JSON object")
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidUsage(f"malformed JSON: {error}") from None
    if not isinstance(body, dict):
        raise InvalidUsage("request body must be a JSON object")
    return body


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
            raise InvalidUsage(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    conversation = args.get("conversation_id")
    return {
        "statuses": [s.strip() for s in statuses],
        "conversation_id": conversation[0] if conversation else None,
        "limit": _count(args, "limit", 50, 1, MAX_LIST_LIMIT),
        "offset": _count(args, "offset", 0, 0, None),
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
        shown = "missing" if value is None else repr(value)
        raise InvalidUsage(f"{prefix}{name} must be one of {', '.join(choices)} (got {shown})")
    return value


def _count(
    args: Mapping[str, Sequence[str]], name: str, default: int, low: int, high: int | None
) -> int:
    raw = args.get(name)
    if not raw:
        return default
    try:
        value = int(raw[0])
    except ValueError:
        raise InvalidUsage(f"{name} must be a whole number") from None
    if value < low:
        raise InvalidUsage(f"{name} must be at least {low}")
    if high is not None and value > high:
        raise InvalidUsage(f"{name} must be at most {high}")
    return value


def _reject_unknown(body: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidUsage(
            f"unknown field(s): {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )
