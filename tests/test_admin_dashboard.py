"""Dashboard figures from a real, migrated helpdesk database and a list of conversations.

Tickets are made with the store's own functions, as the API and console make them.
Dates are in March 2024: Helsinki is UTC+2 until the switch on 31 March.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy.engine import Engine

from bot.admin.charts import NO_DATA
from bot.admin.dashboard import Dashboard, build_dashboard, dashboard_charts, day_label
from bot.db import create_engine
from bot.migrations import upgrade
from bot.tickets import store
from bot.tickets.store import NewMessage, NewTicket

SVG = "{http://www.w3.org/2000/svg}"
NOW = datetime(2024, 3, 7, 12, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Conversation:
    conversation_id: str
    started_at: datetime
    handed_off: bool = False


def utc(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=timezone.utc)


@pytest.fixture
def engine(tmp_path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path}/helpdesk.db"
    upgrade(url)
    engine = create_engine(url)
    yield engine
    engine.dispose()


def make_ticket(
    engine: Engine,
    created: datetime,
    *,
    reason: str = "dispute",
    conversation_id: str | None = None,
    due: timedelta = timedelta(hours=4),
    answers: tuple[tuple[datetime, str], ...] = (),
    resolved: datetime | None = None,
    rating: int | None = None,
) -> str:
    """A ticket as the helpdesk makes it, with agent answers (time, delivery) and a resolution."""
    ticket, _ = store.create_ticket(
        engine,
        NewTicket(
            request_id=uuid.uuid4().hex,
            conversation_id=conversation_id or uuid.uuid4().hex,
            reason=reason,
            topic="dispute_invoice",
            language="fi",
            contact_method="email",
            contact_address="asiakas@example.com",
            transcript=(
                NewMessage("customer", "Lasku on väärin", created - timedelta(minutes=2)),
                NewMessage("bot", "Tuon asian eteenpäin.", created - timedelta(minutes=1)),
            ),
        ),
        now=created,
        due_at=created + due,
    )
    for sent_at, delivery in answers:
        store.add_message(
            engine,
            ticket.number,
            NewMessage("agent", "Hei!", sent_at, author="anna", delivery=delivery),
        )
    if resolved is not None:
        changes: dict = {"status": "resolved"}
        if rating is not None:
            changes["rating"] = rating
        store.update_ticket(engine, ticket.number, changes, now=resolved)
    return ticket.number


@pytest.fixture
def week(engine: Engine) -> Dashboard:
    """4.-6.3.2024 with conversations, tickets, answers and ratings around the day edges."""
    make_ticket(engine, utc(3, 21), reason="policy")  # 23.00 on 3.3. in Helsinki: before
    make_ticket(engine, utc(1, 9), conversation_id="c0")  # an earlier visit of c0
    make_ticket(
        engine,
        utc(4, 9, 5),
        conversation_id="c2",
        answers=((utc(4, 13, 5), "email"), (utc(4, 16), "chat")),  # first one exactly at due
        resolved=utc(5, 21, 30),  # 23.30 on 5.3.
        rating=4,
    )
    make_ticket(
        engine,
        utc(4, 10),
        reason="fallback",
        conversation_id="c3",
        answers=((utc(4, 15), "chat"),),  # an hour late
        resolved=utc(5, 22, 30),  # 00.30 on 6.3.
        rating=2,
    )
    make_ticket(engine, utc(4, 23, 30))  # 01.30 on 5.3.; never answered, long past due
    make_ticket(engine, utc(5, 10), reason="customer_request", due=timedelta(days=3))  # not due
    make_ticket(
        engine,
        utc(5, 11),
        reason="customer_request",
        answers=((utc(5, 11, 30), "email_failed"),),  # answered in time; the mail bounced
        resolved=utc(6, 8),
        rating=5,
    )
    make_ticket(engine, utc(5, 12), resolved=utc(6, 9))  # resolved without a rating
    make_ticket(engine, utc(5, 13), resolved=utc(7, 9), rating=1)  # rated after the range
    make_ticket(engine, utc(6, 22))  # 00.00 on 7.3.: after the range
    conversations = [
        Conversation("early", utc(3, 21, 59)),  # 23.59 on 3.3.: before the range
        Conversation("night", utc(3, 23, 30)),  # 01.30 on 4.3.
        Conversation("c0", utc(4, 8)),  # its ticket is from an earlier visit
        Conversation("c2", utc(4, 9)),  # not marked in the logs, but has a ticket
        Conversation("c3", utc(4, 9, 30), handed_off=True),
        Conversation("c4", utc(4, 10), handed_off=True),  # a ticket failed; still a handoff
        Conversation("c5", utc(5, 8)),
        Conversation("late", utc(6, 22)),  # 00.00 on 7.3.: after the range
    ]
    return build_dashboard(
        engine, iter(conversations), start=date(2024, 3, 4), end=date(2024, 3, 6), now=NOW
    )


def test_every_day_in_order(week: Dashboard) -> None:
    assert [d.day for d in week.days] == [date(2024, 3, 4), date(2024, 3, 5), date(2024, 3, 6)]


def test_containment(week: Dashboard) -> None:
    first, second, third = week.days
    assert (first.conversations, first.contained) == (5, 2)  # night and c0
    assert first.containment == pytest.approx(0.4)
    assert (second.conversations, second.contained, second.containment) == (1, 1, 1.0)
    assert (third.conversations, third.contained, third.containment) == (0, 0, None)


def test_handoffs_by_reason_on_finnish_days(week: Dashboard) -> None:
    first, second, third = week.days
    assert first.handoffs_by_reason == {"dispute": 1, "fallback": 1}
    assert second.handoffs_by_reason == {"customer_request": 2, "dispute": 3}
    assert third.handoffs_by_reason == {}
    assert (first.handoffs, second.handoffs) == (2, 5)
    assert week.reasons == ["customer_request", "dispute", "fallback"]


def test_reply_promises(week: Dashboard) -> None:
    first, second, third = week.days
    assert (first.tickets_answered, first.promises_kept, first.promises_broken) == (2, 1, 1)
    assert first.promise_rate == pytest.approx(0.5)
    # 5.3.: the 23.30 UTC ticket (late), the bounced but timely answer (kept),
    # one not yet due (neither) and two unanswered past due.
    assert (second.tickets_answered, second.promises_kept, second.promises_broken) == (1, 1, 3)
    assert third.promise_rate is None


def test_a_pending_promise_breaks_once_due(engine: Engine) -> None:
    make_ticket(engine, utc(5, 10), due=timedelta(hours=4))
    day = date(2024, 3, 5)
    before = build_dashboard(engine, [], start=day, end=day, now=utc(5, 13, 59))
    after = build_dashboard(engine, [], start=day, end=day, now=utc(5, 14, 1))
    assert (before.days[0].promises_kept, before.days[0].promises_broken) == (0, 0)
    assert (after.days[0].promises_kept, after.days[0].promises_broken) == (0, 1)


def test_ratings_by_day_resolved(week: Dashboard) -> None:
    first, second, third = week.days
    assert first.ratings == [] and first.average_rating is None
    assert second.ratings == [4]
    assert sorted(third.ratings) == [2, 5]
    assert third.average_rating == pytest.approx(3.5)


def test_totals(week: Dashboard) -> None:
    totals = week.totals
    assert (totals.start, totals.end) == (date(2024, 3, 4), date(2024, 3, 6))
    assert (totals.conversations, totals.contained) == (6, 3)
    assert totals.containment == pytest.approx(0.5)
    assert totals.handoffs_by_reason == {"customer_request": 2, "dispute": 4, "fallback": 1}
    assert (totals.promises_kept, totals.promises_broken) == (2, 4)
    assert totals.promise_rate == pytest.approx(1 / 3)
    assert totals.average_rating == pytest.approx(11 / 3)


def test_a_returning_visitor_keeps_the_id_but_the_ticket_belongs_to_the_later_visit(
    engine: Engine,
) -> None:
    make_ticket(engine, utc(5, 9, 10), conversation_id="same")
    conversations = [Conversation("same", utc(4, 9)), Conversation("same", utc(5, 9))]
    dashboard = build_dashboard(
        engine, conversations, start=date(2024, 3, 4), end=date(2024, 3, 5), now=NOW
    )
    assert [(d.conversations, d.contained) for d in dashboard.days] == [(1, 1), (1, 0)]


def test_day_boundaries_follow_daylight_saving_time(engine: Engine) -> None:
    make_ticket(engine, utc(30, 21, 59))  # 23.59 on 30.3. (UTC+2)
    make_ticket(engine, utc(31, 21, 30))  # 00.30 on 1.4. (UTC+3 since 31.3.)
    make_ticket(engine, utc(31, 20, 59))  # 23.59 on 31.3.
    dashboard = build_dashboard(engine, [], start=date(2024, 3, 30), end=date(2024, 4, 1), now=NOW)
    assert [d.handoffs for d in dashboard.days] == [1, 1, 1]


def test_other_time_zone(engine: Engine) -> None:
    make_ticket(engine, utc(4, 23, 30))
    day = date(2024, 3, 4)
    helsinki = build_dashboard(engine, [], start=day, end=day, now=NOW)
    london = build_dashboard(engine, [], start=day, end=day, tz="Europe/London", now=NOW)
    assert (helsinki.days[0].handoffs, london.days[0].handoffs) == (0, 1)


def test_a_range_without_data_has_zero_days(engine: Engine) -> None:
    dashboard = build_dashboard(engine, [], start=date(2024, 2, 27), end=date(2024, 3, 1), now=NOW)
    assert [d.day for d in dashboard.days] == [
        date(2024, 2, 27),
        date(2024, 2, 28),
        date(2024, 2, 29),
        date(2024, 3, 1),
    ]
    for day in dashboard.days:
        assert (day.conversations, day.contained, day.handoffs, day.tickets_answered) == (0,) * 4
        assert (day.promises_kept, day.promises_broken, day.ratings) == (0, 0, [])
        assert day.containment is None and day.promise_rate is None
        assert day.average_rating is None
    assert dashboard.totals.containment is None and dashboard.reasons == []


def test_one_day_range(engine: Engine) -> None:
    day = date(2024, 3, 4)
    dashboard = build_dashboard(engine, [Conversation("a", utc(4, 12))], start=day, end=day)
    assert [(d.day, d.conversations, d.contained) for d in dashboard.days] == [(day, 1, 1)]


def test_bad_input_is_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match="before start"):
        build_dashboard(engine, [], start=date(2024, 3, 5), end=date(2024, 3, 4), now=NOW)
    naive = Conversation("a", datetime(2024, 3, 4, 12))
    with pytest.raises(ValueError, match="naive"):
        build_dashboard(engine, [naive], start=date(2024, 3, 4), end=date(2024, 3, 4), now=NOW)


# --- charts -----------------------------------------------------------------------------


def marks(svg: str, css_class: str) -> list[ET.Element]:
    return [e for e in ET.fromstring(svg).iter() if e.get("class") == css_class]


def test_dashboard_charts(week: Dashboard) -> None:
    charts = dashboard_charts(week, reason_labels={"dispute": "Dispute <invoice>"})
    assert set(charts) == {"containment", "handoffs", "promises", "rating"}
    for svg in charts.values():
        assert ET.fromstring(svg).get("role") == "img"
    containment = marks(charts["containment"], "chart-dot")
    assert [(d.get("data-label"), d.get("data-value")) for d in containment] == [
        ("4.3.", "40"),
        ("5.3.", "100"),
    ]  # no conversations on 6.3.: a gap, not 0 %
    segments = marks(charts["handoffs"], "chart-segment")
    assert sorted(
        (s.get("data-label"), s.get("data-series"), s.get("data-value")) for s in segments
    ) == [
        ("4.3.", "Dispute <invoice>", "1"),
        ("4.3.", "fallback", "1"),
        ("5.3.", "Dispute <invoice>", "3"),
        ("5.3.", "customer_request", "2"),
    ]
    assert "Dispute &lt;invoice&gt;" in charts["handoffs"]
    promises = marks(charts["promises"], "chart-dot")
    assert [d.get("data-value") for d in promises] == ["50", "25"]
    rating = marks(charts["rating"], "chart-dot")
    assert [(d.get("data-label"), d.get("data-value")) for d in rating] == [
        ("5.3.", "4"),
        ("6.3.", "3.5"),
    ]
    assert week.charts() == dashboard_charts(week)


def test_charts_of_a_quiet_range(engine: Engine) -> None:
    dashboard = build_dashboard(engine, [], start=date(2024, 3, 1), end=date(2024, 3, 3), now=NOW)
    charts = dashboard.charts()
    for name in ("containment", "promises", "rating"):
        assert [e.text for e in marks(charts[name], "chart-empty")] == [NO_DATA]
    assert not marks(charts["handoffs"], "chart-empty")  # zero handoffs is an answer
    assert len(marks(charts["handoffs"], "chart-stack")) == 3
    assert not marks(charts["handoffs"], "chart-segment")


def test_day_label() -> None:
    assert day_label(date(2024, 3, 24)) == "24.3."
