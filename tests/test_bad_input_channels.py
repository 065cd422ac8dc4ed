"""Bad input on the customer channels inside `rasa run` is answered, never a 500.

Issue 10, item 5: the REST channel (bot/channels/rest.py) and the widget's
socket.io channel (bot/channels/widget.py). Each bad input gets a 4xx with a JSON
reason (REST) or `error bad_request` (socket.io), the connection survives, the
next message on it and another customer's message get the bot's answer, and the
Rasa log has no traceback.

Unit tests of the checks first (no Rasa), then the real channels in the real
`rasa run` (`running_stack`): REST over `requests`, socket.io as raw engine.io
frames over `websockets`, so malformed packets can be sent at all.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import websockets
from websockets.frames import OP_BINARY, OP_TEXT

from bot.channels.packets import (
    CheckedPacket,
    InboundJson,
    InvalidPacket,
    engineio_frame_problem,
    polling_body_problem,
)
from bot.channels.rest import MAX_BODY_BYTES, TooLarge, parse_rest_message
from bot.channels.widget import field_problem, last_seq_of
from bot.inbound import MAX_MESSAGE_LENGTH, InvalidInput
from tests.conftest import RunningStack
from tests.test_widget_channel import tracker_events

WAIT = 60.0  # seconds; Rasa shares 2 CPU cores with other tests
# A question the bot answers without a form, in Finnish.
QUESTION = "Mitkä ovat aukioloajat?"


def rest_body(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


DEEP = "[" * 40 + "]" * 40  # deeper than bot.inbound.MAX_JSON_DEPTH, small in bytes
DEEP_50000 = "[" * 50_000 + "]" * 50_000

# (name, body, status): what REST clients sent that Rasa's own channel answered 500.
BAD_REST_BODIES = [
    ("empty body", b"", 400),
    ("json array", b"[]", 400),
    ("json null", b"null", 400),
    ("json string", b'"hello"', 400),
    ("truncated json", b'{"sender": "a", "mess', 400),
    ("not utf-8", b'{"sender": "a", "message": "\xff\xfe"}', 400),
    ("nan", b'{"sender": "a", "message": NaN}', 400),
    (
        "nested 40 deep",
        b'{"sender": "a", "message": "hi", "metadata": {"x": ' + DEEP.encode() + b"}}",
        400,
    ),
    ("message a number", rest_body(sender="a", message=5), 400),
    ("message a list", rest_body(sender="a", message=["hi"]), 400),
    ("message an object", rest_body(sender="a", message={"text": "hi"}), 400),
    ("message missing", rest_body(sender="a"), 400),
    ("message blank", rest_body(sender="a", message="  \n "), 400),
    ("sender an object", rest_body(sender={"id": 1}, message="hi"), 400),
    ("sender a list", rest_body(sender=["a"], message="hi"), 400),
    ("sender a boolean", rest_body(sender=True, message="hi"), 400),
    ("sender missing", rest_body(message="hi"), 400),
    ("sender empty", rest_body(sender=" ", message="hi"), 400),
    ("sender too long", rest_body(sender="s" * 256, message="hi"), 400),
    ("metadata a list", rest_body(sender="a", message="hi", metadata=["fi"]), 400),
    ("input_channel a number", rest_body(sender="a", message="hi", input_channel=5), 400),
    ("message too long", rest_body(sender="a", message="x" * (MAX_MESSAGE_LENGTH + 1)), 413),
    ("body over the limit", rest_body(sender="a", message="x" * 1_000_000), 413),
]


# --- unit: the checks ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status"),
    [(body, status) for _, body, status in BAD_REST_BODIES],
    ids=[name for name, _, _ in BAD_REST_BODIES],
)
def test_rest_bodies_are_refused_with_a_reason(body: bytes, status: int) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_rest_message(body)
    assert isinstance(refused.value, TooLarge) == (status == 413)
    assert str(refused.value)


def test_rest_message_is_taken_as_rasa_took_it_but_cleaned() -> None:
    message = parse_rest_message(
        rest_body(sender=42, message="Hei \ud83d\x00", metadata={"language": "fi\ud800"})
    )
    assert message.sender == "42"  # a number is a conversation id too, as in Rasa's channel
    assert message.text == "Hei \ufffd"  # lone surrogate replaced, control character gone
    assert message.metadata == {"language": "fi\ufffd"}
    assert message.input_channel is None
    longest = parse_rest_message(rest_body(sender="a", message="😀" * MAX_MESSAGE_LENGTH))
    assert len(longest.text) == MAX_MESSAGE_LENGTH  # 60 kB of \ud83d\ude00: under the limit
    assert len(rest_body(sender="a", message="😀" * MAX_MESSAGE_LENGTH)) < MAX_BODY_BYTES


# (name, packet) socket.io packets (the engine.io `4` already taken off).
BAD_PACKETS: list[tuple[str, Any]] = [
    ("empty: the library would dispatch an empty EVENT", ""),
    ("truncated", '2["user_uttered",{"message":"hi"}'),
    ("50,000 deep: RecursionError without the depth limit", "2" + DEEP_50000),
    ("no event name", "2[]"),
    ("an object instead of [name, ...]", '2{"a":1}'),
    ("a name that is not a string", "2[5,{}]"),
    ("nan", '2["user_uttered",NaN]'),
    ("binary attachment", '51-["user_uttered",{"_placeholder":true,"num":0}]'),
    ("CONNECT_ERROR: only servers send it", '4{"message":"x"}'),
    ("no such packet type", "9"),
    ("not a packet type", "x"),
    ("a binary frame", b"\x00\x01"),
]


@pytest.mark.parametrize(
    "packet", [packet for _, packet in BAD_PACKETS], ids=[name for name, _ in BAD_PACKETS]
)
def test_socketio_packets_that_dont_decode_raise_only_invalid_packet(packet: Any) -> None:
    with pytest.raises(InvalidPacket):
        CheckedPacket(encoded_packet=packet)


def test_socketio_packets_are_decoded_with_the_shared_json_rules() -> None:
    event = CheckedPacket(encoded_packet='2["user_uttered",{"message":"hei \\ud83d"}]')
    assert event.data == ["user_uttered", {"message": "hei \ufffd"}]
    assert CheckedPacket(encoded_packet="0").packet_type == 0  # CONNECT
    assert InboundJson.loads('{"a": "\\udfff"}') == {"a": "\ufffd"}
    assert json.loads(InboundJson.dumps({"a": [1]}, separators=(",", ":"))) == {"a": [1]}


@pytest.mark.parametrize("frame", ["", "x", "9", "bQ"])
def test_engineio_frames_that_would_fail_are_named(frame: str) -> None:
    assert engineio_frame_problem(frame)


@pytest.mark.parametrize("frame", ["2", "3", '42["user_uttered",{}]', "4[[[", b"\x00"])
def test_engineio_frames_that_decode_pass(frame: Any) -> None:
    assert engineio_frame_problem(frame) is None


def test_polling_bodies_are_checked_like_websocket_frames() -> None:
    assert polling_body_problem(b'42["session_request",{}]\x1e40') is None
    assert polling_body_problem(b"4\xff") == "the body is not valid UTF-8"
    assert polling_body_problem(b"40\x1e")  # an empty packet after the separator
    assert polling_body_problem(b"9")


@pytest.mark.parametrize(
    "data",
    [{"session_id": 5}, {"session_id": ["t"]}, {"metadata": [1]}, {"customData": 7}],
)
def test_fields_of_the_wrong_type_are_named(data: dict[str, Any]) -> None:
    assert field_problem(data)


@pytest.mark.parametrize("last_seq", [-1, "3", 1.5, True, [1], 2**63])
def test_last_seq_must_be_a_whole_number(last_seq: Any) -> None:
    with pytest.raises(InvalidInput):
        last_seq_of({"last_seq": last_seq})
    assert last_seq_of({"last_seq": 3}) == 3 and last_seq_of({}) is None


# --- the real stack: helpers ----------------------------------------------------------


@pytest.fixture
def rasa_log_without_tracebacks(running_stack: RunningStack) -> Iterator[Path]:
    """The Rasa log; fails the test if a traceback was written while it ran."""
    log = running_stack.logs / "rasa.log"
    start = log.stat().st_size
    yield log
    time.sleep(0.5)  # what the last request logs
    written = log.read_bytes()[start:].decode("utf-8", "replace")
    assert "Traceback" not in written, written


def user_events(running_stack: RunningStack, conversation_id: str) -> list[dict[str, Any]]:
    return [e for e in tracker_events(running_stack, conversation_id) if e["event"] == "user"]


def rest_url(running_stack: RunningStack) -> str:
    return f"{running_stack.config.rasa_url}/webhooks/rest/webhook"


def answered(running_stack: RunningStack, http: requests.Session, sender: str) -> list[Any]:
    """A normal question over REST; the bot's messages (asserted not empty)."""
    reply = http.post(
        rest_url(running_stack), json={"sender": sender, "message": QUESTION}, timeout=WAIT
    )
    assert reply.status_code == 200, reply.text
    assert reply.json() and reply.json()[0]["recipient_id"] == sender
    return reply.json()


