"""Reading the conversation logs back for the admin inbox, and grouping them.

The logs are written by Rasa's own SQLTrackerStore from events shaped the way the running bot
shapes them (the rules in data/rules/handoff.yml, actions/fallback.py, actions/handoff.py),
so the reader is tested against the real table, not a guess of it.
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta, timezone
from itertools import count
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.admin.inbox import InboxFilter, InboxItem, build_inbox, item_key, similar_items
from bot.admin.log_cache import LogCache
from bot.admin.logs import (
    ANSWERED,
    CLARIFIED,
    HANDED_OFF,
    ConversationSummary,
    LoggedMessage,
    conversation_summaries,
    read_messages,
)

REPO = Path(__file__).resolve().parent.parent
DAY_1 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)  # a Monday, 10:00 in Helsinki
DAY_3 = DAY_1 + timedelta(days=2)


class Clock:
    """Event timestamps a few seconds apart, as in a real conversation."""

    def __init__(self, start: datetime) -> None:
        self.now = start.timestamp()

    def __call__(self) -> float:
        self.now += 2
        return self.now


def said(
    clock: Clock,
    text: str | None,
    intent: str,
    confidence: float = 0.9,
    ranking: list[tuple[str, float]] | None = None,
    metadata: dict[str, Any] | None = None,
) -> UserUttered:
    ranking = ranking or [(intent, confidence)]
    parse_data = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "entities": [],
        "intent_ranking": [{"name": name, "confidence": value} for name, value in ranking],
    }
    return UserUttered(
        text,
        {"name": intent, "confidence": confidence},
        [],
        parse_data,
        timestamp=clock(),
        input_channel="widget",
        metadata=metadata or {},
    )


def act(clock: Clock, name: str) -> ActionExecuted:
    return ActionExecuted(name, timestamp=clock())


def utter(clock: Clock, response: str, text: str = "...") -> BotUttered:
    return BotUttered(text, {}, {"utter_action": response}, timestamp=clock())


def slot(clock: Clock, name: str, value: Any) -> SlotSet:
    return SlotSet(name, value, timestamp=clock())


def session_start(clock: Clock, language: str | None = "fi") -> list[Event]:
    events: list[Event] = [act(clock, "action_session_start"), SessionStarted(timestamp=clock())]
    if language:
        events.append(slot(clock, "language", language))
    return [*events, act(clock, "action_listen")]


def clarify(clock: Clock) -> list[Event]:
    """action_clarify_or_handoff the first time: ask which topic was meant."""
    return [
        act(clock, "action_clarify_or_handoff"),
        utter(clock, "utter_clarify", "Tarkoititko jotain näistä?"),
        slot(clock, "handoff_reason", None),
        slot(clock, "needs_handoff", False),
        act(clock, "action_listen"),
    ]


def start_handoff(clock: Clock, reason: str) -> list[Event]:
    """action_start_handoff, then the handoff form asks how to reply."""
    return [
        act(clock, "action_start_handoff"),
        utter(clock, f"utter_handoff_intro_{reason}"),
        slot(clock, "handoff_reason", reason),
        slot(clock, "needs_handoff", False),
        slot(clock, "contact_method", None),
        slot(clock, "form_failures", None),
        act(clock, "handoff_form"),
        ActiveLoop("handoff_form", timestamp=clock()),
        slot(clock, "requested_slot", "contact_method"),
        utter(clock, "utter_ask_contact_method"),
        act(clock, "action_listen"),
    ]


def create_ticket(clock: Clock, number: str) -> list[Event]:
    """The handoff form is done: action_create_ticket files the ticket and pauses the bot."""
    return [
        act(clock, "handoff_form"),
        ActiveLoop(None, timestamp=clock()),
        slot(clock, "requested_slot", None),
        act(clock, "action_create_ticket"),
        utter(clock, "utter_ticket_created_email"),
        slot(clock, "handoff_reason", None),
        slot(clock, "needs_handoff", False),
        slot(clock, "form_failures", None),
        slot(clock, "ticket_number", number),
        ConversationPaused(timestamp=clock()),
        act(clock, "action_listen"),
    ]


def answer(clock: Clock, response: str) -> list[Event]:
    return [act(clock, response), utter(clock, response), act(clock, "action_listen")]


def answered_fi(clock: Clock) -> list[Event]:
    """Widget opened, a due date question, a reference number for the form."""
    return [
        *session_start(clock, "fi"),
        said(clock, "/greet", "greet", 1.0),
        utter(clock, "utter_greet"),
        act(clock, "action_greet_back"),
        act(clock, "action_listen"),
        said(
            clock,
            "Voinko saada lisäaikaa laskuun 12345678?",
            "request_due_date_extension",
            0.93,
            ranking=[
                ("request_due_date_extension", 0.93),
                ("request_payment_plan", 0.04),
                ("ask_payment_details", 0.02),
                ("greet", 0.01),
            ],
        ),
        act(clock, "due_date_extension_form"),
        ActiveLoop("due_date_extension_form", timestamp=clock()),
        utter(clock, "utter_ask_reference_number"),
        act(clock, "action_listen"),
        said(clock, "viitenumero on 10016", "inform", 0.88),
        slot(clock, "reference_number", "10016"),
        act(clock, "due_date_extension_form"),
        utter(clock, "utter_ask_new_due_date"),
        act(clock, "action_listen"),
    ]


def clarified_en(clock: Clock) -> list[Event]:
    """Not understood once; the customer then clicks a topic button (not typed: skipped)."""
    return [
        *session_start(clock, None),
        said(clock, "my cat ate the paper thing", "nlu_fallback", 0.31),
        slot(clock, "language", "en"),
        *clarify(clock),
        said(clock, "/request_invoice_copy", "request_invoice_copy", 1.0),
        *answer(clock, "invoice_lookup_form"),
    ]


def fallback_handoff(clock: Clock) -> list[Event]:
    """Misunderstood twice: a person (reason `fallback`), a ticket, then a message to the agent."""
    return [
        *session_start(clock, "fi"),
        said(clock, "asdf qwerty", "nlu_fallback", 0.2),
        *clarify(clock),
        said(clock, "en tiedä mitä tarkoitat", "out_of_scope", 0.55),
        act(clock, "action_clarify_or_handoff"),
        slot(clock, "handoff_reason", "fallback"),
        slot(clock, "needs_handoff", True),
        *start_handoff(clock, "fallback"),
        said(clock, "sähköpostiin matti.virtanen@example.com kiitos", "inform", 0.7),
        slot(clock, "contact_method", "email"),
        slot(clock, "contact_email", "matti.virtanen@example.com"),
        *create_ticket(clock, "T-1042"),
        said(clock, "Onko tähän tullut vastausta?", "ask_contact_info", 0.4),
    ]


def dispute_fi(clock: Clock) -> list[Event]:
    """A disputed invoice goes straight to a person; the message is full of personal data."""
    return [
        *session_start(clock, "fi"),
        said(
            clock,
            "Lasku 20261234 on väärin, en ole tilannut mitään. Nimeni on Matti Virtanen, "
            "puh. 040 123 4567",
            "dispute_invoice",
            0.81,
        ),
        *start_handoff(clock, "dispute"),
    ]


def switching_language(clock: Clock) -> list[Event]:
    """Starts in Finnish, switches to English mid-conversation and stays there."""
    return [
        *session_start(clock, "fi"),
        said(clock, "Hei", "greet", 0.99),
        *answer(clock, "action_greet_back"),
        said(clock, "Do you speak English? I need a copy of invoice 4321", "request_invoice_copy"),
        slot(clock, "language", "en"),
        *answer(clock, "invoice_lookup_form"),
        said(clock, "my IBAN is FI21 1234 5600 0007 85, ref RF18 5390 0754 7034", "inform"),
        *answer(clock, "invoice_lookup_form"),
    ]


def english_page(clock: Clock) -> list[Event]:
    """No language slot ever set: the page's metadata says English."""
    return [
        said(
            clock,
            "Hi, this is Jane Smith, call me on +44 7700 900123",
            "greet",
            metadata={"language": "en-GB"},
        ),
        *answer(clock, "action_greet_back"),
    ]


