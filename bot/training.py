"""Train the Rasa model only when its inputs changed (training takes minutes on 2 cores).

models/current.tar.gz is always the model of data/ as it is (tests use it). The
model Rasa starts with is the one activated in the admin area (models/active.json)
while that file exists, else models/current.tar.gz: an admin's choice, including a
rollback, survives restarts until someone activates another model.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from bot.admin.project import Project
from bot.stack import PROJECT_ROOT

MODEL_NAME = "current"


def training_inputs(root: Path = PROJECT_ROOT) -> list[Path]:
    files = [root / "config.yml", root / "domain.yml", *sorted((root / "data").rglob("*.yml"))]
    return [path for path in files if path.is_file()]


def fingerprint(paths: list[Path], root: Path = PROJECT_ROOT) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def data_fingerprint(root: Path = PROJECT_ROOT) -> str:
    return fingerprint(training_inputs(root), root)


def current_stamp(root: Path = PROJECT_ROOT) -> str:
    """The fingerprint models/current.tar.gz was trained from ('' if unknown)."""
    stamp = root / "models" / f"{MODEL_NAME}.sha256"
    return stamp.read_text().strip() if stamp.exists() else ""


def activated_model(root: Path = PROJECT_ROOT) -> Path | None:
    """The model activated in the admin area, if its file is still there."""
    pointer = Project(root).read_active_pointer()
    if pointer is None or not pointer[0].is_file():
        return None
    return pointer[0]


def startup_model(root: Path = PROJECT_ROOT) -> Path:
    """The model `make run` starts Rasa with."""
    return activated_model(root) or root / "models" / f"{MODEL_NAME}.tar.gz"


def rasa_train_command(root: Path, out: Path, name: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "rasa",
        "train",
        "--fixed-model-name",
        name,
        "--out",
        str(out),
        "--config",
        str(root / "config.yml"),
        "--domain",
        str(root / "domain.yml"),
        "--data",
        str(root / "data"),
    ]


def train_if_changed(force: bool = False) -> int:
    model = PROJECT_ROOT / "models" / f"{MODEL_NAME}.tar.gz"
    current = data_fingerprint()
    if not force and model.exists() and current_stamp() == current:
        print(f"Model is up to date ({model.relative_to(PROJECT_ROOT)}); not training.")
        return 0
    print("Training data changed: training the model (a few minutes on 2 cores)...")
    command = rasa_train_command(PROJECT_ROOT, model.parent, MODEL_NAME)
    result = subprocess.run(command, cwd=PROJECT_ROOT)
    if result.returncode != 0:
        return result.returncode
    (PROJECT_ROOT / "models" / f"{MODEL_NAME}.sha256").write_text(current + "\n")
    return 0
