"""Training runs: one at a time, progress from Rasa's log, failures say why."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.admin.evaluation import EvalMessage, Prediction, compare, f1_scores, metrics
from bot.admin.project import Project
from bot.admin.runs import (
    FAILED,
    QUEUED,
    RunBusy,
    create_run,
    finish,
    get_run,
    give_up_stale,
    list_runs,
    update_run,
)
from bot.admin.trainer import Progress, error_summary
from tests.admin_helpers import REPO, copy_project, migrated_engine

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def engine(tmp_path: Path):
    engine = migrated_engine(tmp_path / "helpdesk.db")
    yield engine
    engine.dispose()


def test_only_one_run_at_a_time(engine, tmp_path: Path) -> None:
    project = Project(tmp_path)
    first = create_run(engine, project, "anna", NOW)
    assert first.status == QUEUED and first.log_path.parent == project.runs_dir

    with pytest.raises(RunBusy) as busy:
        create_run(engine, project, "ben", NOW)
    assert busy.value.run.id == first.id

    finish(engine, first.id, NOW, error="stopped for the test")
    second = create_run(engine, project, "ben", NOW)
    assert second.id != first.id
    assert [run.id for run in list_runs(engine)] == [second.id, first.id]


def test_a_run_whose_process_died_does_not_block_the_next(engine, tmp_path: Path) -> None:
    project = Project(tmp_path)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True
    )
    run = create_run(engine, project, "anna", NOW)
    update_run(engine, run.id, status="running", pid=int(dead.stdout))

    give_up_stale(engine, NOW)

    stale = get_run(engine, run.id)
    assert stale.status == FAILED and "stopped unexpectedly" in stale.error
    create_run(engine, project, "anna", NOW)  # not busy any more


def test_a_queued_run_that_never_started_is_given_up_after_a_while(engine, tmp_path: Path) -> None:
    run = create_run(engine, Project(tmp_path), "anna", NOW)
    give_up_stale(engine, NOW + timedelta(seconds=30))
    assert get_run(engine, run.id).status == QUEUED
    give_up_stale(engine, NOW + timedelta(minutes=5))
    assert get_run(engine, run.id).status == FAILED


def test_progress_follows_rasa_s_log_lines() -> None:
    progress = Progress(components=4)
    lines = [
        "2026-11-23 INFO rasa.cli.train - Started validating domain and training data...",
        "2026-11-23 INFO rasa.validator - No story structure conflicts found.",
        "INFO hooks - Restored component 'RegexFeaturizer' from cache.",
        "INFO hooks - Starting to train component 'LogisticRegressionClassifier'.",
        "INFO hooks - Finished training component 'LogisticRegressionClassifier'.",
        "Your Rasa model is trained and saved at '/x/run-1.tar.gz'.",
    ]
    seen = []
    for line in lines:
        progress.feed(line)
        seen.append((progress.percent, progress.stage))
    percents = [percent for percent, _ in seen]
    assert percents == sorted(percents) and percents[0] > 0 and percents[-1] == 85
    assert seen[3][1] == "Training LogisticRegressionClassifier"
    assert seen[4][1] == "Trained LogisticRegressionClassifier"
    assert progress.feed("some unrelated line") is False


def test_error_summary_names_the_cause_not_the_noise() -> None:
    lines = [
        "/x/site-packages/pkg_resources/__init__.py:3117: DeprecationWarning: Deprecated call",
        "  declare_namespace(pkg)",
        "rasa.shared.exceptions.InvalidConfigException: Can't load class for name 'NoSuchThing'.",
        "",
    ]
    assert "NoSuchThing" in error_summary(lines)
    assert error_summary(["just the end"]) == "just the end"


def test_scores_count_a_fallback_on_an_out_of_scope_message_as_right() -> None:
    messages = [
        EvalMessage("sää?", "out_of_scope", "fi", "holdout"),
        EvalMessage("moi", "greet", "fi", "holdout"),
        EvalMessage("lisäaikaa", "request_due_date_extension", "fi", "holdout"),
        EvalMessage("hi", "greet", "en", "holdout"),
    ]
    predictions = [
        Prediction("nlu_fallback", 0.3),
        Prediction("greet", 0.9),
        Prediction("nlu_fallback", 0.3),
        Prediction("greet", 0.99),
    ]
    result = metrics(messages, predictions)
    finnish = result["languages"]["fi"]
    assert finnish["accuracy"] == pytest.approx(2 / 3)
    assert finnish["out_of_scope_recall"] == 1.0
    assert finnish["false_escalation"] == pytest.approx(1 / 2)
    assert result["languages"]["en"]["accuracy"] == 1.0
    assert f1_scores(["a", "a", "b"], ["a", "b", "b"]) == {
        "a": pytest.approx(2 / 3),
        "b": pytest.approx(2 / 3),
    }


def test_compare_lists_fixed_and_broken_messages() -> None:
    messages = [
        EvalMessage("räknu kopio", "request_invoice_copy", "fi", "labelled"),
        EvalMessage("moi", "greet", "fi", "holdout"),
        EvalMessage("hei", "greet", "fi", "holdout"),
    ]
    active = [Prediction("nlu_fallback", 0.3), Prediction("greet", 0.9), Prediction("greet", 0.9)]
    candidate = [
        Prediction("request_invoice_copy", 0.8),
        Prediction("goodbye", 0.5),
        Prediction("greet", 0.9),
    ]
    report = compare(messages, active, candidate)
    assert [(item["text"], item["verdict"]) for item in report["changed"]] == [
        ("räknu kopio", "fixed"),
        ("moi", "broken"),
    ]
    labelled = report["sources"]["labelled"]
    assert labelled["active"]["languages"]["fi"]["accuracy"] == 0.0
    assert labelled["candidate"]["languages"]["fi"]["accuracy"] == 1.0
    assert report["sources"]["holdout"]["candidate"]["languages"]["fi"]["accuracy"] == 0.5


def test_a_failed_run_says_why_and_leaves_the_active_model_alone(tmp_path: Path) -> None:
    """A real `rasa train` on a broken config, started with the CLI like cron would."""
    project = Project(copy_project(tmp_path / "project"))
    config = project.root / "config.yml"
    config.write_text(
        config.read_text().replace("LogisticRegressionClassifier", "NoSuchClassifier")
    )
    database = f"sqlite:///{tmp_path / 'helpdesk.db'}"
    env = {
        **os.environ,
        "HELPDESK_DB_URL": database,
        "HELPDESK_API_TOKEN": "test-token",
        "TRACKER_STORE_URL": f"sqlite:///{tmp_path / 'tracker.db'}",
        "ADMIN_PROJECT_DIR": str(project.root),
        "RASA_MODEL": str(REPO / "models" / "current.tar.gz"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot.admin", "train", "--by", "cron", "--quiet"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "NoSuchClassifier" in result.stderr
    engine = migrated_engine(tmp_path / "helpdesk.db")
    [run] = list_runs(engine)
    assert run.status == FAILED and "NoSuchClassifier" in run.error
    assert run.log_path.is_file() and "NoSuchClassifier" in run.log_path.read_text()
    assert not project.active_pointer.exists()
    assert not list(project.candidates_dir.glob("*.tar.gz"))
    engine.dispose()
