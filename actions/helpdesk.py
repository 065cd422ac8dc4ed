"""The actions' way to the helpdesk: plain HTTP, so any ticket system can sit behind it.

A ticket is written to the outbox before it is sent, so a helpdesk that is down,
slow or failing never loses a customer: the action tells the customer the
request is saved (HelpdeskUnavailable) and the relay delivers it later.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import aiohttp

from actions.announce import FiledLater, FiledTicketAnnouncer
from actions.config import ActionSettings
from actions.outbox import Outbox

logger = logging.getLogger(__name__)

PATHS = {"ticket": "/api/tickets", "feedback": "/api/feedback"}
# Tickets a person still works on: a customer's message goes to the newest of them.
OPEN_STATUSES = ("open", "assigned", "waiting_customer")
# Outbox kinds that change an existing ticket: PATCH /api/tickets/<number>.
TICKET_CHANGES = frozenset({"rating"})

# The helpdesk refuses longer texts and bodies over 1 MB; a ticket must never be
# refused for a long conversation, so the client trims the transcript to fit.
MAX_TEXT = 5000
MAX_TRANSCRIPT = 150

# 4xx answers that say "wrong setup on our side, not a bad request": keep the item
# pending so it is delivered once the token or URL is fixed, instead of dropping it.
RETRYABLE_CLIENT_ERRORS = frozenset({401, 403, 404, 408, 429})


class HelpdeskError(Exception):
    """Base of the errors an action may want to catch."""


class HelpdeskUnavailable(HelpdeskError):
    """Not reachable now; a ticket or feedback is safe in the outbox under request_id.

    `status` is the helpdesk's HTTP status when it answered (5xx: it failed on this
    item; 401/403/404/429: its setup), None when it could not be reached at all.
    """

    def __init__(
        self,
        request_id: str | None,
        detail: str = "",
        status: int | None = None,
        item_only: bool = False,
    ) -> None:
        super().__init__(f"helpdesk unavailable ({detail or 'no answer'})")
        self.request_id = request_id
        self.detail = detail
        self.status = status
        self.item_only = item_only

    @property
    def failed_on_this_item(self) -> bool:
        """The helpdesk is up but this request can't go now (it failed on it, or a
        message's ticket isn't there yet): the next one may well go through."""
        return self.item_only or (self.status is not None and self.status >= 500)


class HelpdeskRejected(HelpdeskError):
    """The helpdesk refused the request as invalid; retrying will not help."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class TicketCreated:
    number: str
    due_at: datetime
    queue_position: int | None
    status: str
    # Optional: a helpdesk that knows its staffing adds these; None when it doesn't.
    expected_wait_minutes: float | None = None
    agents_online: int | None = None

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> TicketCreated:
        return cls(
            number=body["number"],
            due_at=_parse_time(body["due_at"]),
            queue_position=body.get("queue_position"),
            status=body["status"],
            expected_wait_minutes=_optional_number(body.get("expected_wait_minutes"), float),
            agents_online=_optional_number(body.get("agents_online"), int),
        )


