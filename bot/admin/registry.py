"""Models the admin area knows, which one is active, and the way back.

The activation history is the record: the newest row names the active model and
rollback activates the one before it. The first time the admin area looks, the
model Rasa was started with is recorded as the starting point.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.admin.project import Project
from bot.admin.rasa_models import RasaModelApi
from bot.admin.tables import model_activations, nlu_models

STARTUP = "startup"
ACTIVATE = "activate"
ROLLBACK = "rollback"


class RegistryError(RuntimeError):
    """An activation or rollback that cannot be done; the message says why."""


@dataclass(frozen=True)
class Model:
    id: int
    path: Path
    created_at: datetime
    run_id: int | None
    note: str
    fingerprint: str
    active: bool = False
    last_activated_at: datetime | None = None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def exists(self) -> bool:
        return self.path.is_file()


@dataclass(frozen=True)
class Activation:
    model_id: int
    model_name: str
    activated_by: str
    activated_at: datetime
    kind: str


def register_model(
    engine: Engine,
    path: Path,
    now: datetime,
    *,
    run_id: int | None = None,
    note: str = "",
    fingerprint: str = "",
) -> int:
    """The model's id, recording it the first time it is seen."""
    path = path.resolve()
    with engine.begin() as connection:
        found = connection.execute(
            sa.select(nlu_models.c.id).where(nlu_models.c.path == str(path))
        ).scalar()
        if found is not None:
            return found
        return connection.execute(
            sa.insert(nlu_models).values(
                path=str(path), created_at=now, run_id=run_id, note=note, fingerprint=fingerprint
            )
        ).inserted_primary_key[0]


def activations(engine: Engine) -> list[Activation]:
    """The history, newest first."""
    query = (
        sa.select(model_activations, nlu_models.c.path)
        .join(nlu_models, nlu_models.c.id == model_activations.c.model_id)
        .order_by(model_activations.c.id.desc())
    )
    with engine.connect() as connection:
        return [
            Activation(
                row.model_id, Path(row.path).name, row.activated_by, row.activated_at, row.kind
            )
            for row in connection.execute(query)
        ]


def list_models(engine: Engine) -> list[Model]:
    """Every known model, newest first, the active one marked."""
    history = activations(engine)
    active_id = history[0].model_id if history else None
    last_activated: dict[int, datetime] = {}
    for activation in reversed(history):
        last_activated[activation.model_id] = activation.activated_at
    with engine.connect() as connection:
        rows = connection.execute(sa.select(nlu_models).order_by(nlu_models.c.id.desc())).all()
    return [
        Model(
            id=row.id,
            path=Path(row.path),
            created_at=row.created_at,
            run_id=row.run_id,
            note=row.note,
            fingerprint=row.fingerprint,
            active=row.id == active_id,
            last_activated_at=last_activated.get(row.id),
        )
        for row in rows
    ]


def get_model(engine: Engine, model_id: int) -> Model | None:
    return next((model for model in list_models(engine) if model.id == model_id), None)


def active_model(engine: Engine) -> Model | None:
    return next((model for model in list_models(engine) if model.active), None)


def _record(engine: Engine, model_id: int, user: str, now: datetime, kind: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            sa.insert(model_activations).values(
                model_id=model_id, activated_by=user, activated_at=now, kind=kind
            )
        )


def ensure_started(engine: Engine, startup: Path, fingerprint: str, now: datetime) -> Model:
    """The active model, recording the one Rasa started with if nothing is recorded yet."""
    model = active_model(engine)
    if model is not None:
        return model
    model_id = register_model(
        engine, startup, now, note="the model Rasa was started with", fingerprint=fingerprint
    )
    _record(engine, model_id, "system", now, STARTUP)
    model = active_model(engine)
    assert model is not None
    return model


def activate(
    engine: Engine,
    project: Project,
    rasa: RasaModelApi,
    model_id: int,
    user: str,
    now: datetime,
    kind: str = ACTIVATE,
) -> Model:
    """Load the model into the running Rasa server, then record it as active."""
    model = get_model(engine, model_id)
    if model is None:
        raise RegistryError(f"There is no model {model_id}.")
    if not model.exists:
        raise RegistryError(f"The file of {model.name} is gone, so it cannot be activated.")
    rasa.load(model.path)  # raises RasaModelError; nothing is recorded then
    _record(engine, model.id, user, now, kind)
    project.write_active_pointer(model.path, model.fingerprint)
    active = active_model(engine)
    assert active is not None
    return active


def rollback_target(engine: Engine) -> Model | None:
    """The model that was active before the current one (if its file still exists)."""
    history = activations(engine)
    if not history:
        return None
    current = history[0].model_id
    for activation in history[1:]:
        if activation.model_id != current:
            model = get_model(engine, activation.model_id)
            if model is not None and model.exists:
                return model
    return None


def rollback(
    engine: Engine, project: Project, rasa: RasaModelApi, user: str, now: datetime
) -> Model:
    target = rollback_target(engine)
    if target is None:
        raise RegistryError("There is no earlier model to go back to.")
    return activate(engine, project, rasa, target.id, user, now, kind=ROLLBACK)
