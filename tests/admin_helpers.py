"""Helpers of the admin tests: a copy of the Rasa project and a migrated database."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy.engine import Engine

from bot.db import create_engine
from bot.migrations import upgrade

REPO = Path(__file__).resolve().parent.parent


def copy_project(target: Path) -> Path:
    """config, domain, data/ and the held-out set: what the admin loop reads and writes."""
    target.mkdir(parents=True, exist_ok=True)
    for name in ("config.yml", "domain.yml"):
        shutil.copy(REPO / name, target / name)
    shutil.copytree(REPO / "data", target / "data")
    shutil.copytree(REPO / "tests" / "nlu_holdout", target / "tests" / "nlu_holdout")
    return target


def migrated_engine(path: Path) -> Engine:
    url = f"sqlite:///{path}"
    upgrade(url)
    return create_engine(url)
