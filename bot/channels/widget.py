"""The website chat widget's channel: socket.io inside `rasa run`.

Registered in credentials.yml as `bot.channels.widget.WidgetInput`; the protocol
is docs/widget-protocol.md. A superset of Rasa's own socket.io channel
(`session_request`/`session_confirm`, `user_uttered`/`bot_uttered`), so Rasa
widgets work too, plus what a support chat needs:

- signed session tokens (`bot.channels.sessions`): the Rasa conversation id is
  the session id inside the token; a bare or forged id gets a new session;
- a `receipt` for every customer message before NLU runs, client message ids
  making a resend harmless, and `typing` while the bot works;
- a `seq` on every message to the customer, kept per session
  (`bot.channels.history`) and replayed after a reconnect; messages for a
  customer whose socket is gone are kept and delivered when they return;
- `handoff` events, and `POST /webhooks/widget/push` for the helpdesk;
- while a person has the conversation (handoff `waiting` or `agent`), every
  customer message also goes to the ticket (`bot.channels.ticket_messages`,
  retried while the helpdesk is down) and its receipt says `added_to_ticket`;
- an Origin allow-list (Rasa's channel passes `cors_allowed_origins=[]`, which
  switches the check off) and an awaited `enter_room` (Rasa's channel forgets
  the `await`, so with python-socketio 5.x replies reach nobody);
- bad input answered, never a traceback: packets are decoded with the JSON rules
  of `bot.inbound` (depth, no NaN, lone surrogates -> U+FFFD); a packet that
  doesn't decode, an event that isn't `[name, ...]`, binary attachments, unknown
  events and fields of the wrong type get `error bad_request` and the socket
  stays; a websocket text frame that is not UTF-8 closes that socket with 1007
  (RFC 6455 allows nothing else), and the widget reconnects.

Everything per session lives in this process; see `bot.channels.history` for what
several Rasa replicas would need.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import engineio
from engineio import packet as engineio_packet
from engineio import payload as engineio_payload
from engineio.async_drivers.sanic import WebSocket as SanicEngineSocket
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sanic.server.websockets.frame import WebsocketFrameAssembler
from socketio import AsyncServer
from socketio import packet as socketio_packet
from websockets.frames import Frame

from bot.channels.history import RecentMessageIds, SessionMemory
from bot.channels.sessions import SessionSigner
from bot.channels.ticket_messages import TicketForwarder
from bot.inbound import MAX_INTEGER, MAX_MESSAGE_LENGTH, InvalidInput, loads_json

try:
    from sanic_cors.core import SANIC_CORS_EVALUATED
except ImportError:  # pragma: no cover - sanic-cors comes with Rasa
    SANIC_CORS_EVALUATED = "_sanic_cors_e"

logger = logging.getLogger(__name__)

MAX_MESSAGE_ID_LENGTH = 128
MAX_CONVERSATION_ID_LENGTH = 255
MAX_PUSH_BYTES = 64 * 1024
# Page data kept per session and passed to Rasa with every message.
MAX_METADATA_KEYS = 20
MAX_METADATA_VALUE_LENGTH = 2000
HANDOFF_STATES = ("bot", "waiting", "agent", "resolved")
# While a person has the conversation, what the customer writes goes to the ticket.
TICKET_STATES = ("waiting", "agent")
PUSH_EVENTS = ("bot_uttered", "handoff")
# Sent on a new session so the bot greets in the page's language before the
# customer types. Not `/session_start`: Rasa's built-in rule for that intent
# starts a second session, and the first real message would be greeted again.
SESSION_START_MESSAGE = "/greet"


def parse_origins(value: str | Iterable[str] | None) -> list[str] | str:
    """`"http://a, http://b"` or a list -> the list; `"*"` (any origin) stays `"*"`.

    Empty is refused: python-socketio treats `[]` as "don't check origins at all".
    """
    if isinstance(value, str):
        items = value.split(",")
    else:
        items = list(value or [])
    origins = [str(item).strip().rstrip("/") for item in items if str(item).strip()]
    if not origins:
        raise ValueError(
            "the widget channel needs allowed_origins (WIDGET_ALLOWED_ORIGINS): the web "
            "pages allowed to open the chat, e.g. https://www.example.fi"
        )
    return "*" if "*" in origins else origins


def page_metadata(data: dict[str, Any]) -> dict[str, Any]:
    """Page data from a client payload: `metadata`, or rasa-webchat's `customData`.

    Flattened into one small dict of scalars (`{"language": "en", "page": ...}`);
    the actions read `metadata.language` at session start.
    """
    merged: dict[str, Any] = {}
    for key in ("customData", "metadata"):
        value = data.get(key)
        if isinstance(value, str):
            try:
                value = loads_json(value)
            except InvalidInput:
                continue
        if not isinstance(value, dict):
            continue
        for name, item in value.items():
            if len(merged) >= MAX_METADATA_KEYS:
                break
            if not isinstance(name, str) or len(name) > 64:
                continue
            if isinstance(item, str):
                merged[name] = item[:MAX_METADATA_VALUE_LENGTH]
            elif item is None or isinstance(item, (bool, int, float)):
                merged[name] = item
    return merged


def default_helpdesk_url(environ: dict[str, str] | None = None) -> str:
    """HELPDESK_URL, or the bot service on BOT_PORT of this machine (as bot/stack.py)."""
    env = os.environ if environ is None else environ
    url = (env.get("HELPDESK_URL") or "").strip()
    return url or f"http://127.0.0.1:{env.get('BOT_PORT') or '8000'}"


def text_parts(text: str) -> list[str]:
    """Like Rasa's socket.io channel: one bubble per paragraph."""
    return [part for part in text.strip().split("\n\n") if part.strip()] or [text]


