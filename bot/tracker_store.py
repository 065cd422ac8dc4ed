"""Rasa's SQL tracker store with its database work moved off Rasa's event loop.

Rasa 3.6's `SQLTrackerStore` is async in name only: the query, the JSON of every
event, rebuilding the tracker and the commit (with its fsync) all run inside the
one event loop that also serves the widget's sockets. Under load that was about a
quarter of the Rasa server's busy time (README, "Benchmarks"), and every receipt the
widget owed a customer waited behind it. This store does the same work, with the
same tables and rows, in a worker thread, so the loop keeps answering sockets.

One worker for SQLite (it has one writer anyway), several for other databases.
Rasa's lock store still lets only one message of a conversation run at a time, so
a conversation's reads and writes never overlap.

Configured in endpoints.yml: `type: bot.tracker_store.ThreadedSQLTrackerStore`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

T = TypeVar("T")

SQLITE_WORKERS = 1
SERVER_DATABASE_WORKERS = 4


class ThreadedSQLTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` whose retrieve and save run in a worker thread."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        workers = (
            SQLITE_WORKERS if self.engine.dialect.name == "sqlite" else SERVER_DATABASE_WORKERS
        )
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="tracker-store")

    async def _in_thread(self, work: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, work, *args)

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        return await self._in_thread(self._load, sender_id, fetch_events_from_all_sessions)

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        await self._in_thread(self._store_new_events, tracker)

    def _load(self, sender_id: str, all_sessions: bool) -> DialogueStateTracker | None:
        with self.session_scope() as session:
            rows = self._event_query(
                session, sender_id, fetch_events_from_all_sessions=all_sessions
            ).all()
            events = [json.loads(row.data) for row in rows]
        if not self.domain or not events:
            return None
        return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)

    def _store_new_events(self, tracker: DialogueStateTracker) -> None:
        """The same rows as Rasa's own `save` writes, for the events not stored yet."""
        with self.session_scope() as session:
            for event in self._additional_events(session, tracker):
                data = event.as_dict()
                session.add(
                    self.SQLEvent(
                        sender_id=tracker.sender_id,
                        type_name=event.type_name,
                        timestamp=data.get("timestamp"),
                        intent_name=data.get("parse_data", {})
                        .get("intent", {})
                        .get(INTENT_NAME_KEY),
                        action_name=data.get("name"),
                        data=json.dumps(data),
                    )
                )
            session.commit()