# --- REST against the real `rasa run` -------------------------------------------------------


def test_rest_bad_bodies_get_4xx_and_the_next_customers_are_answered(
    running_stack: RunningStack, rasa_log_without_tracebacks: Path
) -> None:
    http = requests.Session()  # one keep-alive connection for every request below
    for name, body, status in BAD_REST_BODIES:
        reply = http.post(
            rest_url(running_stack),
            data=body,
            headers={"Content-Type": "application/json"},
            timeout=WAIT,
        )
        assert reply.status_code == status, (name, reply.text)
        assert reply.json()["error"], name
    # The same connection, and another customer, still get the bot's answers.
    answered(running_stack, http, f"rest-after-bad-{uuid.uuid4().hex}")
    answered(running_stack, requests.Session(), f"rest-other-{uuid.uuid4().hex}")
    log = rasa_log_without_tracebacks.read_text(errors="replace")
    assert "rest: refused a request: message is required: a string" in log  # says why


def test_rest_huge_message_is_refused_at_once_while_others_are_answered(
    running_stack: RunningStack, rasa_log_without_tracebacks: Path
) -> None:
    """1,000,000 characters were 34 s of NLU, another customer waiting 32 s: now a 413."""
    url = rest_url(running_stack)
    started = time.monotonic()
    refused = requests.post(url, json={"sender": "huge", "message": "x" * 1_000_000}, timeout=WAIT)
    assert refused.status_code == 413 and "bytes" in refused.json()["error"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: read only up to the limit
        yield b'{"sender": "huge", "message": "'
        for _ in range(100):
            yield b"x" * 10_000
        yield b'"}'

    chunked = requests.post(url, data=chunks(), timeout=WAIT)
    assert chunked.status_code == 413
    assert time.monotonic() - started < 5
    assert user_events(running_stack, "huge") == []
    answered(running_stack, requests.Session(), f"rest-after-huge-{uuid.uuid4().hex}")


def test_rest_keeps_rasas_format_cleans_surrogates_and_streams(
    running_stack: RunningStack, rasa_log_without_tracebacks: Path
) -> None:
    url = rest_url(running_stack)
    sender = 4_200_000 + uuid.uuid4().int % 1000  # a number, as Rasa's channel allowed
    reply = requests.post(
        url,
        json={"sender": sender, "message": QUESTION + " \ud83d", "metadata": {"page": "\udc00x"}},
        timeout=WAIT,
    )
    assert reply.status_code == 200 and reply.json()[0]["recipient_id"] == str(sender)
    (user,) = user_events(running_stack, str(sender))
    assert user["text"] == QUESTION + " \ufffd"
    assert user["metadata"]["page"] == "\ufffdx"
    assert user["input_channel"] == "rest"

    streamed = requests.post(
        url + "?stream=true",
        json={"sender": f"rest-stream-{uuid.uuid4().hex}", "message": QUESTION},
        timeout=WAIT,
    )
    assert streamed.status_code == 200
    lines = [json.loads(line) for line in streamed.text.splitlines() if line.strip()]
    assert lines and all("text" in line or "buttons" in line for line in lines)
    health = requests.get(f"{running_stack.config.rasa_url}/webhooks/rest/", timeout=10)
    assert health.json() == {"status": "ok"}


# --- the widget's socket.io, raw engine.io frames over a websocket ---------------------------


class RawSocket:
    """A socket.io client made of engine.io frames, to send what no library would.

    Records every event (name, data) in arrival order; answers the server's pings.
    """

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.events: list[tuple[str, Any]] = []
        self.changed = asyncio.Condition()
        self.reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def open(cls, running_stack: RunningStack) -> RawSocket:
        config = running_stack.config
        origin = config.env["WIDGET_ALLOWED_ORIGINS"].split(",")[0].strip()
        url = f"ws://127.0.0.1:{config.rasa_port}/socket.io/?EIO=4&transport=websocket"
        socket = cls(await websockets.connect(url, origin=origin))
        await socket.ws.send("40")  # socket.io CONNECT
        await socket.wait_for("connected")
        return socket

    async def _read(self) -> None:
        try:
            async for frame in self.ws:
                await self._receive(frame)
        except websockets.ConnectionClosed:
            pass  # a test that closes the socket checks how

    async def _receive(self, frame: str) -> None:
        if frame == "2":  # engine.io ping
            await self.ws.send("3")
            return
        if frame.startswith("40"):
            event: tuple[str, Any] = ("connected", None)
        elif frame.startswith("42"):
            name, *args = json.loads(frame[2:])
            event = (name, args[0] if args else None)
        else:
            return
        async with self.changed:
            self.events.append(event)
            self.changed.notify_all()

    def mark(self) -> int:
        return len(self.events)

    async def wait_for(
        self, name: str, where: Callable[[Any], bool] = lambda data: True, after: int = 0
    ) -> Any:
        """The first `name` event at or after index `after` that matches `where`."""

        def found() -> list[Any]:
            return [d for e, d in self.events[after:] if e == name and where(d)]

        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(found), WAIT)
            return found()[0]

    async def emit(self, *args: Any) -> None:
        await self.ws.send("42" + json.dumps(list(args)))

    async def start(self) -> str:
        """A new session, greeted; its token."""
        after = self.mark()
        await self.emit("session_request", {"metadata": {"language": "fi"}})
        confirm = await self.wait_for("session_confirm", after=after)
        await self.idle(after)
        return confirm["session_id"]

    async def idle(self, after: int) -> None:
        await self.wait_for("typing", lambda data: data == {"on": False}, after=after)

    async def ask(self, token: str, text: str = QUESTION, **fields: Any) -> list[Any]:
        """A customer message: its receipt, then the bot's answer (asserted)."""
        after = self.mark()
        message_id = uuid.uuid4().hex
        await self.emit(
            "user_uttered",
            {"message": text, "message_id": message_id, "session_id": token, **fields},
        )
        receipt = await self.wait_for("receipt", after=after)
        assert receipt == {"message_id": message_id, "status": "received"}
        await self.wait_for("bot_uttered", after=after)
        await self.idle(after)
        return [data for event, data in self.events[after:] if event == "bot_uttered"]

    async def close(self) -> None:
        await self.ws.close()
        self.reader.cancel()


