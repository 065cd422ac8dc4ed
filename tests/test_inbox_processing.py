"""Acknowledged messages processed in order and exactly once (bot/channels/processing.py).

A real store (SQLite file, or PostgreSQL where the test says so); the "Rasa" here
is a recording function, as in rasa-sdk's own tests of one function.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.channels.processing import MAX_ATTEMPTS, InboxProcessor
from bot.channels.store import NEW, PROCESSING, InboxMessage, WidgetStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[WidgetStore]:
    store = WidgetStore(f"sqlite:///{tmp_path / 'widget.db'}")
    yield store
    store.close()


class Recorder:
    """Stands in for Rasa: keeps what it was given, optionally slowly or failing."""

    def __init__(self, delay: float = 0.0, fail_times: int = 0) -> None:
        self.processed: list[tuple[str, str]] = []
        self.given_up: list[str] = []
        self.delay = delay
        self.fail_times = fail_times
        self.in_tracker: set[str] = set()

    async def process(self, message: InboxMessage) -> None:
        await asyncio.sleep(self.delay)
        if self.fail_times:
            self.fail_times -= 1
            raise RuntimeError("the tracker store is down")
        self.processed.append((message.session_id, message.message_id))

    async def already_handled(self, message: InboxMessage) -> bool:
        return message.message_id in self.in_tracker

    async def give_up(self, message: InboxMessage) -> None:
        self.given_up.append(message.message_id)


def processor(store: WidgetStore, recorder: Recorder, owner: str) -> InboxProcessor:
    return InboxProcessor(
        store,
        process=recorder.process,
        already_handled=recorder.already_handled,
        give_up=recorder.give_up,
        owner=owner,
        lease_seconds=0.5,
        sweep_seconds=0.05,
        retry_seconds=0.01,
    )


def accept(store: WidgetStore, session_id: str, message_id: str) -> None:
    assert store.accept(session_id, message_id, f"text {message_id}", {}, 100).outcome == NEW


async def test_each_session_in_order_and_sessions_side_by_side(store: WidgetStore) -> None:
    recorder = Recorder(delay=0.005)
    inbox = processor(store, recorder, "a")
    for n in range(10):
        for session in ("s1", "s2"):
            accept(store, session, f"m{n}")
            inbox.wake(session)
    assert await inbox.wait_until_idle(timeout=20)
    for session in ("s1", "s2"):
        mine = [message for owner, message in recorder.processed if owner == session]
        assert mine == [f"m{n}" for n in range(10)]
    await inbox.stop()


async def test_two_replicas_on_one_store_process_each_message_once(store: WidgetStore) -> None:
    """Messages of one session woken alternately on two processes: still once, in order."""
    first, second = Recorder(delay=0.002), Recorder(delay=0.002)
    replicas = [processor(store, first, "replica-a"), processor(store, second, "replica-b")]
    for replica in replicas:
        replica.start()
    for n in range(40):
        accept(store, "shared", f"m{n:02d}")
        replicas[n % 2].wake("shared")
        await asyncio.sleep(0.001)
    assert await replicas[0].wait_until_idle(timeout=30)
    done = sorted(first.processed + second.processed)
    assert done == [("shared", f"m{n:02d}") for n in range(40)]
    # In order: whoever held the session went through it oldest first.
    by_turn = [m for _, m in first.processed], [m for _, m in second.processed]
    for turn in by_turn:
        assert turn == sorted(turn)
    for replica in replicas:
        await replica.stop()


async def test_messages_left_by_a_dead_process_are_taken_up(store: WidgetStore) -> None:
    accept(store, "s", "half-done")
    accept(store, "s", "never-started")
    # The dead process held the session and had started the first message.
    assert store.take_lease("s", "dead", seconds=0.3)
    message = store.next_open("s")
    assert message is not None
    store.start_processing(message)

    recorder = Recorder()
    inbox = processor(store, recorder, "restarted")
    inbox.start()  # the sweep finds the session once the dead one's lease lapses
    assert await inbox.wait_until_idle(timeout=20)
    assert recorder.processed == [("s", "half-done"), ("s", "never-started")]
    await inbox.stop()


async def test_a_half_done_message_already_in_the_tracker_is_not_processed_again(
    store: WidgetStore,
) -> None:
    accept(store, "s", "m1")
    message = store.next_open("s")
    assert message is not None
    store.start_processing(message)  # then the process died
    recorder = Recorder()
    recorder.in_tracker.add("m1")
    inbox = processor(store, recorder, "next")
    inbox.wake("s")
    assert await inbox.wait_until_idle(timeout=10)
    assert recorder.processed == []
    await inbox.stop()


async def test_a_failing_message_is_retried_then_given_up_and_the_next_goes_on(
    store: WidgetStore,
) -> None:
    recorder = Recorder(fail_times=1)
    inbox = processor(store, recorder, "a")
    accept(store, "s", "m1")
    accept(store, "s", "m2")
    inbox.wake("s")
    assert await inbox.wait_until_idle(timeout=10)
    assert recorder.processed == [("s", "m1"), ("s", "m2")]  # m1 on its second try
    await inbox.stop()

    stubborn = Recorder(fail_times=MAX_ATTEMPTS)
    inbox = processor(store, stubborn, "b")
    accept(store, "s", "m3")
    accept(store, "s", "m4")
    inbox.wake("s")
    assert await inbox.wait_until_idle(timeout=10)
    assert stubborn.given_up == ["m3"]
    assert stubborn.processed == [("s", "m4")]
    await inbox.stop()


async def test_a_session_held_by_another_live_process_is_left_to_it(store: WidgetStore) -> None:
    accept(store, "s", "m1")
    assert store.take_lease("s", "other", seconds=60)
    recorder = Recorder()
    inbox = processor(store, recorder, "me")
    inbox.start()
    inbox.wake("s")
    await asyncio.sleep(0.3)
    assert recorder.processed == []
    message = store.next_open("s")
    assert message is not None and message.state != PROCESSING
    await inbox.stop()


async def test_a_message_kept_while_another_process_lets_the_session_go_is_not_left(
    store: WidgetStore,
) -> None:
    """Process a holds the session and is about to let it go when process b keeps a new
    message and wakes: b waits a moment for the lease instead of leaving the message
    to the next sweep (no sweep runs here)."""
    assert store.take_lease("s", "a", seconds=30)
    accept(store, "s", "m1")
    recorder = Recorder()
    inbox = processor(store, recorder, "b")
    inbox.wake("s")

    async def a_lets_go() -> None:
        await asyncio.sleep(0.3)
        store.release_lease("s", "a")

    await a_lets_go()
    assert await inbox.wait_until_idle(timeout=10)
    assert recorder.processed == [("s", "m1")]
    await inbox.stop()