def field_problem(data: dict[str, Any]) -> str | None:
    """What is wrong with the fields every client event may carry, or None.

    A token that doesn't verify only starts a new session (the protocol says so);
    a token or page data of the wrong type is a broken client: `bad_request`.
    """
    session_id = data.get("session_id")
    if session_id is not None and not isinstance(session_id, str):
        return "session_id must be a string"
    for key in ("metadata", "customData"):
        value = data.get(key)
        if value is not None and not isinstance(value, (dict, str)):
            return f"{key} must be an object"
    return None


def last_seq_of(data: dict[str, Any]) -> int | None:
    """`last_seq` of a session_request: None, or InvalidInput if not a whole number >= 0."""
    last_seq = data.get("last_seq")
    if last_seq is None:
        return None
    if isinstance(last_seq, bool) or not isinstance(last_seq, int):
        raise InvalidInput("last_seq must be a whole number")
    if not 0 <= last_seq <= MAX_INTEGER:
        raise InvalidInput(f"last_seq must be from 0 to {MAX_INTEGER}")
    return last_seq


# --- packets: bad input answered without a traceback ------------------------------------
#
# python-socketio and python-engineio decode what arrives and log an exception
# (a traceback in the Rasa log) for anything they can't: a truncated or
# 50,000-deep packet, an event without a name, `4` alone, a binary frame, an
# engine.io packet type that doesn't exist. The classes below decode with the
# rules of `bot.inbound` and turn each of those into a warning line and, where
# socket.io can answer, an `error bad_request`; the socket stays connected.


class InvalidPacket(ValueError):
    """A packet a widget may not send; `str(error)` says why (for the log)."""


class InboundJson:
    """The JSON of engine.io and socket.io packets (python-socketio's `json=` option).

    `loads` is `bot.inbound.loads_json`: a depth limit instead of a RecursionError,
    no NaN/Infinity, lone surrogates -> U+FFFD before any handler sees the text.
    Its InvalidInput is a ValueError, which engine.io already treats as "not JSON".
    """

    @staticmethod
    def loads(text: str | bytes, **_: Any) -> Any:
        return loads_json(text)

    @staticmethod
    def dumps(value: Any, **options: Any) -> str:
        return json.dumps(value, **options)