@pytest.fixture
async def raw_sockets(running_stack: RunningStack) -> Any:
    """Factory of connected RawSockets; closed at the end."""
    opened: list[RawSocket] = []

    async def open_socket() -> RawSocket:
        opened.append(await RawSocket.open(running_stack))
        return opened[-1]

    yield open_socket
    for socket in opened:
        await socket.close()


def session_of(token: str) -> str:
    return token.partition(".")[0]


# Frames no widget sends: (name, frame, answered with `error bad_request`?). Those
# engine.io itself can't decode are skipped with a warning (engine.io has no error
# packet); the rest reach socket.io, which answers.
BAD_FRAMES: list[tuple[str, Any, bool]] = [
    ("extra arguments", '42["user_uttered",{"message":"hi"},1,2]', True),
    ("truncated packet", '42["user_uttered",{"message":"hi"', True),
    ("nested 50,000 deep", '42["user_uttered",' + DEEP_50000 + "]", True),
    ("event without a name", "42[]", True),
    ("event as an object", '42{"message":"hi"}', True),
    ("event name a number", '42[5,{"message":"hi"}]', True),
    ("unknown event", '42["delete_everything",{}]', True),
    ("nan", '42["user_uttered",{"message":NaN}]', True),
    ("binary event", '451-["user_uttered",{"_placeholder":true,"num":0}]', True),
    ("binary frame", (OP_BINARY, b"\x00\x01\x02"), True),
    ("socket.io message without a packet", "4", True),
    ("session_request with a list", '42["session_request",[1,2]]', True),
    ("empty engine.io frame", "", False),
    ("unknown engine.io packet type", "9hello", False),
    ("engine.io type that is not a digit", "xyz", False),
    ("bad base64", "bQ", False),
]


