"""Upgrading a helpdesk database that already holds tickets keeps every row.

A deployment upgrades in place: the tickets and transcripts written before a new
revision must read back the same after it. Tested on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from bot.db import create_engine
from bot.migrations import upgrade
from bot.tickets import store
from bot.tickets.store import NewMessage

CREATED = datetime(2026, 11, 2, 8, 0, tzinfo=timezone.utc)


def write_ticket_before_message_ids(url: str) -> None:
    """A ticket and its transcript as revision 0004 stored them (raw rows, that schema)."""
    engine = sa.create_engine(url)
    tables = sa.MetaData()
    tables.reflect(engine, only=["tickets", "ticket_messages"])
    tickets, messages = tables.tables["tickets"], tables.tables["ticket_messages"]
    assert "client_message_id" not in messages.c
    with engine.begin() as conn:
        ticket_id = conn.execute(
            tickets.insert().values(
                number="T-00001",
                request_id="r-1",
                conversation_id="c-1",
                status="open",
                reason="dispute",
                topic="dispute_invoice",
                language="fi",
                contact_method="chat",
                priority="normal",
                created_at=CREATED,
                updated_at=CREATED,
                due_at=CREATED + timedelta(hours=4),
            )
        ).inserted_primary_key[0]
        conn.execute(
            messages.insert(),
            [
                {
                    "ticket_id": ticket_id,
                    "sender": "customer",
                    "text": "Lasku on väärin",
                    "sent_at": CREATED,
                },
                {
                    "ticket_id": ticket_id,
                    "sender": "bot",
                    "text": "Tuon asian eteenpäin.",
                    "sent_at": CREATED + timedelta(seconds=5),
                },
            ],
        )
    engine.dispose()


def test_upgrade_keeps_old_tickets_and_adds_message_ids(database_url: str) -> None:
    upgrade(database_url, "0004")
    write_ticket_before_message_ids(database_url)

    upgrade(database_url)

    engine = create_engine(database_url)
    ticket = store.get_ticket(engine, "T-00001")
    assert ticket is not None
    assert [(m.sender, m.text) for m in ticket.transcript] == [
        ("customer", "Lasku on väärin"),
        ("bot", "Tuon asian eteenpäin."),
    ]
    retried = NewMessage("customer", "Vielä yksi asia", CREATED, client_message_id="m-7")
    first = store.append_message(engine, "T-00001", retried)
    again = store.append_message(engine, "T-00001", retried)
    assert first is not None and again is not None
    assert (first.duplicate, again.duplicate) == (False, True)
    assert again.message_id == first.message_id
    assert len(again.ticket.transcript) == 3
    engine.dispose()
