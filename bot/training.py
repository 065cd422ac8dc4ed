"""Train the Rasa model only when its inputs changed (training takes minutes on 2 cores)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from bot.stack import PROJECT_ROOT

MODEL_DIR = PROJECT_ROOT / "models"
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


def train_if_changed(force: bool = False) -> int:
    model = MODEL_DIR / f"{MODEL_NAME}.tar.gz"
    stamp = MODEL_DIR / f"{MODEL_NAME}.sha256"
    current = fingerprint(training_inputs())
    if not force and model.exists() and stamp.exists() and stamp.read_text().strip() == current:
        print(f"Model is up to date ({model.relative_to(PROJECT_ROOT)}); not training.")
        return 0
    print("Training data changed: training the model (a few minutes on 2 cores)...")
    command = [
        sys.executable,
        "-m",
        "rasa",
        "train",
        "--fixed-model-name",
        MODEL_NAME,
        "--out",
        str(MODEL_DIR),
        "--config",
        "config.yml",
        "--domain",
        "domain.yml",
        "--data",
        "data",
    ]
    result = subprocess.run(command, cwd=PROJECT_ROOT)
    if result.returncode != 0:
        return result.returncode
    stamp.write_text(current + "\n")
    return 0
