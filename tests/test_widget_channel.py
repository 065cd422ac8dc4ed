"""The chat widget's socket.io channel (bot/channels/widget.py, docs/widget-protocol.md).

Unit tests of the pieces first (tokens, history, output formats: no Rasa), then
protocol tests against the real channel inside the real `rasa run`
(`running_stack`), with a real socket.io client.

Client choice: python-socketio's sync `socketio.Client` over the *polling*
transport. The AsyncClient's websocket transport needs aiohttp >= 3.11
(`aiohttp.ClientWSTimeout`) while Rasa 3.6.21 pins aiohttp 3.9.5, and the sync
client's websocket transport needs `websocket-client`, which is not installed;
polling only needs `requests` (installed) and exercises the same server code
(engine.io's Origin check, the socket.io events and rooms). The websocket
transport is checked once with raw Engine.IO frames over `websockets` (Sanic's
own dependency), and by the widget's browser test.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio
import websockets

from actions.helpdesk import HelpdeskClient
from actions.outbox import Outbox
from bot.channels.sessions import SessionSigner
from bot.channels.store import WidgetStore
from bot.channels.widget import (
    WidgetInput,
    WidgetOutput,
    default_helpdesk_url,
    page_metadata,
    parse_origins,
)
from tests.conftest import HelpdeskProcesses, HelpdeskServer, free_port

SECRET = "test-secret-that-is-long-enough"
WAIT = 60.0  # seconds; Rasa and the action server share 2 CPU cores with other tests

GREETING_FI = "Hei ja tervetuloa"
GREETING_EN = "Hi and welcome"


# --- unit: tokens, memory, output formats --------------------------------------------


def test_tokens_verify_only_with_the_right_signature() -> None:
    signer = SessionSigner(SECRET)
    session_id, token = signer.new_session()
    assert token.startswith(session_id + ".")
    assert signer.verify(token) == session_id
    assert signer.verify(session_id) is None  # a bare id
    assert signer.verify(session_id + ".forged") is None
    assert signer.verify(SessionSigner("another-secret-long-enough").token_for(session_id)) is None
    for junk in (None, 5, "", ".", "x" * 500, {"id": session_id}, "../etc.passwd"):
        assert signer.verify(junk) is None
    with pytest.raises(ValueError):
        SessionSigner("<generate>")
    with pytest.raises(ValueError):
        SessionSigner("short")


def test_origins_are_an_allow_list_never_empty() -> None:
    assert parse_origins("http://localhost:8000, http://127.0.0.1:8000/") == [
        "http://localhost:8000",
        "http://127.0.0.1:8000",
    ]
    with pytest.raises(ValueError):
        parse_origins(" , ")  # [] would switch python-socketio's origin check off


def test_page_metadata_accepts_metadata_and_webchat_custom_data() -> None:
    assert page_metadata({"metadata": {"language": "en"}}) == {"language": "en"}
    assert page_metadata({"customData": {"language": "en"}}) == {"language": "en"}
    assert page_metadata({"metadata": '{"language": "fi"}'}) == {"language": "fi"}
    assert page_metadata({"metadata": {"nested": {"x": 1}, "page": "p" * 5000}}) == {
        "page": "p" * 2000
    }
    assert page_metadata({"metadata": "not json"}) == {}


class FakeServer:
    """Stands in for the socket.io server: records what would be emitted to whom."""

    def __init__(self) -> None:
        self.emitted: list[tuple[str, dict[str, Any], str | None]] = []

    async def emit(self, event: str, data: dict[str, Any], room: str | None = None, **_: Any):
        self.emitted.append((event, data, room))


@pytest.fixture
def widget_store(tmp_path: Path) -> Iterator[WidgetStore]:
    store = WidgetStore(f"sqlite:///{tmp_path / 'widget.db'}")
    yield store
    store.close()


@pytest.fixture
def offline_channel(widget_store: WidgetStore) -> tuple[WidgetInput, FakeServer]:
    channel = WidgetInput(SECRET, "http://localhost:8000", push_token="push", store=widget_store)
    server = FakeServer()
    channel.sio = server  # type: ignore[assignment]
    return channel, server


async def test_output_formats(offline_channel: tuple[WidgetInput, FakeServer]) -> None:
    channel, server = offline_channel
    output = channel.get_output_channel()
    assert isinstance(output, WidgetOutput) and output.name() == "widget"
    await output.send_text_message("s1", "First.\n\nSecond.")
    buttons = [{"title": "Kyllä", "payload": "/affirm"}]
    await output.send_text_with_buttons("s1", "Sopiiko?", buttons)
    await output.send_image_url("s1", "https://example.fi/a.png")
    await output.send_custom_json("s1", {"handoff": {"state": "waiting", "ticket_number": "T-1"}})
    await output.send_custom_json("s1", {"survey": {"scale": 5}})
    assert [emitted for emitted in server.emitted if emitted[2] == "s1"] == [
        ("bot_uttered", {"text": "First.", "seq": 1}, "s1"),
        ("bot_uttered", {"text": "Second.", "seq": 2}, "s1"),
        (
            "bot_uttered",
            {
                "text": "Sopiiko?",
                "quick_replies": [{"content_type": "text", "title": "Kyllä", "payload": "/affirm"}],
                "buttons": [{"title": "Kyllä", "payload": "/affirm"}],
                "seq": 3,
            },
            "s1",
        ),
        (
            "bot_uttered",
            {
                "attachment": {"type": "image", "payload": {"src": "https://example.fi/a.png"}},
                "seq": 4,
            },
            "s1",
        ),
        ("handoff", {"state": "waiting", "ticket_number": "T-1", "seq": 5}, "s1"),
        ("bot_uttered", {"custom": {"survey": {"scale": 5}}, "seq": 6}, "s1"),
    ]
    # Unmodified Rasa widgets get Rasa's own format: no extras, no handoff events.
    assert [(event, data) for event, data, room in server.emitted if room == "s1#plain"] == [
        ("bot_uttered", {"text": "First."}),
        ("bot_uttered", {"text": "Second."}),
        (
            "bot_uttered",
            {
                "text": "Sopiiko?",
                "quick_replies": [{"content_type": "text", "title": "Kyllä", "payload": "/affirm"}],
            },
        ),
        (
            "bot_uttered",
            {"attachment": {"type": "image", "payload": {"src": "https://example.fi/a.png"}}},
        ),
        ("bot_uttered", {"custom": {"survey": {"scale": 5}}}),
    ]
    assert channel.store.session("s1").handoff == {"state": "waiting", "ticket_number": "T-1"}


# --- unit: customer messages to the ticket while a person has the conversation ---------------


def test_helpdesk_url_defaults_to_the_bot_service_port() -> None:
    assert default_helpdesk_url({"HELPDESK_URL": "https://help.example.fi/"}) == (
        "https://help.example.fi/"
    )
    assert default_helpdesk_url({"BOT_PORT": "8123"}) == "http://127.0.0.1:8123"
    assert default_helpdesk_url({}) == "http://127.0.0.1:8000"


class FakeSocketServer(FakeServer):
    """Also keeps socket sessions and rooms, enough for `_user_uttered`."""

    def __init__(self) -> None:
        super().__init__()
        self.saved: dict[str, dict[str, Any]] = {}

    async def emit(self, event: str, data: dict[str, Any], room: str | None = None, **kw: Any):
        self.emitted.append((event, data, room or kw.get("to")))

    async def get_session(self, sid: str) -> dict[str, Any]:
        return self.saved[sid]

    async def save_session(self, sid: str, session: dict[str, Any]) -> None:
        self.saved[sid] = session

    async def enter_room(self, sid: str, room: str) -> None:
        pass

    async def leave_room(self, sid: str, room: str) -> None:
        pass


def tickets_api(server: HelpdeskServer, method: str, path: str, **kwargs: Any) -> Any:
    reply = requests.request(
        method,
        server.base_url + path,
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=10,
        **kwargs,
    )
    reply.raise_for_status()
    return reply.json()


def new_ticket(server: HelpdeskServer, conversation_id: str) -> dict[str, Any]:
    return tickets_api(
        server,
        "POST",
        "/api/tickets",
        json={
            "request_id": uuid.uuid4().hex,
            "conversation_id": conversation_id,
            "reason": "customer_request",
            "topic": "request_human",
            "language": "fi",
            "contact_method": "chat",
            "transcript": [{"sender": "customer", "text": "Haluan puhua ihmisen kanssa"}],
        },
    )


def customer_lines(server: HelpdeskServer, number: str) -> list[str]:
    ticket = tickets_api(server, "GET", f"/api/tickets/{number}")
    return [line["text"] for line in ticket["transcript"] if line["sender"] == "customer"]


async def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_handed_off_messages_go_to_the_ticket_and_to_rasa(
    helpdesk_server: HelpdeskServer, widget_store: WidgetStore, tmp_path: Path
) -> None:
    session_id, token = SessionSigner(SECRET).new_session()
    number = new_ticket(helpdesk_server, session_id)["number"]
    outbox = Outbox(tmp_path / "outbox.db")
    helpdesk = HelpdeskClient(helpdesk_server.base_url, helpdesk_server.token, outbox)
    channel = WidgetInput(
        SECRET, "http://localhost:8000", push_token="push", helpdesk=helpdesk, store=widget_store
    )
    server = FakeSocketServer()
    channel.sio = server  # type: ignore[assignment]
    to_rasa: list[Any] = []

    async def on_new_message(message: Any) -> None:
        to_rasa.append(message)

    channel._on_new_message = on_new_message

    # With the bot: a plain receipt, and typing while it answers.
    await channel._user_uttered("sid1", {"message": "Hei", "message_id": "m0", "session_id": token})
    await wait_for(lambda: len(to_rasa) == 1)
    await channel.deliver(session_id, "handoff", {"state": "waiting", "ticket_number": number})
    await channel.deliver(session_id, "handoff", {"state": "agent", "agent_name": "Aino"})
    server.emitted.clear()

    for index, text in enumerate(("Lasku 1002 on kahteen kertaan", "Maksoin sen jo 3.5.")):
        await channel._user_uttered(
            "sid1", {"message": text, "message_id": f"m{index + 1}", "session_id": token}
        )
    await wait_for(lambda: len(to_rasa) == 3)
    await wait_for(lambda: outbox.count_pending("ticket_message") == 0)

    receipts = [data for event, data, _ in server.emitted if event == "receipt"]
    assert receipts == [
        {"message_id": "m1", "status": "added_to_ticket", "ticket_number": number},
        {"message_id": "m2", "status": "added_to_ticket", "ticket_number": number},
    ]
    # Rasa still gets every message (paused, it only logs them); nobody is typing.
    assert [message.text for message in to_rasa[1:]] == [
        "Lasku 1002 on kahteen kertaan",
        "Maksoin sen jo 3.5.",
    ]
    assert not [event for event, _, _ in server.emitted if event == "typing"]
    assert customer_lines(helpdesk_server, number) == [
        "Haluan puhua ihmisen kanssa",
        "Lasku 1002 on kahteen kertaan",
        "Maksoin sen jo 3.5.",
    ]

    # The same message sent again (its first answer lost on the way): still once.
    again = Outbox(tmp_path / "again.db")
    resend = HelpdeskClient(helpdesk_server.base_url, helpdesk_server.token, again)
    now = datetime.now(timezone.utc)
    resend.queue_ticket_message(session_id, number, "Maksoin sen jo 3.5.", "m2", now)
    assert await resend.deliver_ticket_messages(session_id) == 1
    assert customer_lines(helpdesk_server, number)[-1:] == ["Maksoin sen jo 3.5."]
    assert len(customer_lines(helpdesk_server, number)) == 3

    # Resolved: back to plain receipts, nothing more to the ticket.
    await channel.deliver(session_id, "handoff", {"state": "resolved"})
    server.emitted.clear()
    await channel._user_uttered("sid1", {"message": "5", "message_id": "m9", "session_id": token})
    await wait_for(lambda: len(to_rasa) == 4)
    assert [data for event, data, _ in server.emitted if event == "receipt"] == [
        {"message_id": "m9", "status": "received"}
    ]
    assert outbox.count_pending("ticket_message") == 0
    assert len(customer_lines(helpdesk_server, number)) == 3


async def test_helpdesk_down_then_up_each_message_arrives_once(tmp_path: Any) -> None:
    port, token = free_port(), "forwarding-token"
    db_url = f"sqlite:///{tmp_path / 'helpdesk.db'}"
    (tmp_path / "before").mkdir()
    before = HelpdeskProcesses(tmp_path / "before")
    number = new_ticket(before.start(port=port, db_url=db_url, token=token), "s-down")["number"]
    before.stop_all()  # the helpdesk goes down

    outbox = Outbox(tmp_path / "outbox.db")
    client = HelpdeskClient(f"http://127.0.0.1:{port}", token, outbox)
    now = datetime.now(timezone.utc)
    client.queue_ticket_message("s-down", number, "Ensimmäinen viesti", "m1", now)
    client.queue_ticket_message("s-down", number, "Toinen viesti", "m2", now)
    assert await client.deliver_ticket_messages("s-down") == 0
    waiting = outbox.pending()
    assert [item.payload["text"] for item in waiting] == ["Ensimmäinen viesti", "Toinen viesti"]
    assert "ClientConnectorError" in (waiting[0].last_error or "")

    (tmp_path / "after").mkdir()
    after = HelpdeskProcesses(tmp_path / "after")
    try:
        server = after.start(port=port, db_url=db_url, token=token)
        assert await client.flush_outbox() == 2  # the relay's round
        assert await client.flush_outbox() == 0
        assert customer_lines(server, number) == [
            "Haluan puhua ihmisen kanssa",
            "Ensimmäinen viesti",
            "Toinen viesti",
        ]
    finally:
        after.stop_all()


async def test_without_a_number_messages_wait_for_the_conversations_ticket(
    helpdesk_server: HelpdeskServer, tmp_path: Path
) -> None:
    """A ticket filed through the actions' outbox: the widget has no number yet."""
    outbox = Outbox(tmp_path / "outbox.db")
    client = HelpdeskClient(helpdesk_server.base_url, helpdesk_server.token, outbox)
    now = datetime.now(timezone.utc)
    client.queue_ticket_message("s-later", None, "Onko tämä mennyt perille?", "m1", now)
    client.queue_ticket_message("s-later", None, "Entä tämä?", "m2", now)
    assert await client.deliver_ticket_messages("s-later") == 0
    [first, second] = outbox.pending()
    assert "no open ticket" in (first.last_error or "")
    assert second.attempts == 0  # held behind the first: the order is kept

    number = new_ticket(helpdesk_server, "s-later")["number"]  # the relay filed it
    assert await client.flush_outbox() == 2
    lines = customer_lines(helpdesk_server, number)
    assert lines.count("Onko tämä mennyt perille?") == 1 and lines.count("Entä tämä?") == 1
    assert lines.index("Onko tämä mennyt perille?") < lines.index("Entä tämä?")