@pytest.mark.parametrize(
    ("frame", "answered_with_error"),
    [(frame, answered) for _, frame, answered in BAD_FRAMES],
    ids=[name for name, _, _ in BAD_FRAMES],
)
async def test_malformed_socketio_frames_are_answered_and_the_socket_stays(
    running_stack: RunningStack,
    raw_sockets: Any,
    rasa_log_without_tracebacks: Path,
    frame: Any,
    answered_with_error: bool,
) -> None:
    socket = await raw_sockets()
    token = await socket.start()
    after = socket.mark()
    if isinstance(frame, tuple):
        await socket.ws.write_frame(True, *frame)
    else:
        await socket.ws.send(frame)
    if answered_with_error:
        assert await socket.wait_for("error", after=after) == {"code": "bad_request"}
    # The same socket: the next message is received and answered.
    assert await socket.ask(token)
    assert socket.events[after:].count(("error", {"code": "bad_request"})) == answered_with_error


# Fields of the wrong type in otherwise good events: (name, event, payload).
BAD_FIELDS = [
    ("message a number", "user_uttered", {"message": 5}),
    ("message a list", "user_uttered", {"message": ["hi"]}),
    ("message_id an object", "user_uttered", {"message": "hi", "message_id": {"id": 1}}),
    ("message_id a boolean", "user_uttered", {"message": "hi", "message_id": True}),
    ("session_id a number", "user_uttered", {"message": "hi", "session_id": 5}),
    ("metadata a list", "user_uttered", {"message": "hi", "metadata": ["fi"]}),
    ("payload a string", "user_uttered", "hi"),
    ("last_seq a string", "session_request", {"last_seq": "7"}),
    ("last_seq negative", "session_request", {"last_seq": -1}),
    ("session_id a list", "session_request", {"session_id": ["x"]}),
    ("metadata a number", "session_request", {"metadata": 5}),
]


