"""Training runs: one at a time, whoever starts it, with progress and a log file.

The row is the shared state between the process that trains (`python -m bot.admin
train`, started by the admin page or by hand) and the pages that watch it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.admin.project import Project
from bot.admin.tables import training_runs

QUEUED = "queued"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
UNDER_WAY = (QUEUED, RUNNING)
# A queued run whose process never reported in is given up after this long.
QUEUE_TIMEOUT = timedelta(minutes=2)


class RunBusy(RuntimeError):
    """Another run is under way; `run` is that run."""

    def __init__(self, run: Run) -> None:
        super().__init__(f"training run {run.id} is already {run.status}")
        self.run = run


@dataclass(frozen=True)
class Run:
    id: int
    status: str
    started_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    progress: int
    stage: str
    pid: int | None
    log_path: Path
    model_path: Path | None
    error: str | None
    evaluation: dict[str, Any] | None
    compared_with: str | None

    @property
    def under_way(self) -> bool:
        return self.status in UNDER_WAY

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "started_by": self.started_by,
            "created_at": self.created_at.isoformat(),
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "progress": self.progress,
            "stage": self.stage,
            "model": self.model_path.name if self.model_path else None,
            "error": self.error,
            "evaluated": self.evaluation is not None,
        }


def _run(row: sa.engine.Row) -> Run:
    return Run(
        id=row.id,
        status=row.status,
        started_by=row.started_by,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        progress=row.progress,
        stage=row.stage,
        pid=row.pid,
        log_path=Path(row.log_path),
        model_path=Path(row.model_path) if row.model_path else None,
        error=row.error,
        evaluation=json.loads(row.evaluation) if row.evaluation else None,
        compared_with=row.compared_with,
    )


def get_run(engine: Engine, run_id: int) -> Run | None:
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(training_runs).where(training_runs.c.id == run_id)
        ).first()
    return _run(row) if row else None


def list_runs(engine: Engine, limit: int = 20) -> list[Run]:
    query = sa.select(training_runs).order_by(training_runs.c.id.desc()).limit(limit)
    with engine.connect() as connection:
        return [_run(row) for row in connection.execute(query)]


def run_under_way(engine: Engine) -> Run | None:
    query = sa.select(training_runs).where(training_runs.c.active_slot.is_not(None))
    with engine.connect() as connection:
        row = connection.execute(query).first()
    return _run(row) if row else None


def create_run(engine: Engine, project: Project, started_by: str, now: datetime) -> Run:
    """A queued run, or RunBusy if one is under way (stale ones are given up first)."""
    give_up_stale(engine, now)
    project.runs_dir.mkdir(parents=True, exist_ok=True)
    try:
        with engine.begin() as connection:
            run_id = connection.execute(
                sa.insert(training_runs).values(
                    status=QUEUED,
                    active_slot=1,
                    started_by=started_by,
                    created_at=now,
                    stage="Waiting to start",
                    log_path="",
                )
            ).inserted_primary_key[0]
            log_path = project.runs_dir / f"run-{run_id}.log"
            connection.execute(
                sa.update(training_runs)
                .where(training_runs.c.id == run_id)
                .values(log_path=str(log_path))
            )
    except IntegrityError:
        busy = run_under_way(engine)
        if busy is None:  # finished in between: the caller may simply try again
            raise
        raise RunBusy(busy) from None
    run = get_run(engine, run_id)
    assert run is not None
    return run


def update_run(engine: Engine, run_id: int, **values: Any) -> None:
    if "evaluation" in values and values["evaluation"] is not None:
        values["evaluation"] = json.dumps(values["evaluation"])
    if "model_path" in values and values["model_path"] is not None:
        values["model_path"] = str(values["model_path"])
    if values.get("status") in (SUCCEEDED, FAILED):
        values["active_slot"] = None
    with engine.begin() as connection:
        connection.execute(
            sa.update(training_runs).where(training_runs.c.id == run_id).values(**values)
        )


def finish(
    engine: Engine, run_id: int, now: datetime, error: str | None = None, **values: Any
) -> None:
    """Succeeded, or failed with the reason an admin reads on the page."""
    update_run(
        engine,
        run_id,
        status=FAILED if error else SUCCEEDED,
        finished_at=now,
        error=error,
        progress=100 if not error else values.pop("progress", None) or 0,
        **values,
    )


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def give_up_stale(engine: Engine, now: datetime) -> None:
    """A run whose process is gone (crash, restart) must not block the next one."""
    run = run_under_way(engine)
    if run is None:
        return
    if run.status == RUNNING and not _alive(run.pid):
        finish(engine, run.id, now, error="The training process stopped unexpectedly.")
    elif run.status == QUEUED and now - run.created_at > QUEUE_TIMEOUT and not _alive(run.pid):
        finish(engine, run.id, now, error="The training process never started.")
