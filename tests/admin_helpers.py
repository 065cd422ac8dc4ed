"""Helpers of the admin tests: a copy of the Rasa project and a migrated database."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from bot.admin.project import copy_project
from bot.db import create_engine
from bot.migrations import upgrade

__all__ = ["REPO", "copy_project", "migrated_engine"]

REPO = Path(__file__).resolve().parent.parent


def migrated_engine(path: Path) -> Engine:
    url = f"sqlite:///{path}"
    upgrade(url)
    return create_engine(url)
