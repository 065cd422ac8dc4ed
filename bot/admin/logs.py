"""Customer messages from Rasa's SQL tracker store, masked, with what the bot did about them.

The admin inbox (design "Admin loop") needs, per typed customer message: the predicted intent
and confidence, the language, and the outcome: answered, clarified (the bot asked which topic
was meant) or handed off to a person (and why). Rasa writes every event of a conversation to
the `events` table (SQLTrackerStore); this module reads it with SQLAlchemy core, so SQLite and
PostgreSQL both work, and never imports Rasa.

How the outcome is read from the events after a message, up to the customer's next message
(see actions/handoff.py, actions/fallback.py, data/rules/handoff.yml):

- handed off: `action_start_handoff` ran, or an action set `needs_handoff` to true (the rules
  then start the handoff), or `action_create_ticket` ran / set `ticket_number` (the handoff
  form finished), or the conversation was already with a person (paused, or the handoff
  form was collecting the contact details) when the message arrived. The reason is the
  `handoff_reason` slot set in that stretch, else the next one set later, else the one the
  running handoff was started with;
- clarified: `action_clarify_or_handoff` uttered `utter_clarify` (recorded in the bot event's
  `metadata.utter_action`), Rasa's own fallback actions ran, or the model said `nlu_fallback`;
- answered: anything else.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import groupby
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, Row

from bot.admin.masking import mask
from bot.inbound import clean_json, json_may_need_cleaning

logger = logging.getLogger(__name__)

EVENTS = sa.table(
    "events",
    sa.column("id", sa.Integer),
    sa.column("sender_id", sa.String),
    sa.column("type_name", sa.String),
    sa.column("timestamp", sa.Float),
    sa.column("intent_name", sa.String),
    sa.column("action_name", sa.String),
    sa.column("data", sa.Text),
)

ANSWERED, CLARIFIED, HANDED_OFF = "answered", "clarified", "handed_off"
LANGUAGES = ("fi", "en")
DEFAULT_LANGUAGE = "fi"
FALLBACK_INTENT = "nlu_fallback"
# The widget sends this for the customer when it opens; it is not something they said.
WIDGET_OPENED = "/greet"
RANKING_SIZE = 3

# A SQLAlchemy engine (the caller's, left open) or a URL (an engine made and disposed here).
EngineOrUrl = Engine | str | sa.engine.URL

HANDOFF_ACTIONS = frozenset({"action_start_handoff"})
TICKET_ACTIONS = frozenset({"action_create_ticket"})
CLARIFY_ACTIONS = frozenset(
    {"action_clarify_or_handoff", "action_default_fallback", "action_two_stage_fallback"}
)
CLARIFY_RESPONSES = frozenset({"utter_clarify", "utter_default", "utter_ask_rephrase"})
HANDOFF_FORM = "handoff_form"
# Events after which Rasa starts a conversation's slots afresh.
RESETTING_EVENTS = frozenset({"session_started", "restart"})


@dataclass(frozen=True)
class LoggedMessage:
    """One typed customer message and what became of it."""

    conversation_id: str
    event_id: int
    sent_at: datetime
    text: str
    intent: str | None
    confidence: float | None
    ranking: tuple[tuple[str, float], ...]
    language: str
    outcome: str
    handoff_reason: str | None


@dataclass(frozen=True)
class ConversationSummary:
    """One conversation (one sender id, sessions together) for the dashboard's daily counts."""

    conversation_id: str
    started_at: datetime
    language: str
    user_messages: int
    handed_off: bool
    handoff_reason: str | None


@dataclass(frozen=True)
class _Event:
    id: int
    type: str
    sent_at: datetime | None
    data: Mapping[str, Any]


@dataclass
class _Turn:
    """A customer message (typed or a button) and the events up to the next one."""

    event: _Event
    language_before: str | None
    paused: bool
    active_loop: str | None
    reason_in_force: str | None
    after: list[_Event] = field(default_factory=list)


# --- reading rows ----------------------------------------------------------------------------


def _engine(engine_or_url: EngineOrUrl) -> tuple[Engine, bool]:
    """The engine to use, and whether we made it (and so must dispose of it)."""
    if isinstance(engine_or_url, Engine):
        return engine_or_url, False
    url = str(engine_or_url) if isinstance(engine_or_url, sa.engine.URL) else engine_or_url
    if url.startswith("postgres://"):  # Heroku-style URLs; SQLAlchemy 1.4 wants postgresql://
        url = "postgresql://" + url[len("postgres://") :]
    return sa.create_engine(url), True


