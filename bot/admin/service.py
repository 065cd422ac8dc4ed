"""The admin loop's steps, shared by the admin pages and the CLI.

    inbox -> label -> train (+ compare) -> activate / rollback, and the dashboard.

Each step is one method here so the page and `python -m bot.admin` behave the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import cached_property
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from bot.admin import registry
from bot.admin.dashboard import Dashboard, build_dashboard
from bot.admin.inbox import InboxFilter, InboxItem, build_inbox
from bot.admin.labels import (
    Label,
    LabelError,
    Message,
    apply_label,
    labels_by_key,
    remove_label,
)
from bot.admin.log_cache import LogCache
from bot.admin.logs import conversation_summaries, read_messages
from bot.admin.nlu_files import domain_intents
from bot.admin.project import Project
from bot.admin.rasa_models import RasaModelApi
from bot.admin.runs import Run, create_run
from bot.admin.trainer import startup_model
from bot.config import Settings

# Without a start day the inbox shows this many days of logs.
INBOX_DAYS = 30


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Admin:
    settings: Settings
    engine: Engine  # the helpdesk database (labels, runs, models live there too)
    tracker_engine: Engine  # Rasa's tracker store: read only
    # The service keeps one for all requests; the CLI reads afresh each time.
    log_cache: LogCache | None = None

    @cached_property
    def project(self) -> Project:
        return Project.from_settings(self.settings)

    @property
    def rasa(self) -> RasaModelApi:
        return RasaModelApi(self.settings.rasa_url, self.settings.rasa_token)

    def intents(self) -> list[str]:
        return domain_intents(self.project.root / "domain.yml")

    # --- inbox and labels -------------------------------------------------
    def inbox(
        self, filters: InboxFilter | None = None, *, labelled: bool = False
    ) -> list[InboxItem]:
        """Grouped, masked customer messages; without the labelled ones unless asked.

        Only the logs of the last INBOX_DAYS are read unless the filter names a start
        day, so the page stays quick on a tracker store with years of conversations.
        """
        filters = filters or InboxFilter()
        zone = ZoneInfo(self.settings.timezone)
        first_day = filters.since or utc_now().astimezone(zone).date() - timedelta(days=INBOX_DAYS)
        since = datetime.combine(first_day, datetime.min.time(), zone)
        if self.log_cache is not None:
            messages = self.log_cache.messages(self.tracker_engine, since)
        else:
            messages = read_messages(self.tracker_engine, since=since)
        items = build_inbox(messages, filters, tz=self.settings.timezone)
        if labelled:
            return items
        done = labels_by_key(self.engine)
        return [item for item in items if item.key not in done]

    def messages(self, keys: Sequence[str]) -> list[Message]:
        """The inbox's own record of these keys (never text sent by a browser)."""
        wanted = set(keys)
        found = [
            Message(
                key=item.key,
                text=item.text,
                language=item.language,
                predicted_intent=item.intent,
                confidence=item.confidence,
                count=item.count,
            )
            for item in self.inbox(labelled=True)
            if item.key in wanted
        ]
        missing = wanted - {message.key for message in found}
        if missing:
            raise LabelError(
                f"{len(missing)} of the selected messages are no longer in the logs; "
                "reload the inbox and try again."
            )
        return found

    def undo_label(self, key: str, user: str) -> bool:
        return remove_label(self.engine, self.project, key, removed_by=user, now=utc_now())

    def label(self, keys: Sequence[str], intent: str | None, user: str) -> list[Label]:
        return apply_label(
            self.engine,
            self.project,
            self.messages(keys),
            intent,
            allowed_intents=self.intents(),
            labelled_by=user,
            now=utc_now(),
        )

    # --- training and models ---------------------------------------------
    def new_run(self, user: str) -> Run:
        """A queued run (RunBusy if one is under way); the caller executes it."""
        return create_run(self.engine, self.project, user, utc_now())

    def active_model(self) -> registry.Model:
        path, made_from = startup_model(self.settings, self.project)
        return registry.ensure_started(self.engine, path, made_from, utc_now())

    def activate(self, model_id: int, user: str) -> registry.Model:
        self.active_model()  # the starting point is recorded before the first change
        return registry.activate(self.engine, self.project, self.rasa, model_id, user, utc_now())

    def rollback(self, user: str) -> registry.Model:
        self.active_model()
        return registry.rollback(self.engine, self.project, self.rasa, user, utc_now())

    # --- dashboard --------------------------------------------------------
    def dashboard(self, days: int = 14, end: date | None = None) -> Dashboard:
        zone = ZoneInfo(self.settings.timezone)
        end = end or utc_now().astimezone(zone).date()
        start = end - timedelta(days=max(days, 1) - 1)
        since = datetime.combine(start, datetime.min.time(), zone) - timedelta(days=1)
        conversations = conversation_summaries(self.tracker_engine, since=since)
        return build_dashboard(
            self.engine, conversations, start=start, end=end, tz=self.settings.timezone
        )
