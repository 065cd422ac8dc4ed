"""The in-process pub/sub behind the console's live pages (bot/tickets/live.py)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

import pytest

from bot.tickets import live
from bot.tickets.live import LiveHub, TicketEvent, sse_format


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2024, 5, 2, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


def test_every_subscriber_gets_every_event_in_order() -> None:
    async def scenario() -> None:
        hub = LiveHub()
        first, second = hub.subscribe("aino"), hub.subscribe("pekka")
        hub.publish("created", "T-00001", {"ticket": {"status": "open"}})
        hub.publish("message", "T-00001", {"message": {"text": "Hei"}})
        for subscription in (first, second):
            one = await subscription.next(1)
            two = await subscription.next(1)
            assert (one.kind, two.kind) == ("created", "message")
        assert await first.next(0.01) is None  # nothing more: time for a heartbeat

    asyncio.run(scenario())


def test_closing_the_hub_ends_every_stream() -> None:
    async def scenario() -> None:
        hub = LiveHub()
        subscription = hub.subscribe("aino")
        waiting = asyncio.ensure_future(subscription.next(5))
        await asyncio.sleep(0)
        hub.close()
        assert isinstance(await waiting, live.Closed)
        assert hub.subscriber_count == 0

    asyncio.run(scenario())


def test_a_subscriber_that_falls_behind_is_dropped_not_waited_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(live, "MAX_PENDING", 3)

    async def scenario() -> None:
        hub = LiveHub()
        slow = hub.subscribe("slow")
        for n in range(5):
            hub.publish("updated", f"T-{n}", {})
        received = [await slow.next(1) for _ in range(4)]
        assert [e.number for e in received[:3]] == ["T-0", "T-1", "T-2"]
        assert isinstance(received[3], live.Closed)  # its browser reconnects and reloads

    asyncio.run(scenario())


def test_agents_are_online_with_an_open_console_or_for_5_minutes_after_a_request() -> None:
    async def scenario() -> None:
        clock = Clock()
        hub = LiveHub(clock=clock)
        hub.seen("aino")
        watching = hub.subscribe("pekka")
        assert hub.agents_online() == {"aino", "pekka"}

        clock.now += timedelta(minutes=6)
        assert hub.agents_online() == {"pekka"}  # the page is still open

        hub.unsubscribe(watching)
        assert hub.agents_online() == {"pekka"}  # just left: still counts a while
        clock.now += timedelta(minutes=5, seconds=1)
        assert hub.agents_online() == set()

    asyncio.run(scenario())


def test_unknown_kinds_are_refused() -> None:
    with pytest.raises(ValueError):
        LiveHub().publish("deleted", "T-1", {})


def test_server_sent_event_format() -> None:
    text = sse_format(TicketEvent("message", "T-00007", {"message": {"text": "a\nb </script>"}}))

    lines = text.split("\n")
    assert text.endswith("\n\n")
    assert lines[0] == "event: ticket"
    assert lines[1].startswith("data: ") and len(lines) == 4  # one data line, then blank
    assert json.loads(lines[1][len("data: ") :]) == {
        "kind": "message",
        "number": "T-00007",
        "message": {"text": "a\nb </script>"},
    }