def known_name(clock: Clock) -> list[Event]:
    """A form that asked the customer's name (a slot with "name" in it) masks it everywhere."""
    return [
        *session_start(clock, "en"),
        said(clock, "Maija here, could I get more time?", "request_due_date_extension"),
        slot(clock, "customer_name", "Maija Meikäläinen"),
        *answer(clock, "due_date_extension_form"),
    ]


def widget_only(clock: Clock) -> list[Event]:
    """The widget opened and nothing was said: no conversation for the dashboard."""
    return [*session_start(clock, "fi"), said(clock, "/greet", "greet", 1.0), utter(clock, "x")]


def empty_texts(clock: Clock) -> list[Event]:
    return [
        *session_start(clock, "fi"),
        said(clock, None, "greet"),
        said(clock, "   ", "greet"),
        said(clock, "Kiitos avusta!", "thank", 0.97),
        *answer(clock, "utter_youre_welcome"),
    ]


CONVERSATIONS = {
    "answered-fi": (answered_fi, DAY_1),
    "clarified-en": (clarified_en, DAY_1 + timedelta(minutes=5)),
    "fallback-handoff": (fallback_handoff, DAY_1 + timedelta(minutes=10)),
    "dispute-fi": (dispute_fi, DAY_3),
    "switching": (switching_language, DAY_3 + timedelta(minutes=5)),
    "english-page": (english_page, DAY_3 + timedelta(minutes=10)),
    "known-name": (known_name, DAY_3 + timedelta(minutes=15)),
    "widget-only": (widget_only, DAY_3 + timedelta(minutes=20)),
    "empty-texts": (empty_texts, DAY_3 + timedelta(minutes=25)),
}


