"""The ticket store: every handed-off conversation, its transcript and notes.

Plain functions over an Engine, each one transaction, so the API and the agent
console share one set of rules: numbering, idempotent creation, claiming, the
resolved/reopen rules and the queue position (`bot.tickets.queue`). Callers
publish each change to `bot.tickets.live` for the console's live views.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from bot.db import ticket_messages, ticket_notes, tickets
from bot.tickets.queue import ahead_of_row

STATUSES = ("open", "assigned", "waiting_customer", "resolved")
REASONS = (
    "customer_request",
    "dispute",
    "fallback",
    "policy",
    "form_failure",
    "financial_difficulty",
)
LANGUAGES = ("fi", "en")
CONTACT_METHODS = ("chat", "email", "phone")
PRIORITIES = ("normal", "high")
SENDERS = ("customer", "bot", "agent", "system")
# How an agent's reply reached the customer (ticket_messages.delivery).
DELIVERIES = ("chat", "chat_later", "email", "email_failed", "call", "not_sent")
# The queue of the console: everything not yet resolved.
ACTIVE_STATUSES = ("open", "assigned", "waiting_customer")


class Conflict(Exception):
    """The change does not fit the ticket's state; the message says why (HTTP 409)."""


@dataclass(frozen=True)
class NewMessage:
    sender: str
    text: str
    sent_at: datetime
    author: str | None = None
    delivery: str | None = None
    # The sender's id for this message (the widget's message id): sent twice, kept once.
    client_message_id: str | None = None


class AddedMessage(NamedTuple):
    """The ticket after `append_message`, the message's row id, and whether it was there."""

    ticket: Ticket
    message_id: int
    duplicate: bool


@dataclass(frozen=True)
class NewTicket:
    request_id: str
    conversation_id: str
    reason: str
    topic: str
    language: str
    contact_method: str
    invoice_number: str | None = None
    contact_address: str | None = None
    priority: str = "normal"
    transcript: Sequence[NewMessage] = ()


@dataclass(frozen=True)
class Message:
    sender: str
    text: str
    sent_at: datetime
    id: int | None = None
    author: str | None = None
    delivery: str | None = None


@dataclass(frozen=True)
class Note:
    author: str
    text: str
    created_at: datetime


@dataclass(frozen=True)
class Ticket:
    id: int
    number: str
    request_id: str
    conversation_id: str
    status: str
    reason: str
    topic: str
    language: str
    invoice_number: str | None
    contact_method: str
    contact_address: str | None
    priority: str
    assignee: str | None
    created_at: datetime
    updated_at: datetime
    due_at: datetime
    resolved_at: datetime | None
    rating: int | None
    queue_position: int | None
    claimed_at: datetime | None = None
    assignee_name: str | None = None
    transcript: list[Message] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)


def ticket_number(ticket_id: int) -> str:
    """Short, speakable numbers (`T-00042`) derived from the row id, so never reused."""
    return f"T-{ticket_id:05d}"


def create_ticket(
    engine: Engine, new: NewTicket, now: datetime, due_at: datetime
) -> tuple[Ticket, bool]:
    """Create the ticket, or return the one already made for `new.request_id`.

    Returns (ticket, created). A retried request (the client's outbox delivers
    at least once) therefore never makes a second ticket.
    """
    existing = _find_by_request_id(engine, new.request_id)
    if existing is not None:
        return existing, False
    try:
        with engine.begin() as conn:
            ticket_id = conn.execute(
                tickets.insert().values(
                    request_id=new.request_id,
                    conversation_id=new.conversation_id,
                    status="open",
                    reason=new.reason,
                    topic=new.topic,
                    language=new.language,
                    invoice_number=new.invoice_number,
                    contact_method=new.contact_method,
                    contact_address=new.contact_address,
                    priority=new.priority,
                    created_at=now,
                    updated_at=now,
                    due_at=due_at,
                )
            ).inserted_primary_key[0]
            conn.execute(
                tickets.update()
                .where(tickets.c.id == ticket_id)
                .values(number=ticket_number(ticket_id))
            )
            if new.transcript:
                conn.execute(
                    ticket_messages.insert(),
                    [
                        {
                            "ticket_id": ticket_id,
                            "sender": m.sender,
                            "text": m.text,
                            "sent_at": m.sent_at,
                            "author": m.author,
                            "delivery": m.delivery,
                        }
                        for m in new.transcript
                    ],
                )
    except IntegrityError:
        # A concurrent request with the same request_id won the race.
        existing = _find_by_request_id(engine, new.request_id)
        if existing is None:
            raise
        return existing, False
    return _one(engine, tickets.c.id == ticket_id), True


