"""console: who claimed a ticket and when, who wrote a message and how it reached the customer

Revision ID: 0003
Revises: 0002
Create Date: 2024-11-30

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        # The first claim: claimed_at - created_at is the handling time behind the
        # wait estimate (bot/tickets/queue.py).
        batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        # The assignee's first name, as the customer and the queue see it.
        batch.add_column(sa.Column("assignee_name", sa.String(100), nullable=True))
    with op.batch_alter_table("ticket_messages") as batch:
        # The agent's first name on agent messages.
        batch.add_column(sa.Column("author", sa.String(100), nullable=True))
        # How an agent reply reached the customer: chat, chat_later, email,
        # email_failed, call, not_sent.
        batch.add_column(sa.Column("delivery", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ticket_messages") as batch:
        batch.drop_column("delivery")
        batch.drop_column("author")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("assignee_name")
        batch.drop_column("claimed_at")
