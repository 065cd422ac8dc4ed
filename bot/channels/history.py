"""What the widget channel remembers per session, in this process.

- `SessionState`: the next `seq`, the last 200 messages sent to the customer (for
  replay after a reconnect), the page metadata (language), the handoff state and
  the number of the ticket a person is handling.
- `SessionMemory`: the states, least recently used dropped beyond a bound.
- `RecentMessageIds`: client message ids already accepted, so a resend is
  acknowledged again but never processed twice.

All of it lives in the memory of one `rasa run` process. With several Rasa
replicas (or to survive a restart) it belongs in Redis: a hash per session for
the state, a capped list for the history, and `SET key NX EX ttl` for the ids.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

HISTORY_SIZE = 200
MAX_SESSIONS = 10_000
MESSAGE_ID_TTL_SECONDS = 3600.0
MAX_MESSAGE_IDS = 100_000


@dataclass
class SessionState:
    next_seq: int = 1
    history: deque = field(default_factory=lambda: deque(maxlen=HISTORY_SIZE))
    metadata: dict[str, Any] = field(default_factory=dict)
    handoff: dict[str, Any] = field(default_factory=lambda: {"state": "bot"})
    # The ticket a person is handling, kept when a later handoff event (an agent
    # joining) doesn't repeat it; customer messages go there while handed off.
    ticket_number: str | None = None
    # Messages being processed now: typing goes off when the last one finishes.
    working: int = 0
    # Typing is shown (not for messages that only go to a person's ticket).
    typing: bool = False
    # Held while a message is numbered and emitted, and while missed ones are
    # replayed, so a reconnecting client never sees a newer seq before an older one.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def record(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        """Number a message for the customer and keep it; returns the payload to emit."""
        payload = {**data, "seq": self.next_seq}
        self.next_seq += 1
        self.history.append((payload["seq"], event, payload))
        if event == "handoff":
            self.handoff = {k: v for k, v in payload.items() if k != "seq"}
            number = self.handoff.get("ticket_number")
            if isinstance(number, str) and number.strip():
                self.ticket_number = number.strip()
            elif self.handoff.get("state") in ("waiting", "bot"):
                # A new handoff without a number yet (filed through the outbox),
                # or back to the bot: an earlier ticket is not this one.
                self.ticket_number = None
        return payload

    def since(self, last_seq: int) -> list[tuple[str, dict[str, Any]]]:
        """Kept messages with a seq above `last_seq`, oldest first."""
        return [(event, payload) for seq, event, payload in self.history if seq > last_seq]

    def continue_after(self, last_seq: int) -> None:
        """After a restart the client may have seen higher numbers than we remember:
        continue above them so new messages are not mistaken for ones already shown."""
        if last_seq >= self.next_seq:
            self.next_seq = last_seq + 1


class SessionMemory:
    """Session states by session id, at most `limit` (least recently used go first)."""

    def __init__(self, limit: int = MAX_SESSIONS) -> None:
        self.limit = limit
        self._states: OrderedDict[str, SessionState] = OrderedDict()

    def get(self, session_id: str) -> SessionState:
        state = self._states.get(session_id)
        if state is None:
            state = self._states[session_id] = SessionState()
            while len(self._states) > self.limit:
                oldest, old_state = next(iter(self._states.items()))
                if old_state.lock.locked() or old_state.working:
                    # Busy: keep it, look again next time.
                    self._states.move_to_end(oldest)
                    break
                del self._states[oldest]
        else:
            self._states.move_to_end(session_id)
        return state

    def known(self, session_id: str) -> bool:
        return session_id in self._states


class RecentMessageIds:
    """Remembers (session, message id) pairs for `ttl` seconds, at most `limit` of them."""

    def __init__(
        self,
        ttl: float = MESSAGE_ID_TTL_SECONDS,
        limit: int = MAX_MESSAGE_IDS,
        clock: Any = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.limit = limit
        self.clock = clock
        self._seen: OrderedDict[tuple[str, str], float] = OrderedDict()

    def _expire(self, now: float) -> None:
        while self._seen:
            key, seen_at = next(iter(self._seen.items()))
            if now - seen_at < self.ttl and len(self._seen) <= self.limit:
                break
            del self._seen[key]

    def first_time(self, session_id: str, message_id: str) -> bool:
        """True (and remembered) the first time; False for a resend within the ttl."""
        now = self.clock()
        self._expire(now)
        key = (session_id, message_id)
        if key in self._seen:
            return False
        self._seen[key] = now
        return True