@pytest.fixture(scope="module")
def rasa_domain() -> Domain:
    return Domain.load(str(REPO / "domain.yml"))


@pytest.fixture
async def tracker_db(tmp_path: Path, rasa_domain: Domain) -> Path:
    """A tracker store file written by Rasa itself, plus rows Rasa would never write."""
    path = tmp_path / "tracker.db"
    store = SQLTrackerStore(rasa_domain, dialect="sqlite", db=str(path))
    for sender_id, (build, start) in CONVERSATIONS.items():
        tracker = DialogueStateTracker.from_events(
            sender_id, build(Clock(start)), slots=rasa_domain.slots
        )
        await store.save(tracker)
    store.engine.dispose()
    broken_at = (DAY_3 + timedelta(hours=1)).timestamp()
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data)"
            " VALUES (?, ?, ?, NULL, NULL, ?)",
            [
                ("broken", "user", broken_at, '{"event": "user", "text": "Hei, lasku'),
                ("broken", "user", broken_at + 1, "null"),
                ("broken", "user", broken_at + 2, "[1, 2, 3]"),
                ("broken", "mystery_event", broken_at + 3, '{"event": "mystery_event"}'),
                ("broken", "user", broken_at + 4, None),
                (
                    "broken",
                    "user",
                    broken_at + 5,
                    '{"event": "user", "text": "Toimiiko tämä?", "parse_data": '
                    '{"intent": {"name": "greet", "confidence": "not a number"}, '
                    '"intent_ranking": "nonsense"}}',
                ),
            ],
        )
    return path


@pytest.fixture
async def messages(tracker_db: Path) -> list[LoggedMessage]:
    return read_messages(f"sqlite:///{tracker_db}")


def by_conversation(messages: list[LoggedMessage], conversation_id: str) -> list[LoggedMessage]:
    return [message for message in messages if message.conversation_id == conversation_id]


# --- read_messages -----------------------------------------------------------------------------


