"""Database engine and the helpdesk tables (SQLAlchemy Core).

SQLite by default (one file under var/), any SQLAlchemy URL in production
(e.g. postgresql+psycopg2://...). The tables here are the model the code uses;
the schema itself is created and changed only by the Alembic migrations.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as UTC and always returns them aware.

    SQLite keeps no offset, so without this a stored time would come back naive.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("refusing to store a naive datetime")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


metadata = sa.MetaData()

tickets = sa.Table(
    "tickets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("number", sa.String(20), unique=True),
    sa.Column("request_id", sa.String(64), nullable=False, unique=True),
    sa.Column("conversation_id", sa.String(255), nullable=False, index=True),
    sa.Column("status", sa.String(32), nullable=False, index=True),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("topic", sa.String(100), nullable=False),
    sa.Column("language", sa.String(5), nullable=False),
    sa.Column("invoice_number", sa.String(64)),
    sa.Column("contact_method", sa.String(16), nullable=False),
    sa.Column("contact_address", sa.String(255)),
    sa.Column("priority", sa.String(16), nullable=False),
    sa.Column("assignee", sa.String(100)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("due_at", UTCDateTime, nullable=False, index=True),
    sa.Column("resolved_at", UTCDateTime),
    sa.Column("rating", sa.Integer),
    sa.Column("claimed_at", UTCDateTime),
    sa.Column("assignee_name", sa.String(100)),
)

ticket_messages = sa.Table(
    "ticket_messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), nullable=False, index=True),
    sa.Column("sender", sa.String(16), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("sent_at", UTCDateTime, nullable=False),
    sa.Column("author", sa.String(100)),
    sa.Column("delivery", sa.String(16)),
    # The sender's own id of the message: a retried POST adds it once.
    sa.Column("client_message_id", sa.String(100)),
    sa.UniqueConstraint("ticket_id", "client_message_id", name="uq_ticket_messages_client_id"),
)

ticket_notes = sa.Table(
    "ticket_notes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), nullable=False, index=True),
    sa.Column("author", sa.String(100), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("request_id", sa.String(64), unique=True),
    sa.Column("conversation_id", sa.String(255), nullable=False, index=True),
    sa.Column("language", sa.String(5), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)


def create_engine(url: str) -> Engine:
    """An engine for `url`; for SQLite files the folder is created first."""
    parsed = make_url(url)
    options: dict = {"future": True}
    if parsed.get_backend_name() == "sqlite":
        options["connect_args"] = {"check_same_thread": False}
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    else:
        options["pool_pre_ping"] = True
    return sa.create_engine(parsed, **options)
