"""The widget channel's durable memory, shared by every Rasa replica.

One database (SQLAlchemy: SQLite by default, PostgreSQL in production, chosen by
WIDGET_STORE_URL) holds what a customer relies on, so a restart or a second
replica loses none of it:

- `widget_inbox`: every customer message the channel acknowledged, written
  *before* the receipt goes out, with its client message id (the dedupe key,
  unique per session) and whether it has been processed. A message that got a
  receipt is processed exactly once, by whichever process holds its session.
- `widget_outgoing`: every message sent to the customer (bot replies, agent
  replies, handoff events), numbered per session (`seq`) and replayed to a client
  that reconnects. The latest `handoff` event here is the handoff state the
  customer was shown, and its ticket number the ticket their messages go to.
- `widget_sessions`: one row per session: the last `seq` handed out, the page
  metadata (language), the handoff state and ticket derived from the outgoing
  log, and the lease that lets one process at a time work on the session's inbox.

Every method is synchronous; `bot.channels.widget` calls them in a worker thread
so the event loop that serves the sockets never waits for the disk.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import IntegrityError

T = TypeVar("T")

# Kept for replay after a reconnect, per session.
HISTORY_SIZE = 200
# A resent message id is recognised this long after it was processed.
MESSAGE_ID_TTL_SECONDS = 24 * 3600.0
# Inbox states: acknowledged and waiting, being processed now, processed.
PENDING, PROCESSING, DONE = "pending", "processing", "done"
OPEN_STATES = (PENDING, PROCESSING)
HANDOFF_STATES = ("bot", "waiting", "agent", "resolved")
# Accepted outcomes of `accept`.
NEW, DUPLICATE, QUEUE_FULL = "new", "duplicate", "queue_full"

metadata = sa.MetaData()

widget_sessions = sa.Table(
    "widget_sessions",
    metadata,
    sa.Column("session_id", sa.String(255), primary_key=True),
    sa.Column("last_seq", sa.Integer, nullable=False, default=0),
    sa.Column("page_metadata", sa.Text),
    sa.Column("handoff", sa.Text),
    sa.Column("ticket_number", sa.String(64)),
    sa.Column("lease_owner", sa.String(64)),
    sa.Column("lease_until", sa.Float),
    sa.Column("updated_at", sa.Float, nullable=False),
)

widget_inbox = sa.Table(
    "widget_inbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("session_id", sa.String(255), nullable=False),
    sa.Column("message_id", sa.String(128), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("page_metadata", sa.Text),
    sa.Column("state", sa.String(16), nullable=False, default=PENDING),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("received_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float),
    sa.UniqueConstraint("session_id", "message_id", name="widget_inbox_message_once"),
    sa.Index("widget_inbox_open", "state", "session_id", "id"),
)

widget_outgoing = sa.Table(
    "widget_outgoing",
    metadata,
    sa.Column("session_id", sa.String(255), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("event", sa.String(32), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)


@dataclass(frozen=True)
class InboxMessage:
    """A customer message the channel acknowledged."""

    id: int
    session_id: str
    message_id: str
    text: str
    metadata: dict[str, Any]
    state: str
    attempts: int


@dataclass(frozen=True)
class SessionRecord:
    """What the channel knows of a session (defaults for one never seen)."""

    session_id: str
    last_seq: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)
    handoff: dict[str, Any] = field(default_factory=lambda: {"state": "bot"})
    ticket_number: str | None = None

    @property
    def handoff_state(self) -> str:
        return str(self.handoff.get("state") or "bot")


@dataclass(frozen=True)
class Accepted:
    """What `accept` did with a customer message, and the session as it stands."""

    outcome: str
    session: SessionRecord


def _json(text: str | None, default: Any) -> Any:
    if not text:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


def create_store_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL (readers never wait for the writer), a
    busy timeout, and commits that survive a killed process without an fsync each."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(parsed, future=True, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        parsed, future=True, connect_args={"check_same_thread": False, "timeout": 30}
    )

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


class WidgetStore:
    """The three tables above, behind the few operations the channel needs."""

    def __init__(self, url: str) -> None:
        self.engine = create_store_engine(url)
        metadata.create_all(self.engine)
        # SQLite has one writer anyway; a server database takes a few at once.
        workers = 1 if self.engine.dialect.name == "sqlite" else 4
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="widget-store")

    async def run(self, operation: Callable[..., T], *args: Any) -> T:
        """`await store.run(store.append, ...)`: an operation off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, operation, *args)

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def _ensure_session(self, conn: Connection, session_id: str, now: float) -> None:
        exists = conn.execute(
            sa.select(widget_sessions.c.session_id).where(
                widget_sessions.c.session_id == session_id
            )
        ).first()
        if exists is not None:
            return
        try:
            with conn.begin_nested():
                conn.execute(
                    widget_sessions.insert().values(
                        session_id=session_id, last_seq=0, updated_at=now
                    )
                )
        except IntegrityError:
            pass  # created by another process at the same moment

    # --- sessions -------------------------------------------------------------------

    def session(self, session_id: str) -> SessionRecord:
        with self.engine.connect() as conn:
            return self._session_row(conn, session_id)

    def _session_row(self, conn: Connection, session_id: str) -> SessionRecord:
        row = conn.execute(
            sa.select(widget_sessions).where(widget_sessions.c.session_id == session_id)
        ).first()
        if row is None:
            return SessionRecord(session_id)
        return SessionRecord(
            session_id=session_id,
            last_seq=row.last_seq,
            metadata=_json(row.page_metadata, {}),
            handoff=_json(row.handoff, None) or {"state": "bot"},
            ticket_number=row.ticket_number,
        )

    def remember_metadata(self, session_id: str, page: dict[str, Any]) -> dict[str, Any]:
        """Merge the page's metadata into the session's; returns the merged whole."""
        now = time.time()
        with self._transaction() as conn:
            self._ensure_session(conn, session_id, now)
            current = _json(
                conn.execute(
                    sa.select(widget_sessions.c.page_metadata).where(
                        widget_sessions.c.session_id == session_id
                    )
                ).scalar(),
                {},
            )
            merged = {**current, **page}
            if merged != current:
                conn.execute(
                    widget_sessions.update()
                    .where(widget_sessions.c.session_id == session_id)
                    .values(page_metadata=json.dumps(merged), updated_at=now)
                )
        return merged

    # --- to the customer ----------------------------------------------------------------

    def append(self, session_id: str, event: str, data: dict[str, Any]) -> dict[str, Any]:
        """Number a message for the customer and keep it; returns the payload to emit.

        A `handoff` event also becomes the session's handoff state, and its ticket
        number the ticket that the customer's messages go to.
        """
        now = time.time()
        with self._transaction() as conn:
            self._ensure_session(conn, session_id, now)
            # The row lock (PostgreSQL) or the write lock (SQLite) taken here makes
            # numbering safe across replicas: one increment at a time per session.
            conn.execute(
                widget_sessions.update()
                .where(widget_sessions.c.session_id == session_id)
                .values(last_seq=widget_sessions.c.last_seq + 1, updated_at=now)
            )
            seq = conn.execute(
                sa.select(widget_sessions.c.last_seq).where(
                    widget_sessions.c.session_id == session_id
                )
            ).scalar_one()
            payload = {**data, "seq": seq}
            conn.execute(
                widget_outgoing.insert().values(
                    session_id=session_id,
                    seq=seq,
                    event=event,
                    payload=json.dumps(payload),
                    created_at=now,
                )
            )
            if event == "handoff":
                conn.execute(
                    widget_sessions.update()
                    .where(widget_sessions.c.session_id == session_id)
                    .values(**_handoff_columns(data))
                )
            if seq > HISTORY_SIZE and seq % 20 == 0:
                conn.execute(
                    widget_outgoing.delete().where(
                        widget_outgoing.c.session_id == session_id,
                        widget_outgoing.c.seq <= seq - HISTORY_SIZE,
                    )
                )
        return payload

    def since(self, session_id: str, last_seq: int) -> list[tuple[str, dict[str, Any]]]:
        """Kept messages with a seq above `last_seq`, oldest first (the newest
        HISTORY_SIZE of them: a client gone longer gets the recent part)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(widget_outgoing.c.event, widget_outgoing.c.payload)
                .where(
                    widget_outgoing.c.session_id == session_id,
                    widget_outgoing.c.seq > last_seq,
                )
                .order_by(widget_outgoing.c.seq.desc())
                .limit(HISTORY_SIZE)
            ).all()
        return [(row.event, json.loads(row.payload)) for row in reversed(rows)]

    def continue_after(self, session_id: str, last_seq: int) -> None:
        """A client may have seen higher numbers than we have (a store wiped since):
        continue above them so new messages are not mistaken for ones already shown."""
        now = time.time()
        with self._transaction() as conn:
            self._ensure_session(conn, session_id, now)
            conn.execute(
                widget_sessions.update()
                .where(
                    widget_sessions.c.session_id == session_id,
                    widget_sessions.c.last_seq < last_seq,
                )
                .values(last_seq=last_seq, updated_at=now)
            )

    # --- from the customer --------------------------------------------------------------

    def accept(
        self,
        session_id: str,
        message_id: str,
        text: str,
        page: dict[str, Any],
        max_open: int,
    ) -> Accepted:
        """Keep a customer message before its receipt, in one transaction.

        The outcome is NEW, DUPLICATE (the id was seen) or QUEUE_FULL (`max_open` of
        the session's messages still wait: refused, nothing kept). The page's
        metadata is merged into the session's, and the message keeps the merged
        whole (its language), so whoever processes it later has it.
        """
        now = time.time()
        with self._transaction() as conn:
            session = self._session_row(conn, session_id)
            seen = conn.execute(
                sa.select(widget_inbox.c.id).where(
                    widget_inbox.c.session_id == session_id,
                    widget_inbox.c.message_id == message_id,
                )
            ).first()
            if seen is not None:
                return Accepted(DUPLICATE, session)
            waiting = conn.execute(
                sa.select(sa.func.count())
                .select_from(widget_inbox)
                .where(
                    widget_inbox.c.session_id == session_id,
                    widget_inbox.c.state.in_(OPEN_STATES),
                )
            ).scalar_one()
            if waiting >= max_open:
                return Accepted(QUEUE_FULL, session)
            self._ensure_session(conn, session_id, now)
            merged = {**session.metadata, **page}
            if merged != session.metadata:
                conn.execute(
                    widget_sessions.update()
                    .where(widget_sessions.c.session_id == session_id)
                    .values(page_metadata=json.dumps(merged), updated_at=now)
                )
            try:
                with conn.begin_nested():
                    conn.execute(
                        widget_inbox.insert().values(
                            session_id=session_id,
                            message_id=message_id,
                            text=text,
                            page_metadata=json.dumps(merged),
                            state=PENDING,
                            attempts=0,
                            received_at=now,
                        )
                    )
            except IntegrityError:
                # The same id from another socket at the same moment.
                return Accepted(DUPLICATE, session)
        return Accepted(NEW, replace(session, metadata=merged))

    def next_open(self, session_id: str) -> InboxMessage | None:
        """The session's oldest acknowledged message not processed yet."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(widget_inbox)
                .where(
                    widget_inbox.c.session_id == session_id,
                    widget_inbox.c.state.in_(OPEN_STATES),
                )
                .order_by(widget_inbox.c.id)
                .limit(1)
            ).first()
        if row is None:
            return None
        return InboxMessage(
            id=row.id,
            session_id=row.session_id,
            message_id=row.message_id,
            text=row.text,
            metadata=_json(row.page_metadata, {}),
            state=row.state,
            attempts=row.attempts,
        )

    def start_processing(self, message: InboxMessage) -> None:
        with self._transaction() as conn:
            conn.execute(
                widget_inbox.update()
                .where(widget_inbox.c.id == message.id)
                .values(state=PROCESSING, attempts=widget_inbox.c.attempts + 1)
            )

    def finish(self, message: InboxMessage) -> None:
        with self._transaction() as conn:
            conn.execute(
                widget_inbox.update()
                .where(widget_inbox.c.id == message.id)
                .values(state=DONE, finished_at=time.time())
            )

    def open_count(self, session_id: str | None = None) -> int:
        """Acknowledged messages not processed yet (of one session, or of all)."""
        query = (
            sa.select(sa.func.count())
            .select_from(widget_inbox)
            .where(widget_inbox.c.state.in_(OPEN_STATES))
        )
        if session_id is not None:
            query = query.where(widget_inbox.c.session_id == session_id)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    # --- who works on a session ---------------------------------------------------------

    def take_lease(self, session_id: str, owner: str, seconds: float) -> bool:
        """Become (or stay) the one process working on the session's inbox for
        `seconds`; False while another process holds an unexpired lease."""
        now = time.time()
        with self._transaction() as conn:
            self._ensure_session(conn, session_id, now)
            taken = conn.execute(
                widget_sessions.update()
                .where(
                    widget_sessions.c.session_id == session_id,
                    sa.or_(
                        widget_sessions.c.lease_owner.is_(None),
                        widget_sessions.c.lease_owner == owner,
                        widget_sessions.c.lease_until < now,
                    ),
                )
                .values(lease_owner=owner, lease_until=now + seconds)
            )
        return taken.rowcount == 1

    def release_lease(self, session_id: str, owner: str) -> None:
        with self._transaction() as conn:
            conn.execute(
                widget_sessions.update()
                .where(
                    widget_sessions.c.session_id == session_id,
                    widget_sessions.c.lease_owner == owner,
                )
                .values(lease_owner=None, lease_until=None)
            )

    def sessions_to_work_on(self, owner: str, limit: int = 100) -> list[str]:
        """Sessions with acknowledged, unprocessed messages that nobody else works on
        (their process died, or this one restarted)."""
        now = time.time()
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(widget_inbox.c.session_id)
                .select_from(
                    widget_inbox.outerjoin(
                        widget_sessions,
                        widget_sessions.c.session_id == widget_inbox.c.session_id,
                    )
                )
                .where(
                    widget_inbox.c.state.in_(OPEN_STATES),
                    sa.or_(
                        widget_sessions.c.lease_owner.is_(None),
                        widget_sessions.c.lease_owner == owner,
                        widget_sessions.c.lease_until < now,
                    ),
                )
                .group_by(widget_inbox.c.session_id)
                .order_by(sa.func.min(widget_inbox.c.id))
                .limit(limit)
            ).all()
        return [row.session_id for row in rows]

    def prune(self, older_than: float = MESSAGE_ID_TTL_SECONDS) -> int:
        """Forget processed messages older than `older_than` seconds; how many."""
        with self._transaction() as conn:
            gone = conn.execute(
                widget_inbox.delete().where(
                    widget_inbox.c.state == DONE,
                    widget_inbox.c.finished_at < time.time() - older_than,
                )
            )
        return gone.rowcount

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.engine.dispose()


def _handoff_columns(handoff: dict[str, Any]) -> dict[str, Any]:
    """The session's handoff and ticket columns after the handoff event `handoff`.

    The ticket is kept when a later event (an agent joining) doesn't repeat it;
    a new handoff without a number yet (filed through the outbox), or back to the
    bot, means an earlier ticket is not this one.
    """
    values: dict[str, Any] = {"handoff": json.dumps(handoff)}
    number = handoff.get("ticket_number")
    if isinstance(number, str) and number.strip():
        values["ticket_number"] = number.strip()[:64]
    elif handoff.get("state") in ("waiting", "bot"):
        values["ticket_number"] = None
    return values