@pytest.mark.parametrize(
    ("event", "payload"),
    [(event, payload) for _, event, payload in BAD_FIELDS],
    ids=[name for name, _, _ in BAD_FIELDS],
)
async def test_fields_of_the_wrong_type_get_bad_request_and_the_socket_stays(
    running_stack: RunningStack,
    raw_sockets: Any,
    rasa_log_without_tracebacks: Path,
    event: str,
    payload: Any,
) -> None:
    socket = await raw_sockets()
    token = await socket.start()
    after = socket.mark()
    await socket.emit(event, payload)
    error = await socket.wait_for("error", after=after)
    assert error["code"] == "bad_request"
    assert await socket.ask(token)
    # Only the good message got a receipt: the refused one was not taken.
    assert len([data for name, data in socket.events[after:] if name == "receipt"]) == 1


async def test_invalid_utf8_closes_only_that_socket_with_1007(
    running_stack: RunningStack, raw_sockets: Any, rasa_log_without_tracebacks: Path
) -> None:
    """RFC 6455 says a text frame that is not UTF-8 fails the connection: 1007, no hang."""
    other = await raw_sockets()
    other_token = await other.start()
    broken = await raw_sockets()
    await broken.start()
    await broken.ws.write_frame(True, OP_TEXT, b'42["user_uttered",{"message":"\xff\xfe"}]')
    await asyncio.wait_for(broken.ws.wait_closed(), 10)
    assert broken.ws.close_code == 1007
    # The widget reconnects (a new socket works) and the other customer never noticed.
    again = await raw_sockets()
    assert await again.ask(await again.start())
    assert await other.ask(other_token)
    assert "not UTF-8: closed with 1007" in rasa_log_without_tracebacks.read_text(errors="replace")


