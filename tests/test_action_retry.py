"""Custom actions wait for a restarting action server (bot/action_retry.py).

A real `RemoteAction` of Rasa calls a real HTTP server that is down at first; the
domain and its responses are the project's own.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import EndpointConfig

from bot import action_retry
from tests.services import local_web_app

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(REPO / "domain.yml")


@pytest.fixture
def retrying() -> Iterator[None]:
    action_retry.install()
    yield
    action_retry.uninstall()


def held_port() -> socket.socket:
    """A port that refuses connections (bound, not listening) until released."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    return holder


def english_tracker(domain: Domain) -> DialogueStateTracker:
    tracker = DialogueStateTracker("retry-test", domain.slots)
    tracker.update(SlotSet("language", "en"))
    return tracker


async def start_action_server(port: int) -> web.AppRunner:
    async def webhook(request: web.Request) -> web.Response:
        return web.json_response({"events": [], "responses": [{"text": "done"}]})

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def test_an_action_waits_for_the_server_to_come_back(
    retrying: None, domain: Domain
) -> None:
    holder = held_port()
    port = holder.getsockname()[1]
    action = RemoteAction("action_any", EndpointConfig(f"http://127.0.0.1:{port}/webhook"))
    output = CollectingOutputChannel()
    nlg = TemplatedNaturalLanguageGenerator(domain.responses)

    async def restart_after_a_while() -> web.AppRunner:
        await asyncio.sleep(1.5)
        holder.close()
        return await start_action_server(port)

    restarting = asyncio.create_task(restart_after_a_while())
    events = await action.run(output, nlg, english_tracker(domain), domain)
    runner = await restarting
    try:
        assert [event.text for event in events] == ["done"]
        assert output.messages == []  # no apology: the customer gets the real answer
    finally:
        await runner.cleanup()


async def test_a_server_that_stays_down_gets_a_kind_word_then_the_error(
    retrying: None, domain: Domain, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(action_retry, "WAIT_SECONDS", 1.0)
    holder = held_port()
    port = holder.getsockname()[1]
    action = RemoteAction("action_any", EndpointConfig(f"http://127.0.0.1:{port}/webhook"))
    output = CollectingOutputChannel()
    nlg = TemplatedNaturalLanguageGenerator(domain.responses)
    try:
        with pytest.raises(RasaException, match="Couldn't connect"):
            await action.run(output, nlg, english_tracker(domain), domain)
    finally:
        holder.close()
    [told] = output.messages
    assert told["text"].startswith("Sorry, we have a technical problem right now")


async def test_other_failures_are_not_retried(retrying: None, domain: Domain) -> None:
    """The server answered (500): the action may have run; trying again could do it twice."""
    calls = []

    async def failing(request: web.Request) -> web.Response:
        calls.append(1)
        return web.Response(status=500)

    app = web.Application()
    app.router.add_post("/webhook", failing)
    async with local_web_app(app) as url:
        action = RemoteAction("action_any", EndpointConfig(f"{url}/webhook"))
        with pytest.raises(RasaException):
            await action.run(
                CollectingOutputChannel(),
                TemplatedNaturalLanguageGenerator(domain.responses),
                english_tracker(domain),
                domain,
            )
    assert calls == [1]
