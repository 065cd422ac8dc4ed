"""Staff accounts and their sign-in sessions: the User type and the two tables.

The tables join the helpdesk's shared `bot.db.metadata`; the schema itself is made
by the Alembic migration `0002_accounts`.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from bot.db import UTCDateTime, metadata

AGENT = "agent"
ADMIN = "admin"
# In rising order of rights: an admin may do everything an agent may.
ROLES = (AGENT, ADMIN)


@dataclass(frozen=True)
class User:
    """A signed-in member of staff, as handlers see it (`request.ctx.user`)."""

    id: int
    username: str
    first_name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN


def role_allows(role: str, required: str) -> bool:
    """True if someone with `role` may open a page that needs `required`."""
    if role not in ROLES or required not in ROLES:
        return False
    return ROLES.index(role) >= ROLES.index(required)


users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("first_name", sa.String(100), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("failed_attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("locked_until", UTCDateTime),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_seen_at", UTCDateTime),
)

# One row per signed-in browser. Only a SHA-256 of the cookie's token is kept, so
# a copy of the database cannot be used to sign in.
web_sessions = sa.Table(
    "web_sessions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_seen_at", UTCDateTime, nullable=False),
)
