"""Acknowledged customer messages, processed in order and exactly once.

The widget channel keeps every message in the store's inbox before its receipt
(`bot.channels.store`). This module works through the inbox:

- one worker per session at a time, across processes: it holds the session's
  lease while it works (renewed as it goes), so a session's messages go to Rasa
  one after another, in the order they were acknowledged, and never wait on
  Rasa's conversation lock (a burst of messages is a queue, not a pile-up);
- a sweep every `SWEEP_SECONDS` finds sessions whose messages wait with nobody
  working on them: after a restart, or when the process that held the lease died
  (it lapses after `LEASE_SECONDS`), and starts their workers here;
- a message found half done (a process died while it ran) is processed again
  unless the conversation's tracker already holds it (`already_handled`): Rasa
  saves a turn only when it is complete, so a message is in the tracker exactly
  when it was processed;
- a message whose processing fails is tried again after a pause; after
  `MAX_ATTEMPTS` the customer is told (`give_up`) and the session goes on.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable

from bot.channels.store import PROCESSING, InboxMessage, WidgetStore

logger = logging.getLogger(__name__)

LEASE_SECONDS = 10.0
SWEEP_SECONDS = 2.0
PRUNE_EVERY_SECONDS = 3600.0
MAX_ATTEMPTS = 3
# A session held by another process: how often, and how soon, to ask again.
LEASE_TRIES = 10
LEASE_RETRY_SECONDS = 0.1

MessageHandler = Callable[[InboxMessage], Awaitable[None]]
HandledCheck = Callable[[InboxMessage], Awaitable[bool]]


def this_process() -> str:
    """A lease owner name unique to this process (host and pid)."""
    return f"{socket.gethostname()}:{os.getpid()}"


class InboxProcessor:
    """Workers for the sessions of a `WidgetStore` inbox (see the module docstring)."""

    def __init__(
        self,
        store: WidgetStore,
        process: MessageHandler,
        already_handled: HandledCheck,
        give_up: MessageHandler,
        owner: str | None = None,
        lease_seconds: float = LEASE_SECONDS,
        sweep_seconds: float = SWEEP_SECONDS,
        retry_seconds: float = 1.0,
    ) -> None:
        self.store = store
        self.process = process
        self.already_handled = already_handled
        self.give_up = give_up
        self.owner = owner or this_process()
        self.lease_seconds = lease_seconds
        self.sweep_seconds = sweep_seconds
        self.retry_seconds = retry_seconds
        self._workers: dict[str, asyncio.Task] = {}
        # Sessions that got a message while their worker was finishing.
        self._kicked: set[str] = set()
        self._sweeper: asyncio.Task | None = None

    def wake(self, session_id: str) -> None:
        """A message was accepted: make sure someone works on the session."""
        worker = self._workers.get(session_id)
        if worker is not None and not worker.done():
            self._kicked.add(session_id)
            return
        task = asyncio.get_running_loop().create_task(self._work_on(session_id))
        self._workers[session_id] = task
        task.add_done_callback(lambda done: self._finished(session_id, done))

    def _finished(self, session_id: str, task: asyncio.Task) -> None:
        if self._workers.get(session_id) is task:
            del self._workers[session_id]
        if not task.cancelled() and task.exception() is not None:
            logger.error(
                "widget inbox: the worker of session %s failed (the sweep will retry)",
                session_id,
                exc_info=task.exception(),
            )
        if session_id in self._kicked and not task.cancelled():
            self._kicked.discard(session_id)
            self.wake(session_id)

    def start(self) -> None:
        """Begin sweeping (call inside the running loop, once the server is up)."""
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())

    async def stop(self) -> None:
        """Stop working; what is not processed yet stays in the inbox for the next start."""
        tasks = [task for task in (self._sweeper, *self._workers.values()) if task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):  # noqa: PERF203 - shutting down
                pass
        self._sweeper = None
        self._workers.clear()

    async def wait_until_idle(self, timeout: float) -> bool:
        """True once no message waits anywhere (tests, graceful stops)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while await self.store.run(self.store.open_count):
            if asyncio.get_running_loop().time() >= deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    async def _sweep_forever(self) -> None:
        since_prune = PRUNE_EVERY_SECONDS
        while True:
            try:
                for session_id in await self.store.run(
                    self.store.sessions_to_work_on, self.owner
                ):
                    if session_id not in self._workers:
                        logger.info("widget inbox: taking up waiting messages of %s", session_id)
                        self.wake(session_id)
                if since_prune >= PRUNE_EVERY_SECONDS:
                    await self.store.run(self.store.prune)
                    since_prune = 0.0
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be back next time
                logger.exception("widget inbox: sweep failed")
            await asyncio.sleep(self.sweep_seconds)
            since_prune += self.sweep_seconds

    async def _work_on(self, session_id: str) -> None:
        store = self.store
        if not await self._take_lease_soon(session_id):
            return  # another process works on it (and sees this message); the sweep
            # looks again if it dies
        heartbeat = asyncio.get_running_loop().create_task(self._keep_lease(session_id))
        try:
            while True:
                self._kicked.discard(session_id)
                message = await store.run(store.next_open, session_id)
                if message is None:
                    return
                await self._handle(message)
        finally:
            heartbeat.cancel()
            await store.run(store.release_lease, session_id, self.owner)

    async def _take_lease_soon(self, session_id: str) -> bool:
        """The session's lease, waiting a moment for a process that is just letting it
        go (it found nothing more to do a moment before this message was kept)."""
        store = self.store
        for _ in range(LEASE_TRIES):
            if await store.run(store.take_lease, session_id, self.owner, self.lease_seconds):
                return True
            await asyncio.sleep(LEASE_RETRY_SECONDS)
        return False

    async def _handle(self, message: InboxMessage) -> None:
        """Process one message, or see that it was processed before a crash."""
        store = self.store
        if message.state == PROCESSING and await self.already_handled(message):
            logger.info(
                "widget inbox: message %s of %s was processed before a restart",
                message.message_id,
                message.session_id,
            )
            await store.run(store.finish, message)
            return
        if message.attempts >= MAX_ATTEMPTS:
            logger.error(
                "widget inbox: giving up message %s of %s after %d attempts",
                message.message_id,
                message.session_id,
                message.attempts,
            )
            await self.give_up(message)
            await store.run(store.finish, message)
            return
        await store.run(store.start_processing, message)
        try:
            await self.process(message)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception(
                "widget inbox: processing message %s of %s failed (attempt %d)",
                message.message_id,
                message.session_id,
                message.attempts + 1,
            )
            await asyncio.sleep(self.retry_seconds * (message.attempts + 1))
            return  # still open: the worker's loop takes it again
        await store.run(store.finish, message)

    async def _keep_lease(self, session_id: str) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            await self.store.run(self.store.take_lease, session_id, self.owner, self.lease_seconds)