def test_typed_messages_only_in_time_order(messages: list[LoggedMessage]) -> None:
    texts = [message.text for message in messages]
    assert "/greet" not in texts and "/request_invoice_copy" not in texts
    assert all(text.strip() for text in texts)
    assert [m.sent_at for m in messages] == sorted(m.sent_at for m in messages)
    assert all(
        m.sent_at.tzinfo is not None and m.sent_at.utcoffset() == timedelta(0) for m in messages
    )
    assert {m.conversation_id for m in messages} == set(CONVERSATIONS) - {"widget-only"} | {
        "broken"
    }


def test_answered_message_has_intent_confidence_and_top_three(
    messages: list[LoggedMessage],
) -> None:
    first, second = by_conversation(messages, "answered-fi")
    assert first.text == "Voinko saada lisäaikaa laskuun [INVOICE]?"
    assert first.intent == "request_due_date_extension"
    assert first.confidence == pytest.approx(0.93)
    assert first.ranking == (
        ("request_due_date_extension", 0.93),
        ("request_payment_plan", 0.04),
        ("ask_payment_details", 0.02),
    )
    assert (first.outcome, first.handoff_reason, first.language) == (ANSWERED, None, "fi")
    assert second.text == "viitenumero on [REFERENCE]"
    assert second.outcome == ANSWERED
    assert first.event_id < second.event_id
    assert first.sent_at > DAY_1


def test_fallback_then_clarification(messages: list[LoggedMessage]) -> None:
    (message,) = by_conversation(messages, "clarified-en")
    assert message.intent == "nlu_fallback"
    assert message.outcome == CLARIFIED
    assert message.language == "en"  # detected from this very message


def test_second_misunderstanding_hands_off_and_the_rest_stays_with_the_person(
    messages: list[LoggedMessage],
) -> None:
    first, second, contact, to_agent = by_conversation(messages, "fallback-handoff")
    assert (first.outcome, first.handoff_reason) == (CLARIFIED, None)
    assert (second.outcome, second.handoff_reason) == (HANDED_OFF, "fallback")
    # Answering the handoff form, and writing to the agent while the bot is paused.
    assert contact.text == "sähköpostiin [EMAIL] kiitos"
    assert (contact.outcome, contact.handoff_reason) == (HANDED_OFF, "fallback")
    assert (to_agent.outcome, to_agent.handoff_reason) == (HANDED_OFF, "fallback")


def test_dispute_is_handed_off_with_its_reason_and_masked(messages: list[LoggedMessage]) -> None:
    (message,) = by_conversation(messages, "dispute-fi")
    assert (message.outcome, message.handoff_reason) == (HANDED_OFF, "dispute")
    assert message.text == (
        "Lasku [INVOICE] on väärin, en ole tilannut mitään. Nimeni on [NAME], puh. [PHONE]"
    )


def test_language_follows_the_customer_mid_conversation(messages: list[LoggedMessage]) -> None:
    hello, switch, details = by_conversation(messages, "switching")
    assert [m.language for m in (hello, switch, details)] == ["fi", "en", "en"]
    assert switch.text == "Do you speak English? I need a copy of invoice [INVOICE]"
    assert details.text == "my IBAN is [IBAN], ref [REFERENCE]"


def test_page_metadata_gives_the_language_when_no_slot_does(
    messages: list[LoggedMessage],
) -> None:
    (message,) = by_conversation(messages, "english-page")
    assert message.language == "en"
    assert message.text == "Hi, this is [NAME], call me on [PHONE]"
    (finnish,) = by_conversation(messages, "empty-texts")
    assert finnish.language == "fi"


def test_names_known_from_slots_are_masked(messages: list[LoggedMessage]) -> None:
    (message,) = by_conversation(messages, "known-name")
    assert message.text == "[NAME] here, could I get more time?"


def test_malformed_rows_and_unknown_events_are_skipped(messages: list[LoggedMessage]) -> None:
    (message,) = by_conversation(messages, "broken")
    assert message.text == "Toimiiko tämä?"
    assert (message.intent, message.confidence, message.ranking) == ("greet", None, ())


