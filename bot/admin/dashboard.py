"""The admin dashboard: how the bot and the helpdesk did, day by day.

Per calendar day in the service's time zone (a ticket at 23:30 UTC in winter is
the next Finnish day):

- conversations that started that day, and how many of them the bot finished
  alone (contained): no handoff in the conversation log and no ticket for it;
- tickets created that day by handoff reason;
- the reply promise of those tickets: the first agent message (any delivery, as
  the customer was answered even if the mail bounced) at or before due_at is kept;
  a later one, or none while due_at has passed, is broken; not yet due is neither;
- the ratings of tickets resolved that day.

Conversations come from the caller (the Rasa logs, `bot.admin.logs`), tickets
from the helpdesk database; every query is bounded by the date range.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from statistics import fmean
from typing import Protocol
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bot.admin.charts import line_chart, stacked_bar_chart
from bot.db import ticket_messages, tickets
from bot.tickets.store import REASONS

# Bound parameters per IN (...) query; well under SQLite's oldest limit of 999.
IN_CHUNK = 500


class ConversationLike(Protocol):
    """One conversation from the logs: who, when the customer first wrote, handed off or not."""

    @property
    def conversation_id(self) -> str: ...

    @property
    def started_at(self) -> datetime: ...

    @property
    def handed_off(self) -> bool: ...


@dataclass(frozen=True)
class _Figures:
    """The counts of a day or a range, and the shares the dashboard shows (None when
    there is nothing to divide by)."""

    conversations: int
    contained: int
    handoffs_by_reason: dict[str, int]
    tickets_answered: int
    promises_kept: int
    promises_broken: int
    ratings: list[int]

    @property
    def handoffs(self) -> int:
        return sum(self.handoffs_by_reason.values())

    @property
    def containment(self) -> float | None:
        """Share of conversations finished without a person (0-1)."""
        return self.contained / self.conversations if self.conversations else None

    @property
    def promise_rate(self) -> float | None:
        """Share of due reply promises that were kept (0-1); pending ones don't count."""
        decided = self.promises_kept + self.promises_broken
        return self.promises_kept / decided if decided else None

    @property
    def average_rating(self) -> float | None:
        return fmean(self.ratings) if self.ratings else None


@dataclass(frozen=True)
class DayFigures(_Figures):
    day: date


@dataclass(frozen=True)
class Totals(_Figures):
    """The same figures over the whole range (shares over all days, not averages of days)."""

    start: date
    end: date


@dataclass(frozen=True)
class Dashboard:
    start: date
    end: date
    tz: str
    days: list[DayFigures]

    @property
    def totals(self) -> Totals:
        reasons: Counter[str] = Counter()
        for day in self.days:
            reasons.update(day.handoffs_by_reason)
        return Totals(
            start=self.start,
            end=self.end,
            conversations=sum(d.conversations for d in self.days),
            contained=sum(d.contained for d in self.days),
            handoffs_by_reason=_ordered(reasons),
            tickets_answered=sum(d.tickets_answered for d in self.days),
            promises_kept=sum(d.promises_kept for d in self.days),
            promises_broken=sum(d.promises_broken for d in self.days),
            ratings=[r for d in self.days for r in d.ratings],
        )

    @property
    def reasons(self) -> list[str]:
        """Handoff reasons seen in the range, in the store's order (unknown ones last)."""
        return list(self.totals.handoffs_by_reason)

    def charts(self, reason_labels: Mapping[str, str] | None = None) -> dict[str, str]:
        return dashboard_charts(self, reason_labels=reason_labels)


@dataclass
class _Tally:
    """A day being counted (mutable); frozen into DayFigures at the end."""

    conversations: int = 0
    contained: int = 0
    handoffs_by_reason: Counter[str] = field(default_factory=Counter)
    tickets_answered: int = 0
    promises_kept: int = 0
    promises_broken: int = 0
    ratings: list[int] = field(default_factory=list)

    def freeze(self, day: date) -> DayFigures:
        return DayFigures(
            day=day,
            conversations=self.conversations,
            contained=self.contained,
            handoffs_by_reason=_ordered(self.handoffs_by_reason),
            tickets_answered=self.tickets_answered,
            promises_kept=self.promises_kept,
            promises_broken=self.promises_broken,
            ratings=list(self.ratings),
        )


