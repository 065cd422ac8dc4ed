"""socket.io and engine.io packets from widgets, decoded without a traceback.

python-socketio and python-engineio decode what arrives and log an exception
(a traceback in the Rasa log) for anything they can't: a truncated or
50,000-deep packet, an event without a name, `4` alone, a binary frame, an
engine.io packet type that doesn't exist. The classes here decode with the rules
of `bot.inbound` and turn each of those into a warning line and, where socket.io
can answer, an `error bad_request`; the socket stays connected. A websocket text
frame that is not UTF-8 closes that socket with 1007 (RFC 6455 allows nothing else).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import engineio
from engineio import packet as engineio_packet
from engineio import payload as engineio_payload
from engineio.async_drivers.sanic import WebSocket as SanicEngineSocket
from sanic.server.websockets.frame import WebsocketFrameAssembler
from socketio import AsyncServer
from socketio import packet as socketio_packet
from websockets.frames import Frame

from bot.inbound import loads_json

logger = logging.getLogger(__name__)


# Packets one long-polling POST may carry (engine.io's default is 16).
MAX_PACKETS_PER_POLL = 256


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
    """engine.io's server with CheckedWebSocket for the websocket transport.

    Over long polling a client sends what it has buffered in one POST: a customer
    writing fast (or a widget resending after a reconnect) can have more than
    engine.io's 16 packets, which it refuses with 400 and the socket drops. The
    body stays limited in bytes (`max_http_buffer_size`).
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._async = {**self._async, "websocket": CheckedWebSocket}
        engineio_payload.Payload.max_decode_packets = MAX_PACKETS_PER_POLL


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
