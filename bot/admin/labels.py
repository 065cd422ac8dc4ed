"""Labels: an admin's decision about a logged customer message.

A label picks the right intent (the example goes to data/nlu/from_logs.yml) or
marks the message "not a training example". The row keeps who decided and when,
and what the model had predicted, so the labels page can show what changed; every
decision and undo is also appended to a history that is never rewritten.
The text is always the masked one from the inbox, never text from a form.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.admin.masking import normalise
from bot.admin.nlu_files import add_example, known_texts, remove_example
from bot.admin.project import Project
from bot.admin.tables import nlu_label_history, nlu_labels

WRITTEN = "written"  # added to from_logs.yml
EXISTS = "exists"  # already a training example: not written twice
DISMISSED = "dismissed"  # not a training example
HISTORY_ACTIONS = ("labelled", "dismissed", "undone")


class LabelError(ValueError):
    """A label that cannot be applied; the message says why, for the admin."""


@dataclass(frozen=True)
class Message:
    """What the inbox knows about a (grouped) message: the thing being labelled."""

    key: str
    text: str
    language: str
    predicted_intent: str | None
    confidence: float | None
    count: int


@dataclass(frozen=True)
class Label:
    key: str
    text: str
    language: str
    predicted_intent: str | None
    confidence: float | None
    intent: str | None
    seen_count: int
    labelled_by: str
    labelled_at: datetime
    training_file: str

    @property
    def dismissed(self) -> bool:
        return self.intent is None

    @property
    def changed(self) -> bool:
        """The admin's intent differs from what the model predicted."""
        return self.intent is not None and self.intent != self.predicted_intent


@dataclass(frozen=True)
class LabelEvent:
    """One line of the history: who labelled, dismissed or took back which message."""

    key: str
    text: str
    action: str  # one of HISTORY_ACTIONS
    intent: str | None
    done_by: str
    done_at: datetime


def label_history(engine: Engine, limit: int = 200) -> list[LabelEvent]:
    """The newest `limit` decisions and undos, newest first."""
    query = (
        sa.select(nlu_label_history)
        .order_by(nlu_label_history.c.done_at.desc(), nlu_label_history.c.id.desc())
        .limit(limit)
    )
    with engine.connect() as connection:
        return [
            LabelEvent(row.key, row.text, row.action, row.intent, row.done_by, row.done_at)
            for row in connection.execute(query)
        ]


def _record(connection: sa.engine.Connection, event: LabelEvent) -> None:
    connection.execute(
        sa.insert(nlu_label_history).values(
            key=event.key,
            text=event.text,
            action=event.action,
            intent=event.intent,
            done_by=event.done_by,
            done_at=event.done_at,
        )
    )


def _label(row: sa.engine.Row) -> Label:
    return Label(
        key=row.key,
        text=row.text,
        language=row.language,
        predicted_intent=row.predicted_intent,
        confidence=row.confidence,
        intent=row.intent,
        seen_count=row.seen_count,
        labelled_by=row.labelled_by,
        labelled_at=row.labelled_at,
        training_file=row.training_file,
    )


def list_labels(engine: Engine) -> list[Label]:
    """Every label, newest first."""
    query = sa.select(nlu_labels).order_by(nlu_labels.c.labelled_at.desc(), nlu_labels.c.id.desc())
    with engine.connect() as connection:
        return [_label(row) for row in connection.execute(query)]


def labels_by_key(engine: Engine) -> dict[str, Label]:
    return {label.key: label for label in list_labels(engine)}


def apply_label(
    engine: Engine,
    project: Project,
    messages: Sequence[Message],
    intent: str | None,
    *,
    allowed_intents: Sequence[str],
    labelled_by: str,
    now: datetime,
) -> list[Label]:
    """Label `messages` with `intent` (None: not a training example); returns the labels."""
    if intent is not None and intent not in allowed_intents:
        raise LabelError(f"{intent!r} is not an intent of this assistant; pick one from the list.")
    if not messages:
        raise LabelError("Select at least one message to label.")
    existing = labels_by_key(engine)
    for message in messages:
        previous = existing.get(message.key)
        if previous is not None and previous.training_file == WRITTEN:
            remove_example(project.from_logs_file, previous.text)
    # Compared after the removals, so relabelling moves an example instead of
    # finding it "already there".
    in_training = known_texts(project.nlu_dir) if intent is not None else {}
    results = []
    for message in messages:
        if intent is None:
            where = DISMISSED
        elif normalise(message.text) in in_training:
            where = EXISTS
        else:
            add_example(
                project.from_logs_file,
                intent,
                message.text,
                language=message.language,
                labelled_by=labelled_by,
                labelled_at=now,
            )
            where = WRITTEN
        results.append(
            Label(
                key=message.key,
                text=message.text,
                language=message.language,
                predicted_intent=message.predicted_intent,
                confidence=message.confidence,
                intent=intent,
                seen_count=message.count,
                labelled_by=labelled_by,
                labelled_at=now,
                training_file=where,
            )
        )
    _store(engine, results)
    return results


def _store(engine: Engine, labels: Sequence[Label]) -> None:
    with engine.begin() as connection:
        for label in labels:
            values = {
                "text": label.text,
                "language": label.language,
                "predicted_intent": label.predicted_intent,
                "confidence": label.confidence,
                "intent": label.intent,
                "seen_count": label.seen_count,
                "labelled_by": label.labelled_by,
                "labelled_at": label.labelled_at,
                "training_file": label.training_file,
            }
            updated = connection.execute(
                sa.update(nlu_labels).where(nlu_labels.c.key == label.key).values(**values)
            )
            if updated.rowcount == 0:
                connection.execute(sa.insert(nlu_labels).values(key=label.key, **values))
            action = "dismissed" if label.dismissed else "labelled"
            event = LabelEvent(
                label.key, label.text, action, label.intent, label.labelled_by, label.labelled_at
            )
            _record(connection, event)


def remove_label(
    engine: Engine, project: Project, key: str, *, removed_by: str, now: datetime
) -> bool:
    """Undo a label: the message goes back to the inbox, its example out of data/."""
    with engine.begin() as connection:
        row = connection.execute(sa.select(nlu_labels).where(nlu_labels.c.key == key)).first()
        if row is None:
            return False
        if row.training_file == WRITTEN:
            remove_example(project.from_logs_file, row.text)
        connection.execute(sa.delete(nlu_labels).where(nlu_labels.c.key == key))
        _record(connection, LabelEvent(key, row.text, "undone", row.intent, removed_by, now))
    return True