def _epoch(moment: datetime | None) -> float | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)  # naive means UTC, as Rasa stores it
    return moment.timestamp()


def _query(since: datetime | None, until: datetime | None) -> sa.sql.Select:
    """All events of the conversations with a customer message in [since, until)."""
    query = sa.select(
        EVENTS.c.id, EVENTS.c.sender_id, EVENTS.c.type_name, EVENTS.c.timestamp, EVENTS.c.data
    ).order_by(EVENTS.c.sender_id, EVENTS.c.id)
    if since is None and until is None:
        return query
    active = sa.select(EVENTS.c.sender_id).where(EVENTS.c.type_name == "user")
    if since is not None:
        active = active.where(EVENTS.c.timestamp >= _epoch(since))
    if until is not None:
        active = active.where(EVENTS.c.timestamp < _epoch(until))
    return query.where(EVENTS.c.sender_id.in_(active.distinct()))


def _event(row: Row) -> _Event | None:
    """A row as an event, or None for a row that can't be read (it is skipped, not fatal).

    Text is cleaned like every text the service takes in (`bot.inbound.clean_text`): a
    customer message with half an emoji (a lone surrogate) shows U+FFFD instead of
    breaking the page, the JSON and the CSV export for everyone.
    """
    try:
        data = json.loads(row.data) if row.data else {}
        if isinstance(row.data, str) and json_may_need_cleaning(row.data):
            data = clean_json(data)
    except (TypeError, ValueError, RecursionError):
        logger.warning("skipping tracker event %s of %s: data is not JSON", row.id, row.sender_id)
        return None
    if not isinstance(data, dict):
        logger.warning(
            "skipping tracker event %s of %s: data is not an object", row.id, row.sender_id
        )
        return None
    timestamp = row.timestamp if row.timestamp is not None else data.get("timestamp")
    try:
        sent_at = datetime.fromtimestamp(float(timestamp), tz=timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        sent_at = None
    return _Event(row.id, str(row.type_name or data.get("event") or ""), sent_at, data)


def _conversations(
    engine_or_url: EngineOrUrl, since: datetime | None, until: datetime | None
) -> Iterator[tuple[str, list[_Event]]]:
    """(sender id, events in id order) for each conversation, one at a time."""
    engine, owned = _engine(engine_or_url)
    try:
        if not sa.inspect(engine).has_table("events"):
            return  # Rasa has not written anything yet
        with engine.connect() as connection:
            rows = connection.execution_options(stream_results=True).execute(_query(since, until))
            for sender_id, group in groupby(rows, key=lambda row: row.sender_id):
                events = [event for event in map(_event, group) if event is not None]
                yield str(sender_id), events
    finally:
        if owned:
            engine.dispose()


# --- reading a conversation ---------------------------------------------------------------------


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _language(value: Any) -> str | None:
    code = str(value or "")[:2].lower()
    return code if code in LANGUAGES else None


def _metadata_language(data: Mapping[str, Any]) -> str | None:
    """The page language the widget sent (`metadata`, or rasa-webchat's `customData`)."""
    metadata = _dict(data.get("metadata"))
    for source in (metadata, _dict(metadata.get("customData")), _dict(metadata.get("metadata"))):
        language = _language(source.get("language") or source.get("lang"))
        if language:
            return language
    return None


def _user_text(event: _Event) -> str:
    text = event.data.get("text")
    return text if isinstance(text, str) else ""


def _is_typed(event: _Event) -> bool:
    """Typed by the customer: not empty, not a button payload or intent ("/inform{...}")."""
    text = _user_text(event).strip()
    return bool(text) and not text.startswith("/")


def _is_customer_message(event: _Event) -> bool:
    """Typed or clicked, but not the widget announcing itself."""
    text = _user_text(event).strip()
    return bool(text) and text != WIDGET_OPENED


def _slot(event: _Event) -> tuple[str, Any] | None:
    if event.type != "slot":
        return None
    name = event.data.get("name")
    return (name, event.data.get("value")) if isinstance(name, str) else None


def _action(event: _Event) -> str | None:
    name = event.data.get("name")
    return name if event.type == "action" and isinstance(name, str) else None


def _known_names(events: Iterable[_Event]) -> set[str]:
    """Every value a slot about a name ever had in the conversation (future forms ask names)."""
    names = set()
    for event in events:
        slot = _slot(event)
        if slot and "name" in slot[0].lower() and isinstance(slot[1], str) and slot[1].strip():
            names.add(slot[1].strip())
    return names


class _State:
    """The slots, pause and active form in force as the conversation's events are replayed."""

    def __init__(self) -> None:
        self.slots: dict[str, Any] = {}
        self.paused = False
        self.active_loop: str | None = None
        self.reason_in_force: str | None = None

    def apply(self, event: _Event) -> None:
        if event.type in RESETTING_EVENTS:
            self.slots, self.paused, self.active_loop = {}, False, None
        elif event.type == "reset_slots":
            self.slots = {}
        elif event.type == "pause":
            self.paused = True
        elif event.type == "resume":
            self.paused = False
        elif event.type == "active_loop":
            name = event.data.get("name")
            self.active_loop = name if isinstance(name, str) else None
        elif (slot := _slot(event)) is not None:
            self.slots[slot[0]] = slot[1]
            if slot[0] == "handoff_reason" and isinstance(slot[1], str) and slot[1]:
                self.reason_in_force = slot[1]


def _turns(events: list[_Event]) -> list[_Turn]:
    """The conversation cut at each customer message, with the state it arrived in."""
    state, turns = _State(), []
    for event in events:
        if event.type == "user":
            turns.append(
                _Turn(
                    event=event,
                    language_before=_language(state.slots.get("language")),
                    paused=state.paused,
                    active_loop=state.active_loop,
                    reason_in_force=state.reason_in_force,
                )
            )
        elif turns:
            turns[-1].after.append(event)
        state.apply(event)
    return turns


def _turn_language(turn: _Turn) -> str:
    """The language the bot read this message in.

    Rasa sets the `language` slot from each message before the first action runs
    (action_validate_slot_mappings), so a switch to English counts from the English message.
    Before any slot: the page's language, else Finnish.
    """
    detected = None
    for event in turn.after:
        if event.type == "action":
            break
        slot = _slot(event)
        if slot and slot[0] == "language" and _language(slot[1]):
            detected = _language(slot[1])
    return (
        detected or turn.language_before or _metadata_language(turn.event.data) or DEFAULT_LANGUAGE
    )


def _handoff_started(turn: _Turn) -> bool:
    """A handoff began after this message: the handoff action, or an action asking for it."""
    for event in turn.after:
        if _action(event) in HANDOFF_ACTIONS or _slot(event) == ("needs_handoff", True):
            return True
    return False


def _handoff_continued(turn: _Turn) -> bool:
    """A person had the conversation, or the handoff was under way, or it ended in a ticket."""
    if turn.paused or turn.active_loop == HANDOFF_FORM:
        return True
    owner = None
    for event in turn.after:
        action = _action(event)
        if action is not None:
            owner = action
            if action in TICKET_ACTIONS:
                return True
        slot = _slot(event)
        # action_session_start carries an old ticket_number into a new session: not a handoff.
        if slot and slot[0] == "ticket_number" and slot[1] and owner != "action_session_start":
            return True
    return False


def _reasons(events: Iterable[_Event]) -> Iterator[str]:
    """The handoff reasons set, in order (clearing the slot is not a reason)."""
    for event in events:
        slot = _slot(event)
        if slot and slot[0] == "handoff_reason" and isinstance(slot[1], str) and slot[1]:
            yield slot[1]


def _reason_in(events: Iterable[_Event]) -> str | None:
    """The last reason set: action_start_handoff's word is final."""
    reasons = list(_reasons(events))
    return reasons[-1] if reasons else None


def _clarified(turn: _Turn) -> bool:
    if _intent(turn.event)[0] == FALLBACK_INTENT:
        return True
    for event in turn.after:
        if _action(event) in CLARIFY_ACTIONS:
            return True
        if event.type == "bot":
            response = _dict(event.data.get("metadata")).get("utter_action")
            if response in CLARIFY_RESPONSES:
                return True
    return False


def _outcomes(turns: list[_Turn]) -> list[tuple[str, str | None]]:
    """(outcome, handoff reason) for every turn of one conversation."""
    results: list[tuple[str, str | None]] = []
    for index, turn in enumerate(turns):
        if _handoff_started(turn):
            later = (event for following in turns[index + 1 :] for event in following.after)
            reason = _reason_in(turn.after) or next(_reasons(later), None) or turn.reason_in_force
            results.append((HANDED_OFF, reason))
        elif _handoff_continued(turn):
            results.append((HANDED_OFF, _reason_in(turn.after) or turn.reason_in_force))
        elif _clarified(turn):
            results.append((CLARIFIED, None))
        else:
            results.append((ANSWERED, None))
    return results


def _intent(event: _Event) -> tuple[str | None, float | None]:
    intent = _dict(_dict(event.data.get("parse_data")).get("intent"))
    name = intent.get("name")
    return (name if isinstance(name, str) and name else None), _float(intent.get("confidence"))


def _float(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _ranking(event: _Event) -> tuple[tuple[str, float], ...]:
    ranking = _dict(event.data.get("parse_data")).get("intent_ranking")
    entries = []
    for entry in ranking if isinstance(ranking, list) else []:
        entry = _dict(entry)
        name, confidence = entry.get("name"), _float(entry.get("confidence"))
        if isinstance(name, str) and confidence is not None:
            entries.append((name, confidence))
    return tuple(entries[:RANKING_SIZE])


def _in_range(moment: datetime | None, since: datetime | None, until: datetime | None) -> bool:
    if moment is None:
        return False
    stamp = moment.timestamp()
    low, high = _epoch(since), _epoch(until)
    return (low is None or stamp >= low) and (high is None or stamp < high)


def _messages(
    conversation_id: str, events: list[_Event], since: datetime | None, until: datetime | None
) -> Iterator[LoggedMessage]:
    turns = _turns(events)
    known_names = _known_names(events)
    for turn, (outcome, reason) in zip(turns, _outcomes(turns), strict=True):
        if not _is_typed(turn.event) or not _in_range(turn.event.sent_at, since, until):
            continue
        assert turn.event.sent_at is not None  # _in_range checked it
        intent, confidence = _intent(turn.event)
        yield LoggedMessage(
            conversation_id=conversation_id,
            event_id=turn.event.id,
            sent_at=turn.event.sent_at,
            text=mask(_user_text(turn.event).strip(), known_names),
            intent=intent,
            confidence=confidence,
            ranking=_ranking(turn.event),
            language=_turn_language(turn),
            outcome=outcome,
            handoff_reason=reason,
        )


def _summary(conversation_id: str, events: list[_Event]) -> ConversationSummary | None:
    turns = _turns(events)
    outcomes = _outcomes(turns)
    said = [
        (turn, outcome)
        for turn, outcome in zip(turns, outcomes, strict=True)
        if _is_customer_message(turn.event) and turn.event.sent_at is not None
    ]
    if not said:
        return None  # the widget opened and the customer said nothing
    first = said[0][0]
    handoffs = [reason for _, (outcome, reason) in said if outcome == HANDED_OFF]
    assert first.event.sent_at is not None
    return ConversationSummary(
        conversation_id=conversation_id,
        started_at=first.event.sent_at,
        language=_turn_language(first),
        user_messages=sum(_is_typed(turn.event) for turn, _ in said),
        handed_off=bool(handoffs),
        handoff_reason=next((reason for reason in handoffs if reason), None),
    )


# --- public --------------------------------------------------------------------------------


def log_version(engine_or_url: EngineOrUrl) -> tuple[int | None, int]:
    """(newest event id, number of events): changes whenever Rasa writes or rows go."""
    engine, owned = _engine(engine_or_url)
    try:
        if not sa.inspect(engine).has_table("events"):
            return None, 0
        with engine.connect() as connection:
            newest, count = connection.execute(
                sa.select(sa.func.max(EVENTS.c.id), sa.func.count(EVENTS.c.id))
            ).one()
        return newest, count
    finally:
        if owned:
            engine.dispose()


def read_messages(
    engine_or_url: EngineOrUrl,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 20000,
) -> list[LoggedMessage]:
    """Typed customer messages sent in [since, until), oldest first; the newest `limit` of them.

    Naive datetimes are UTC. Each message is masked (names the conversation's slots know
    included) before it leaves this function.
    """
    messages = [
        message
        for conversation_id, events in _conversations(engine_or_url, since, until)
        for message in _messages(conversation_id, events, since, until)
    ]
    messages.sort(key=lambda message: (message.sent_at, message.event_id))
    return messages[-limit:] if limit > 0 else []


def conversation_summaries(
    engine_or_url: EngineOrUrl, since: datetime | None = None, until: datetime | None = None
) -> list[ConversationSummary]:
    """Conversations whose customer first wrote (or clicked) in [since, until), oldest first.

    A conversation is one sender id, all its sessions together. A widget opened without a
    word from the customer is not a conversation.
    """
    summaries = []
    for conversation_id, events in _conversations(engine_or_url, since, until):
        summary = _summary(conversation_id, events)
        if summary is not None and _in_range(summary.started_at, since, until):
            summaries.append(summary)
    return sorted(summaries, key=lambda summary: (summary.started_at, summary.conversation_id))