async def test_lone_surrogates_in_message_and_metadata_become_replacement_characters(
    running_stack: RunningStack, raw_sockets: Any, rasa_log_without_tracebacks: Path
) -> None:
    socket = await raw_sockets()
    token = await socket.start()
    # Escaped in JSON, as a client that cut an emoji in half sends it.
    await socket.ask(token, QUESTION + " \ud83d", metadata={"page": "https://x.fi/\udc00"})
    events = user_events(running_stack, session_of(token))
    assert events[-1]["text"] == QUESTION + " \ufffd"
    assert events[-1]["metadata"]["page"] == "https://x.fi/\ufffd"


async def test_too_long_and_empty_messages_keep_their_own_codes(
    running_stack: RunningStack, raw_sockets: Any, rasa_log_without_tracebacks: Path
) -> None:
    socket = await raw_sockets()
    token = await socket.start()
    after = socket.mark()
    await socket.emit("user_uttered", {"message": "x" * 100_000, "message_id": "long"})
    await socket.emit("user_uttered", {"message": " \n", "message_id": "empty"})
    assert await socket.wait_for("error", lambda d: d["message_id"] == "long", after) == {
        "code": "message_too_long",
        "message_id": "long",
    }
    assert await socket.wait_for("error", lambda d: d["message_id"] == "empty", after) == {
        "code": "empty_message",
        "message_id": "empty",
    }
    assert await socket.ask(token)


async def test_a_frame_over_engineios_limit_closes_only_that_socket(
    running_stack: RunningStack, raw_sockets: Any, rasa_log_without_tracebacks: Path
) -> None:
    """engine.io's own limit (max_http_buffer_size, 1,000,000 bytes): the socket closes."""
    other = await raw_sockets()
    other_token = await other.start()
    flooding = await raw_sockets()
    await flooding.start()
    await flooding.emit("user_uttered", {"message": "x" * 1_000_000})
    await asyncio.wait_for(flooding.ws.wait_closed(), 10)
    assert await other.ask(other_token)


def test_polling_body_that_is_not_utf8_gets_400_and_the_socket_stays(
    running_stack: RunningStack, rasa_log_without_tracebacks: Path
) -> None:
    config = running_stack.config
    origin = config.env["WIDGET_ALLOWED_ORIGINS"].split(",")[0].strip()
    url = f"{config.rasa_url}/socket.io/"
    http = requests.Session()
    http.headers["Origin"] = origin
    opened = http.get(url, params={"EIO": "4", "transport": "polling"}, timeout=10)
    sid = json.loads(opened.text[1:])["sid"]
    params = {"EIO": "4", "transport": "polling", "sid": sid}

    def post(body: bytes) -> requests.Response:
        return http.post(url, params=params, data=body, timeout=10)

    assert post(b"40").status_code == 200
    assert post(b'42["user_uttered",{"message":"\xff"}]').status_code == 400
    assert post(b"9nonsense").status_code == 400
    assert post(b'42["session_request",{}]').status_code == 200
    received = ""
    deadline = time.monotonic() + WAIT
    while '"session_confirm"' not in received and time.monotonic() < deadline:
        received += http.get(url, params=params, timeout=WAIT).text
    assert '"session_confirm"' in received