def test_since_and_until_are_a_half_open_range(tracker_db: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tracker_db}")
    day_one = read_messages(engine, since=DAY_1, until=DAY_1 + timedelta(days=1))
    assert {m.conversation_id for m in day_one} == {
        "answered-fi",
        "clarified-en",
        "fallback-handoff",
    }
    later = read_messages(engine, since=DAY_1 + timedelta(days=1))
    assert "answered-fi" not in {m.conversation_id for m in later}
    assert len(day_one) + len(later) == len(read_messages(engine))
    # Naive datetimes are UTC.
    naive = read_messages(engine, until=DAY_1.replace(tzinfo=None) + timedelta(days=1))
    assert naive == day_one
    engine.dispose()


def test_limit_keeps_the_newest(tracker_db: Path) -> None:
    everything = read_messages(f"sqlite:///{tracker_db}")
    newest = read_messages(f"sqlite:///{tracker_db}", limit=3)
    assert newest == everything[-3:]


def test_a_store_rasa_has_not_written_yet_is_empty(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nothing.db'}"
    assert read_messages(url) == []
    assert conversation_summaries(url) == []


async def test_the_cache_reads_again_only_when_the_logs_change(
    tracker_db: Path, rasa_domain: Domain
) -> None:
    engine = sa.create_engine(f"sqlite:///{tracker_db}")
    cache = LogCache()
    first = cache.messages(engine, DAY_1)
    assert first == read_messages(engine, since=DAY_1)
    assert cache.messages(engine, DAY_1) == first and cache.reads == 1
    # Another start day is another read.
    later = cache.messages(engine, DAY_3)
    assert later == read_messages(engine, since=DAY_3) and cache.reads == 2

    # A new customer message (Rasa appends events): read again, and it is there.
    clock = Clock(DAY_3 + timedelta(hours=2))
    store = SQLTrackerStore(rasa_domain, dialect="sqlite", db=str(tracker_db))
    events = [*session_start(clock), said(clock, "Onko laskuni jo maksettu?", "ask_invoice")]
    await store.save(DialogueStateTracker.from_events("new-one", events, slots=rasa_domain.slots))
    store.engine.dispose()
    with_new = cache.messages(engine, DAY_3)
    assert cache.reads == 3
    assert [m.text for m in with_new if m.conversation_id == "new-one"] == [
        "Onko laskuni jo maksettu?"
    ]

    # Old rows deleted (a retention job): read again, and they are gone.
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM events WHERE sender_id = 'answered-fi'"))
    after_delete = cache.messages(engine, DAY_1)
    assert cache.reads == 4
    assert "answered-fi" not in {m.conversation_id for m in after_delete}
    engine.dispose()


async def test_the_reason_may_come_later_in_the_conversation(
    tmp_path: Path, rasa_domain: Domain
) -> None:
    """A handoff whose reason slot is set only after the customer's next message."""
    clock = Clock(DAY_1)
    events = [
        *session_start(clock, "en"),
        said(clock, "I want to talk to someone", "request_human"),
        act(clock, "action_start_handoff"),
        act(clock, "action_listen"),
        said(clock, "by email please", "inform"),
        slot(clock, "handoff_reason", "customer_request"),
    ]
    path = tmp_path / "later.db"
    store = SQLTrackerStore(rasa_domain, dialect="sqlite", db=str(path))
    await store.save(DialogueStateTracker.from_events("later", events, slots=rasa_domain.slots))
    store.engine.dispose()
    first, second = read_messages(f"sqlite:///{path}")
    assert (first.outcome, first.handoff_reason) == (HANDED_OFF, "customer_request")
    assert second.outcome == ANSWERED


async def test_after_the_agent_resolves_the_bot_answers_again(
    tmp_path: Path, rasa_domain: Domain
) -> None:
    """Resumed, then a new session carries the old ticket number over: no new handoff."""
    clock = Clock(DAY_1)
    events = [
        *session_start(clock, "fi"),
        said(clock, "haluan puhua ihmiselle", "request_human"),
        *start_handoff(clock, "customer_request"),
        said(clock, "tähän chattiin", "inform"),
        slot(clock, "contact_method", "chat"),
        *create_ticket(clock, "T-7"),
        said(clock, "kiitos odotan", "thank"),
        ConversationResumed(timestamp=clock()),
        said(clock, "Selvä, kiitos avusta", "thank"),
        *answer(clock, "utter_youre_welcome"),
        act(clock, "action_session_start"),
        SessionStarted(timestamp=clock()),
        slot(clock, "ticket_number", "T-7"),
        slot(clock, "language", "fi"),
        act(clock, "action_listen"),
        said(clock, "Mikä on tilinumeronne?", "ask_payment_details"),
        *answer(clock, "action_answer_invoice_question"),
    ]
    path = tmp_path / "resumed.db"
    store = SQLTrackerStore(rasa_domain, dialect="sqlite", db=str(path))
    await store.save(DialogueStateTracker.from_events("resumed", events, slots=rasa_domain.slots))
    store.engine.dispose()
    outcomes = [(m.outcome, m.handoff_reason) for m in read_messages(f"sqlite:///{path}")]
    assert outcomes == [
        (HANDED_OFF, "customer_request"),  # asked for a person
        (HANDED_OFF, "customer_request"),  # answered the handoff form, ticket filed
        (HANDED_OFF, "customer_request"),  # wrote while the agent had it
        (ANSWERED, None),  # after the agent resolved it; the new session ends this turn
        (ANSWERED, None),
    ]


# --- conversation_summaries --------------------------------------------------------------------


def test_conversation_summaries(tracker_db: Path) -> None:
    summaries = {s.conversation_id: s for s in conversation_summaries(f"sqlite:///{tracker_db}")}
    assert "widget-only" not in summaries
    assert summaries["answered-fi"] == ConversationSummary(
        conversation_id="answered-fi",
        started_at=summaries["answered-fi"].started_at,
        language="fi",
        user_messages=2,
        handed_off=False,
        handoff_reason=None,
    )
    assert summaries["answered-fi"].started_at > DAY_1
    assert (
        summaries["fallback-handoff"].handed_off,
        summaries["fallback-handoff"].handoff_reason,
    ) == (
        True,
        "fallback",
    )
    assert summaries["fallback-handoff"].user_messages == 4
    assert summaries["dispute-fi"].handoff_reason == "dispute"
    assert summaries["clarified-en"].language == "en"
    assert summaries["clarified-en"].user_messages == 1  # the button click is not typed
    assert not summaries["clarified-en"].handed_off


def test_conversation_summaries_by_start_day(tracker_db: Path) -> None:
    day_three = conversation_summaries(
        f"sqlite:///{tracker_db}", since=DAY_3, until=DAY_3 + timedelta(days=1)
    )
    assert [s.conversation_id for s in day_three] == [
        "dispute-fi",
        "switching",
        "english-page",
        "known-name",
        "empty-texts",
        "broken",
    ]


# --- build_inbox -------------------------------------------------------------------------------


EVENT_IDS = count(1)


def logged(
    text: str,
    *,
    at: datetime = DAY_1,
    conversation: str = "c1",
    intent: str | None = "request_due_date_extension",
    confidence: float | None = 0.9,
    language: str = "fi",
    outcome: str = ANSWERED,
    reason: str | None = None,
) -> LoggedMessage:
    return LoggedMessage(
        conversation_id=conversation,
        event_id=next(EVENT_IDS),
        sent_at=at,
        text=text,
        intent=intent,
        confidence=confidence,
        ranking=((intent, confidence),) if intent and confidence is not None else (),
        language=language,
        outcome=outcome,
        handoff_reason=reason,
    )


@pytest.fixture
def inbox_messages() -> list[LoggedMessage]:
    hour = timedelta(hours=1)
    return [
        logged("Voinko saada lisäaikaa?", at=DAY_1, conversation="a", confidence=0.8),
        logged("voinko saada lisäaikaa", at=DAY_1 + hour, conversation="b", confidence=0.6),
        logged(
            "Voinko  saada LISÄAIKAA!! 🙏",
            at=DAY_1 + 2 * hour,
            conversation="b",
            intent="request_payment_plan",
            confidence=0.7,
        ),
        logged(
            "laskun [INVOICE] eräpäivä",
            at=DAY_1,
            conversation="c",
            intent="ask_payment_details",
            confidence=0.5,
        ),
        logged(
            "laskun [INVOICE] eräpäivä",
            at=DAY_3,
            conversation="d",
            intent="ask_payment_details",
            confidence=0.4,
        ),
        logged(
            "asdf qwerty",
            at=DAY_3 + hour / 2,
            conversation="e",
            intent="nlu_fallback",
            confidence=0.2,
            outcome=CLARIFIED,
        ),
        logged(
            "I want to talk to a person",
            at=DAY_3 + hour,
            conversation="f",
            intent="request_human",
            confidence=0.95,
            language="en",
            outcome=HANDED_OFF,
            reason="customer_request",
        ),
        logged(
            "this invoice is wrong",
            at=DAY_3 + 2 * hour,
            conversation="g",
            intent="out_of_scope",
            confidence=0.45,
            language="en",
            outcome=CLARIFIED,
        ),
    ]


def texts(items: list[InboxItem]) -> list[str]:
    return [item.text for item in items]


def test_the_same_question_is_one_item_with_a_count(inbox_messages: list[LoggedMessage]) -> None:
    items = build_inbox(inbox_messages)
    first = items[0]
    assert first.count == 3
    assert first.text == "Voinko  saada LISÄAIKAA!! 🙏"  # the most recent wording
    assert first.key == item_key("voinko saada lisäaikaa") == item_key("Voinko saada lisäaikaa?")
    assert len(first.key) == 16
    assert first.intent == "request_due_date_extension"  # two of three
    assert first.confidence == pytest.approx(0.6)  # the lowest
    assert first.outcomes == {ANSWERED: 3}
    assert first.conversation_ids == ["a", "b"]
    assert (first.first_seen, first.last_seen) == (DAY_1, DAY_1 + timedelta(hours=2))
    assert len(items) == 5


def test_different_invoice_numbers_group_once_masked() -> None:
    raw = [
        logged("Laskun 12345678 eräpäivä?", conversation="x"),
        logged("laskun 87654321 eräpäivä", conversation="y"),
    ]
    (item,) = build_inbox(raw)
    assert item.count == 2
    assert item.text == "laskun [INVOICE] eräpäivä"  # masked again on the way in


def test_search_sees_only_the_masked_text() -> None:
    raw = [logged("nimeni on Matti Virtanen, lasku 12345")]
    assert build_inbox(raw, InboxFilter(search="matti")) == []
    assert texts(build_inbox(raw, InboxFilter(search="[name]"))) == [
        "nimeni on [NAME], lasku [INVOICE]"
    ]


def test_sorted_by_count_then_most_recent(inbox_messages: list[LoggedMessage]) -> None:
    items = build_inbox(inbox_messages)
    assert [item.count for item in items] == [3, 2, 1, 1, 1]
    singles = items[2:]
    assert [item.last_seen for item in singles] == sorted(
        (item.last_seen for item in singles), reverse=True
    )
    assert texts(singles) == [
        "this invoice is wrong",
        "I want to talk to a person",
        "asdf qwerty",
    ]


@pytest.mark.parametrize(
    ("inbox_filter", "expected"),
    [
        (
            InboxFilter(low_confidence=0.5),
            ["this invoice is wrong", "asdf qwerty", "laskun [INVOICE] eräpäivä"],
        ),
        (InboxFilter(fallback=True), ["this invoice is wrong", "asdf qwerty"]),
        (InboxFilter(handed_off=True), ["I want to talk to a person"]),
        (
            InboxFilter(language="en"),
            ["this invoice is wrong", "I want to talk to a person"],
        ),
        (InboxFilter(intent="ask_payment_details"), ["laskun [INVOICE] eräpäivä"]),
        (InboxFilter(search="LISÄAIKAA"), ["Voinko  saada LISÄAIKAA!! 🙏"]),
        (InboxFilter(search="invoice"), ["laskun [INVOICE] eräpäivä", "this invoice is wrong"]),
        (
            InboxFilter(since=date(2026, 3, 4)),
            [
                "this invoice is wrong",
                "I want to talk to a person",
                "asdf qwerty",
                "laskun [INVOICE] eräpäivä",
            ],
        ),
        (
            InboxFilter(until=date(2026, 3, 2)),
            ["Voinko  saada LISÄAIKAA!! 🙏", "laskun [INVOICE] eräpäivä"],
        ),
        (InboxFilter(language="en", fallback=True), ["this invoice is wrong"]),
    ],
)
def test_filters(
    inbox_messages: list[LoggedMessage], inbox_filter: InboxFilter, expected: list[str]
) -> None:
    assert texts(build_inbox(inbox_messages, inbox_filter)) == expected


def test_filtered_counts_only_count_what_matches(inbox_messages: list[LoggedMessage]) -> None:
    (item,) = build_inbox(
        inbox_messages, InboxFilter(intent="ask_payment_details", until=DAY_1.date())
    )
    assert item.count == 1


def test_days_are_helsinki_days() -> None:
    """22:30 UTC on 1 March is already 2 March in Helsinki."""
    late = logged("myöhäinen kysymys", at=datetime(2026, 3, 1, 22, 30, tzinfo=timezone.utc))
    only_2nd = InboxFilter(since=date(2026, 3, 2), until=date(2026, 3, 2))
    assert texts(build_inbox([late], only_2nd)) == ["myöhäinen kysymys"]
    assert build_inbox([late], only_2nd, tz="UTC") == []


def test_handoff_reasons_are_counted() -> None:
    raw = [
        logged("puhun ihmisen kanssa", outcome=HANDED_OFF, reason="customer_request"),
        logged("Puhun ihmisen kanssa.", outcome=HANDED_OFF, reason="customer_request"),
        logged("puhun ihmisen kanssa", outcome=HANDED_OFF, reason="fallback"),
        logged("puhun ihmisen kanssa!", outcome=CLARIFIED),
    ]
    (item,) = build_inbox(raw)
    assert item.outcomes == {HANDED_OFF: 3, CLARIFIED: 1}
    assert item.handoff_reasons == {"customer_request": 2, "fallback": 1}


def test_similar_items_for_bulk_labelling() -> None:
    raw = [
        logged("voinko saada lisäaikaa laskulle"),
        logged("saanko lisää aikaa laskulle"),
        logged("voisinko saada lisäaikaa laskuun"),
        logged("mikä on tilinumeronne"),
        logged("voisinko saada lisäaikaa laskulle", language="en"),  # mis-detected language
        logged("can I get more time for the invoice", language="en"),
        logged("could I get more time for my invoice", language="en"),
    ]
    items = build_inbox(raw)
    target = next(item for item in items if item.text == "voinko saada lisäaikaa laskulle")
    # Best first; the unrelated question and the target itself are left out.
    assert texts(similar_items(items, target)) == [
        "voisinko saada lisäaikaa laskuun",
        "saanko lisää aikaa laskulle",
    ]
    assert texts(similar_items(items, target, language_only=False))[0] == (
        "voisinko saada lisäaikaa laskulle"
    )
    assert texts(similar_items(items, target, min_ratio=0.85)) == [
        "voisinko saada lisäaikaa laskuun"
    ]
    english = next(item for item in items if item.text.startswith("can I"))
    assert texts(similar_items(items, english)) == ["could I get more time for my invoice"]
    assert similar_items([target], target) == []


def test_inbox_from_the_real_logs(messages: list[LoggedMessage]) -> None:
    items = build_inbox(messages, InboxFilter(handed_off=True))
    assert {item.text for item in items} >= {
        "sähköpostiin [EMAIL] kiitos",
        "Onko tähän tullut vastausta?",
    }
    assert all(item.outcomes.get(HANDED_OFF) for item in items)
