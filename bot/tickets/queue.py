"""Queue position and an honest wait estimate, for the customer and the agents.

- Position: among the open tickets (nobody has claimed them), the one due first is
  served first; equal due times go by creation. Claimed, waiting and resolved
  tickets have no position.
- Expected wait: the median handling time of the last 7 days (claimed_at minus
  created_at of the tickets claimed in that time) times the position, divided by
  the agents online (an open console, or a console request in the last 5
  minutes; `bot.tickets.live`). No agent online, or no history: no estimate
  (None), because a number we cannot stand behind is worse than none.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.db import tickets

if TYPE_CHECKING:
    from bot.tickets.live import LiveHub
    from bot.tickets.store import Ticket

HISTORY = timedelta(days=7)


def ahead_of_row() -> sa.sql.ScalarSelect:
    """SQL: how many open tickets are served before the `tickets` row of the outer query."""
    ahead = tickets.alias("ahead")
    return (
        sa.select(sa.func.count())
        .select_from(ahead)
        .where(
            ahead.c.status == "open",
            ahead.c.id != tickets.c.id,
            sa.or_(
                ahead.c.due_at < tickets.c.due_at,
                sa.and_(ahead.c.due_at == tickets.c.due_at, ahead.c.id < tickets.c.id),
            ),
        )
        .scalar_subquery()
    )


def median_handling_minutes(engine: Engine, now: datetime) -> float | None:
    """Median minutes from creation to the first claim, over tickets claimed in HISTORY."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(tickets.c.created_at, tickets.c.claimed_at).where(
                tickets.c.claimed_at.is_not(None), tickets.c.claimed_at >= now - HISTORY
            )
        ).all()
    minutes = [
        max(0.0, (claimed - created).total_seconds() / 60)
        for created, claimed in rows
        if created is not None and claimed is not None
    ]
    return statistics.median(minutes) if minutes else None


def expected_wait_minutes(
    position: int | None, median_minutes: float | None, agents_online: int
) -> int | None:
    """Whole minutes (at least 1), or None when there is nothing honest to say."""
    if position is None or median_minutes is None or agents_online <= 0:
        return None
    return max(1, math.ceil(median_minutes * position / agents_online))


@dataclass(frozen=True)
class QueueSnapshot:
    """What every ticket's estimate shares: computed once per request."""

    median_minutes: float | None
    agents_online: int

    @classmethod
    def take(cls, engine: Engine, hub: LiveHub | None, now: datetime) -> QueueSnapshot:
        online = len(hub.agents_online()) if hub is not None else 0
        return cls(median_handling_minutes(engine, now), online)

    def for_ticket(self, ticket: Ticket) -> dict[str, Any]:
        return {
            "queue_position": ticket.queue_position,
            "agents_online": self.agents_online,
            "expected_wait_minutes": expected_wait_minutes(
                ticket.queue_position, self.median_minutes, self.agents_online
            ),
        }
