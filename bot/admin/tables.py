"""The admin loop's tables: labels, training runs, models and activations.

They join the helpdesk's shared `bot.db.metadata`; the schema itself is made by
the Alembic migrations `0004_admin` and `0006_label_history`.
"""

from __future__ import annotations

import sqlalchemy as sa

from bot.db import UTCDateTime, metadata

# One row per distinct (normalised, masked) customer message an admin has decided
# on: a label (`intent`) or "not a training example" (`intent` is NULL).
nlu_labels = sa.Table(
    "nlu_labels",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(32), nullable=False, unique=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("language", sa.String(5), nullable=False),
    sa.Column("predicted_intent", sa.String(100)),
    sa.Column("confidence", sa.Float),
    sa.Column("intent", sa.String(100)),
    sa.Column("seen_count", sa.Integer, nullable=False, server_default="1"),
    sa.Column("labelled_by", sa.String(64), nullable=False),
    sa.Column("labelled_at", UTCDateTime, nullable=False),
    # Where the example went: "written" (data/nlu/from_logs.yml), "exists" (already
    # a training example, not written twice) or "dismissed".
    sa.Column("training_file", sa.String(16), nullable=False),
)

# Every decision and every undo, never changed afterwards: who did what to which
# message and when (nlu_labels keeps only the latest decision per message).
nlu_label_history = sa.Table(
    "nlu_label_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(32), nullable=False, index=True),
    sa.Column("text", sa.Text, nullable=False),
    # "labelled", "dismissed" (not a training example) or "undone".
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("intent", sa.String(100)),
    sa.Column("done_by", sa.String(64), nullable=False),
    sa.Column("done_at", UTCDateTime, nullable=False),
)

# One row per training run, whoever started it (admin page or CLI).
training_runs = sa.Table(
    "training_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    # 1 while queued or running, NULL after: the unique constraint lets only one
    # run be under way, whichever process (page or CLI) asks.
    sa.Column("active_slot", sa.Integer, unique=True),
    sa.Column("started_by", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("started_at", UTCDateTime),
    sa.Column("finished_at", UTCDateTime),
    sa.Column("progress", sa.Integer, nullable=False, server_default="0"),
    sa.Column("stage", sa.String(200), nullable=False, server_default=""),
    sa.Column("pid", sa.Integer),
    sa.Column("log_path", sa.String(500), nullable=False),
    sa.Column("model_path", sa.String(500)),
    sa.Column("error", sa.Text),
    # The comparison with the active model (JSON, bot.admin.evaluation).
    sa.Column("evaluation", sa.Text),
    sa.Column("compared_with", sa.String(500)),
)

# Every model the admin area knows: the one Rasa started with and each candidate.
nlu_models = sa.Table(
    "nlu_models",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("path", sa.String(500), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("training_runs.id")),
    sa.Column("note", sa.String(200), nullable=False, server_default=""),
    # bot.training.fingerprint of the training inputs the model was made from.
    sa.Column("fingerprint", sa.String(64), nullable=False, server_default=""),
)

# The activation history, newest last: the active model is the newest row's.
model_activations = sa.Table(
    "model_activations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("model_id", sa.Integer, sa.ForeignKey("nlu_models.id"), nullable=False),
    sa.Column("activated_by", sa.String(64), nullable=False),
    sa.Column("activated_at", UTCDateTime, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # activate | rollback | startup
)
