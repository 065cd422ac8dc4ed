"""Which model `make run` starts with: the admin's choice while its file exists."""

from __future__ import annotations

from pathlib import Path

from bot.admin.project import Project
from bot.stack import StackConfig
from bot.training import data_fingerprint, startup_model


def test_without_an_activation_rasa_starts_with_the_model_of_data(tmp_path: Path) -> None:
    assert startup_model(tmp_path) == tmp_path / "models" / "current.tar.gz"


def test_an_activated_model_is_kept_across_restarts(tmp_path: Path) -> None:
    project = Project(tmp_path)
    candidate = project.candidates_dir / "run-3-20261123-101500.tar.gz"
    candidate.parent.mkdir(parents=True)
    candidate.write_bytes(b"model")
    project.write_active_pointer(candidate, "abc")

    assert startup_model(tmp_path) == candidate
    assert project.read_active_pointer() == (candidate, "abc")

    candidate.unlink()  # deleted by hand: back to the model of data/
    assert startup_model(tmp_path) == tmp_path / "models" / "current.tar.gz"


def test_a_broken_pointer_file_is_ignored(tmp_path: Path) -> None:
    project = Project(tmp_path)
    project.models_dir.mkdir()
    project.active_pointer.write_text("{not json")
    assert project.read_active_pointer() is None
    assert startup_model(tmp_path).name == "current.tar.gz"


def test_rasa_model_in_the_environment_wins(tmp_path: Path) -> None:
    chosen = tmp_path / "other.tar.gz"
    config = StackConfig.from_env({"RASA_TOKEN": "t", "RASA_MODEL": str(chosen)})
    assert config.model == chosen
    assert config.env["RASA_MODEL"] == str(chosen)


def test_the_fingerprint_follows_the_training_data(tmp_path: Path) -> None:
    (tmp_path / "data" / "nlu").mkdir(parents=True)
    (tmp_path / "config.yml").write_text("pipeline: []\n")
    (tmp_path / "domain.yml").write_text("intents: [greet]\n")
    example = tmp_path / "data" / "nlu" / "from_logs.yml"
    example.write_text("nlu: []\n")
    before = data_fingerprint(tmp_path)
    example.write_text("nlu:\n- intent: greet\n  examples:\n  - text: moikka\n")
    assert data_fingerprint(tmp_path) != before
