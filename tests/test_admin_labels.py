"""Labels go to data/nlu/from_logs.yml as valid Rasa YAML, once, with who and when."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from rasa.shared.nlu.training_data.loading import load_data

from bot.admin.labels import (
    DISMISSED,
    EXISTS,
    WRITTEN,
    LabelError,
    Message,
    apply_label,
    label_history,
    list_labels,
    remove_label,
)
from bot.admin.nlu_files import domain_intents, training_examples
from bot.admin.project import Project
from tests.admin_helpers import copy_project, migrated_engine

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(copy_project(tmp_path / "project"))


@pytest.fixture
def engine(tmp_path: Path):
    engine = migrated_engine(tmp_path / "helpdesk.db")
    yield engine
    engine.dispose()


def message(
    text: str, key: str, predicted: str | None = "nlu_fallback", language: str = "fi"
) -> Message:
    return Message(key, text, language, predicted, 0.31, 3)


def label(engine, project: Project, messages: list[Message], intent: str | None, who: str = "anna"):
    return apply_label(
        engine,
        project,
        messages,
        intent,
        allowed_intents=domain_intents(project.root / "domain.yml"),
        labelled_by=who,
        now=NOW,
    )


def from_logs(project: Project) -> dict[str, str]:
    return {
        example.text: example.intent
        for example in training_examples(project.nlu_dir)
        if example.file == project.from_logs_file
    }


def test_a_label_is_written_as_rasa_yaml_with_who_and_when(engine, project: Project) -> None:
    labels = label(
        engine, project, [message("Tarttisin kopsun siitä räknusta", "k1")], "request_invoice_copy"
    )

    assert [item.training_file for item in labels] == [WRITTEN]
    assert from_logs(project) == {"Tarttisin kopsun siitä räknusta": "request_invoice_copy"}
    loaded = load_data(str(project.from_logs_file))  # Rasa's own reader accepts it
    [example] = loaded.intent_examples
    assert example.get("intent") == "request_invoice_copy"
    assert example.get("metadata")["example"] == {
        "labelled_by": "anna",
        "labelled_at": "2026-11-23T09:30:00+00:00",
        "language": "fi",
    }
    [stored] = list_labels(engine)
    assert (stored.labelled_by, stored.labelled_at, stored.changed) == ("anna", NOW, True)


def test_an_example_already_in_the_training_data_is_not_written_twice(
    engine, project: Project
) -> None:
    existing = next(e for e in training_examples(project.nlu_dir) if e.intent == "greet")
    shouted = existing.text.upper() + "!!"  # the same words, other case and punctuation

    [result] = label(engine, project, [message(shouted, "k2", predicted="greet")], "greet")

    assert result.training_file == EXISTS
    assert result.changed is False
    assert not project.from_logs_file.exists()


def test_relabelling_moves_the_example_and_dismissing_removes_it(engine, project: Project) -> None:
    text = "need to chill the deadline a bit"
    label(engine, project, [message(text, "k3", language="en")], "request_payment_plan")
    label(
        engine,
        project,
        [message(text, "k3", language="en")],
        "request_due_date_extension",
        who="ben",
    )

    assert from_logs(project) == {text: "request_due_date_extension"}
    [stored] = list_labels(engine)
    assert (stored.intent, stored.labelled_by) == ("request_due_date_extension", "ben")

    [dismissed] = label(engine, project, [message(text, "k3", language="en")], None)
    assert dismissed.training_file == DISMISSED
    assert from_logs(project) == {}
    assert list_labels(engine)[0].dismissed


def test_bulk_labels_and_undo(engine, project: Project) -> None:
    messages = [
        message("räknu hukassa, lähettäkää uus", "a"),
        message("räknu hukas, laittakaa uusi", "b"),
    ]
    label(engine, project, messages, "request_invoice_copy")
    assert len(from_logs(project)) == 2

    assert remove_label(engine, project, "a", removed_by="ben", now=NOW) is True
    assert from_logs(project) == {"räknu hukas, laittakaa uusi": "request_invoice_copy"}
    assert [item.key for item in list_labels(engine)] == ["b"]
    assert remove_label(engine, project, "a", removed_by="ben", now=NOW) is False


def test_history_keeps_every_decision_and_undo(engine, project: Project) -> None:
    text = "pls can u move my bill date"
    label(engine, project, [message(text, "h1", language="en")], "request_payment_plan")
    label(
        engine,
        project,
        [message(text, "h1", language="en")],
        "request_due_date_extension",
        who="ben",
    )
    label(engine, project, [message(text, "h1", language="en")], None, who="carl")
    later = NOW + timedelta(minutes=5)
    assert remove_label(engine, project, "h1", removed_by="dana", now=later) is True
    assert remove_label(engine, project, "h1", removed_by="dana", now=later) is False

    history = label_history(engine)
    assert [(e.action, e.intent, e.done_by) for e in history] == [
        ("undone", None, "dana"),
        ("dismissed", None, "carl"),
        ("labelled", "request_due_date_extension", "ben"),
        ("labelled", "request_payment_plan", "anna"),
    ]
    assert {e.key for e in history} == {"h1"} and {e.text for e in history} == {text}
    assert history[0].done_at == later and history[-1].done_at == NOW
    # The label itself is gone; only its history remains.
    assert list_labels(engine) == []
    assert len(label_history(engine, limit=2)) == 2


def test_a_person_s_edits_to_the_file_survive(engine, project: Project) -> None:
    label(engine, project, [message("eka räknu", "c1")], "request_invoice_copy")
    edited = project.from_logs_file.read_text().replace(
        "nlu:\n", "nlu:\n# checked by Anna on Monday: keep these\n", 1
    )
    project.from_logs_file.write_text(edited)

    label(engine, project, [message("toka räknu kiitos", "c2")], "request_invoice_copy")

    text = project.from_logs_file.read_text()
    assert "# checked by Anna on Monday: keep these" in text
    assert text.startswith("# Examples labelled in the admin area")
    assert len(from_logs(project)) == 2


def test_text_that_looks_like_an_entity_annotation_stays_plain_text(
    engine, project: Project
) -> None:
    label(
        engine, project, [message("laskut [INVOICE](x) ja [EMAIL][NAME]", "d1")], "dispute_invoice"
    )
    [example] = load_data(str(project.from_logs_file)).intent_examples
    assert example.get("entities") in (None, [])
    assert "[INVOICE]" in example.get("text")


def test_unknown_intents_and_empty_selections_are_refused(engine, project: Project) -> None:
    with pytest.raises(LabelError, match="not an intent"):
        label(engine, project, [message("x y z", "e1")], "make_coffee")
    with pytest.raises(LabelError, match="not an intent"):
        label(engine, project, [message("x y z", "e1")], "nlu_fallback")
    with pytest.raises(LabelError, match="at least one"):
        label(engine, project, [], "greet")
    assert list_labels(engine) == []
    assert not project.from_logs_file.exists()


def test_other_training_files_are_never_rewritten(engine, project: Project) -> None:
    before = {
        path: path.read_bytes()
        for path in project.nlu_dir.rglob("*.yml")
        if path.name != "from_logs.yml"
    }
    label(engine, project, [message("uusi räknu-sana", "f1")], "request_invoice_copy")
    label(engine, project, [message("uusi räknu-sana", "f1")], None)
    after = {
        path: path.read_bytes()
        for path in project.nlu_dir.rglob("*.yml")
        if path.name != "from_logs.yml"
    }
    assert after == before