# --- building ---------------------------------------------------------------------------


def build_dashboard(
    helpdesk_engine: Engine,
    conversations: Iterable[ConversationLike],
    *,
    start: date,
    end: date,
    tz: str = "Europe/Helsinki",
    now: datetime | None = None,
) -> Dashboard:
    """The figures for every day from `start` to `end` inclusive (zeros on quiet days).

    `now` decides which unanswered tickets are already late (default: the current time).
    """
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    zone = ZoneInfo(tz)
    now = _utc(now) if now is not None else datetime.now(timezone.utc)
    low, high = _utc_bounds(start, end, zone)
    days = {start + timedelta(days=i): _Tally() for i in range((end - start).days + 1)}

    def tally(moment: datetime) -> _Tally | None:
        return days.get(_utc(moment).astimezone(zone).date())

    started = [c for c in conversations if low <= _utc(c.started_at) < high]
    with helpdesk_engine.connect() as conn:
        with_ticket = _with_tickets(conn, started)
        for index, conversation in enumerate(started):
            _count_conversation(tally(conversation.started_at), conversation, index in with_ticket)
        for row in _tickets_created(conn, low, high):
            _count_ticket(tally(row.created_at), row, now)
        for row in _ratings(conn, low, high):
            found = tally(row.resolved_at)
            if found is not None:
                found.ratings.append(row.rating)
    return Dashboard(start, end, tz, [t.freeze(day) for day, t in days.items()])


def _count_conversation(day: _Tally | None, conversation: ConversationLike, ticket: bool) -> None:
    if day is None:
        return
    day.conversations += 1
    if not conversation.handed_off and not ticket:
        day.contained += 1


def _count_ticket(day: _Tally | None, row: sa.engine.Row, now: datetime) -> None:
    if day is None:
        return
    day.handoffs_by_reason[row.reason] += 1
    answered_at = row.answered_at
    if answered_at is not None:
        day.tickets_answered += 1
        if answered_at <= row.due_at:
            day.promises_kept += 1
        else:
            day.promises_broken += 1
    elif row.due_at < now:
        day.promises_broken += 1


def _utc_bounds(start: date, end: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[local midnight starting `start`, local midnight after `end`) as UTC instants."""
    low = datetime.combine(start, time(0), tzinfo=zone)
    high = datetime.combine(end + timedelta(days=1), time(0), tzinfo=zone)
    return low.astimezone(timezone.utc), high.astimezone(timezone.utc)


def _utc(moment: datetime) -> datetime:
    """Refuse naive times: guessing their zone would move figures between days."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}; give it a time zone")
    return moment.astimezone(timezone.utc)


def _ordered(counts: Mapping[str, int]) -> dict[str, int]:
    """Reasons in the store's order, unknown ones after them alphabetically; zeros dropped."""
    known = [r for r in REASONS if counts.get(r)]
    other = sorted(r for r in counts if r not in REASONS and counts[r])
    return {r: counts[r] for r in known + other}


# --- queries ----------------------------------------------------------------------------


