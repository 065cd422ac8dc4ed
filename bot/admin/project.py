"""Where the admin loop reads and writes: one Rasa project folder.

By default this checkout (the one `make run` serves); tests and staging point
ADMIN_PROJECT_DIR at a copy so labelling never touches the real data/.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from bot.config import Settings
from bot.stack import PROJECT_ROOT

ACTIVE_POINTER = "active.json"


@dataclass(frozen=True)
class Project:
    root: Path

    @classmethod
    def from_settings(cls, settings: Settings) -> Project:
        return cls(Path(settings.project_dir).resolve() if settings.project_dir else PROJECT_ROOT)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def nlu_dir(self) -> Path:
        return self.data_dir / "nlu"

    @property
    def from_logs_file(self) -> Path:
        """The one training file the admin loop writes; nothing else is rewritten."""
        return self.nlu_dir / "from_logs.yml"

    @property
    def holdout_dir(self) -> Path:
        """The held-out test set: never under data/, so never trained on."""
        return self.root / "tests" / "nlu_holdout"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def candidates_dir(self) -> Path:
        return self.models_dir / "admin"

    @property
    def runs_dir(self) -> Path:
        return self.root / "var" / "training_runs"

    @property
    def default_model(self) -> Path:
        return self.models_dir / "current.tar.gz"

    @property
    def active_pointer(self) -> Path:
        return self.models_dir / ACTIVE_POINTER

    def write_active_pointer(self, model: Path, fingerprint: str) -> None:
        """Remember the activated model so the next `make run` starts with it."""
        self.models_dir.mkdir(parents=True, exist_ok=True)
        temporary = self.active_pointer.with_suffix(".tmp")
        temporary.write_text(json.dumps({"model": str(model), "fingerprint": fingerprint}) + "\n")
        temporary.replace(self.active_pointer)

    def read_active_pointer(self) -> tuple[Path, str] | None:
        try:
            pointer = json.loads(self.active_pointer.read_text())
            return Path(pointer["model"]), str(pointer.get("fingerprint", ""))
        except (OSError, ValueError, KeyError, TypeError):
            return None


def copy_project(target: Path, source: Path = PROJECT_ROOT) -> Path:
    """config, domain, data/ and the held-out set in `target`: a project to label and
    train in without touching `source` (tests, benchmarks, a staging copy)."""
    target.mkdir(parents=True, exist_ok=True)
    for name in ("config.yml", "domain.yml"):
        shutil.copy(source / name, target / name)
    shutil.copytree(source / "data", target / "data", dirs_exist_ok=True)
    holdout = source / "tests" / "nlu_holdout"
    if holdout.is_dir():
        shutil.copytree(holdout, target / "tests" / "nlu_holdout", dirs_exist_ok=True)
    return target
