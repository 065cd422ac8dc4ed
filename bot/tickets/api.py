"""HTTP API of the tickets: the action server creates them, agents work them."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sanic import Blueprint
from sanic.exceptions import NotFound
from sanic.request import Request
from sanic.response import HTTPResponse, json

from bot.auth import require_token
from bot.service_hours import due_time
from bot.tickets import store, validation


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
        return json(ticket_json(ticket), status=201 if created else 200)

    @blueprint.get("")
    @require_token
    async def listing(request: Request) -> HTTPResponse:
        query = validation.listing(dict(request.args))
        found = store.list_tickets(request.app.ctx.engine, **query)
        return json({"tickets": [ticket_json(t) for t in found]})

    @blueprint.get("/<number>")
    @require_token
    async def show(request: Request, number: str) -> HTTPResponse:
        return json(ticket_json(_found(store.get_ticket(request.app.ctx.engine, number), number)))

    @blueprint.patch("/<number>")
    @require_token
    async def update(request: Request, number: str) -> HTTPResponse:
        changes = validation.changes(validation.json_object(request))
        ticket = store.update_ticket(request.app.ctx.engine, number, changes, _now())
        return json(ticket_json(_found(ticket, number)))

    @blueprint.post("/<number>/messages")
    @require_token
    async def add_message(request: Request, number: str) -> HTTPResponse:
        message = validation.message(validation.json_object(request), _now())
        ticket = store.add_message(request.app.ctx.engine, number, message)
        return json(ticket_json(_found(ticket, number)), status=201)

    @blueprint.post("/<number>/notes")
    @require_token
    async def add_note(request: Request, number: str) -> HTTPResponse:
        author, text = validation.note(validation.json_object(request))
        ticket = store.add_note(request.app.ctx.engine, number, author, text, _now())
        return json(ticket_json(_found(ticket, number)), status=201)

    return blueprint


def ticket_json(ticket: store.Ticket) -> dict[str, Any]:
    """The public shape of a ticket (no internal id or request_id)."""
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
        "queue_position": ticket.queue_position,
        "transcript": [
            {"sender": m.sender, "text": m.text, "sent_at": iso(m.sent_at)}
            for m in ticket.transcript
        ],
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
        raise NotFound(f"no ticket {number}")
    return ticket


def _now() -> datetime:
    return datetime.now(timezone.utc)
