"""Schema migrations (Alembic), run from code with the URL the service uses.

No alembic.ini is needed: `alembic_config(url)` builds the configuration, so
`python -m bot migrate` and `serve` migrate exactly the database they will use.
A new revision, from the repo root:
    .venv/bin/python -c "from alembic import command; from bot.migrations import alembic_config; \
command.revision(alembic_config('sqlite:///var/helpdesk.db'), 'what changed', autogenerate=True)"
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

SCRIPT_LOCATION = Path(__file__).resolve().parent


def alembic_config(url: str) -> Config:
    """An Alembic configuration for the database at `url`."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    # ConfigParser treats % as interpolation; URL-encoded passwords contain it.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` up to `revision` (creating it if needed)."""
    command.upgrade(alembic_config(url), revision)
