"""A minimal asyncio Socket.IO v5 / Engine.IO v4 client over websocket, for benchmarks.

Why not python-socketio's `AsyncClient`: its websocket transport needs aiohttp >= 3.11
(`aiohttp.ClientWSTimeout`), while Rasa 3.6.21 pins aiohttp 3.9.5, and the sync
`Client` would need `websocket-client`, which is not installed. Polling works, but
browsers use websocket, and a load test over polling would measure a different
transport. The `websockets` package (10.x, Sanic's own dependency) is already in the
venv, and the little of the protocol a widget needs fits in this file, so the
benchmark runs in the same venv as the stack with no new dependency.

What it speaks (https://socket.io/docs/v4/engine-io-protocol/ and socket-io-protocol):
- Engine.IO: `0{json}` open (sid, pingInterval, pingTimeout), `2`/`3` ping/pong
  (the server pings, the client answers), `1` close, `4<payload>` message;
- Socket.IO on the default namespace: `40` connect (answered by `40{"sid":..}`
  or `44{...}` refused), `42[event, data]` events, `41` disconnect.
No acks, no binary events, no other namespaces, no reconnects: the widget channel
uses none of them, and a benchmark should see a dropped connection as an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import websockets
from websockets.legacy.client import WebSocketClientProtocol

SOCKETIO_PATH = "/socket.io/"


class SocketIOError(ConnectionError):
    """The connection could not be opened, was refused, or is gone."""


@dataclass(frozen=True)
class Event:
    """A Socket.IO event from the server; `at` is its arrival time (time.perf_counter)."""

    name: str
    data: Any
    at: float


def websocket_url(base_url: str, path: str = SOCKETIO_PATH) -> str:
    """`http://host:port` -> `ws://host:port/socket.io/?EIO=4&transport=websocket`."""
    parts = urlsplit(base_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, path, "EIO=4&transport=websocket", ""))


def encode_event(event: str, data: Any = None) -> str:
    """A Socket.IO EVENT packet on the default namespace: `42["event", data]`."""
    args = [event] if data is None else [event, data]
    return "42" + json.dumps(args, separators=(",", ":"))


def decode_event(frame: str) -> tuple[str, Any] | None:
    """`42["name", data]` (optionally with an ack id after 42) -> (name, data)."""
    if not frame.startswith("42"):
        return None
    body = frame[2:].lstrip("0123456789")  # an ack id, if the server asked for one
    args = json.loads(body)
    if not isinstance(args, list) or not args or not isinstance(args[0], str):
        return None
    return args[0], (args[1] if len(args) > 1 else None)


class SocketIOClient:
    """One Socket.IO connection over websocket; events arrive in `events` (a queue).

    A background reader answers the server's pings at once (even while the caller
    is busy or thinking) and timestamps every event on arrival, so latencies don't
    include the time the event sat in the queue.
    """

    def __init__(self, base_url: str, origin: str, *, open_timeout: float = 10.0) -> None:
        self.url = websocket_url(base_url)
        self.origin = origin
        self.open_timeout = open_timeout
        self.events: asyncio.Queue[Event | None] = asyncio.Queue()
        self.engineio_sid: str | None = None
        self.ping_interval_s: float | None = None
        self._ws: WebSocketClientProtocol | None = None
        self._reader: asyncio.Task[None] | None = None
        self._closed = False

    async def __aenter__(self) -> SocketIOClient:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def connect(self) -> None:
        """Open the websocket, read the open packet, join the default namespace."""
        try:
            self._ws = await websockets.connect(
                self.url,
                origin=self.origin,  # type: ignore[arg-type]
                open_timeout=self.open_timeout,
                ping_interval=None,  # Engine.IO has its own heartbeat
                compression=None,
                close_timeout=2,
            )
        except (OSError, asyncio.TimeoutError, websockets.exceptions.WebSocketException) as error:
            raise SocketIOError(f"cannot open {self.url}: {error!r}") from error
        try:
            await asyncio.wait_for(self._handshake(self._ws), self.open_timeout)
        except (asyncio.TimeoutError, websockets.exceptions.ConnectionClosed) as error:
            await self._ws.close()
            raise SocketIOError(f"no Socket.IO handshake from {self.url}: {error!r}") from error
        except SocketIOError:
            await self._ws.close()
            raise
        self._reader = asyncio.get_running_loop().create_task(self._read(self._ws))

    async def _handshake(self, ws: WebSocketClientProtocol) -> None:
        frame = await ws.recv()
        if not isinstance(frame, str) or not frame.startswith("0"):
            raise SocketIOError(f"expected the Engine.IO open packet, got {frame!r}")
        opened = json.loads(frame[1:])
        self.engineio_sid = opened.get("sid")
        self.ping_interval_s = opened.get("pingInterval", 25000) / 1000
        await ws.send("40")
        while True:
            frame = await ws.recv()
            if frame == "2":
                await ws.send("3")
            elif isinstance(frame, str) and frame.startswith("40"):
                return
            elif isinstance(frame, str) and frame.startswith("44"):
                raise SocketIOError(f"namespace connect refused: {frame[2:]}")

    async def _read(self, ws: WebSocketClientProtocol) -> None:
        try:
            async for frame in ws:
                if not isinstance(frame, str):
                    continue  # binary attachments: not used by the widget channel
                if frame == "2":
                    await ws.send("3")
                elif frame.startswith("42"):
                    decoded = decode_event(frame)
                    if decoded is not None:
                        self.events.put_nowait(Event(decoded[0], decoded[1], time.perf_counter()))
                elif frame.startswith("41") or frame == "1":
                    break
        except websockets.exceptions.ConnectionClosed:
            pass
        finally:
            self._closed = True
            self.events.put_nowait(None)  # wakes a waiting `next_event`

    @property
    def connected(self) -> bool:
        return self._ws is not None and not self._closed

    async def emit(self, event: str, data: Any = None) -> None:
        """Send an event; fails with SocketIOError if the connection is gone."""
        if self._ws is None or self._closed:
            raise SocketIOError("not connected")
        try:
            await self._ws.send(encode_event(event, data))
        except websockets.exceptions.ConnectionClosed as error:
            raise SocketIOError(f"connection closed: {error!r}") from error

    async def next_event(self, timeout: float) -> Event:
        """The next event from the server; TimeoutError or SocketIOError (closed)."""
        event = await asyncio.wait_for(self.events.get(), timeout)
        if event is None:
            self.events.put_nowait(None)  # later calls see the close too
            raise SocketIOError("connection closed by the server")
        return event

    async def wait_for(self, name: str, timeout: float) -> Event:
        """Skip events until one called `name` arrives (others are dropped)."""
        deadline = time.perf_counter() + timeout
        while True:
            event = await self.next_event(max(0.0, deadline - time.perf_counter()))
            if event.name == name:
                return event

    async def close(self) -> None:
        """Leave the namespace and close the websocket (safe to call twice)."""
        ws, self._ws = self._ws, None
        if ws is None:
            return
        if not self._closed:
            with contextlib.suppress(websockets.exceptions.ConnectionClosed):
                await ws.send("41")
        await ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