# What a widget sends: no binary attachments (nothing in the protocol is binary,
# and a BINARY_EVENT would take the next packets as its attachments), and never
# CONNECT_ERROR (a server's packet).
CLIENT_PACKET_TYPES = (
    socketio_packet.CONNECT,
    socketio_packet.DISCONNECT,
    socketio_packet.EVENT,
    socketio_packet.ACK,
)


class CheckedPacket(socketio_packet.Packet):
    """A socket.io packet whose decoding fails only with InvalidPacket."""

    json = InboundJson

    def __init__(self, *args: Any, encoded_packet: Any = None, **kwargs: Any) -> None:
        # The library skips decoding an empty packet and dispatches an empty EVENT.
        if encoded_packet is not None and not encoded_packet:
            raise InvalidPacket("an empty socket.io packet")
        super().__init__(*args, encoded_packet=encoded_packet, **kwargs)

    def decode(self, encoded_packet: Any) -> int:
        if not isinstance(encoded_packet, str):
            raise InvalidPacket("binary data is not part of the widget protocol")
        try:
            attachments = super().decode(encoded_packet)
        except (ValueError, TypeError, IndexError) as error:
            raise InvalidPacket(f"undecodable socket.io packet ({error})") from None
        if self.packet_type not in CLIENT_PACKET_TYPES:
            raise InvalidPacket(f"socket.io packet type {self.packet_type} is not accepted")
        if self.packet_type == socketio_packet.EVENT and not (
            isinstance(self.data, list) and self.data and isinstance(self.data[0], str)
        ):
            raise InvalidPacket("an event must be a list that starts with its name")
        return attachments or 0


def engineio_frame_problem(frame: str | bytes) -> str | None:
    """Why engine.io would fail on this packet (with a traceback), or None.

    Decoded with engine.io's own parser: an empty frame, a first character that
    isn't a packet type or bad base64 raise, and types above 6 fail later.
    """
    if isinstance(frame, (bytes, bytearray)):
        return None  # a binary message: CheckedPacket answers it
    try:
        decoded = engineio_packet.Packet(encoded_packet=frame)
    except (ValueError, TypeError, IndexError) as error:  # binascii.Error is a ValueError
        return f"undecodable engine.io packet ({error})"
    if not 0 <= decoded.packet_type < len(engineio_packet.packet_names):
        return f"unknown engine.io packet type {decoded.packet_type}"
    return None


def polling_body_problem(body: bytes) -> str | None:
    """Why engine.io would fail on this long-polling POST body, or None."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "the body is not valid UTF-8"
    try:
        packets = engineio_payload.Payload(encoded_payload=text).packets
    except (ValueError, TypeError, IndexError, KeyError) as error:
        return f"undecodable engine.io payload ({error})"
    for decoded in packets:
        if not 0 <= decoded.packet_type < len(engineio_packet.packet_names):
            return f"unknown engine.io packet type {decoded.packet_type}"
    return None


class Utf8CheckingAssembler(WebsocketFrameAssembler):
    """Sanic's frame assembler, failing a text frame that is not UTF-8 as RFC 6455 says.

    Sanic's raises UnicodeDecodeError in a task nobody awaits: a traceback, and a
    socket that hangs until the ping timeout. Here: a warning and close code 1007.
    """

    async def put(self, frame: Frame) -> None:
        try:
            await super().put(frame)
        except UnicodeDecodeError:
            logger.warning("widget: a websocket text frame was not UTF-8: closed with 1007")
            self.protocol.fail_connection(1007, "text frames must be UTF-8")


class CheckedWebSocket(SanicEngineSocket):
    """engine.io's Sanic websocket, skipping packets engine.io can't decode (with a warning)."""

    async def __call__(self, environ: dict[str, Any]) -> Any:
        # engineio.async_drivers.sanic.WebSocket.__call__, plus the checking assembler.
        request = environ["sanic.request"]
        protocol = request.transport.get_protocol()
        self._sock = await protocol.websocket_handshake(request)
        self._sock.assembler = Utf8CheckingAssembler(self._sock)
        self.environ = environ
        await self.handler(self)
        return self.server._ok()

    async def wait(self) -> str | bytes:
        while True:
            frame = await super().wait()
            problem = engineio_frame_problem(frame)
            if problem is None:
                return frame
            logger.warning("widget: ignored a websocket frame: %s", problem)


class WidgetEngineServer(engineio.AsyncServer):
    """engine.io's server with CheckedWebSocket for the websocket transport."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._async = {**self._async, "websocket": CheckedWebSocket}


