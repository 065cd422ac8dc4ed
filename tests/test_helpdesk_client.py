"""The actions' helpdesk client and its outbox, against the real helpdesk process."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests
from aiohttp import web

from actions.announce import ANNOUNCE_ACTION, FiledTicketAnnouncer
from actions.config import ActionSettings
from actions.helpdesk import (
    HelpdeskClient,
    HelpdeskRejected,
    HelpdeskUnavailable,
    TicketCreated,
)
from actions.outbox import Outbox, retry_delay
from tests.services import local_web_app

if TYPE_CHECKING:
    from tests.conftest import HelpdeskServer

REPO = Path(__file__).resolve().parent.parent


class DownHelpdesk:
    """A port where the helpdesk will run but is down for now.

    The port stays bound (not listening) until `start`, so connections are refused
    and no other process on this machine can take it in the meantime.
    """

    def __init__(self, start_helpdesk: Callable[..., HelpdeskServer]) -> None:
        self._start_helpdesk = start_helpdesk
        self._holder = socket.socket()
        self._holder.bind(("127.0.0.1", 0))
        self.port = self._holder.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.token = secrets.token_urlsafe(16)

    def start(self) -> HelpdeskServer:
        self._holder.close()
        return self._start_helpdesk(port=self.port, token=self.token)

    def close(self) -> None:
        self._holder.close()


@pytest.fixture
def down_helpdesk(start_helpdesk: Callable[..., HelpdeskServer]) -> Iterator[DownHelpdesk]:
    down = DownHelpdesk(start_helpdesk)
    yield down
    down.close()


def ticket(conversation_id: str | None = None, **overrides: object) -> dict:
    body = {
        "conversation_id": conversation_id or "conv-" + uuid.uuid4().hex[:8],
        "reason": "customer_request",
        "topic": "request_human",
        "language": "en",
        "contact_method": "chat",
        "transcript": [{"sender": "customer", "text": "a person please", "sent_at": 1714629600}],
    }
    body.update(overrides)
    return body


def tickets_of(server: HelpdeskServer, conversation_id: str) -> list[dict]:
    response = requests.get(
        server.base_url + "/api/tickets",
        params={"conversation_id": conversation_id},
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["tickets"]


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    return Outbox(tmp_path / "state" / "outbox.db")


@pytest.fixture
def client(helpdesk_server: HelpdeskServer, outbox: Outbox) -> HelpdeskClient:
    return HelpdeskClient(helpdesk_server.base_url, helpdesk_server.token, outbox)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers: the hung helpdesk."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def failing_server() -> Iterator[str]:
    """Answers every request with 503, like a helpdesk behind a proxy during a deploy."""

    class Unavailable(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            self.send_response(503)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"Service Unavailable")

        do_GET = do_POST  # noqa: N815

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Unavailable)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


# --- the outbox on its own -----------------------------------------------------


def test_outbox_keeps_items_until_delivered(outbox: Outbox) -> None:
    outbox.put("ticket", "r1", {"a": 1})
    outbox.put("ticket", "r1", {"a": "ignored"})
    outbox.put("feedback", "r2", {"b": 2})
    assert outbox.path.exists()

    first, second = outbox.pending()
    assert (first.kind, first.request_id, first.payload) == ("ticket", "r1", {"a": 1})
    assert second.request_id == "r2"

    outbox.record_attempt("r1", "connection refused")
    assert outbox.pending()[0].attempts == 1
    assert outbox.pending()[0].last_error == "connection refused"

    outbox.mark_delivered("r1")
    outbox.mark_rejected("r2", "HTTP 400")
    assert outbox.pending() == []


def test_outbox_survives_a_new_instance(outbox: Outbox) -> None:
    outbox.put("ticket", "r1", {"a": 1})
    assert [item.request_id for item in Outbox(outbox.path).pending()] == ["r1"]


def test_an_item_the_helpdesk_failed_on_waits_its_own_retry_time(outbox: Outbox) -> None:
    outbox.put("ticket", "bad", {"a": 1})
    outbox.put("ticket", "good", {"b": 2})
    now = time.time()
    outbox.record_attempt("bad", "HTTP 500: internal error", own_fault=True)
    outbox.record_attempt("good", "connection refused")  # the helpdesk was down: no wait

    assert [item.request_id for item in outbox.pending(due_at=now)] == ["good"]
    assert [item.request_id for item in outbox.pending()] == ["bad", "good"]
    later = now + retry_delay(1) + 1
    assert [item.request_id for item in outbox.pending(due_at=later)] == ["bad", "good"]

    outbox.record_attempt("bad", "HTTP 500: internal error", own_fault=True)
    assert retry_delay(2) > retry_delay(1)
    assert [item.request_id for item in outbox.pending(due_at=later)] == ["good"]


@pytest.mark.parametrize(
    ("attempts", "seconds"), [(0, 15.0), (1, 15.0), (2, 30.0), (6, 600.0), (50, 600.0)]
)
def test_retry_delay_grows_and_stops_growing(attempts: int, seconds: float) -> None:
    assert retry_delay(attempts) == seconds


def test_an_outbox_file_from_before_retry_times_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "old-outbox.db"
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(
            "CREATE TABLE outbox (request_id TEXT PRIMARY KEY, kind TEXT NOT NULL, "
            "payload TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending', "
            "created_at REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, "
            "last_attempt_at REAL, last_error TEXT, delivered_at REAL)"
        )
        conn.execute(
            "INSERT INTO outbox (request_id, kind, payload, created_at) VALUES (?, ?, ?, ?)",
            ("old", "ticket", '{"a": 1}', 1.0),
        )
    old = Outbox(path)
    assert [item.request_id for item in old.pending(due_at=time.time())] == ["old"]
    old.record_attempt("old", "HTTP 502", own_fault=True)
    assert old.pending(due_at=time.time()) == []


# --- creating tickets ------------------------------------------------------------


@pytest.mark.asyncio
async def test_create_ticket(client: HelpdeskClient, helpdesk_server: HelpdeskServer) -> None:
    body = ticket(invoice_number="1001")
    created = await client.create_ticket(body)

    assert isinstance(created, TicketCreated)
    assert created.number == "T-00001"
    assert created.status == "open"
    assert created.queue_position == 1
    assert created.due_at.utcoffset() is not None
    assert client.outbox.pending() == []
    assert "request_id" not in body  # the caller's dict is left alone

    [stored] = tickets_of(helpdesk_server, body["conversation_id"])
    assert stored["number"] == created.number
    assert stored["invoice_number"] == "1001"
    assert stored["transcript"][0]["text"] == "a person please"


@pytest.mark.asyncio
async def test_callers_request_id_makes_a_retry_harmless(
    client: HelpdeskClient, helpdesk_server: HelpdeskServer
) -> None:
    body = ticket(request_id="handoff-42")
    first = await client.create_ticket(body)
    second = await client.create_ticket(body)
    assert first == second
    assert len(tickets_of(helpdesk_server, body["conversation_id"])) == 1


@pytest.mark.asyncio
async def test_long_conversation_is_trimmed_to_fit(
    client: HelpdeskClient, helpdesk_server: HelpdeskServer
) -> None:
    lines = [
        {"sender": "customer", "text": f"message {n}", "sent_at": 1714629600 + n}
        for n in range(200)
    ]
    lines[-1]["text"] = "x" * 6000
    lines[-2]["text"] = "   "
    body = ticket(transcript=lines)
    await client.create_ticket(body)

    [stored] = tickets_of(helpdesk_server, body["conversation_id"])
    transcript = stored["transcript"]
    assert len(transcript) == 150
    assert transcript[0]["sender"] == "system"
    assert transcript[0]["text"] == "50 earlier messages left out."
    assert transcript[1]["text"] == "message 50"
    assert len(transcript[-1]["text"]) == 5000 and transcript[-1]["text"].endswith("[…]")
    assert body["transcript"][-1]["text"] == "x" * 6000  # the caller's data is untouched


@pytest.mark.asyncio
async def test_invalid_ticket_is_rejected_and_not_retried(client: HelpdeskClient) -> None:
    with pytest.raises(HelpdeskRejected, match="reason") as error:
        await client.create_ticket(ticket(reason="bored"))
    assert error.value.status == 400
    assert client.outbox.pending() == []


@pytest.mark.asyncio
async def test_helpdesk_down_keeps_ticket_then_flush_delivers_once(
    outbox: Outbox, down_helpdesk: DownHelpdesk
) -> None:
    client = HelpdeskClient(down_helpdesk.base_url, down_helpdesk.token, outbox, timeout=2)
    body = ticket()

    with pytest.raises(HelpdeskUnavailable) as error:
        await client.create_ticket(body)

    [kept] = outbox.pending()
    assert kept.request_id == error.value.request_id
    assert kept.kind == "ticket"
    assert kept.payload["conversation_id"] == body["conversation_id"]
    assert kept.attempts == 1 and "Connect" in kept.last_error
    assert await client.flush_outbox() == 0  # still down

    server = down_helpdesk.start()
    assert await client.flush_outbox() == 1
    assert await client.flush_outbox() == 0
    [stored] = tickets_of(server, body["conversation_id"])
    assert stored["transcript"][0]["text"] == "a person please"


@pytest.mark.asyncio
async def test_delivering_the_same_item_twice_does_not_duplicate(
    tmp_path: Path, outbox: Outbox, down_helpdesk: DownHelpdesk
) -> None:
    """A crash after the helpdesk answered but before mark_delivered means a resend."""
    token = down_helpdesk.token
    body = ticket()
    with pytest.raises(HelpdeskUnavailable):
        await HelpdeskClient(down_helpdesk.base_url, token, outbox).create_ticket(body)
    copy = tmp_path / "copy" / "outbox.db"
    copy.parent.mkdir()
    shutil.copy(outbox.path, copy)

    server = down_helpdesk.start()
    assert await HelpdeskClient(server.base_url, token, outbox).flush_outbox() == 1
    assert await HelpdeskClient(server.base_url, token, Outbox(copy)).flush_outbox() == 1

    assert len(tickets_of(server, body["conversation_id"])) == 1


@pytest.mark.asyncio
async def test_older_pending_items_are_delivered_first(
    outbox: Outbox, down_helpdesk: DownHelpdesk
) -> None:
    older = ticket()
    client = HelpdeskClient(down_helpdesk.base_url, down_helpdesk.token, outbox)
    with pytest.raises(HelpdeskUnavailable):
        await client.create_ticket(older)

    server = down_helpdesk.start()
    newer = await client.create_ticket(ticket())

    [delivered_older] = tickets_of(server, older["conversation_id"])
    assert delivered_older["number"] < newer.number
    assert newer.queue_position == 2
    assert outbox.pending() == []


@pytest.mark.asyncio
async def test_hung_helpdesk_times_out(silent_server: str, outbox: Outbox) -> None:
    client = HelpdeskClient(silent_server, "t", outbox, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(HelpdeskUnavailable, match="timed out"):
        await client.create_ticket(ticket())
    assert time.monotonic() - started < 5
    assert outbox.pending()[0].last_error == "timed out"


@pytest.mark.asyncio
async def test_server_error_keeps_the_ticket(failing_server: str, outbox: Outbox) -> None:
    client = HelpdeskClient(failing_server, "t", outbox)
    with pytest.raises(HelpdeskUnavailable):
        await client.create_ticket(ticket())
    assert "503" in outbox.pending()[0].last_error


@pytest.fixture
def choosy_server() -> Iterator[tuple[str, list[str]]]:
    """A helpdesk that fails (500) on any ticket mentioning "poison" and files the rest;
    also the list of conversation ids it was sent, in order."""
    seen: list[str] = []

    class Choosy(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append(body["conversation_id"])
            if "poison" in json.dumps(body):
                status, answer = 500, {"error": "internal error"}
            else:
                status = 201
                answer = {
                    "number": f"T-{len(seen):05d}",
                    "due_at": "2030-01-02T10:00:00+00:00",
                    "queue_position": 1,
                    "status": "open",
                }
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Choosy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


@pytest.mark.asyncio
async def test_an_item_the_helpdesk_fails_on_never_blocks_the_next_handoff(
    choosy_server: tuple[str, list[str]], outbox: Outbox
) -> None:
    url, seen = choosy_server
    client = HelpdeskClient(url, "t", outbox)
    with pytest.raises(HelpdeskUnavailable) as failed:
        await client.create_ticket(ticket("conv-poison", topic="poison"))
    assert failed.value.failed_on_this_item

    # The next customers' handoffs go through at once; the bad item is not retried
    # in front of each of them but waits its own time.
    for n in range(3):
        created = await client.create_ticket(ticket(f"conv-next-{n}"))
        assert created.number.startswith("T-")
    assert seen == ["conv-poison", "conv-next-0", "conv-next-1", "conv-next-2"]
    assert await client.flush_outbox() == 0
    [waiting] = outbox.pending()
    assert waiting.request_id and "500" in (waiting.last_error or "")
    assert outbox.pending(due_at=time.time()) == []


@pytest.mark.asyncio
async def test_wrong_token_keeps_the_ticket_for_after_the_fix(
    helpdesk_server: HelpdeskServer, outbox: Outbox
) -> None:
    with pytest.raises(HelpdeskUnavailable, match="401"):
        await HelpdeskClient(helpdesk_server.base_url, "wrong", outbox).create_ticket(ticket())
    assert len(outbox.pending()) == 1
    fixed = HelpdeskClient(helpdesk_server.base_url, helpdesk_server.token, outbox)
    assert await fixed.flush_outbox() == 1


# --- feedback and service hours -----------------------------------------------------


@pytest.mark.asyncio
async def test_send_feedback(client: HelpdeskClient) -> None:
    assert await client.send_feedback("conv-1", "fi", "Nopeaa palvelua, kiitos!") is True
    assert client.outbox.pending() == []


@pytest.mark.asyncio
async def test_feedback_while_down_goes_via_the_outbox(
    outbox: Outbox, down_helpdesk: DownHelpdesk
) -> None:
    client = HelpdeskClient(down_helpdesk.base_url, down_helpdesk.token, outbox)
    assert await client.send_feedback("conv-1", "en", "Great") is False
    [kept] = outbox.pending()
    assert kept.kind == "feedback" and kept.payload["text"] == "Great"

    down_helpdesk.start()
    assert await client.flush_outbox() == 1


@pytest.mark.asyncio
async def test_service_hours(client: HelpdeskClient) -> None:
    hours = await client.service_hours()
    assert hours["display"]["en"] == "Mon–Fri 8:00–16:00"
    assert set(hours) == {"timezone", "open_now", "next_opening", "display"}


@pytest.mark.asyncio
async def test_service_hours_when_down(outbox: Outbox, down_helpdesk: DownHelpdesk) -> None:
    client = HelpdeskClient(down_helpdesk.base_url, "t", outbox)
    with pytest.raises(HelpdeskUnavailable):
        await client.service_hours()


def test_from_settings(tmp_path: Path) -> None:
    settings = ActionSettings(
        helpdesk_url="http://helpdesk:8000/",
        helpdesk_api_token="tok",
        outbox_path=str(tmp_path / "o.db"),
    )
    client = HelpdeskClient.from_settings(settings)
    assert client.base_url == "http://helpdesk:8000"
    assert client.token == "tok"
    assert client.outbox.path == tmp_path / "o.db"


# --- the relay process -----------------------------------------------------------


def test_relay_delivers_pending_items(
    tmp_path: Path, outbox: Outbox, helpdesk_server: HelpdeskServer
) -> None:
    body = ticket(request_id=uuid.uuid4().hex)
    outbox.put("ticket", body["request_id"], body)
    env = {
        **os.environ,
        "HELPDESK_URL": helpdesk_server.base_url,
        "HELPDESK_API_TOKEN": helpdesk_server.token,
        "HELPDESK_OUTBOX_PATH": str(outbox.path),
        "OUTBOX_FLUSH_SECONDS": "0.2",
    }
    relay = subprocess.Popen(
        [sys.executable, "-m", "actions.outbox"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while outbox.pending() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        relay.terminate()
        relay.wait(timeout=10)
    assert outbox.pending() == []
    assert len(tickets_of(helpdesk_server, body["conversation_id"])) == 1


# --- a ticket filed later is announced -------------------------------------------------


@pytest.mark.asyncio
async def test_a_ticket_the_outbox_delivers_later_is_announced(
    outbox: Outbox, down_helpdesk: DownHelpdesk
) -> None:
    announced: list[str] = []

    async def record(payload: dict) -> None:
        announced.append(payload["conversation_id"])

    client = HelpdeskClient(
        down_helpdesk.base_url, down_helpdesk.token, outbox, on_filed_later=record
    )
    with pytest.raises(HelpdeskUnavailable):
        await client.create_ticket(ticket("conv-late"))
    down_helpdesk.start()
    # The next handoff delivers the waiting ticket first: that one is announced; the
    # new one is not (its customer hears the number in the answer itself).
    await client.create_ticket(ticket("conv-now"))
    assert announced == ["conv-late"]
    assert await client.flush_outbox() == 0
    assert announced == ["conv-late"]


@pytest.mark.asyncio
async def test_the_announcer_asks_rasa_to_run_the_action_in_that_conversation() -> None:
    calls: list[tuple[str, dict, dict]] = []

    async def execute(request: web.Request) -> web.Response:
        calls.append((request.path, dict(request.query), await request.json()))
        return web.json_response({"tracker": {}, "messages": []})

    app = web.Application()
    app.router.add_post("/conversations/{conversation}/execute", execute)
    async with local_web_app(app) as rasa_url:
        announcer = FiledTicketAnnouncer(rasa_url, "rasa-token")
        await announcer.announce({"conversation_id": "a b/c"})
        await announcer.announce({"conversation_id": ""})  # nothing to tell
    assert calls == [
        (
            "/conversations/a b/c/execute",
            {"token": "rasa-token", "output_channel": "latest"},
            {"name": ANNOUNCE_ACTION},
        )
    ]


@pytest.mark.asyncio
async def test_the_announcer_survives_rasa_being_down() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        announcer = FiledTicketAnnouncer(f"http://127.0.0.1:{holder.getsockname()[1]}", "t")
        await announcer.announce({"conversation_id": "c1"})  # logged, not raised


def test_no_rasa_settings_means_no_announcer() -> None:
    assert FiledTicketAnnouncer.from_settings(ActionSettings(rasa_url="", rasa_token="")) is None
    made = FiledTicketAnnouncer.from_settings(
        ActionSettings(rasa_url="http://rasa:5005/", rasa_token="t")
    )
    assert made is not None and made.rasa_url == "http://rasa:5005"