def get_ticket(engine: Engine, number: str) -> Ticket | None:
    return _one(engine, tickets.c.number == number)


def list_tickets(
    engine: Engine,
    statuses: Iterable[str] = (),
    conversation_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Ticket]:
    """Tickets most urgent first (earliest due)."""
    conditions = []
    statuses = tuple(statuses)
    if statuses:
        conditions.append(tickets.c.status.in_(statuses))
    if conversation_id is not None:
        conditions.append(tickets.c.conversation_id == conversation_id)
    with engine.connect() as conn:
        return _load(conn, sa.and_(sa.true(), *conditions), limit=limit, offset=offset)


def update_ticket(
    engine: Engine, number: str, changes: Mapping[str, Any], now: datetime
) -> Ticket | None:
    """Apply status/assignee/priority/rating changes; None if no such ticket.

    Resolving stamps resolved_at; moving to any other status clears it.
    """
    values = dict(changes)
    with engine.begin() as conn:
        row = conn.execute(
            sa.select(tickets.c.id, tickets.c.status).where(tickets.c.number == number)
        ).first()
        if row is None:
            return None
        if "status" in values:
            if values["status"] == "resolved":
                if row.status != "resolved":
                    values["resolved_at"] = now
            else:
                values["resolved_at"] = None
        values["updated_at"] = now
        conn.execute(tickets.update().where(tickets.c.id == row.id).values(**values))
    return get_ticket(engine, number)


def add_message(engine: Engine, number: str, message: NewMessage) -> Ticket | None:
    """Append to the transcript; a customer writing again brings the ticket back.

    resolved -> open (back in the queue); waiting_customer -> assigned (the agent
    has their answer), or open when nobody is assigned.
    """
    added = append_message(engine, number, message)
    return None if added is None else added[0]


def append_message(engine: Engine, number: str, message: NewMessage) -> AddedMessage | None:
    """`add_message` that also says the message's id and whether it was a repeat.

    A message whose `client_message_id` the ticket already has is not added again:
    the sender's first request got through even if its answer was lost.
    """
    try:
        return _append_message(engine, number, message)
    except sa.exc.IntegrityError:
        if message.client_message_id is None:
            raise
        # The same message arrived twice at once and the other request won.
        return _append_message(engine, number, message)


def _append_message(engine: Engine, number: str, message: NewMessage) -> AddedMessage | None:
    with engine.begin() as conn:
        row = conn.execute(
            sa.select(tickets.c.id, tickets.c.status, tickets.c.assignee).where(
                tickets.c.number == number
            )
        ).first()
        if row is None:
            return None
        existing = None
        if message.client_message_id is not None:
            existing = conn.execute(
                sa.select(ticket_messages.c.id).where(
                    ticket_messages.c.ticket_id == row.id,
                    ticket_messages.c.client_message_id == message.client_message_id,
                )
            ).scalar()
        if existing is None:
            message_id = conn.execute(
                ticket_messages.insert().values(
                    ticket_id=row.id,
                    sender=message.sender,
                    text=message.text,
                    sent_at=message.sent_at,
                    author=message.author,
                    delivery=message.delivery,
                    client_message_id=message.client_message_id,
                )
            ).inserted_primary_key[0]
            values: dict[str, Any] = {"updated_at": message.sent_at}
            if message.sender == "customer" and row.status == "resolved":
                values.update(status="open", resolved_at=None)
            elif message.sender == "customer" and row.status == "waiting_customer":
                values["status"] = "assigned" if row.assignee else "open"
            conn.execute(tickets.update().where(tickets.c.id == row.id).values(**values))
    ticket = get_ticket(engine, number)
    assert ticket is not None
    if existing is not None:
        return AddedMessage(ticket, existing, duplicate=True)
    return AddedMessage(ticket, message_id, duplicate=False)


def set_delivery(engine: Engine, message_id: int, delivery: str) -> None:
    """Record how an agent's reply reached the customer (one of DELIVERIES)."""
    if delivery not in DELIVERIES:
        raise ValueError(f"delivery must be one of {DELIVERIES}, not {delivery!r}")
    with engine.begin() as conn:
        conn.execute(
            ticket_messages.update()
            .where(ticket_messages.c.id == message_id)
            .values(delivery=delivery)
        )