class WidgetSocketServer(AsyncServer):
    """python-socketio's server that answers an undecodable packet with `error bad_request`.

    Note: `json=` also sets engine.io's packet JSON for the whole process (the
    library keeps it in a class attribute); this process has no other socket.io.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(serializer=CheckedPacket, json=InboundJson, **options)

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return WidgetEngineServer

    async def _handle_eio_message(self, eio_sid: str, data: str | bytes) -> None:
        try:
            await super()._handle_eio_message(eio_sid, data)
        except InvalidPacket as error:
            logger.warning("widget: ignored a socket.io packet: %s", error)
            sid = self.manager.sid_from_eio_sid(eio_sid, "/")
            if sid is not None and self.manager.is_connected(sid, "/"):
                await self.emit("error", {"code": "bad_request"}, to=sid)


class SocketBlueprint(Blueprint):
    """A blueprint that also mounts the socket.io server on the app.

    Like Rasa's `sio.attach(app, path)`, with one difference: engine.io answers
    CORS itself, for the widget's allow-list, so the request is marked as done for
    sanic-cors (`rasa run --cors`), which would otherwise add a second
    `Access-Control-Allow-Origin` header (browsers refuse a response with two).
    Preflight OPTIONS requests are still answered by sanic-cors; socket.io's
    polling requests are simple requests and need none.
    """

    def __init__(self, sio: AsyncServer, socketio_path: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ctx.sio = sio
        self.ctx.socketio_path = socketio_path

    def register(self, app: Sanic, options: dict[str, Any]) -> None:
        sio: AsyncServer = self.ctx.sio

        async def socketio_requests(request: Request) -> HTTPResponse:
            setattr(request.ctx, SANIC_CORS_EVALUATED, "1")
            # The long-polling transport's packets, checked like the websocket's.
            problem = polling_body_problem(request.body) if request.body else None
            if problem is not None:
                logger.warning("widget: refused a polling request: %s", problem)
                return response.text(f"Bad Request: {problem}", status=400)
            return await sio.handle_request(request)

        app.add_route(
            socketio_requests,
            f"/{self.ctx.socketio_path.strip('/')}/",
            methods=["GET", "POST", "OPTIONS"],
            name="widget_socketio",
        )
        app.enable_websocket()
        super().register(app, options)


class WidgetOutput(OutputChannel):
    """Pushes the bot's messages to every open widget of the session, numbered and kept."""

    @classmethod
    def name(cls) -> str:
        return WidgetInput.name()

    def __init__(self, channel: WidgetInput) -> None:
        self.channel = channel

    async def _bot_uttered(self, recipient_id: str, message: dict[str, Any]) -> None:
        await self.channel.deliver(recipient_id, "bot_uttered", message)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        for part in text_parts(text):
            await self._bot_uttered(recipient_id, {"text": part})

    async def send_text_with_buttons(
        self,
        recipient_id: str,
        text: str,
        buttons: list[dict[str, Any]],
        **kwargs: Any,
    ) -> None:
        parts = text_parts(text or "")
        for part in parts[:-1]:
            await self._bot_uttered(recipient_id, {"text": part})
        # Rasa's socket.io format (quick_replies) for Rasa widgets, and plain buttons.
        clean = [
            {"title": str(button.get("title", "")), "payload": str(button.get("payload", ""))}
            for button in buttons
        ]
        await self._bot_uttered(
            recipient_id,
            {
                "text": parts[-1],
                "quick_replies": [{"content_type": "text", **button} for button in clean],
                "buttons": clean,
            },
        )

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._bot_uttered(
            recipient_id, {"attachment": {"type": "image", "payload": {"src": image}}}
        )

    async def send_attachment(  # type: ignore[override]
        self, recipient_id: str, attachment: Any, **kwargs: Any
    ) -> None:
        await self._bot_uttered(recipient_id, {"attachment": attachment})

    async def send_elements(
        self, recipient_id: str, elements: Iterable[dict[str, Any]], **kwargs: Any
    ) -> None:
        for element in elements:
            await self._bot_uttered(
                recipient_id,
                {
                    "attachment": {
                        "type": "template",
                        "payload": {"template_type": "generic", "elements": element},
                    }
                },
            )

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        """`{"handoff": {"state": ...}}` becomes a `handoff` event; anything else is
        a `bot_uttered` with `custom`."""
        handoff = json_message.get("handoff") if isinstance(json_message, dict) else None
        if isinstance(handoff, dict) and handoff.get("state") in HANDOFF_STATES:
            await self.channel.deliver(recipient_id, "handoff", handoff)
            return
        if handoff is not None:
            logger.warning("handoff custom message without a valid state: sent as custom")
        await self._bot_uttered(recipient_id, {"custom": json_message})


