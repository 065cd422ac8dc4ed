"""A durable outbox for helpdesk requests: nothing is lost while the helpdesk is down.

Every ticket, feedback and rating is written here (a local SQLite file) before it is
sent, and marked delivered only after the helpdesk confirmed it. Delivery is
at least once; the helpdesk's request_id idempotency makes a repeat harmless.

`python -m actions.outbox` runs a relay that retries pending items every
OUTBOX_FLUSH_SECONDS (default 15) seconds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actions.config import ActionSettings

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    request_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_attempt_at REAL,
    last_error TEXT,
    delivered_at REAL,
    next_attempt_at REAL
);
CREATE INDEX IF NOT EXISTS outbox_state ON outbox (state, created_at);
"""
# Added after the first release: files made before it get the column on open.
_ADDED_COLUMNS = {"next_attempt_at": "REAL"}
# Seconds before an item the helpdesk failed on (5xx) is tried again, by attempt;
# the last repeats. Other items go on meanwhile: one bad item never blocks the rest.
RETRY_SECONDS = (15.0, 30.0, 60.0, 120.0, 300.0, 600.0)


def retry_delay(attempts: int) -> float:
    """Wait before the next try of an item that failed `attempts` times on its own."""
    return RETRY_SECONDS[min(max(attempts, 1), len(RETRY_SECONDS)) - 1]


@dataclass(frozen=True)
class OutboxItem:
    request_id: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    last_error: str | None


@dataclass(frozen=True)
class ParkedItem:
    """A delivery the helpdesk refused as invalid (4xx): kept for a person to look at."""

    request_id: str
    kind: str
    conversation_id: str
    created_at: float
    attempts: int
    reason: str


class Outbox:
    """One SQLite file, safe to share between the action server and the relay."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._ready = False

    def put(self, kind: str, request_id: str, payload: dict[str, Any]) -> None:
        """Keep `payload` until delivered; putting the same request_id again is a no-op."""
        with self._connect() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO outbox (request_id, kind, payload, created_at) "
                "VALUES (?, ?, ?, ?)",
                (request_id, kind, json.dumps(payload), time.time()),
            )

    def pending(self, due_at: float | None = None) -> list[OutboxItem]:
        """Undelivered items, oldest first (the order they should reach the helpdesk).

        With `due_at`, only those whose retry wait (after a failure of their own) is over.
        """
        due = "" if due_at is None else " AND (next_attempt_at IS NULL OR next_attempt_at <= ?)"
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT request_id, kind, payload, attempts, last_error FROM outbox "
                f"WHERE state = 'pending'{due} ORDER BY created_at, rowid",
                () if due_at is None else (due_at,),
            ).fetchall()
        return [OutboxItem(row[0], row[1], json.loads(row[2]), row[3], row[4]) for row in rows]

    def parked(self, limit: int = 200) -> list[ParkedItem]:
        """Refused deliveries, newest first (only what staff need: no message text)."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT request_id, kind, payload, created_at, attempts, last_error FROM outbox "
                "WHERE state = 'rejected' ORDER BY created_at DESC, rowid DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [
            ParkedItem(
                request_id=row[0],
                kind=row[1],
                conversation_id=_conversation_of(row[2]),
                created_at=row[3],
                attempts=row[4],
                reason=row[5] or "",
            )
            for row in rows
        ]

    def waiting(self) -> tuple[int, float | None]:
        """How many deliveries wait, and when the oldest of them was kept."""
        with self._connect() as conn:
            count, oldest = conn.execute(
                "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE state = 'pending'"
            ).fetchone()
        return int(count), oldest

    def count_pending(self, kind: str) -> int:
        """How many items of `kind` wait to be delivered."""
        with self._connect() as conn:
            (count,) = conn.execute(
                "SELECT COUNT(*) FROM outbox WHERE state = 'pending' AND kind = ?", (kind,)
            ).fetchone()
        return int(count)

    def mark_delivered(self, request_id: str) -> None:
        with self._connect() as conn:
            conn.execute(
                "UPDATE outbox SET state = 'delivered', delivered_at = ? WHERE request_id = ?",
                (time.time(), request_id),
            )

    def record_attempt(self, request_id: str, error: str, own_fault: bool = False) -> None:
        """Remember a failed try; the item stays pending and is retried.

        `own_fault`: the helpdesk answered but failed on this item (5xx), so it waits
        `retry_delay` before its next try while the items behind it go on.
        """
        now = time.time()
        with self._connect() as conn:
            row = conn.execute(
                "SELECT attempts FROM outbox WHERE request_id = ?", (request_id,)
            ).fetchone()
            if row is None:
                return
            attempts = row[0] + 1
            conn.execute(
                "UPDATE outbox SET attempts = ?, last_attempt_at = ?, last_error = ?, "
                "next_attempt_at = ? WHERE request_id = ?",
                (
                    attempts,
                    now,
                    error[:1000],
                    now + retry_delay(attempts) if own_fault else None,
                    request_id,
                ),
            )

    def mark_rejected(self, request_id: str, error: str) -> None:
        """The helpdesk refused it (4xx): retrying cannot help, so stop; keep it for a person."""
        self.record_attempt(request_id, error)
        with self._connect() as conn:
            conn.execute("UPDATE outbox SET state = 'rejected' WHERE request_id = ?", (request_id,))

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """One transaction on a fresh connection, closed afterwards."""
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(self.path, timeout=10)) as conn:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(_SCHEMA)
                have = {row[1] for row in conn.execute("PRAGMA table_info(outbox)")}
                for column, kind in _ADDED_COLUMNS.items():
                    if column not in have:
                        conn.execute(f"ALTER TABLE outbox ADD COLUMN {column} {kind}")
            self._ready = True
        with closing(sqlite3.connect(self.path, timeout=10)) as conn, conn:
            yield conn


def _conversation_of(payload: str) -> str:
    """The conversation (or, for a rating, the ticket) an item belongs to."""
    try:
        data = json.loads(payload)
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    return str(data.get("conversation_id") or data.get("ticket_number") or "")


async def relay(flush_seconds: float) -> None:
    """Deliver pending items forever, one flush every `flush_seconds`."""
    # Imported here: actions.helpdesk imports this module (no import cycle at load).
    from actions.helpdesk import HelpdeskClient

    client = HelpdeskClient.from_settings(ActionSettings.from_env())
    logger.info(
        "outbox relay: %s -> %s every %ss", client.outbox.path, client.base_url, flush_seconds
    )
    while True:
        try:
            delivered = await client.flush_outbox()
        except Exception:  # keep relaying: the next round may succeed
            logger.exception("outbox relay: flush failed")
        else:
            if delivered:
                logger.info("outbox relay: delivered %d item(s)", delivered)
        await asyncio.sleep(flush_seconds)


if __name__ == "__main__":
    from dotenv import load_dotenv

    load_dotenv()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        asyncio.run(relay(ActionSettings.from_env().outbox_flush_seconds))
    except KeyboardInterrupt:
        pass