def claim_ticket(
    engine: Engine,
    number: str,
    username: str,
    first_name: str,
    now: datetime,
    take_over: bool = False,
) -> Ticket | None:
    """Make `username` the assignee (status assigned); None if no such ticket.

    Raises Conflict for a resolved ticket (reopen it first) and, unless
    `take_over`, for one another agent holds: the check and the change are one
    UPDATE, so two agents clicking at once cannot both win. The first claim is
    stamped (claimed_at), for the handling times behind the wait estimate.
    """
    with engine.begin() as conn:
        row = conn.execute(
            sa.select(tickets.c.id, tickets.c.status, tickets.c.assignee).where(
                tickets.c.number == number
            )
        ).first()
        if row is None:
            return None
        if row.status == "resolved":
            raise Conflict(f"{number} is resolved; reopen it first")
        condition = tickets.c.id == row.id
        if not take_over:
            condition = sa.and_(
                condition, sa.or_(tickets.c.assignee.is_(None), tickets.c.assignee == username)
            )
        changed = conn.execute(
            tickets.update()
            .where(condition)
            .values(
                status="assigned",
                assignee=username,
                assignee_name=first_name,
                claimed_at=sa.func.coalesce(tickets.c.claimed_at, now),
                updated_at=now,
            )
        ).rowcount
        if not changed:
            holder = conn.execute(
                sa.select(tickets.c.assignee_name, tickets.c.assignee).where(tickets.c.id == row.id)
            ).first()
            raise Conflict(f"{number} is already taken by {holder[0] or holder[1]}")
    return get_ticket(engine, number)


def set_status(
    engine: Engine, number: str, status: str, now: datetime, allowed_from: Iterable[str]
) -> Ticket | None:
    """Move to `status` if the ticket is in one of `allowed_from` (one UPDATE); else Conflict."""
    values = {
        "status": status,
        "updated_at": now,
        "resolved_at": now if status == "resolved" else None,
    }
    with engine.begin() as conn:
        changed = conn.execute(
            tickets.update()
            .where(tickets.c.number == number, tickets.c.status.in_(tuple(allowed_from)))
            .values(**values)
        ).rowcount
        if not changed:
            current = conn.execute(
                sa.select(tickets.c.status).where(tickets.c.number == number)
            ).scalar()
            if current is None:
                return None
            raise Conflict(f"{number} is {current.replace('_', ' ')}; it cannot become {status}")
    return get_ticket(engine, number)


def add_note(engine: Engine, number: str, author: str, text: str, now: datetime) -> Ticket | None:
    """Internal notes are for agents only; the customer never sees them."""
    with engine.begin() as conn:
        ticket_id = conn.execute(sa.select(tickets.c.id).where(tickets.c.number == number)).scalar()
        if ticket_id is None:
            return None
        conn.execute(
            ticket_notes.insert().values(
                ticket_id=ticket_id, author=author, text=text, created_at=now
            )
        )
        conn.execute(tickets.update().where(tickets.c.id == ticket_id).values(updated_at=now))
    return get_ticket(engine, number)


def _find_by_request_id(engine: Engine, request_id: str) -> Ticket | None:
    return _one(engine, tickets.c.request_id == request_id)


def _one(engine: Engine, condition: sa.sql.ColumnElement) -> Ticket | None:
    with engine.connect() as conn:
        found = _load(conn, condition, limit=1, offset=0)
    return found[0] if found else None


def _load(
    conn: Connection, condition: sa.sql.ColumnElement, limit: int, offset: int
) -> list[Ticket]:
    query = (
        sa.select(tickets, ahead_of_row().label("ahead"))
        .where(condition)
        .order_by(tickets.c.due_at, tickets.c.id)
        .limit(limit)
        .offset(offset)
    )
    rows = conn.execute(query).mappings().all()
    if not rows:
        return []
    ids = [row["id"] for row in rows]
    transcripts: dict[int, list[Message]] = {i: [] for i in ids}
    for m in conn.execute(
        sa.select(ticket_messages)
        .where(ticket_messages.c.ticket_id.in_(ids))
        .order_by(ticket_messages.c.sent_at, ticket_messages.c.id)
    ):
        transcripts[m.ticket_id].append(
            Message(m.sender, m.text, m.sent_at, id=m.id, author=m.author, delivery=m.delivery)
        )
    notes: dict[int, list[Note]] = {i: [] for i in ids}
    for n in conn.execute(
        sa.select(ticket_notes)
        .where(ticket_notes.c.ticket_id.in_(ids))
        .order_by(ticket_notes.c.created_at, ticket_notes.c.id)
    ):
        notes[n.ticket_id].append(Note(n.author, n.text, n.created_at))
    return [
        Ticket(
            **{key: row[key] for key in row if key != "ahead"},
            queue_position=row["ahead"] + 1 if row["status"] == "open" else None,
            transcript=transcripts[row["id"]],
            notes=notes[row["id"]],
        )
        for row in rows
    ]