# --- a socket.io client for the protocol tests ------------------------------------------


class Widget:
    """A widget-like client: records every event, in arrival order."""

    EVENTS = ("session_confirm", "receipt", "typing", "bot_uttered", "handoff", "error")

    def __init__(self, rasa_url: str, origin: str) -> None:
        self.rasa_url = rasa_url
        self.origin = origin
        self.events: list[tuple[str, Any]] = []
        self.changed = threading.Condition()
        self.token: str | None = None
        self.client = socketio.Client(reconnection=False)
        for name in self.EVENTS:
            self.client.on(name, self._recorder(name))

    def _recorder(self, name: str) -> Callable[..., None]:
        def record(data: Any = None) -> None:
            with self.changed:
                self.events.append((name, data))
                self.changed.notify_all()

        return record

    def connect(self) -> Widget:
        self.client.connect(
            self.rasa_url,
            headers={"Origin": self.origin},
            transports=["polling"],  # see the module docstring
            wait_timeout=20,
        )
        return self

    def close(self) -> None:
        """Leave like a closed tab, without waiting for the long-poll to time out.

        `Client.disconnect()` over polling waits for the pending long-poll GET,
        about 30 s; here the socket.io DISCONNECT is posted (the server takes the
        socket out of its rooms) and the engine.io connection is dropped.
        """
        client = self.client
        if not client.connected:
            return
        for namespace in list(client.namespaces):
            client._send_packet(
                client.packet_class(socketio.packet.DISCONNECT, namespace=namespace)
            )
        deadline = time.monotonic() + 10
        while client.eio.queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)
        client.eio.disconnect(abort=True)

    def mark(self) -> int:
        with self.changed:
            return len(self.events)

    def wait_for(
        self,
        name: str,
        where: Callable[[Any], bool] = lambda data: True,
        after: int = 0,
        timeout: float = WAIT,
    ) -> Any:
        """The first `name` event at or after index `after` that matches `where`."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for event, data in self.events[after:]:
                    if event == name and where(data):
                        return data
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {name} within {timeout}s; got {self.events[after:]}")
                self.changed.wait(left)

    def idle(self, after: int = 0) -> None:
        """Wait until the bot has finished (typing went off) after `after`."""
        self.wait_for("typing", lambda data: data == {"on": False}, after=after)

    def since(self, after: int, name: str | None = None) -> list[tuple[str, Any]]:
        with self.changed:
            return [(e, d) for e, d in self.events[after:] if name is None or e == name]

    def start(self, token: str | None = None, **fields: Any) -> dict[str, Any]:
        """session_request -> the session_confirm."""
        after = self.mark()
        # Page metadata, as the project's widget always sends: this protocol's extras.
        request = {"session_id": token, "metadata": {}, **fields}
        self.client.emit("session_request", request)
        confirm = self.wait_for("session_confirm", after=after)
        self.token = confirm["session_id"]
        return confirm

    def say(self, text: Any, message_id: str | None = None, **fields: Any) -> str:
        message_id = message_id or uuid.uuid4().hex
        self.client.emit(
            "user_uttered",
            {"message": text, "message_id": message_id, "session_id": self.token, **fields},
        )
        return message_id

    def last_seq(self) -> int:
        seqs = [
            data["seq"]
            for event, data in self.since(0)
            if event in ("bot_uttered", "handoff") and isinstance(data, dict)
        ]
        return max(seqs, default=0)


@pytest.fixture
def widgets(running_stack: Any) -> Iterator[Callable[..., Widget]]:
    """Factory of connected widgets (allowed origin: the demo page); closed at the end."""
    opened: list[Widget] = []
    origin = f"http://localhost:{running_stack.config.bot_port}"

    def open_widget(origin: str = origin) -> Widget:
        widget = Widget(running_stack.config.rasa_url, origin).connect()
        opened.append(widget)
        return widget

    yield open_widget
    for widget in opened:
        widget.close()


def session_id_of(token: str) -> str:
    return token.partition(".")[0]


def tracker_events(running_stack: Any, conversation_id: str) -> list[dict[str, Any]]:
    config = running_stack.config
    reply = requests.get(
        f"{config.rasa_url}/conversations/{conversation_id}/tracker",
        params={"token": config.rasa_token},
        timeout=30,
    )
    reply.raise_for_status()
    return reply.json()["events"]


def user_texts(running_stack: Any, conversation_id: str) -> list[str]:
    return [
        event.get("text") or ""
        for event in tracker_events(running_stack, conversation_id)
        if event["event"] == "user"
    ]


def push(running_stack: Any, body: Any, token: str | None = "default") -> requests.Response:
    headers = {}
    if token == "default":
        token = running_stack.helpdesk_token
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.post(
        f"{running_stack.config.rasa_url}/webhooks/widget/push",
        json=body,
        headers=headers,
        timeout=30,
    )


def greeted(widget: Widget, confirm_mark: int = 0) -> dict[str, Any]:
    """The greeting a new session gets without typing anything; waits until it is done."""
    greeting = widget.wait_for("bot_uttered", after=confirm_mark)
    widget.idle(after=confirm_mark)
    return greeting


# --- protocol tests against the real `rasa run` ------------------------------------------


def test_health_and_a_single_cors_header(running_stack: Any) -> None:
    config = running_stack.config
    health = requests.get(f"{config.rasa_url}/webhooks/widget/health", timeout=10)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    # The demo page's origin is allowed both by the widget and by `rasa run --cors`:
    # exactly one Access-Control-Allow-Origin (two make browsers refuse the response).
    origin = f"http://localhost:{config.bot_port}"
    handshake = requests.get(
        f"{config.rasa_url}/socket.io/",
        params={"EIO": "4", "transport": "polling"},
        headers={"Origin": origin},
        timeout=10,
    )
    assert handshake.status_code == 200
    assert handshake.headers["Access-Control-Allow-Origin"] == origin


def test_origin_not_in_the_allow_list_is_refused(
    running_stack: Any, widgets: Callable[..., Widget]
) -> None:
    with pytest.raises(socketio.exceptions.ConnectionError):
        widgets("http://evil.example")
    refused = requests.get(
        f"{running_stack.config.rasa_url}/socket.io/",
        params={"EIO": "4", "transport": "polling"},
        headers={"Origin": "http://evil.example"},
        timeout=10,
    )
    assert refused.status_code == 400
    # The other default origin of the demo page works.
    widget = widgets(f"http://127.0.0.1:{running_stack.config.bot_port}")
    assert widget.start()["resumed"] is False


async def test_websocket_transport_works_and_checks_the_origin(running_stack: Any) -> None:
    config = running_stack.config
    url = f"ws://127.0.0.1:{config.rasa_port}/socket.io/?EIO=4&transport=websocket"

    async def receive(ws: Any, prefix: str) -> str:
        while True:
            frame = await asyncio.wait_for(ws.recv(), WAIT)
            if frame == "2":  # Engine.IO ping
                await ws.send("3")
            elif frame.startswith(prefix):
                return frame

    async with websockets.connect(url, origin=f"http://localhost:{config.bot_port}") as ws:
        await receive(ws, "0{")  # Engine.IO open
        await ws.send("40")  # Socket.IO connect
        await receive(ws, "40")
        await ws.send('42["session_request",{"metadata":{"language":"en"}}]')
        confirm = json.loads((await receive(ws, '42["session_confirm"'))[2:])[1]
        assert confirm["resumed"] is False
        greeting = json.loads((await receive(ws, '42["bot_uttered"'))[2:])[1]
        assert greeting["text"].startswith(GREETING_EN) and greeting["seq"] == 1

    with pytest.raises(websockets.exceptions.InvalidStatusCode):
        async with websockets.connect(url, origin="http://evil.example"):
            pass


def test_new_session_is_greeted_at_once_in_finnish_by_default(
    running_stack: Any, widgets: Callable[..., Widget]
) -> None:
    widget = widgets()
    confirm = widget.start()
    assert confirm["resumed"] is False
    assert confirm["handoff"] == {"state": "bot"}
    session_id, _, signature = confirm["session_id"].partition(".")
    assert len(session_id) == 32 and signature
    greeting = greeted(widget)
    assert greeting["text"].startswith(GREETING_FI)
    assert greeting["seq"] == 1
    # typing went on before the greeting and off after it
    kinds = [(event, data) for event, data in widget.since(0) if event in ("typing", "bot_uttered")]
    assert kinds[0] == ("typing", {"on": True}) and kinds[-1] == ("typing", {"on": False})


@pytest.mark.parametrize("field", ["metadata", "customData"])
def test_page_language_reaches_the_conversation(
    running_stack: Any, widgets: Callable[..., Widget], field: str
) -> None:
    widget = widgets()
    confirm = widget.start(**{field: {"language": "en", "page": "https://example.fi/en"}})
    assert greeted(widget)["text"].startswith(GREETING_EN)
    events = tracker_events(running_stack, session_id_of(confirm["session_id"]))
    languages = [e["value"] for e in events if e["event"] == "slot" and e["name"] == "language"]
    assert languages[-1] == "en"
    metadata = [e for e in events if e["event"] == "user"][0]["metadata"]
    assert metadata["language"] == "en"
    # and every later message carries it too
    mark = widget.mark()
    widget.say("1001")
    widget.idle(after=mark)
    events = tracker_events(running_stack, session_id_of(widget.token))
    later = [e for e in events if e["event"] == "user"]
    assert later[-1]["text"] == "1001" and later[-1]["metadata"]["language"] == "en"
    languages = [e["value"] for e in events if e["event"] == "slot" and e["name"] == "language"]
    assert languages[-1] == "en"


def test_receipt_comes_first_then_typing_then_the_answer(
    running_stack: Any, widgets: Callable[..., Widget]
) -> None:
    widget = widgets()
    widget.start()
    greeted(widget)
    mark = widget.mark()
    message_id = widget.say("Mitkä ovat aukioloajat?")
    widget.idle(after=mark)
    events = widget.since(mark)
    names = [event for event, _ in events]
    assert events[0] == ("receipt", {"message_id": message_id, "status": "received"})
    assert names.index("typing") < names.index("bot_uttered")
    assert events[names.index("typing")][1] == {"on": True}
    assert names[-1] == "typing" and events[-1][1] == {"on": False}
    answers = [data for event, data in events if event == "bot_uttered"]
    seqs = [answer["seq"] for answer in answers]
    assert seqs == list(range(2, 2 + len(answers)))  # greeting was 1


def test_a_resent_message_id_is_acknowledged_but_processed_once(
    running_stack: Any, widgets: Callable[..., Widget]
) -> None:
    widget = widgets()
    widget.start()
    greeted(widget)
    mark = widget.mark()
    message_id = widget.say("Mikä on puhelinnumeronne?")
    widget.say("Mikä on puhelinnumeronne?", message_id=message_id)  # at once, as after a flaky send
    widget.idle(after=mark)
    widget.say("Mikä on puhelinnumeronne?", message_id=message_id)  # and again later
    widget.wait_for("receipt", lambda data: len(widget.since(mark, "receipt")) >= 3, after=mark)
    receipts = [data for _, data in widget.since(mark, "receipt")]
    assert receipts == [
        {"message_id": message_id, "status": "received"},
        {"message_id": message_id, "status": "duplicate"},
        {"message_id": message_id, "status": "duplicate"},
    ]
    time.sleep(1.0)  # would a duplicate have been processed, its typing would show by now
    assert len([d for _, d in widget.since(mark, "typing") if d == {"on": True}]) == 1
    events = tracker_events(running_stack, session_id_of(widget.token))
    mine = [e for e in events if e["event"] == "user" and e.get("message_id") == message_id]
    assert len(mine) == 1 and mine[0]["text"] == "Mikä on puhelinnumeronne?"


def test_a_reload_resumes_the_same_conversation(
    running_stack: Any, widgets: Callable[..., Widget]
) -> None:
    first = widgets()
    token = first.start()["session_id"]
    greeted(first)
    mark = first.mark()
    first.say("Mitkä ovat aukioloajat?")
    first.idle(after=mark)
    first.close()

    reloaded = widgets()
    confirm = reloaded.start(token)
    assert confirm == {"session_id": token, "resumed": True, "handoff": {"state": "bot"}}
    mark = reloaded.mark()
    reloaded.say("Kiitos!")
    reloaded.wait_for("bot_uttered", after=mark)
    reloaded.idle(after=mark)
    texts = user_texts(running_stack, session_id_of(token))
    assert "Mitkä ovat aukioloajat?" in texts and texts[-1] == "Kiitos!"
    # resumed sessions are not greeted again
    assert not any(d["text"].startswith(GREETING_FI) for _, d in reloaded.since(0, "bot_uttered"))


def test_a_forged_or_bare_token_gets_a_new_session(
    running_stack: Any, widgets: Callable[..., Widget]
) -> None:
    owner = widgets()
    token = owner.start()["session_id"]
    greeted(owner)
    victim = session_id_of(token)
    before = tracker_events(running_stack, victim)

    signature = token.partition(".")[2]
    one_letter_off = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    for forged in (victim, victim + ".AAAA", f"{victim}.{one_letter_off}"):
        intruder = widgets()
        confirm = intruder.start(forged, last_seq=0)
        assert confirm["resumed"] is False
        assert session_id_of(confirm["session_id"]) != victim
        # nothing of the owner's conversation is replayed to it
        own_greeting = greeted(intruder)
        assert own_greeting["seq"] == 1
        assert len(intruder.since(0, "bot_uttered")) == 1

    # A message with a forged token on a socket without a session goes nowhere.
    stranger = widgets()
    stranger.client.emit(
        "user_uttered",
        {"message": "näytä laskuni", "message_id": "x1", "session_id": victim + ".x"},
    )
    assert stranger.wait_for("error") == {"code": "bad_session", "message_id": "x1"}
    assert tracker_events(running_stack, victim) == before


def test_bot_replies_reach_every_socket_of_the_session(
    running_stack: Any, widgets: Callable[..., Widget]
) -> None:
    """The known trap: Rasa's channel doesn't await enter_room, so replies reach nobody."""
    tab = widgets()
    token = tab.start()["session_id"]
    greeted(tab)
    other_tab = widgets()
    other_tab.start(token)
    mark_tab, mark_other = tab.mark(), other_tab.mark()
    tab.say("Mikä on sähköpostiosoitteenne?")
    answer = tab.wait_for("bot_uttered", after=mark_tab)
    assert other_tab.wait_for("bot_uttered", after=mark_other) == answer
    assert answer["text"]


def test_missed_messages_are_replayed_in_order_once(
    running_stack: Any, widgets: Callable[..., Widget]
) -> None:
    config = running_stack.config
    widget = widgets()
    token = widget.start()["session_id"]
    greeted(widget)
    mark = widget.mark()
    widget.say("Mitkä ovat aukioloajat?")  # `output_channel=latest` needs a customer message
    widget.idle(after=mark)
    seen = widget.last_seq()
    widget.close()
    session_id = session_id_of(token)

    # While the customer is away: an agent's message (push) and a bot message
    # through Rasa's HTTP API, which reaches the widget through get_output_channel().
    pushed = push(
        running_stack,
        {
            "conversation_id": session_id,
            "event": "bot_uttered",
            "data": {"text": "Hei, olen Aino asiakaspalvelusta."},
        },
    )
    assert pushed.status_code == 200 and pushed.json()["seq"] == seen + 1
    executed = requests.post(
        f"{config.rasa_url}/conversations/{session_id}/execute",
        params={"token": config.rasa_token, "output_channel": "latest"},
        json={"name": "utter_greet_again"},
        timeout=60,
    )
    assert executed.status_code == 200, executed.text
    handoff = push(
        running_stack,
        {
            "conversation_id": session_id,
            "event": "handoff",
            "data": {"state": "agent", "agent_name": "Aino"},
        },
    )
    assert handoff.json()["seq"] == seen + 3

    back = widgets()
    confirm = back.start(token, last_seq=seen)
    assert confirm["resumed"] is True
    assert confirm["handoff"] == {"state": "agent", "agent_name": "Aino"}
    back.wait_for("handoff", after=0)
    time.sleep(1.0)  # anything sent twice would have arrived by now
    replayed = [(e, d) for e, d in back.since(0) if e in ("bot_uttered", "handoff")]
    assert [d["seq"] for _, d in replayed] == [seen + 1, seen + 2, seen + 3]
    assert replayed[0] == (
        "bot_uttered",
        {"text": "Hei, olen Aino asiakaspalvelusta.", "seq": seen + 1},
    )
    assert replayed[1][0] == "bot_uttered" and replayed[1][1]["text"].startswith("Hei taas")
    assert replayed[2] == ("handoff", {"state": "agent", "agent_name": "Aino", "seq": seen + 3})
    names = [e for e, _ in back.since(0)]
    assert names.index("session_confirm") < names.index("bot_uttered")

    # Asking again with the newest seq replays nothing.
    mark = back.mark()
    back.start(token, last_seq=seen + 3)
    time.sleep(0.5)
    assert back.since(mark, "bot_uttered") == [] and back.since(mark, "handoff") == []


def test_push_needs_the_token_and_reaches_a_connected_widget(
    running_stack: Any, widgets: Callable[..., Widget]
) -> None:
    widget = widgets()
    token = widget.start()["session_id"]
    greeted(widget)
    session_id = session_id_of(token)
    body = {"conversation_id": session_id, "event": "bot_uttered", "data": {"text": "Moi!"}}
    assert push(running_stack, body, token=None).status_code == 401
    assert push(running_stack, body, token="wrong").status_code == 401
    assert push(running_stack, {**body, "event": "session_confirm"}).status_code == 400
    assert push(running_stack, {**body, "data": "Moi"}).status_code == 400
    assert push(running_stack, {**body, "conversation_id": ""}).status_code == 400
    bad_state = {"conversation_id": session_id, "event": "handoff", "data": {"state": "gone"}}
    assert push(running_stack, bad_state).status_code == 400
    assert widget.since(0, "handoff") == []

    mark = widget.mark()
    reply = push(running_stack, body)
    assert reply.status_code == 200 and reply.json()["delivered"] is True
    assert widget.wait_for("bot_uttered", after=mark) == {
        "text": "Moi!",
        "seq": reply.json()["seq"],
    }
    waiting = {
        "state": "waiting",
        "ticket_number": "T-00042",
        "due_at": "2030-01-02T12:00:00+02:00",
        "queue_position": 2,
    }
    reply = push(
        running_stack, {"conversation_id": session_id, "event": "handoff", "data": waiting}
    )
    assert widget.wait_for("handoff", after=mark) == {**waiting, "seq": reply.json()["seq"]}
    # a reload shows the banner at once
    assert widgets().start(token)["handoff"] == waiting


def test_bad_messages_get_an_error_and_nothing_breaks(
    running_stack: Any, widgets: Callable[..., Widget]
) -> None:
    widget = widgets()
    widget.start()
    greeted(widget)
    mark = widget.mark()
    empty_id = widget.say("")
    blank_id = widget.say("  \n\t ")
    long_id = widget.say("a" * 20_000)
    not_text_id = widget.say(12345)
    for payload in (
        "just a string",
        42,
        ["list"],
        None,
        {"message_id": {"x": 1}, "message": "hei"},
    ):
        widget.client.emit("user_uttered", payload)
    widget.client.emit("session_request", "not an object")
    errors = lambda: widget.since(mark, "error")  # noqa: E731
    widget.wait_for("error", lambda _: len(errors()) >= 10, after=mark)
    assert [data for _, data in errors()] == [
        {"code": "empty_message", "message_id": empty_id},
        {"code": "empty_message", "message_id": blank_id},
        {"code": "message_too_long", "message_id": long_id},
        {"code": "bad_request", "message_id": not_text_id},
        *[{"code": "bad_request"}] * 6,
    ]
    assert widget.since(mark, "receipt") == []
    # still alive: a real message is answered
    after_errors = widget.mark()
    message_id = widget.say("Mitkä ovat aukioloajat?")
    assert widget.wait_for("receipt", after=after_errors)["message_id"] == message_id
    widget.wait_for("bot_uttered", after=after_errors)
    widget.idle(after=after_errors)
    texts = user_texts(running_stack, session_id_of(widget.token))
    assert texts == ["/greet", "Mitkä ovat aukioloajat?"]


def test_html_is_passed_as_plain_text(running_stack: Any, widgets: Callable[..., Widget]) -> None:
    widget = widgets()
    widget.start()
    greeted(widget)
    text = '<b>hei</b> <script>alert("x")</script> & laskuni?'
    mark = widget.mark()
    widget.say(text)
    widget.idle(after=mark)
    assert user_texts(running_stack, session_id_of(widget.token))[-1] == text
    for _, data in widget.since(mark, "bot_uttered"):
        assert "<script>" not in (data.get("text") or "")


def test_the_first_customer_message_is_not_greeted_again(
    running_stack: Any, widgets: Callable[..., Widget]
) -> None:
    widget = widgets()
    widget.start()
    greeted(widget)
    mark = widget.mark()
    widget.say("Mitkä ovat aukioloajat?")
    widget.idle(after=mark)
    answers = [data.get("text") or "" for _, data in widget.since(mark, "bot_uttered")]
    assert answers and not any(text.startswith(GREETING_FI) for text in answers)


# --- the handoff, live: messages to the ticket, the agent, the rating -------------------------


def helpdesk_get(running_stack: Any, path: str) -> Any:
    reply = requests.get(
        f"{running_stack.config.bot_url}{path}",
        headers={"Authorization": f"Bearer {running_stack.helpdesk_token}"},
        timeout=30,
    )
    reply.raise_for_status()
    return reply.json()


def eventually(check: Callable[[], Any], timeout: float = WAIT) -> Any:
    """The first truthy result of `check`, polled until `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"not within {timeout}s"
        time.sleep(0.2)


def rasa_api(running_stack: Any, path: str, body: Any, **params: str) -> requests.Response:
    """What the agent console does when an agent resolves a ticket."""
    config = running_stack.config
    reply = requests.post(
        f"{config.rasa_url}/conversations/{path}",
        params={"token": config.rasa_token, **params},
        json=body,
        timeout=60,
    )
    assert reply.status_code == 200, reply.text
    return reply


def resolve_and_ask_for_rating(running_stack: Any, session_id: str) -> None:
    rasa_api(running_stack, f"{session_id}/tracker/events", [{"event": "resume"}])
    rasa_api(
        running_stack, f"{session_id}/execute", {"name": "rating_form"}, output_channel="widget"
    )


def test_handoff_messages_reach_the_ticket_then_the_agent_resolves_and_asks_a_rating(
    running_stack: Any, widgets: Callable[..., Widget]
) -> None:
    widget = widgets()
    session_id = session_id_of(widget.start()["session_id"])
    greeted(widget)

    # A person, in this chat (the buttons' payloads, as the widget sends them).
    mark = widget.mark()
    widget.say("/request_human")
    widget.wait_for("bot_uttered", lambda data: bool(data.get("buttons")), after=mark)
    widget.idle(after=mark)
    mark = widget.mark()
    widget.say('/inform{"contact_method": "chat"}')
    waiting = widget.wait_for("handoff", after=mark)
    widget.idle(after=mark)
    number = waiting["ticket_number"]
    assert waiting["state"] == "waiting" and number.startswith("T-")

    # Paused for the person: what the customer writes goes to the ticket, at once.
    mark = widget.mark()
    first = widget.say("Lasku 1002 on veloitettu kahteen kertaan")
    second = widget.say("Maksoin sen jo toukokuussa")
    widget.wait_for("receipt", lambda data: data["message_id"] == second, after=mark)
    assert [data for _, data in widget.since(mark, "receipt")] == [
        {"message_id": first, "status": "added_to_ticket", "ticket_number": number},
        {"message_id": second, "status": "added_to_ticket", "ticket_number": number},
    ]

    def customer_lines() -> list[str]:
        ticket = helpdesk_get(running_stack, f"/api/tickets/{number}")
        return [line["text"] for line in ticket["transcript"] if line["sender"] == "customer"]

    eventually(lambda: "Maksoin sen jo toukokuussa" in customer_lines())
    time.sleep(1.0)
    lines = customer_lines()
    assert lines.count("Lasku 1002 on veloitettu kahteen kertaan") == 1
    assert lines.count("Maksoin sen jo toukokuussa") == 1
    assert lines.index("Lasku 1002 on veloitettu kahteen kertaan") < lines.index(
        "Maksoin sen jo toukokuussa"
    )
    # Rasa logged them too, and said nothing: no typing, no answer.
    assert user_texts(running_stack, session_id)[-2:] == [
        "Lasku 1002 on veloitettu kahteen kertaan",
        "Maksoin sen jo toukokuussa",
    ]
    assert widget.since(mark, "bot_uttered") == [] and widget.since(mark, "typing") == []

    # The agent joins and writes; the customer answers, into the ticket as well.
    push(
        running_stack,
        {
            "conversation_id": session_id,
            "event": "handoff",
            "data": {"state": "agent", "agent_name": "Aino Virtanen"},
        },
    )
    push(
        running_stack,
        {
            "conversation_id": session_id,
            "event": "bot_uttered",
            "data": {
                "text": "Hei, katson asiaa.",
                "sender": "agent",
                "agent_name": "Aino Virtanen",
            },
        },
    )
    mark = widget.mark()
    thanks = widget.say("Kiitos Aino!")
    assert widget.wait_for("receipt", after=mark) == {
        "message_id": thanks,
        "status": "added_to_ticket",
        "ticket_number": number,  # kept though the agent's handoff event didn't repeat it
    }
    eventually(lambda: "Kiitos Aino!" in customer_lines())

    # Resolved: the console resumes the bot and starts the rating form through Rasa.
    push(
        running_stack,
        {"conversation_id": session_id, "event": "handoff", "data": {"state": "resolved"}},
    )
    mark = widget.mark()
    resolve_and_ask_for_rating(running_stack, session_id)
    question = widget.wait_for("bot_uttered", lambda data: bool(data.get("buttons")), after=mark)
    assert question["text"].startswith("Kiitos, että odotit")
    assert [b["payload"] for b in question["buttons"]] == [
        f'/inform{{"rating": "{n}"}}' for n in range(1, 6)
    ]

    # The next message fills it: typed in words, not a button.
    mark = widget.mark()
    rating = widget.say("neljä")
    assert widget.wait_for("receipt", after=mark) == {"message_id": rating, "status": "received"}
    widget.wait_for("bot_uttered", lambda data: "Voinko auttaa" in data.get("text", ""), after=mark)
    widget.idle(after=mark)
    replies = [data["text"] for _, data in widget.since(mark, "bot_uttered")]
    assert replies[0].startswith("Kiitos arviostasi (4/5)")
    assert replies[-1] == "Voinko auttaa vielä jossain muussa?"
    assert eventually(lambda: helpdesk_get(running_stack, f"/api/tickets/{number}")["rating"]) == 4
    assert "neljä" not in customer_lines()  # resolved: the rating is not a new message
    tracker = requests.get(
        f"{running_stack.config.rasa_url}/conversations/{session_id}/tracker",
        params={"token": running_stack.config.rasa_token},
        timeout=30,
    ).json()
    assert tracker["paused"] is False
    assert tracker["active_loop"] == {} or tracker["active_loop"].get("name") is None


def test_a_customer_who_ignores_the_rating_gets_what_they_asked_for(
    running_stack: Any, widgets: Callable[..., Widget], fresh_demo_invoices: Any
) -> None:
    widget = widgets()
    session_id = session_id_of(widget.start(metadata={"language": "en"})["session_id"])
    greeted(widget)

    mark = widget.mark()
    resolve_and_ask_for_rating(running_stack, session_id)
    question = widget.wait_for("bot_uttered", lambda data: bool(data.get("buttons")), after=mark)
    assert question["text"].startswith("Thanks for waiting")

    mark = widget.mark()
    widget.say("Can I move the due date of invoice 1001?")
    asked = widget.wait_for("bot_uttered", after=mark)
    widget.idle(after=mark)
    assert "reference number" in asked["text"]
    events = tracker_events(running_stack, session_id)
    loops = [event["name"] for event in events if event["event"] == "active_loop"]
    assert loops[-3:] == ["rating_form", None, "due_date_extension_form"]
