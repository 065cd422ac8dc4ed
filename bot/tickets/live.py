"""In-process publish/subscribe of ticket changes, for the agent console's live views.

Every change to a ticket (created, updated, a message, a note) is published here by
the code that made it (`bot.tickets.api`, `bot.console`); each open console page
holds a subscription (server-sent events, `GET /console/events`). The hub also
knows which agents are online: those with an open subscription, or any console
request in the last `ONLINE_WINDOW` (the wait estimate of `bot.tickets.queue`
divides by them).

Everything lives in the memory of this process: the bot service runs one worker
(`python -m bot serve`). Several workers or replicas would need a shared broker
(PostgreSQL LISTEN/NOTIFY or Redis pub/sub) behind the same two calls,
`publish` and `subscribe`, and `users.last_seen_at` for who is online.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

logger = logging.getLogger(__name__)

KINDS = ("created", "updated", "message", "note")
# An agent counts as online this long after their last console request.
ONLINE_WINDOW = timedelta(minutes=5)
# A subscriber that falls this far behind is dropped; its browser reconnects
# (EventSource does that by itself) and reloads what it shows.
MAX_PENDING = 500


@dataclass(frozen=True)
class TicketEvent:
    """One change: `kind` (see KINDS), the ticket's number and its new summary."""

    kind: str
    number: str
    data: dict[str, Any]


class Closed:
    """Marker: the subscription ended (hub closed, or the subscriber fell behind)."""


CLOSED = Closed()


@dataclass(eq=False)
class Subscription:
    username: str | None
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(MAX_PENDING + 1))
    closed: bool = False

    async def next(self, timeout: float) -> TicketEvent | Closed | None:
        """The next event; None when `timeout` seconds pass without one (send a heartbeat)."""
        if self.closed and self.queue.empty():
            return CLOSED
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except asyncio.TimeoutError:
            return None

    def _close(self) -> None:
        if not self.closed:
            self.closed = True
            # Room is always left for this one marker (maxsize is MAX_PENDING + 1).
            self.queue.put_nowait(CLOSED)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class LiveHub:
    """Fan-out of ticket events to the open console pages of this process."""

    def __init__(self, clock: Callable[[], datetime] = _utc_now) -> None:
        self._subscriptions: set[Subscription] = set()
        self._last_seen: dict[str, datetime] = {}
        self._clock = clock

    # --- publishing -------------------------------------------------------------

    def publish(self, kind: str, number: str, data: dict[str, Any]) -> TicketEvent:
        """Hand the event to every subscriber now; never blocks, never raises for them."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        event = TicketEvent(kind, number, data)
        for subscription in list(self._subscriptions):
            if subscription.closed:
                continue
            if subscription.queue.qsize() >= MAX_PENDING:
                logger.warning(
                    "console subscriber %s fell behind; dropping it (it reconnects)",
                    subscription.username,
                )
                self._drop(subscription)
                continue
            subscription.queue.put_nowait(event)
        return event

    # --- subscribing ------------------------------------------------------------

    def subscribe(self, username: str | None = None) -> Subscription:
        subscription = Subscription(username)
        self._subscriptions.add(subscription)
        if username:
            self.seen(username)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Forget a subscription; its agent stays online for ONLINE_WINDOW from now."""
        self._subscriptions.discard(subscription)
        if subscription.username:
            self.seen(subscription.username)

    def close(self) -> None:
        """End every subscription (the server is stopping: streams must finish)."""
        for subscription in list(self._subscriptions):
            self._drop(subscription)

    def _drop(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)
        subscription._close()

    @property
    def subscriber_count(self) -> int:
        return len(self._subscriptions)

    # --- who is online ----------------------------------------------------------

    def seen(self, username: str) -> None:
        """An agent did something in the console just now."""
        self._last_seen[username] = self._clock()

    def agents_online(self) -> set[str]:
        """Agents with an open console, or a console request within ONLINE_WINDOW."""
        now = self._clock()
        cutoff = now - ONLINE_WINDOW
        for username, moment in list(self._last_seen.items()):
            if moment < cutoff:
                del self._last_seen[username]
        connected = {s.username for s in self._subscriptions if s.username and not s.closed}
        return connected | set(self._last_seen)


def sse_format(event: TicketEvent, event_id: int | None = None) -> str:
    """The event as one server-sent-events message (`event: ticket`, JSON data)."""
    payload = json.dumps(
        {"kind": event.kind, "number": event.number, **event.data},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    lines = ["event: ticket"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    # JSON has no raw newlines, so one data line is enough.
    lines.append(f"data: {payload}")
    return "\n".join(lines) + "\n\n"
