"""The admin inbox: logged customer messages, the same question once, with filters.

Admins label what the bot misunderstood (design "Admin loop"). The same message typed by
forty customers is one decision, so messages are grouped by their normalised, masked text;
`similar_items` finds near-duplicates so one label can be applied to several at once.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from difflib import SequenceMatcher
from zoneinfo import ZoneInfo

from bot.admin.logs import CLARIFIED, FALLBACK_INTENT, HANDED_OFF, LoggedMessage
from bot.admin.masking import mask, normalise

DEFAULT_TIMEZONE = "Europe/Helsinki"


@dataclass(frozen=True)
class InboxFilter:
    """What the admin wants to look at; every set field must hold (they combine with AND)."""

    low_confidence: float | None = None  # only messages whose confidence < this
    fallback: bool = False  # only nlu_fallback / clarified
    handed_off: bool = False
    language: str | None = None
    intent: str | None = None  # the predicted intent
    since: date | None = None  # inclusive, a day in the inbox's time zone
    until: date | None = None  # inclusive
    search: str | None = None  # a substring of the masked text, any case

    def matches(self, message: LoggedMessage, zone: ZoneInfo) -> bool:
        return all(check(self, message, zone) for check in _CHECKS)


def _confidence_ok(f: InboxFilter, message: LoggedMessage, zone: ZoneInfo) -> bool:
    if f.low_confidence is None:
        return True
    return message.confidence is not None and message.confidence < f.low_confidence


def _fallback_ok(f: InboxFilter, message: LoggedMessage, zone: ZoneInfo) -> bool:
    return not f.fallback or message.intent == FALLBACK_INTENT or message.outcome == CLARIFIED


def _handed_off_ok(f: InboxFilter, message: LoggedMessage, zone: ZoneInfo) -> bool:
    return not f.handed_off or message.outcome == HANDED_OFF


def _language_ok(f: InboxFilter, message: LoggedMessage, zone: ZoneInfo) -> bool:
    return not f.language or message.language == f.language


def _intent_ok(f: InboxFilter, message: LoggedMessage, zone: ZoneInfo) -> bool:
    return not f.intent or message.intent == f.intent


def _day(value: date) -> date:
    """A day, even when handed a datetime (which refuses to compare with a date)."""
    return value.date() if isinstance(value, datetime) else value


def _days_ok(f: InboxFilter, message: LoggedMessage, zone: ZoneInfo) -> bool:
    day = message.sent_at.astimezone(zone).date()
    return (f.since is None or day >= _day(f.since)) and (f.until is None or day <= _day(f.until))


def _search_ok(f: InboxFilter, message: LoggedMessage, zone: ZoneInfo) -> bool:
    if not f.search or not f.search.strip():
        return True
    return " ".join(f.search.casefold().split()) in " ".join(message.text.casefold().split())


_CHECKS = (
    _confidence_ok,
    _fallback_ok,
    _handed_off_ok,
    _language_ok,
    _intent_ok,
    _days_ok,
    _search_ok,
)


@dataclass
class InboxItem:
    """One distinct customer message (after masking and normalising) and how often it came."""

    key: str
    text: str
    count: int
    language: str
    intent: str | None
    confidence: float | None
    outcomes: dict[str, int]
    handoff_reasons: dict[str, int]
    first_seen: datetime
    last_seen: datetime
    conversation_ids: list[str]


def item_key(text: str) -> str:
    """The stable id of a grouped message: the same wording, the same key, across runs."""
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()[:16]


def _most_common(values: Sequence[str | None]) -> str | None:
    """The most frequent value; on a tie the most recent (values come oldest first)."""
    present = [value for value in values if value is not None]
    if not present:
        return None
    counts = Counter(present)
    last_index = {value: index for index, value in enumerate(present)}
    return max(counts, key=lambda value: (counts[value], last_index[value]))


def _item(key: str, messages: list[LoggedMessage]) -> InboxItem:
    messages = sorted(messages, key=lambda message: (message.sent_at, message.event_id))
    confidences = [m.confidence for m in messages if m.confidence is not None]
    reasons = Counter(m.handoff_reason for m in messages if m.handoff_reason)
    return InboxItem(
        key=key,
        text=messages[-1].text,
        count=len(messages),
        language=_most_common([m.language for m in messages]) or "fi",
        intent=_most_common([m.intent for m in messages]),
        confidence=min(confidences) if confidences else None,
        outcomes=dict(Counter(m.outcome for m in messages)),
        handoff_reasons=dict(reasons),
        first_seen=messages[0].sent_at,
        last_seen=messages[-1].sent_at,
        conversation_ids=list(dict.fromkeys(m.conversation_id for m in messages)),
    )


def build_inbox(
    messages: Iterable[LoggedMessage],
    filters: InboxFilter = InboxFilter(),
    tz: str = DEFAULT_TIMEZONE,
) -> list[InboxItem]:
    """The filtered messages grouped by wording: most frequent first, then most recent.

    The text is masked again on the way in (masking is idempotent), so whatever the caller
    passes, nothing unmasked reaches an admin or the training data.
    """
    zone = ZoneInfo(tz)
    groups: dict[str, list[LoggedMessage]] = {}
    for message in messages:
        masked = mask(message.text)
        if masked != message.text:
            message = replace(message, text=masked)
        if filters.matches(message, zone):
            groups.setdefault(item_key(masked), []).append(message)
    items = [_item(key, grouped) for key, grouped in groups.items()]
    items.sort(key=lambda item: item.last_seen, reverse=True)
    items.sort(key=lambda item: item.count, reverse=True)
    return items


# --- similar messages ------------------------------------------------------------------------


def _trigrams(text: str) -> Counter[str]:
    padded = f"  {text} "
    return Counter(padded[index : index + 3] for index in range(len(padded) - 2))


def _dice(first: Counter[str], second: Counter[str]) -> float:
    total = sum(first.values()) + sum(second.values())
    return 2 * sum((first & second).values()) / total if total else 0.0


def similarity(first: str, second: str) -> float:
    """0-1: how alike two messages read, forgiving word order and Finnish inflection.

    Character trigrams catch "lisäaikaa"/"lisäaikaa?"/"lisää aikaa"; difflib's ratio catches
    small edits in short texts. The better of the two counts.
    """
    a, b = normalise(first), normalise(second)
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    return max(_dice(_trigrams(a), _trigrams(b)), SequenceMatcher(None, a, b).ratio())


def similar_items(
    items: Sequence[InboxItem],
    target: InboxItem,
    min_ratio: float = 0.6,
    language_only: bool = True,
) -> list[InboxItem]:
    """Items that read like `target` (for labelling several at once), most alike first."""
    scored = []
    for item in items:
        if item.key == target.key or (language_only and item.language != target.language):
            continue
        score = similarity(item.text, target.text)
        if score >= min_ratio:
            scored.append((score, item))
    scored.sort(key=lambda pair: (pair[0], pair[1].count), reverse=True)
    return [item for _, item in scored]