def _with_tickets(conn: Connection, started: Sequence[ConversationLike]) -> set[int]:
    """Indexes into `started` of the conversations a ticket was created for.

    A widget keeps its conversation id across visits, so a ticket belongs to the
    latest conversation with its id that had started when the ticket was created.
    """
    sessions: dict[str, list[tuple[datetime, int]]] = {}
    for index, conversation in enumerate(started):
        sessions.setdefault(conversation.conversation_id, []).append(
            (_utc(conversation.started_at), index)
        )
    if not sessions:
        return set()
    for starts in sessions.values():
        starts.sort()
    earliest = min(starts[0][0] for starts in sessions.values())
    found: set[int] = set()
    for ids in _chunks(sorted(sessions), IN_CHUNK):
        query = sa.select(tickets.c.conversation_id, tickets.c.created_at).where(
            tickets.c.conversation_id.in_(ids), tickets.c.created_at >= earliest
        )
        for row in conn.execute(query):
            owner = _latest_before(sessions[row.conversation_id], row.created_at)
            if owner is not None:
                found.add(owner)
    return found


def _latest_before(starts: Sequence[tuple[datetime, int]], moment: datetime) -> int | None:
    owner = None
    for started_at, index in starts:
        if started_at > moment:
            break
        owner = index
    return owner


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for offset in range(0, len(items), size):
        yield items[offset : offset + size]


def _tickets_created(conn: Connection, low: datetime, high: datetime) -> list[sa.engine.Row]:
    """Tickets created in [low, high) with the time of their first agent message (or None)."""
    agent_messages = sa.and_(
        ticket_messages.c.ticket_id == tickets.c.id, ticket_messages.c.sender == "agent"
    )
    query = (
        sa.select(
            tickets.c.id,
            tickets.c.created_at,
            tickets.c.reason,
            tickets.c.due_at,
            sa.func.min(ticket_messages.c.sent_at).label("answered_at"),
        )
        .select_from(tickets.outerjoin(ticket_messages, agent_messages))
        .where(tickets.c.created_at >= low, tickets.c.created_at < high)
        .group_by(tickets.c.id, tickets.c.created_at, tickets.c.reason, tickets.c.due_at)
    )
    return list(conn.execute(query))


def _ratings(conn: Connection, low: datetime, high: datetime) -> list[sa.engine.Row]:
    query = sa.select(tickets.c.resolved_at, tickets.c.rating).where(
        tickets.c.resolved_at >= low,
        tickets.c.resolved_at < high,
        tickets.c.rating.is_not(None),
    )
    return list(conn.execute(query))


# --- charts -----------------------------------------------------------------------------


def day_label(day: date) -> str:
    """Finnish short date (24.3.), as the console writes dates."""
    return f"{day.day}.{day.month}."


def dashboard_charts(
    dashboard: Dashboard, *, reason_labels: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The dashboard's SVG charts by name: containment, handoffs, promises, rating.

    `reason_labels` names the reasons for people (e.g. the console's short texts);
    without it the reason keys are shown.
    """
    labels = [day_label(d.day) for d in dashboard.days]
    return {
        "containment": line_chart(
            "Conversations finished by the bot alone",
            labels,
            {"Contained": [_percent(d.containment) for d in dashboard.days]},
            unit="%",
            max_value=100,
        ),
        "handoffs": stacked_bar_chart(
            "Handoffs to a person by reason",
            labels,
            _handoff_series(dashboard, reason_labels or {}),
        ),
        "promises": line_chart(
            "Reply promises kept",
            labels,
            {"Answered on time": [_percent(d.promise_rate) for d in dashboard.days]},
            unit="%",
            max_value=100,
        ),
        "rating": line_chart(
            "Average customer rating (1-5)",
            labels,
            {"Average rating": [d.average_rating for d in dashboard.days]},
            max_value=5,
            min_value=1,
        ),
    }


def _handoff_series(
    dashboard: Dashboard, reason_labels: Mapping[str, str]
) -> dict[str, list[float | None]]:
    """One series per reason seen; a quiet range still gets a zero series (an empty axis)."""
    reasons = dashboard.reasons
    if not reasons:
        return {"Handoffs": [0.0 for _ in dashboard.days]}
    return {
        reason_labels.get(reason, reason): [
            float(d.handoffs_by_reason.get(reason, 0)) for d in dashboard.days
        ]
        for reason in reasons
    }


def _percent(share: float | None) -> float | None:
    return None if share is None else share * 100