class HelpdeskClient:
    """Async client of the helpdesk API; one aiohttp session per call."""

    def __init__(
        self,
        base_url: str,
        token: str,
        outbox: Outbox,
        timeout: float = 5.0,
        on_filed_later: FiledLater | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.outbox = outbox
        self.timeout = timeout
        # Called with the payload of a ticket the outbox delivered after the customer
        # was told it was saved: they are waiting to hear its number.
        self.on_filed_later = on_filed_later

    @classmethod
    def from_settings(cls, settings: ActionSettings) -> HelpdeskClient:
        announcer = FiledTicketAnnouncer.from_settings(settings)
        return cls(
            settings.helpdesk_url,
            settings.helpdesk_api_token,
            Outbox(settings.outbox_path),
            on_filed_later=announcer.announce if announcer is not None else None,
        )

    async def create_ticket(self, ticket: dict[str, Any]) -> TicketCreated:
        """Create the ticket (older undelivered items go first).

        Raises HelpdeskUnavailable (ticket kept in the outbox) or HelpdeskRejected.
        """
        payload = fit_for_helpdesk(ticket)
        if not payload.get("request_id"):
            payload["request_id"] = uuid.uuid4().hex
        request_id = payload["request_id"]
        self.outbox.put("ticket", request_id, payload)
        async with self._session() as session:
            _, reachable = await self._flush(session, skip=request_id)
            if not reachable:
                self.outbox.record_attempt(request_id, "helpdesk unreachable during flush")
                raise HelpdeskUnavailable(request_id, "older items could not be delivered")
            body = await self._deliver(session, "ticket", request_id, payload)
        return TicketCreated.from_json(body)

    async def send_feedback(self, conversation_id: str, language: str, text: str) -> bool:
        """Deliver feedback; False if it was kept in the outbox for later delivery."""
        request_id = uuid.uuid4().hex
        payload = {
            "request_id": request_id,
            "conversation_id": conversation_id,
            "language": language,
            "text": text,
        }
        self.outbox.put("feedback", request_id, payload)
        async with self._session() as session:
            try:
                await self._deliver(session, "feedback", request_id, payload)
            except HelpdeskUnavailable:
                return False
        return True

    async def rate_ticket(self, number: str, rating: int) -> bool:
        """Record the customer's 1-5 rating on ticket `number`.

        False if the helpdesk is down: the rating waits in the outbox and the relay
        delivers it later (a PATCH, so delivering it twice does no harm).
        Raises HelpdeskRejected if the helpdesk refuses it (no such ticket, bad value).
        """
        request_id = uuid.uuid4().hex
        payload = {"ticket_number": number, "rating": rating}
        self.outbox.put("rating", request_id, payload)
        async with self._session() as session:
            try:
                await self._deliver(session, "rating", request_id, payload)
            except HelpdeskUnavailable:
                return False
        return True

    def queue_ticket_message(
        self,
        conversation_id: str,
        ticket_number: str | None,
        text: str,
        message_id: str,
        sent_at: datetime,
    ) -> None:
        """Keep a customer message for their ticket (a person has the conversation).

        Synchronous and durable: call it before telling the customer it was added.
        `deliver_ticket_messages` (or the relay) sends it; without a number it goes
        to the conversation's newest open ticket once there is one. The same
        message id is kept once, and the helpdesk adds it to the ticket once.
        """
        payload = {
            "conversation_id": conversation_id,
            "ticket_number": ticket_number,
            "sender": "customer",
            "text": _shorten(text),
            "sent_at": sent_at.isoformat(),
            "message_id": message_id,
        }
        self.outbox.put("ticket_message", f"message:{conversation_id}:{message_id}", payload)

    async def deliver_ticket_messages(self, conversation_id: str) -> int:
        """Send what waits for this conversation's ticket, in order; how many went."""
        async with self._session() as session:
            delivered, _ = await self._flush(session, conversation_id=conversation_id)
        return delivered

    async def _open_ticket_number(
        self, session: aiohttp.ClientSession, conversation_id: str
    ) -> str | None:
        """The conversation's newest ticket a person still works on, if any."""
        ticket = await self._newest_ticket(session, conversation_id, OPEN_STATUSES)
        return str(ticket["number"]) if ticket is not None else None

    async def latest_ticket_number(self, conversation_id: str) -> str | None:
        """The number of the conversation's newest ticket (e.g. one the outbox filed
        later), or None; HelpdeskUnavailable if the helpdesk can't be asked."""
        ticket = await self.latest_ticket(conversation_id)
        return ticket.number if ticket is not None else None

    async def latest_ticket(self, conversation_id: str) -> TicketCreated | None:
        """The conversation's newest ticket, or None; HelpdeskUnavailable if the
        helpdesk can't be asked."""
        async with self._session() as session:
            ticket = await self._newest_ticket(session, conversation_id)
        return TicketCreated.from_json(ticket) if ticket is not None else None

    async def _newest_ticket(
        self,
        session: aiohttp.ClientSession,
        conversation_id: str,
        statuses: tuple[str, ...] | None = None,
    ) -> dict[str, Any] | None:
        """The newest ticket of a conversation (of `statuses`) as the API lists it."""
        params = {"conversation_id": conversation_id, "limit": "100"}
        if statuses:
            params["status"] = ",".join(statuses)
        try:
            async with session.get(self.base_url + PATHS["ticket"], params=params) as response:
                if response.status != 200:
                    raise HelpdeskUnavailable(None, f"HTTP {response.status}", response.status)
                body = await response.json()
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            raise HelpdeskUnavailable(None, _describe(error)) from error
        found = [t for t in body.get("tickets") or [] if isinstance(t, dict) and t.get("number")]
        if not found:
            return None
        return max(found, key=lambda ticket: str(ticket.get("created_at") or ""))

    async def service_hours(self) -> dict[str, Any]:
        """`{timezone, open_now, next_opening, display: {fi, en}}`; HelpdeskUnavailable if down."""
        async with self._session() as session:
            try:
                async with session.get(self.base_url + "/api/service-hours") as response:
                    if response.status != 200:
                        raise HelpdeskUnavailable(None, f"HTTP {response.status}")
                    return await response.json()
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
                raise HelpdeskUnavailable(None, _describe(error)) from error

    async def flush_outbox(self) -> int:
        """Deliver what is pending and due, oldest first; returns how many were delivered."""
        if not self.outbox.pending(due_at=time.time()):
            return 0
        async with self._session() as session:
            delivered, _ = await self._flush(session)
        return delivered

    async def _flush(
        self,
        session: aiohttp.ClientSession,
        skip: str | None = None,
        conversation_id: str | None = None,
    ) -> tuple[int, bool]:
        """(delivered, reachable); stops at the first sign that the helpdesk is down.

        An item the helpdesk refuses (4xx) is parked and one it fails on (5xx) waits
        its own retry time: neither holds up the items behind it.
        """
        delivered = 0
        # A conversation whose item could not go now sends nothing after it this
        # round: its messages reach the ticket in the order the customer wrote them.
        held: set[str] = set()
        for item in self.outbox.pending(due_at=time.time()):
            conversation = str(item.payload.get("conversation_id") or "")
            if item.request_id == skip or (conversation and conversation in held):
                continue
            if conversation_id is not None and conversation != conversation_id:
                continue
            try:
                await self._deliver(session, item.kind, item.request_id, item.payload)
            except HelpdeskRejected as error:
                logger.error("outbox item %s rejected by the helpdesk: %s", item.request_id, error)
                continue
            except HelpdeskUnavailable as error:
                if error.failed_on_this_item:
                    logger.warning("outbox item %s not delivered yet: %s", item.request_id, error)
                    held.add(conversation)
                    continue
                return delivered, False
            delivered += 1
            if item.kind == "ticket" and self.on_filed_later is not None:
                await self._announce(item.payload)
        return delivered, True

    async def _announce(self, payload: dict[str, Any]) -> None:
        assert self.on_filed_later is not None
        try:
            await self.on_filed_later(payload)
        except Exception:  # the ticket is filed; telling the customer is best effort
            logger.exception("could not announce the ticket of %s", payload.get("conversation_id"))

    async def _deliver(
        self, session: aiohttp.ClientSession, kind: str, request_id: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """Send one outbox item and record the outcome in the outbox."""
        if kind == "ticket_message" and not payload.get("ticket_number"):
            number = await self._open_ticket_number(session, str(payload["conversation_id"]))
            if number is None:
                detail = "no open ticket for this conversation yet"
                self.outbox.record_attempt(request_id, detail)
                raise HelpdeskUnavailable(request_id, detail, item_only=True)
            payload = {**payload, "ticket_number": number}
        method, path, body_out = _request_for(kind, payload)
        try:
            async with session.request(method, self.base_url + path, json=body_out) as response:
                status = response.status
                if status < 300:
                    body = await response.json()
                else:
                    body = await _error_text(response)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            self.outbox.record_attempt(request_id, _describe(error))
            raise HelpdeskUnavailable(request_id, _describe(error)) from error
        if status < 300:
            self.outbox.mark_delivered(request_id)
            return body
        detail = f"HTTP {status}: {body}"
        if status >= 500 or status in RETRYABLE_CLIENT_ERRORS:
            if status in RETRYABLE_CLIENT_ERRORS:
                logger.error("helpdesk refused %s (check HELPDESK_URL/token): %s", kind, detail)
            self.outbox.record_attempt(request_id, detail, own_fault=status >= 500)
            raise HelpdeskUnavailable(request_id, detail, status)
        self.outbox.mark_rejected(request_id, detail)
        raise HelpdeskRejected(body, status)

    def _session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=aiohttp.ClientTimeout(total=self.timeout),
        )


def _request_for(kind: str, payload: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """(method, path, body) of an outbox item."""
    if kind == "ticket_message":
        number = quote(str(payload["ticket_number"]), safe="")
        body = {key: payload[key] for key in ("sender", "text", "sent_at", "message_id")}
        return "POST", f"/api/tickets/{number}/messages", body
    if kind in TICKET_CHANGES:
        changes = {key: value for key, value in payload.items() if key != "ticket_number"}
        return "PATCH", f"/api/tickets/{quote(str(payload['ticket_number']), safe='')}", changes
    return "POST", PATHS[kind], payload


def _optional_number(value: Any, kind: type) -> Any:
    """A number from the helpdesk's JSON, or None if missing or not a number."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return kind(value)


def fit_for_helpdesk(ticket: dict[str, Any]) -> dict[str, Any]:
    """A copy whose transcript the helpdesk accepts: no empty lines, long ones cut.

    Only the newest MAX_TRANSCRIPT messages are kept, after a system line saying
    how many were left out, so the agent knows the story is longer.
    """
    payload = dict(ticket)
    lines = [
        {**line, "text": _shorten(str(line["text"]))}
        for line in payload.get("transcript") or []
        if isinstance(line, dict) and str(line.get("text") or "").strip()
    ]
    if len(lines) > MAX_TRANSCRIPT:
        left_out = len(lines) - (MAX_TRANSCRIPT - 1)
        lines = lines[-(MAX_TRANSCRIPT - 1) :]
        note = {"sender": "system", "text": f"{left_out} earlier messages left out."}
        if lines[0].get("sent_at") is not None:
            note["sent_at"] = lines[0]["sent_at"]
        lines.insert(0, note)
    if "transcript" in payload:
        payload["transcript"] = lines
    return payload


def _shorten(text: str) -> str:
    marker = " […]"
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - len(marker)] + marker


async def _error_text(response: aiohttp.ClientResponse) -> str:
    """The helpdesk's `{"error": ...}` message, or the start of whatever came back."""
    text = await response.text()
    try:
        message = json.loads(text).get("error")
    except (ValueError, AttributeError):
        message = None
    return str(message) if message else text[:300]


def _describe(error: BaseException) -> str:
    if isinstance(error, asyncio.TimeoutError):
        return "timed out"
    return f"{type(error).__name__}: {error}"


def _parse_time(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"helpdesk sent a time without offset: {text!r}")
    return parsed
