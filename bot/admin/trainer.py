"""Run one training run: `rasa train` into models/admin/, then compare with the active model.

Progress comes from Rasa's own log lines (validation, then one line per graph
component), so the bar moves as the work does. A failed run keeps its log, says
why in one line, and never touches the active model.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from ruamel.yaml import YAML
from sqlalchemy.engine import Engine

from bot.admin import registry
from bot.admin.evaluation import EvalMessage, evaluate, holdout_messages
from bot.admin.labels import list_labels
from bot.admin.project import Project
from bot.admin.runs import RUNNING, Run, finish, get_run, update_run
from bot.config import Settings
from bot.training import current_stamp, data_fingerprint, rasa_train_command
from bot.training import startup_model as default_startup

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
COMPONENT = re.compile(r"(Starting to train|Finished training|Restored) component '(\w+)'")
ERROR_LINE = re.compile(r"(Error|Exception|error:|Invalid|Failed|failed to)", re.IGNORECASE)
# Warnings Rasa prints on every run that say nothing about this one.
NOISE = re.compile(
    r"(DeprecationWarning|MovedIn20Warning|PyparsingDeprecationWarning|declare_namespace|"
    r"^\s+(import |from |Base: |\)\.|self\._parser|declare_namespace)|Implementing implicit "
    r"namespace|is not used in any story or rule)"
)
# Milestones on the way to "model saved"; components share the range between.
VALIDATING, VALIDATED, TRAINING_END, SAVED = 5, 15, 80, 85


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def graph_size(config_file: Path) -> int:
    """About how many components report progress (pipeline + policies)."""
    try:
        config = YAML(typ="safe", pure=True).load(config_file.read_text()) or {}
        return max(1, len(config.get("pipeline") or []) + len(config.get("policies") or []))
    except (OSError, ValueError, AttributeError):
        return 10


class Progress:
    """Turns Rasa's log lines into a percentage and a stage an admin understands."""

    def __init__(self, components: int) -> None:
        self.components = components
        self.done = 0
        self.percent = 0
        self.stage = "Starting"

    def feed(self, line: str) -> bool:
        """Update from one log line; True if something an admin sees changed."""
        before = (self.percent, self.stage)
        if "Started validating domain and training data" in line:
            self.percent, self.stage = VALIDATING, "Checking the training data"
        elif "No story structure conflicts" in line or "Story structure validation" in line:
            self.percent, self.stage = VALIDATED, "Training data is valid"
        elif match := COMPONENT.search(line):
            verb, component = match.groups()
            if verb == "Starting to train":
                self.stage = f"Training {component}"
            else:
                self.done += 1
                self.stage = f"{'Reused' if verb == 'Restored' else 'Trained'} {component}"
            share = min(self.done / self.components, 1.0)
            self.percent = VALIDATED + round(share * (TRAINING_END - VALIDATED))
        elif "Your Rasa model is trained and saved" in line:
            self.percent, self.stage = SAVED, "Model saved"
        return (self.percent, self.stage) != before


def error_summary(lines: list[str]) -> str:
    """The line that says why a run failed, or the last words of the log."""
    meaningful = [line.strip() for line in lines if line.strip() and not NOISE.search(line)]
    errors = [line for line in meaningful if ERROR_LINE.search(line)]
    if errors:
        return errors[-1][:500]
    return (meaningful[-1] if meaningful else "rasa train stopped without saying why")[:500]


def comparison_messages(engine: Engine, project: Project) -> list[EvalMessage]:
    """The held-out set plus every message an admin gave an intent."""
    messages = holdout_messages(project.holdout_dir)
    messages += [
        EvalMessage(label.text, label.intent, label.language, "labelled")
        for label in list_labels(engine)
        if label.intent is not None
    ]
    return messages


def startup_model(settings: Settings, project: Project) -> tuple[Path, str]:
    """The model Rasa was started with and the fingerprint it was trained from."""
    path = Path(settings.rasa_model) if settings.rasa_model else default_startup(project.root)
    pointer = project.read_active_pointer()
    if pointer and pointer[0].resolve() == path.resolve():
        return path, pointer[1]
    if path.resolve() == project.default_model.resolve():
        return path, current_stamp(project.root)
    return path, ""


def execute(
    engine: Engine,
    project: Project,
    settings: Settings,
    run_id: int,
    echo: Callable[[str], None] | None = None,
) -> Run:
    """Train and compare; the run row says how it went (also when it fails)."""
    run = get_run(engine, run_id)
    if run is None:
        raise ValueError(f"there is no training run {run_id}")
    started = now_utc()
    update_run(engine, run_id, status=RUNNING, pid=os.getpid(), started_at=started, progress=1)
    try:
        return _execute(engine, project, settings, run, started, echo)
    except Exception as error:  # the row must never stay "running"
        finish(engine, run_id, now_utc(), error=f"{type(error).__name__}: {error}"[:500])
        raise


def _execute(
    engine: Engine,
    project: Project,
    settings: Settings,
    run: Run,
    started: datetime,
    echo: Callable[[str], None] | None,
) -> Run:
    path, made_from = startup_model(settings, project)
    active = registry.ensure_started(engine, path, made_from, started)
    fingerprint = data_fingerprint(project.root)
    name = f"run-{run.id}-{started:%Y%m%d-%H%M%S}"
    model_path = project.candidates_dir / f"{name}.tar.gz"
    lines = _train(engine, project, run, name, echo)
    if not model_path.is_file():
        finish(engine, run.id, now_utc(), error=error_summary(lines), progress=0)
        return get_run(engine, run.id)  # type: ignore[return-value]
    registry.register_model(
        engine,
        model_path,
        now_utc(),
        run_id=run.id,
        note=f"training run {run.id}",
        fingerprint=fingerprint,
    )
    update_run(
        engine,
        run.id,
        model_path=model_path,
        progress=SAVED + 2,
        stage=f"Comparing with the active model ({active.name})",
    )
    if not active.exists:
        finish(
            engine,
            run.id,
            now_utc(),
            model_path=model_path,
            error=f"The model was trained, but the active model {active.name} is missing, "
            "so there is nothing to compare it with.",
        )
        return get_run(engine, run.id)  # type: ignore[return-value]
    report = evaluate(active.path, model_path, comparison_messages(engine, project))
    finish(
        engine,
        run.id,
        now_utc(),
        model_path=model_path,
        evaluation=report,
        compared_with=active.name,
    )
    return get_run(engine, run.id)  # type: ignore[return-value]


def _train(
    engine: Engine,
    project: Project,
    run: Run,
    name: str,
    echo: Callable[[str], None] | None,
) -> list[str]:
    """Run `rasa train`, logging to the run's file and moving the progress bar."""
    progress = Progress(graph_size(project.root / "config.yml"))
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    command = rasa_train_command(project.root, project.candidates_dir, name)
    project.candidates_dir.mkdir(parents=True, exist_ok=True)
    run.log_path.parent.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    with open(run.log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(
            command,
            cwd=project.root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        assert process.stdout is not None
        for raw in process.stdout:
            line = ANSI.sub("", raw)
            log.write(line)
            log.flush()
            lines.append(line)
            if echo is not None:
                echo(line.rstrip("\n"))
            if progress.feed(line):
                update_run(engine, run.id, progress=progress.percent, stage=progress.stage[:200])
        process.wait()
    return lines
