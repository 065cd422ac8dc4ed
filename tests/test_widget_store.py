"""The widget channel's durable memory (bot/channels/store.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time

import pytest

from bot.channels.store import (
    DONE,
    DUPLICATE,
    HISTORY_SIZE,
    NEW,
    PROCESSING,
    QUEUE_FULL,
    WidgetStore,
)


@pytest.fixture
def store(database_url: str) -> WidgetStore:
    return WidgetStore(database_url)


def test_messages_to_the_customer_are_numbered_kept_and_replayed(store: WidgetStore) -> None:
    for number in range(HISTORY_SIZE + 50):
        store.append("s1", "bot_uttered", {"text": str(number)})
    assert [payload["seq"] for _, payload in store.since("s1", 247)] == [248, 249, 250]
    assert store.since("s1", 250) == []
    kept = store.since("s1", 0)
    assert len(kept) >= HISTORY_SIZE and kept[-1][1] == {"text": "249", "seq": 250}
    assert store.since("other", 0) == []


def test_a_new_store_on_the_same_database_remembers_everything(database_url: str) -> None:
    first = WidgetStore(database_url)
    first.append("s1", "bot_uttered", {"text": "Hei"})
    first.append("s1", "handoff", {"state": "waiting", "ticket_number": "T-00003"})
    assert first.accept("s1", "m1", "Hei vaan", {"language": "fi"}, max_open=10).outcome == NEW
    first.remember_metadata("s1", {"language": "fi"})
    first.close()

    restarted = WidgetStore(database_url)
    session = restarted.session("s1")
    assert session.last_seq == 2 and session.handoff_state == "waiting"
    assert session.ticket_number == "T-00003" and session.metadata == {"language": "fi"}
    assert restarted.accept("s1", "m1", "Hei vaan", {}, max_open=10).outcome == DUPLICATE
    waiting = restarted.next_open("s1")
    assert waiting is not None and waiting.text == "Hei vaan" and waiting.metadata == {
        "language": "fi"
    }
    assert restarted.append("s1", "bot_uttered", {"text": "x"})["seq"] == 3


def test_a_session_never_seen_is_with_the_bot(store: WidgetStore) -> None:
    session = store.session("unknown")
    assert (session.last_seq, session.handoff_state, session.ticket_number) == (0, "bot", None)


def test_the_ticket_number_outlives_an_agent_joining(store: WidgetStore) -> None:
    store.append("s", "handoff", {"state": "waiting", "ticket_number": "T-00007"})
    store.append("s", "handoff", {"state": "agent", "agent_name": "Aino"})
    assert store.session("s").ticket_number == "T-00007"
    assert store.session("s").handoff == {"state": "agent", "agent_name": "Aino"}
    store.append("s", "handoff", {"state": "resolved"})
    assert store.session("s").ticket_number == "T-00007"
    # A new handoff filed through the outbox has no number yet: not the old one.
    store.append("s", "handoff", {"state": "waiting"})
    assert store.session("s").ticket_number is None


def test_numbering_continues_above_what_a_client_has_seen(store: WidgetStore) -> None:
    store.continue_after("s", 41)  # the store was wiped; the client has seen 41
    assert store.append("s", "bot_uttered", {"text": "x"})["seq"] == 42
    store.continue_after("s", 10)  # lower: nothing changes
    assert store.append("s", "bot_uttered", {"text": "y"})["seq"] == 43


def test_numbering_is_safe_from_several_processes_at_once(database_url: str) -> None:
    stores = [WidgetStore(database_url) for _ in range(3)]
    seqs: list[int] = []
    lock = threading.Lock()

    def send(store: WidgetStore) -> None:
        for _ in range(20):
            seq = store.append("shared", "bot_uttered", {"text": "x"})["seq"]
            with lock:
                seqs.append(seq)

    threads = [threading.Thread(target=send, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seqs) == list(range(1, 61))


def test_accepted_messages_wait_in_order_until_processed(store: WidgetStore) -> None:
    for n in range(3):
        assert store.accept("s", f"m{n}", f"viesti {n}", {}, max_open=10).outcome == NEW
    assert store.accept("s", "m1", "viesti 1", {}, max_open=10).outcome == DUPLICATE
    assert store.open_count("s") == 3 and store.open_count() == 3

    first = store.next_open("s")
    assert first is not None and (first.message_id, first.attempts) == ("m0", 0)
    store.start_processing(first)
    again = store.next_open("s")  # a crash here: the next worker sees it half done
    assert again is not None and (again.state, again.attempts) == (PROCESSING, 1)
    store.finish(first)
    second = store.next_open("s")
    assert second is not None and second.message_id == "m1"
    # Processed, the id is still known: a resend is a duplicate, not a new message.
    assert store.accept("s", "m0", "viesti 0", {}, max_open=10).outcome == DUPLICATE


def test_a_full_queue_refuses_before_the_receipt(store: WidgetStore) -> None:
    for n in range(3):
        assert store.accept("s", f"m{n}", "x", {}, max_open=3).outcome == NEW
    assert store.accept("s", "m3", "x", {}, max_open=3).outcome == QUEUE_FULL
    assert store.accept("s", "m0", "x", {}, max_open=3).outcome == DUPLICATE
    assert store.accept("other", "m0", "x", {}, max_open=3).outcome == NEW
    message = store.next_open("s")
    assert message is not None
    store.start_processing(message)
    store.finish(message)
    assert store.accept("s", "m3", "x", {}, max_open=3).outcome == NEW


def test_one_process_at_a_time_works_on_a_session(store: WidgetStore) -> None:
    assert store.take_lease("s", "replica-a", seconds=30)
    assert store.take_lease("s", "replica-a", seconds=30)  # renewing
    assert not store.take_lease("s", "replica-b", seconds=30)
    store.release_lease("s", "replica-b")  # not b's to release
    assert not store.take_lease("s", "replica-b", seconds=30)
    store.release_lease("s", "replica-a")
    assert store.take_lease("s", "replica-b", seconds=0.2)
    time.sleep(0.3)  # b died: its lease runs out
    assert store.take_lease("s", "replica-a", seconds=30)


def test_sessions_left_with_open_messages_are_found(store: WidgetStore) -> None:
    store.accept("busy", "m1", "x", {}, max_open=10)
    store.accept("orphan", "m1", "x", {}, max_open=10)
    store.accept("done", "m1", "x", {}, max_open=10)
    done = store.next_open("done")
    assert done is not None
    store.finish(done)
    assert store.take_lease("busy", "replica-b", seconds=30)
    assert store.sessions_to_work_on("replica-a") == ["orphan"]
    assert store.sessions_to_work_on("replica-b") == ["busy", "orphan"]


def test_processed_messages_are_forgotten_after_a_while(store: WidgetStore) -> None:
    store.accept("s", "m1", "x", {}, max_open=10)
    store.accept("s", "m2", "y", {}, max_open=10)
    message = store.next_open("s")
    assert message is not None
    store.finish(message)
    assert store.prune(older_than=3600) == 0
    assert store.prune(older_than=-1) == 1
    remaining = store.next_open("s")
    assert remaining is not None and remaining.message_id == "m2"
    assert remaining.state != DONE
