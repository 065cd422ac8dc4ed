"""HTTP API of the tickets: the action server creates them, agents work them.

Every change is published to the console's live views (`bot.tickets.live`), and
every ticket carries its queue position and wait estimate (`bot.tickets.queue`).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sanic import Blueprint, Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, json

from bot.auth import require_token
from bot.service_hours import due_time
from bot.tickets import store, validation
from bot.tickets.live import LiveHub
from bot.tickets.queue import QueueSnapshot


def tickets_blueprint() -> Blueprint:
    """A new blueprint per app, so several apps can live in one process (tests)."""
    blueprint = Blueprint("tickets", url_prefix="/api/tickets")

    @blueprint.post("")
    @require_token
    async def create(request: Request) -> HTTPResponse:
        now = _now()
        new = validation.new_ticket(validation.json_object(request), now)
        settings = request.app.ctx.settings
        ticket, created = store.create_ticket(
            request.app.ctx.engine, new, now, due_time(now, settings)
        )
        if created:
            publish(request.app, "created", ticket)
        return json(ticket_json(ticket, snapshot(request.app, now)), status=201 if created else 200)

    @blueprint.get("")
    @require_token
    async def listing(request: Request) -> HTTPResponse:
        query = validation.listing(dict(request.args))
        found = store.list_tickets(request.app.ctx.engine, **query)
        queue = snapshot(request.app, _now())
        return json({"tickets": [ticket_json(t, queue) for t in found]})

    @blueprint.get("/<number>")
    @require_token
    async def show(request: Request, number: str) -> HTTPResponse:
        ticket = _found(store.get_ticket(request.app.ctx.engine, number), number)
        return json(ticket_json(ticket, snapshot(request.app, _now())))

    @blueprint.patch("/<number>")
    @require_token
    async def update(request: Request, number: str) -> HTTPResponse:
        changes = validation.changes(validation.json_object(request))
        now = _now()
        ticket = _found(store.update_ticket(request.app.ctx.engine, number, changes, now), number)
        publish(request.app, "updated", ticket)
        return json(ticket_json(ticket, snapshot(request.app, now)))

    @blueprint.post("/<number>/messages")
    @require_token
    async def add_message(request: Request, number: str) -> HTTPResponse:
        now = _now()
        message = validation.message(validation.json_object(request), now)
        added = store.append_message(request.app.ctx.engine, number, message)
        ticket = _found(None if added is None else added.ticket, number)
        if added is not None and added.duplicate:
            # A retry of a message the ticket has (its first answer was lost): 200, once.
            return json(ticket_json(ticket, snapshot(request.app, now)), status=200)
        publish(request.app, "message", ticket, message=message_json(message))
        return json(ticket_json(ticket, snapshot(request.app, now)), status=201)

    @blueprint.post("/<number>/notes")
    @require_token
    async def add_note(request: Request, number: str) -> HTTPResponse:
        author, text = validation.note(validation.json_object(request))
        now = _now()
        ticket = _found(store.add_note(request.app.ctx.engine, number, author, text, now), number)
        publish(
            request.app,
            "note",
            ticket,
            note={"author": author, "text": text, "created_at": iso(now)},
        )
        return json(ticket_json(ticket, snapshot(request.app, now)), status=201)

    return blueprint


def snapshot(app: Sanic, now: datetime) -> QueueSnapshot:
    """What the wait estimates of one answer share (median handling time, agents online)."""
    return QueueSnapshot.take(app.ctx.engine, getattr(app.ctx, "live", None), now)


def publish(app: Sanic, kind: str, ticket: store.Ticket, **extra: Any) -> None:
    """Tell the console's live views (`GET /console/events`) what changed."""
    hub: LiveHub | None = getattr(app.ctx, "live", None)
    if hub is not None:
        hub.publish(kind, ticket.number, {"ticket": summary_json(ticket), **extra})


def summary_json(ticket: store.Ticket) -> dict[str, Any]:
    """A ticket's row in the console's queue (no transcript or notes)."""
    last_customer = next((m for m in reversed(ticket.transcript) if m.sender == "customer"), None)
    return {
        "number": ticket.number,
        "status": ticket.status,
        "reason": ticket.reason,
        "topic": ticket.topic,
        "language": ticket.language,
        "priority": ticket.priority,
        "contact_method": ticket.contact_method,
        "assignee": ticket.assignee,
        "assignee_name": ticket.assignee_name,
        "created_at": iso(ticket.created_at),
        "updated_at": iso(ticket.updated_at),
        "due_at": iso(ticket.due_at),
        "resolved_at": iso(ticket.resolved_at),
        "queue_position": ticket.queue_position,
        "last_customer_message_at": iso(last_customer.sent_at) if last_customer else None,
    }


def message_json(message: store.Message | store.NewMessage) -> dict[str, Any]:
    """One transcript line; author and delivery only where they apply (agent replies)."""
    shown: dict[str, Any] = {
        "sender": message.sender,
        "text": message.text,
        "sent_at": iso(message.sent_at),
    }
    if message.author:
        shown["author"] = message.author
    if message.delivery:
        shown["delivery"] = message.delivery
    return shown


def ticket_json(ticket: store.Ticket, queue: QueueSnapshot | None = None) -> dict[str, Any]:
    """The public shape of a ticket (no internal id or request_id)."""
    queue = queue or QueueSnapshot(median_minutes=None, agents_online=0)
    return {
        "number": ticket.number,
        "status": ticket.status,
        "reason": ticket.reason,
        "topic": ticket.topic,
        "language": ticket.language,
        "invoice_number": ticket.invoice_number,
        "contact_method": ticket.contact_method,
        "contact_address": ticket.contact_address,
        "priority": ticket.priority,
        "conversation_id": ticket.conversation_id,
        "assignee": ticket.assignee,
        "created_at": iso(ticket.created_at),
        "updated_at": iso(ticket.updated_at),
        "due_at": iso(ticket.due_at),
        "resolved_at": iso(ticket.resolved_at),
        "rating": ticket.rating,
        "claimed_at": iso(ticket.claimed_at),
        "assignee_name": ticket.assignee_name,
        **queue.for_ticket(ticket),
        "transcript": [message_json(m) for m in ticket.transcript],
        "notes": [
            {"author": n.author, "text": n.text, "created_at": iso(n.created_at)}
            for n in ticket.notes
        ],
    }


def iso(moment: datetime | None) -> str | None:
    """ISO-8601 in UTC with its offset, e.g. 2024-05-02T06:00:00+00:00."""
    return None if moment is None else moment.astimezone(timezone.utc).isoformat()


def _found(ticket: store.Ticket | None, number: str) -> store.Ticket:
    if ticket is None:
        raise validation.no_ticket(number)
    return ticket


def _now() -> datetime:
    return datetime.now(timezone.utc)
