"""admin: labelled log messages, training runs, models and their activations

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "nlu_labels",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(32), nullable=False, unique=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("language", sa.String(5), nullable=False),
        sa.Column("predicted_intent", sa.String(100)),
        sa.Column("confidence", sa.Float),
        sa.Column("intent", sa.String(100)),
        sa.Column("seen_count", sa.Integer, nullable=False, server_default="1"),
        sa.Column("labelled_by", sa.String(64), nullable=False),
        _time("labelled_at"),
        sa.Column("training_file", sa.String(16), nullable=False),
    )
    op.create_table(
        "training_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        # 1 while queued or running, NULL after: the unique constraint lets only one
        # run be under way, whichever process (page or CLI) asks.
        sa.Column("active_slot", sa.Integer, unique=True),
        sa.Column("started_by", sa.String(64), nullable=False),
        _time("created_at"),
        _time("started_at", nullable=True),
        _time("finished_at", nullable=True),
        sa.Column("progress", sa.Integer, nullable=False, server_default="0"),
        sa.Column("stage", sa.String(200), nullable=False, server_default=""),
        sa.Column("pid", sa.Integer),
        sa.Column("log_path", sa.String(500), nullable=False),
        sa.Column("model_path", sa.String(500)),
        sa.Column("error", sa.Text),
        sa.Column("evaluation", sa.Text),
        sa.Column("compared_with", sa.String(500)),
    )
    op.create_index("ix_training_runs_status", "training_runs", ["status"])
    op.create_table(
        "nlu_models",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("path", sa.String(500), nullable=False, unique=True),
        _time("created_at"),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("training_runs.id")),
        sa.Column("note", sa.String(200), nullable=False, server_default=""),
        # bot.training.fingerprint of the training inputs the model was made from.
        sa.Column("fingerprint", sa.String(64), nullable=False, server_default=""),
    )
    op.create_table(
        "model_activations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("nlu_models.id"), nullable=False),
        sa.Column("activated_by", sa.String(64), nullable=False),
        _time("activated_at"),
        sa.Column("kind", sa.String(16), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("model_activations")
    op.drop_table("nlu_models")
    op.drop_index("ix_training_runs_status", "training_runs")
    op.drop_table("training_runs")
    op.drop_table("nlu_labels")
