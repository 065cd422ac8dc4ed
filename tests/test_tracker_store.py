"""The threaded tracker store writes and reads exactly what Rasa's own SQL store does."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
from rasa.core.tracker_store import SQLTrackerStore, create_tracker_store
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import read_endpoint_config

from bot.tracker_store import ThreadedSQLTrackerStore

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(REPO / "domain.yml"))


def first_session() -> list[Event]:
    return [
        ActionExecuted("action_session_start", timestamp=1.0),
        SessionStarted(timestamp=2.0),
        SlotSet("language", "en", timestamp=3.0),
        ActionExecuted("action_listen", timestamp=4.0),
        UserUttered(
            "When is my invoice due?",
            {"name": "ask_due_date", "confidence": 0.9},
            timestamp=5.0,
        ),
        BotUttered("It is due on the 15th.", timestamp=6.0),
    ]


def second_session() -> list[Event]:
    return [
        ActionExecuted("action_session_start", timestamp=10.0),
        SessionStarted(timestamp=11.0),
        ActionExecuted("action_listen", timestamp=12.0),
        UserUttered("Kiitos", {"name": "thank", "confidence": 0.8}, timestamp=13.0),
    ]


def stores(url: str, domain: Domain) -> tuple[ThreadedSQLTrackerStore, SQLTrackerStore]:
    return ThreadedSQLTrackerStore(domain=domain, host=url), SQLTrackerStore(
        domain=domain, host=url
    )


def event_dicts(tracker: DialogueStateTracker | None) -> list[dict[str, Any]]:
    assert tracker is not None
    return [event.as_dict() for event in tracker.events]


def rows(store: SQLTrackerStore) -> list[tuple[Any, ...]]:
    with store.session_scope() as session:
        return [
            (
                row.sender_id,
                row.type_name,
                row.timestamp,
                row.intent_name,
                row.action_name,
                row.data,
            )
            for row in session.query(store.SQLEvent).order_by(store.SQLEvent.id)
        ]


def test_saves_the_same_rows_as_rasa_and_only_new_events(database_url: str, domain: Domain) -> None:
    threaded, rasa_store = stores(database_url, domain)
    for store, sender in ((threaded, "ours"), (rasa_store, "theirs")):
        tracker = DialogueStateTracker.from_events(sender, first_session(), domain.slots)
        asyncio.run(store.save(tracker))
        asyncio.run(store.save(tracker))  # nothing new: nothing written twice
        for event in second_session():
            tracker.update(event)
        asyncio.run(store.save(tracker))

    ours = [row[1:] for row in rows(rasa_store) if row[0] == "ours"]
    theirs = [row[1:] for row in rows(rasa_store) if row[0] == "theirs"]
    assert len(ours) >= len(first_session()) + len(second_session())
    assert ours == theirs
    assert [row[2] for row in ours if row[0] == "user"] == ["ask_due_date", "thank"]
    assert [row[3] for row in ours if row[0] == "action"][0] == "action_session_start"


def test_reads_what_rasa_wrote_latest_session_or_all(database_url: str, domain: Domain) -> None:
    threaded, rasa_store = stores(database_url, domain)
    tracker = DialogueStateTracker.from_events(
        "customer", first_session() + second_session(), domain.slots
    )
    asyncio.run(rasa_store.save(tracker))

    latest = asyncio.run(threaded.retrieve("customer"))
    assert event_dicts(latest) == event_dicts(asyncio.run(rasa_store.retrieve("customer")))
    # Rasa's "latest session": from the newest SessionStarted on.
    assert [event["event"] for event in event_dicts(latest)] == [
        "session_started",
        "action",
        "user",
    ]

    everything = asyncio.run(threaded.retrieve_full_tracker("customer"))
    assert event_dicts(everything) == event_dicts(tracker)
    reference = asyncio.run(rasa_store.retrieve_full_tracker("customer"))
    assert reference is not None and everything is not None
    assert everything.current_slot_values() == reference.current_slot_values()

    assert asyncio.run(threaded.retrieve("nobody")) is None


def test_database_work_runs_outside_the_event_loop(database_url: str, domain: Domain) -> None:
    threaded, _ = stores(database_url, domain)
    threads: list[str] = []
    load = threaded._load

    def recording_load(*args: Any) -> Any:
        threads.append(threading.current_thread().name)
        return load(*args)

    threaded._load = recording_load  # type: ignore[method-assign]

    async def retrieve_while_loop_runs() -> int:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        ticker = asyncio.create_task(tick())
        await threaded.save(DialogueStateTracker.from_events("x", first_session(), domain.slots))
        await threaded.retrieve("x")
        ticker.cancel()
        return ticks

    assert asyncio.run(retrieve_while_loop_runs()) > 0
    assert threads and all(name.startswith("tracker-store") for name in threads)


def test_endpoints_yml_builds_this_store(tmp_path: Path, domain: Domain, monkeypatch: Any) -> None:
    # Rasa quietly falls back to an in-memory store when the class can't be imported.
    monkeypatch.setenv("TRACKER_STORE_URL", f"sqlite:///{tmp_path / 'from_endpoints.db'}")
    for variable in ("ACTION_SERVER_URL", "LOCK_STORE_TYPE", "REDIS_HOST", "REDIS_PORT"):
        monkeypatch.setenv(variable, "x")
    config = read_endpoint_config(str(REPO / "endpoints.yml"), "tracker_store")
    store = create_tracker_store(config, domain)
    assert isinstance(store, ThreadedSQLTrackerStore)
    assert (tmp_path / "from_endpoints.db").exists()