class WidgetInput(InputChannel):
    """The widget's socket.io channel (see the module docstring)."""

    @classmethod
    def name(cls) -> str:
        return "widget"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        # Rasa builds its channels once at start: the moment to make its check of
        # action answers cheap (bot/rasa_speedups.py explains why).
        from bot import rasa_speedups

        rasa_speedups.install()
        credentials = credentials or {}
        return cls(
            session_secret=str(credentials.get("session_secret") or ""),
            allowed_origins=credentials.get("allowed_origins"),
            push_token=str(credentials.get("push_token") or ""),
            socketio_path=credentials.get("socketio_path") or "/socket.io",
            greet_new_sessions=_as_bool(credentials.get("greet_new_sessions", True)),
            helpdesk_url=str(credentials.get("helpdesk_url") or "") or None,
            helpdesk_token=str(credentials.get("helpdesk_token") or "") or None,
        )

    def __init__(
        self,
        session_secret: str,
        allowed_origins: str | Iterable[str] | None,
        push_token: str = "",
        socketio_path: str = "/socket.io",
        greet_new_sessions: bool = True,
        helpdesk_url: str | None = None,
        helpdesk_token: str | None = None,
        forwarder: TicketForwarder | None = None,
    ) -> None:
        self.signer = SessionSigner(session_secret)
        self.allowed_origins = parse_origins(allowed_origins)
        self.push_token = push_token.strip()
        if not self.push_token:
            logger.warning("widget channel: no push_token, so POST /webhooks/widget/push is off")
        self.socketio_path = socketio_path
        self.greet_new_sessions = greet_new_sessions
        self.sessions = SessionMemory()
        self.message_ids = RecentMessageIds()
        # Customer messages to the ticket while handed off; the helpdesk API takes
        # the same token as the push endpoint unless helpdesk_token says otherwise.
        token = (helpdesk_token or self.push_token).strip()
        if forwarder is None and token:
            forwarder = TicketForwarder(helpdesk_url or default_helpdesk_url(), token)
        elif forwarder is None:
            logger.warning("widget channel: no helpdesk token, so messages don't reach tickets")
        self.forwarder = forwarder
        self.sio: AsyncServer | None = None
        self._on_new_message: Callable[[UserMessage], Awaitable[Any]] | None = None
        # Strong references to the running message tasks (asyncio keeps weak ones).
        self._tasks: set[asyncio.Task] = set()

    # --- to the customer ------------------------------------------------------------

    def get_output_channel(self) -> OutputChannel | None:
        """For Rasa's HTTP API (`/conversations/<id>/execute?output_channel=latest`)."""
        if self.sio is None:
            logger.warning("widget output channel asked for before the channel was mounted")
            return None
        return WidgetOutput(self)

    async def deliver(self, session_id: str, event: str, data: dict[str, Any]) -> dict[str, Any]:
        """Number a message, keep it for replay and emit it to the session's sockets.

        With no socket in the room it is only kept, and replayed when they return.
        """
        state = self.sessions.get(session_id)
        async with state.lock:
            payload = state.record(event, data)
            if self.sio is not None:
                await self.sio.emit(event, payload, room=session_id)
        return payload

    def is_connected(self, session_id: str) -> bool:
        if self.sio is None:
            return False
        return any(True for _ in self.sio.manager.get_participants("/", session_id))

    async def _emit_to(self, sid: str, event: str, data: dict[str, Any]) -> None:
        assert self.sio is not None
        await self.sio.emit(event, data, to=sid)

    async def _error(self, sid: str, code: str, message_id: str | None = None) -> None:
        payload: dict[str, Any] = {"code": code}
        if message_id is not None:
            payload["message_id"] = message_id
        await self._emit_to(sid, "error", payload)

    async def _bad_request(self, sid: str, reason: str, message_id: str | None = None) -> None:
        """`error bad_request` for a payload a widget should never send (logged: why)."""
        logger.warning("widget socket %s: bad_request: %s", sid, reason)
        await self._error(sid, "bad_request", message_id)

    # --- sockets --------------------------------------------------------------------

    async def _socket_session(self, sid: str) -> str | None:
        assert self.sio is not None
        try:
            saved = await self.sio.get_session(sid)
        except KeyError:
            return None
        return saved.get("session_id")

    async def _join(self, sid: str, session_id: str) -> None:
        """Put the socket in its session's room (and out of a previous one)."""
        assert self.sio is not None
        previous = await self._socket_session(sid)
        if previous == session_id:
            return
        if previous:
            await self.sio.leave_room(sid, previous)
        # A coroutine in python-socketio 5.x: without the await nobody joins the
        # room and bot replies reach nobody (the bug in Rasa's own channel).
        await self.sio.enter_room(sid, session_id)
        await self.sio.save_session(sid, {"session_id": session_id})

    async def _session_request(self, sid: str, data: Any) -> None:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            await self._bad_request(sid, "session_request payload is not an object")
            return
        problem = field_problem(data)
        if problem is not None:
            await self._bad_request(sid, problem)
            return
        try:
            last_seq = last_seq_of(data)
        except InvalidInput as error:
            await self._bad_request(sid, str(error))
            return
        session_id = self.signer.verify(data.get("session_id"))
        resumed = session_id is not None
        if session_id is None:
            session_id, token = self.signer.new_session()
        else:
            token = data["session_id"]

        state = self.sessions.get(session_id)
        state.metadata.update(page_metadata(data))
        async with state.lock:
            if resumed and last_seq is not None:
                state.continue_after(last_seq)
            await self._join(sid, session_id)
            await self._emit_to(
                sid,
                "session_confirm",
                {"session_id": token, "resumed": resumed, "handoff": dict(state.handoff)},
            )
            if resumed and last_seq is not None:
                for event, payload in state.since(last_seq):
                    await self._emit_to(sid, event, payload)
        logger.debug("widget socket %s: session %s (resumed: %s)", sid, session_id, resumed)

        if not resumed and self.greet_new_sessions:
            # Start the conversation now, so the greeting comes in the page's language.
            self._spawn(session_id, SESSION_START_MESSAGE, None)

    async def _user_uttered(self, sid: str, data: Any) -> None:
        if not isinstance(data, dict):
            await self._bad_request(sid, "user_uttered payload is not an object")
            return
        message_id = data.get("message_id")
        if message_id is None:
            message_id = uuid.uuid4().hex
        elif (
            isinstance(message_id, bool)
            or not isinstance(message_id, (str, int))
            or not str(message_id).strip()
            or len(str(message_id)) > MAX_MESSAGE_ID_LENGTH
        ):
            await self._bad_request(sid, "message_id must be a short string")
            return
        message_id = str(message_id)
        problem = field_problem(data)
        if problem is not None:
            await self._bad_request(sid, problem, message_id)
            return
        text = data.get("message")
        if not isinstance(text, str):
            await self._bad_request(sid, "message must be a string", message_id)
            return
        if not text.strip():
            await self._error(sid, "empty_message", message_id)
            return
        if len(text) > MAX_MESSAGE_LENGTH:
            await self._error(sid, "message_too_long", message_id)
            return

        session_id = self.signer.verify(data.get("session_id")) or await self._socket_session(sid)
        if session_id is None:
            await self._error(sid, "bad_session", message_id)
            return
        await self._join(sid, session_id)
        state = self.sessions.get(session_id)
        state.metadata.update(page_metadata(data))

        # Several Rasa replicas would need this memory shared (Redis SET NX EX).
        if not self.message_ids.first_time(session_id, message_id):
            await self._emit_to(sid, "receipt", {"message_id": message_id, "status": "duplicate"})
            return
        # While a person has the conversation the message also goes to the ticket
        # (in the background, kept and retried while the helpdesk is down).
        to_ticket = self.forwarder is not None and state.handoff.get("state") in TICKET_STATES
        receipt: dict[str, Any] = {"message_id": message_id, "status": "received"}
        if to_ticket:
            receipt["status"] = "added_to_ticket"
            if state.ticket_number:
                receipt["ticket_number"] = state.ticket_number
        # The receipt goes out before NLU runs; the bot works in the background.
        await self._emit_to(sid, "receipt", receipt)
        if to_ticket:
            assert self.forwarder is not None
            self.forwarder.submit(session_id, text, message_id, state.ticket_number)
        # Rasa gets it either way; paused for the handoff, it only logs it (and
        # nobody is typing: the bot won't answer).
        self._spawn(session_id, text, message_id, show_typing=not to_ticket)

    def _spawn(
        self, session_id: str, text: str, message_id: str | None, show_typing: bool = True
    ) -> None:
        task = asyncio.get_running_loop().create_task(
            self._handle(session_id, text, message_id, show_typing)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(
        self, session_id: str, text: str, message_id: str | None, show_typing: bool = True
    ) -> None:
        assert self.sio is not None and self._on_new_message is not None
        state = self.sessions.get(session_id)
        state.working += 1
        try:
            if show_typing and not state.typing:
                state.typing = True
                await self.sio.emit("typing", {"on": True}, room=session_id)
            await self._on_new_message(
                UserMessage(
                    text,
                    WidgetOutput(self),
                    session_id,
                    input_channel=self.name(),
                    message_id=message_id,
                    metadata=dict(state.metadata),
                )
            )
        except Exception:
            logger.exception("widget: handling a message of session %s failed", session_id)
        finally:
            state.working -= 1
            if state.working == 0 and state.typing:
                state.typing = False
                await self.sio.emit("typing", {"on": False}, room=session_id)

    # --- HTTP -----------------------------------------------------------------------

    def _authorized(self, request: Request) -> bool:
        if not self.push_token:
            return False
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        return hmac.compare_digest(token.strip().encode(), self.push_token.encode())

    async def _push(self, request: Request) -> HTTPResponse:
        if not self._authorized(request):
            return response.json({"error": "unauthorized"}, status=401)
        if len(request.body or b"") > MAX_PUSH_BYTES:
            return response.json({"error": "body too large"}, status=413)
        try:
            body = loads_json(request.body or b"")
        except InvalidInput as error:
            return response.json({"error": f"body must be JSON: {error}"}, status=400)
        if not isinstance(body, dict):
            return response.json({"error": "body must be a JSON object"}, status=400)
        conversation_id = body.get("conversation_id")
        event = body.get("event")
        data = body.get("data")
        if (
            not isinstance(conversation_id, str)
            or not conversation_id.strip()
            or len(conversation_id) > MAX_CONVERSATION_ID_LENGTH
        ):
            return response.json({"error": "conversation_id is required"}, status=400)
        if event not in PUSH_EVENTS:
            return response.json({"error": f"event must be one of {PUSH_EVENTS}"}, status=400)
        if not isinstance(data, dict):
            return response.json({"error": "data must be an object"}, status=400)
        if event == "handoff" and data.get("state") not in HANDOFF_STATES:
            return response.json({"error": f"handoff state must be one of {HANDOFF_STATES}"}, 400)
        data = {key: value for key, value in data.items() if key != "seq"}
        payload = await self.deliver(conversation_id, event, data)
        return response.json(
            {"seq": payload["seq"], "delivered": self.is_connected(conversation_id)}
        )

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        sio = WidgetSocketServer(
            async_mode="sanic",
            # The allow-list: engine.io refuses a request whose Origin is not in it.
            # (Never [] : that switches the check off, as in Rasa's own channel.)
            cors_allowed_origins=self.allowed_origins,
            # One client's events are handled in the order sent (a session_request
            # right before a user_uttered must join the session first). The handlers
            # only validate and emit; Rasa's work runs in background tasks.
            async_handlers=False,
        )
        self.sio = sio
        self._on_new_message = on_new_message
        widget = SocketBlueprint(sio, self.socketio_path, "widget_webhook", __name__)

        @widget.route("/health", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            waiting = len(self.forwarder.pending()) if self.forwarder is not None else 0
            return response.json(
                {
                    "status": "ok",
                    "socketio_path": self.socketio_path,
                    # Customer messages not yet in their tickets (helpdesk down?).
                    "ticket_messages_waiting": waiting,
                }
            )

        @widget.listener("before_server_stop")
        async def close_sockets(*_: Any) -> None:
            # Widgets see a disconnect (and reconnect, resuming, to the next server).
            if sio.eio.sockets:  # engineio fails on an empty set of sockets
                await sio.eio.disconnect()
            await sio.shutdown()
            if self.forwarder is not None:
                # A moment for messages on their way; what is left is logged.
                await self.forwarder.wait_until_sent(timeout=2.0)
                await self.forwarder.close()

        @widget.route("/push", methods=["POST"])
        async def push(request: Request) -> HTTPResponse:
            return await self._push(request)

        @sio.on("connect")
        async def connect(sid: str, environ: dict, auth: Any = None) -> bool:
            logger.debug("widget socket %s connected", sid)
            return True

        # One payload per event; more arguments are a broken client (not a TypeError).
        @sio.on("session_request")
        async def session_request(sid: str, data: Any = None, *extra: Any) -> None:
            if extra:
                await self._bad_request(sid, "session_request takes one payload")
                return
            await self._session_request(sid, data)

        @sio.on("user_uttered")
        async def user_uttered(sid: str, data: Any = None, *extra: Any) -> None:
            if extra:
                await self._bad_request(sid, "user_uttered takes one payload")
                return
            await self._user_uttered(sid, data)

        @sio.on("*")
        async def unknown_event(event: str, sid: str, *_: Any) -> None:
            await self._bad_request(sid, f"unknown event {event[:64]!r}")

        return widget


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in ("0", "false", "no", "off", "")
