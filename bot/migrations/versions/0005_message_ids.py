"""tickets: the sender's own id of a customer message, so a retried POST adds it once

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ticket_messages") as batch:
        # The widget's message id of a customer message forwarded during a handoff.
        batch.add_column(sa.Column("client_message_id", sa.String(100), nullable=True))
        batch.create_unique_constraint(
            "uq_ticket_messages_client_id", ["ticket_id", "client_message_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("ticket_messages") as batch:
        batch.drop_constraint("uq_ticket_messages_client_id", type_="unique")
        batch.drop_column("client_message_id")
