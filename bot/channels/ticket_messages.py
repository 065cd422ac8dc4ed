"""Customer messages written while a person has the conversation, on their way to the ticket.

While a session's handoff state is `waiting` or `agent`, the widget channel gives
every customer message to a `TicketForwarder` as well as to Rasa (which only logs
it: the conversation is paused). The forwarder adds it to the ticket through the
helpdesk API, `POST {helpdesk}/api/tickets/<number>/messages`
`{sender: "customer", text, sent_at, message_id}`, one session's messages in order.

Nothing is dropped because the helpdesk is down: the messages wait in this
session's queue and are tried again after 1, 2, 5, 10, 30 and then every 60
seconds. The same happens while the ticket doesn't exist yet (a ticket filed
through the actions' outbox has no number until the helpdesk is back; then the
conversation's newest open ticket is looked up).

A request that reached the helpdesk but whose answer was lost is sent again, with
the widget's message id: the helpdesk keeps one message per id and ticket, so the
customer's message shows once in the ticket however many times it was sent.

The queues live in the memory of this `rasa run` process: a restart loses what
was still waiting, and several Rasa replicas would each keep their own. With
replicas, the pending messages belong in a shared, durable outbox instead (a
Redis list per session drained by one worker, or a table and a relay like the
actions' outbox), keyed by the client's message id.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

import aiohttp

logger = logging.getLogger(__name__)

# Seconds before the 1st, 2nd, ... retry; the last one repeats.
BACKOFF_SECONDS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
# Answers that mean "not now" rather than "never": kept and tried again.
# 404: the ticket (or the API) isn't there, e.g. HELPDESK_URL points elsewhere.
RETRY_STATUSES = frozenset({401, 403, 404, 408, 409, 425, 429})
# A session that writes more than this while the helpdesk is down loses its oldest.
MAX_PENDING_PER_SESSION = 500
OPEN_STATUSES = ("open", "assigned", "waiting_customer")


@dataclass
class PendingMessage:
    """One customer message waiting to reach the ticket."""

    text: str
    message_id: str
    ticket_number: str | None
    sent_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    attempts: int = 0
    last_error: str = ""


class TicketForwarder:
    """Per-session FIFO queues of customer messages, each drained by one task."""

    def __init__(
        self,
        base_url: str,
        token: str,
        backoff: tuple[float, ...] = BACKOFF_SECONDS,
        timeout: float = 10.0,
        max_pending: int = MAX_PENDING_PER_SESSION,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.backoff = backoff
        self.timeout = timeout
        self.max_pending = max_pending
        self._queues: dict[str, deque[PendingMessage]] = {}
        self._workers: dict[str, asyncio.Task] = {}
        self._http: aiohttp.ClientSession | None = None
        self.delivered = 0

    # --- the channel's side -----------------------------------------------------------

    def submit(
        self, session_id: str, text: str, message_id: str, ticket_number: str | None
    ) -> PendingMessage:
        """Queue a message for the session's ticket; it is sent in the background."""
        queue = self._queues.setdefault(session_id, deque())
        message = PendingMessage(text=text, message_id=message_id, ticket_number=ticket_number)
        if len(queue) >= self.max_pending:
            dropped = queue.popleft()
            logger.error(
                "session %s: %d messages waiting for the helpdesk; dropped the oldest (%s)",
                session_id,
                len(queue) + 1,
                dropped.message_id,
            )
        queue.append(message)
        worker = self._workers.get(session_id)
        if worker is None or worker.done():
            task = asyncio.get_running_loop().create_task(self._drain(session_id))
            self._workers[session_id] = task
        return message

    def pending(self, session_id: str | None = None) -> list[PendingMessage]:
        """Messages not yet in the ticket (of one session, or of all)."""
        if session_id is not None:
            return list(self._queues.get(session_id, ()))
        return [message for queue in self._queues.values() for message in queue]

    async def wait_until_sent(self, timeout: float) -> bool:
        """True once nothing is waiting (for tests and a graceful shutdown)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self.pending():
            if asyncio.get_running_loop().time() >= deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    async def close(self) -> None:
        """Stop retrying; says in the log what could not be delivered."""
        left = self.pending()
        if left:
            logger.error(
                "stopping with %d customer messages not yet in their tickets (helpdesk down?)",
                len(left),
            )
        for task in self._workers.values():
            task.cancel()
        for task in self._workers.values():
            try:
                await task
            except (asyncio.CancelledError, Exception):  # noqa: PERF203 - shutting down
                pass
        self._workers.clear()
        if self._http is not None:
            await self._http.close()
            self._http = None

    # --- delivery -----------------------------------------------------------------------

    async def _drain(self, session_id: str) -> None:
        queue = self._queues.get(session_id)
        while queue:
            message = queue[0]
            try:
                done = await self._send(session_id, message)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # never let one message stop the queue
                logger.exception("forwarding a message of session %s failed", session_id)
                message.last_error = repr(error)
                done = False
            if done:
                if queue and queue[0] is message:
                    queue.popleft()
                continue
            message.attempts += 1
            delay = self.backoff[min(message.attempts, len(self.backoff)) - 1]
            logger.warning(
                "session %s: message %s not in the ticket yet (%s); trying again in %.0f s",
                session_id,
                message.message_id,
                message.last_error,
                delay,
            )
            await asyncio.sleep(delay)
        self._queues.pop(session_id, None)
        self._workers.pop(session_id, None)

    async def _send(self, session_id: str, message: PendingMessage) -> bool:
        """True when the message is in the ticket (or can never be); False to retry."""
        number = message.ticket_number or await self._open_ticket_of(session_id, message)
        if number is None:
            return False
        body = {
            "sender": "customer",
            "text": message.text,
            "sent_at": message.sent_at.isoformat(),
            "message_id": message.message_id,
        }
        url = f"{self.base_url}/api/tickets/{quote(number, safe='')}/messages"
        try:
            async with self._client().post(url, json=body) as response:
                status = response.status
                detail = "" if status < 300 else (await response.text())[:300]
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
            message.last_error = f"{type(error).__name__}: {error}"
            return False
        if status < 300:
            message.ticket_number = number
            self.delivered += 1
            return True
        message.last_error = f"HTTP {status}: {detail}"
        if status >= 500 or status in RETRY_STATUSES:
            return False
        logger.error(
            "helpdesk refused message %s of session %s for %s: %s",
            message.message_id,
            session_id,
            number,
            message.last_error,
        )
        return True  # a bad request stays bad; the message is still in the Rasa tracker

    async def _open_ticket_of(self, session_id: str, message: PendingMessage) -> str | None:
        """The conversation's newest ticket that is not resolved, if the helpdesk has one."""
        params = {"conversation_id": session_id, "status": ",".join(OPEN_STATUSES)}
        try:
            async with self._client().get(f"{self.base_url}/api/tickets", params=params) as reply:
                if reply.status != 200:
                    message.last_error = f"ticket lookup: HTTP {reply.status}"
                    return None
                body: Any = await reply.json()
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError) as error:
            message.last_error = f"ticket lookup: {type(error).__name__}: {error}"
            return None
        tickets = [t for t in (body or {}).get("tickets") or [] if isinstance(t, dict)]
        if not tickets:
            message.last_error = "no open ticket for this conversation yet"
            return None
        newest = max(tickets, key=lambda ticket: str(ticket.get("created_at") or ""))
        return str(newest["number"])

    def _client(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            )
        return self._http
