"""The website chat widget's channel: socket.io inside `rasa run`.

Registered in credentials.yml as `bot.channels.widget.WidgetInput`; the protocol
is docs/widget-protocol.md. A superset of Rasa's own socket.io channel
(`session_request`/`session_confirm`, `user_uttered`/`bot_uttered`), so Rasa
widgets work too, plus what a support chat needs:

- signed session tokens (`bot.channels.sessions`): the Rasa conversation id is
  the session id inside the token; a bare or forged id gets a new session;
- a `receipt` for every customer message, sent once the message is kept in the
  store's inbox (`bot.channels.store`) and before NLU runs; client message ids
  make a resend harmless (across restarts too); the inbox is worked through in
  order, one message of a session at a time, exactly once, by whichever process
  holds the session (`bot.channels.processing`), so a crash after the receipt
  loses nothing and a burst of messages waits its turn (beyond
  `MAX_OPEN_PER_SESSION` unprocessed ones: `too_many_messages`, before any receipt);
- a `seq` on every message to the customer, kept per session in the store and
  replayed after a reconnect; messages for a customer whose socket is gone are
  kept and delivered when they return. The handoff state and the ticket come
  from the same log, so a restart or another replica knows them;
- `handoff` events, and `POST /webhooks/widget/push` for the helpdesk;
- while a person has the conversation (handoff `waiting` or `agent`), every
  customer message also goes to the ticket, through the actions' helpdesk client
  and durable outbox (`actions.helpdesk`: kept before the receipt says
  `added_to_ticket`, retried by the relay while the helpdesk is down);
- unmodified Rasa widgets (rasa-webchat): a client whose `session_request` does not
  ask for this protocol's extras (`asks_for_extras`) gets Rasa's plain format
  (`plain_payload`);
- an Origin allow-list (Rasa's channel passes `cors_allowed_origins=[]`, which
  switches the check off) and an awaited `enter_room` (Rasa's channel forgets
  the `await`, so with python-socketio 5.x replies reach nobody);
- bad input answered, never a traceback (`bot.channels.packets`, `bot.inbound`):
  a packet that doesn't decode, an event that isn't `[name, ...]`, binary
  attachments, unknown events and fields of the wrong type get `error
  bad_request` and the socket stays.

What is only in this process: the sockets themselves, and who is typing.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timezone
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.events import UserUttered
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from actions.helpdesk import HelpdeskClient
from actions.outbox import Outbox
from bot import action_retry, rasa_speedups
from bot.channels.packets import WidgetSocketServer, polling_body_problem
from bot.channels.processing import InboxProcessor
from bot.channels.sessions import SessionSigner
from bot.channels.store import (
    DUPLICATE,
    HANDOFF_STATES,
    NEW,
    QUEUE_FULL,
    InboxMessage,
    WidgetStore,
)
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
# A session's unprocessed messages beyond this are refused before their receipt
# (`too_many_messages`); nobody types faster than the bot answers 20 messages.
MAX_OPEN_PER_SESSION = 20
# The embedded defaults when credentials.yml names none (the stack always does).
DEFAULT_STORE_URL = "sqlite:///var/widget.db"
DEFAULT_OUTBOX_PATH = "var/outbox.db"
PLAIN_ROOM_SUFFIX = "#plain"
MAX_EMIT_LOCKS = 10_000
# While a person has the conversation, what the customer writes goes to the ticket.
TICKET_STATES = ("waiting", "agent")
PUSH_EVENTS = ("bot_uttered", "handoff")
# Sent on a new session so the bot greets in the page's language before the
# customer types. Not `/session_start`: Rasa's built-in rule for that intent
# starts a second session, and the first real message would be greeted again.
SESSION_START_MESSAGE = "/greet"
# Its message id: unique per session, so a session is greeted once.
SESSION_START_ID = "session-start"


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


def asks_for_extras(session_request: dict[str, Any]) -> bool:
    """This protocol's clients send `last_seq` or page `metadata` at session_request;
    Rasa's own (rasa-webchat) send only `session_id` and get Rasa's plain format."""
    return "last_seq" in session_request or "metadata" in session_request


def plain_room(session_id: str) -> str:
    """The room of a session's sockets that speak Rasa's plain socket.io format."""
    return f"{session_id}{PLAIN_ROOM_SUFFIX}"


def plain_payload(event: str, payload: dict[str, Any]) -> dict[str, Any] | None:
    """A message in Rasa's own socket.io format, for unmodified Rasa widgets.

    rasa-webchat renders a `bot_uttered` only when its keys are exactly `text`,
    `text` + `quick_replies` (or `buttons`), or an `attachment`: the extras of this
    protocol (`seq`, both kinds of buttons, the agent's name) would make it drop
    the message. `handoff` events mean nothing to such a widget (the bot's own
    text says the same), so they get None: not sent.
    """
    if event != "bot_uttered":
        return None
    if "text" in payload and payload.get("quick_replies"):
        return {"text": payload["text"], "quick_replies": payload["quick_replies"]}
    if "text" in payload:
        return {"text": payload["text"]}
    if "attachment" in payload:
        return {"attachment": payload["attachment"]}
    return {key: value for key, value in payload.items() if key != "seq"}


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
        # action answers cheap and custom actions wait for a restarting action
        # server (bot/rasa_speedups.py and bot/action_retry.py explain why).
        rasa_speedups.install()
        action_retry.install()
        credentials = credentials or {}
        return cls(
            session_secret=str(credentials.get("session_secret") or ""),
            allowed_origins=credentials.get("allowed_origins"),
            push_token=str(credentials.get("push_token") or ""),
            socketio_path=credentials.get("socketio_path") or "/socket.io",
            greet_new_sessions=_as_bool(credentials.get("greet_new_sessions", True)),
            helpdesk_url=str(credentials.get("helpdesk_url") or "") or None,
            helpdesk_token=str(credentials.get("helpdesk_token") or "") or None,
            outbox_path=str(credentials.get("outbox_path") or "") or None,
            store=WidgetStore(str(credentials.get("store_url") or DEFAULT_STORE_URL)),
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
        outbox_path: str | None = None,
        helpdesk: HelpdeskClient | None = None,
        store: WidgetStore | None = None,
        max_open_per_session: int = MAX_OPEN_PER_SESSION,
    ) -> None:
        self.signer = SessionSigner(session_secret)
        self.allowed_origins = parse_origins(allowed_origins)
        self.push_token = push_token.strip()
        if not self.push_token:
            logger.warning("widget channel: no push_token, so POST /webhooks/widget/push is off")
        self.socketio_path = socketio_path
        self.greet_new_sessions = greet_new_sessions
        self.store = store or WidgetStore(DEFAULT_STORE_URL)
        self.max_open_per_session = max_open_per_session
        self.inbox = InboxProcessor(
            self.store,
            process=self._process,
            already_handled=self._in_tracker,
            give_up=self._not_processed,
        )
        # Customer messages to the ticket while handed off, through the outbox the
        # actions use; the helpdesk API takes the same token as the push endpoint
        # unless helpdesk_token says otherwise.
        token = (helpdesk_token or self.push_token).strip()
        if helpdesk is None and token:
            helpdesk = HelpdeskClient(
                helpdesk_url or default_helpdesk_url(),
                token,
                Outbox(outbox_path or DEFAULT_OUTBOX_PATH),
            )
        elif helpdesk is None:
            logger.warning("widget channel: no helpdesk token, so messages don't reach tickets")
        self.helpdesk = helpdesk
        self.sio: AsyncServer | None = None
        self.tracker_store: TrackerStore | None = None
        self._on_new_message: Callable[[UserMessage], Awaitable[Any]] | None = None
        # In this process only, and only for show: who is typing right now.
        self._working: dict[str, int] = {}
        # Held while a message is numbered and emitted, and while missed ones are
        # replayed, so a reconnecting client never sees a newer seq before an older one.
        self._emit_locks: dict[str, asyncio.Lock] = {}
        # New sessions of Rasa's own widgets, greeted at their first user_uttered.
        self._greet_on_first_message: set[str] = set()
        # Strong references to deliveries in the background (asyncio keeps weak ones).
        self._background: set[asyncio.Task] = set()

    # --- to the customer ------------------------------------------------------------

    def get_output_channel(self) -> OutputChannel | None:
        """For Rasa's HTTP API (`/conversations/<id>/execute?output_channel=latest`)."""
        if self.sio is None:
            logger.warning("widget output channel asked for before the channel was mounted")
            return None
        return WidgetOutput(self)

    def _emit_lock(self, session_id: str) -> asyncio.Lock:
        lock = self._emit_locks.get(session_id)
        if lock is None:
            if len(self._emit_locks) > MAX_EMIT_LOCKS:
                for key in [k for k, v in self._emit_locks.items() if not v.locked()]:
                    del self._emit_locks[key]
            lock = self._emit_locks[session_id] = asyncio.Lock()
        return lock

    async def deliver(self, session_id: str, event: str, data: dict[str, Any]) -> dict[str, Any]:
        """Number a message, keep it for replay and emit it to the session's sockets.

        It is in the store before it is emitted: with no socket connected (or a
        restart in between) it is replayed when the customer returns.
        """
        async with self._emit_lock(session_id):
            payload = await self.store.run(self.store.append, session_id, event, data)
            if self.sio is not None:
                await self.sio.emit(event, payload, room=session_id)
                plain = plain_payload(event, payload)
                if plain is not None:
                    await self.sio.emit(event, plain, room=plain_room(session_id))
        return payload

    def is_connected(self, session_id: str) -> bool:
        if self.sio is None:
            return False
        return any(
            True
            for room in (session_id, plain_room(session_id))
            for _ in self.sio.manager.get_participants("/", room)
        )

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

    async def _typing(self, session_id: str, on: bool) -> None:
        assert self.sio is not None
        await self.sio.emit("typing", {"on": on}, room=session_id)

    # --- sockets --------------------------------------------------------------------

    async def _socket_session(self, sid: str) -> dict[str, Any]:
        assert self.sio is not None
        try:
            return dict(await self.sio.get_session(sid))
        except KeyError:
            return {}

    async def _join(self, sid: str, session_id: str, plain: bool | None = None) -> None:
        """Put the socket in its session's room (and out of a previous one).

        `plain`: a client that did not ask for this protocol's extras
        (`asks_for_extras`: an unmodified Rasa widget) gets Rasa's own format.
        """
        assert self.sio is not None
        saved = await self._socket_session(sid)
        plain = saved.get("plain", False) if plain is None else plain
        room = plain_room(session_id) if plain else session_id
        previous = saved.get("room")
        if previous == room:
            return
        if previous:
            await self.sio.leave_room(sid, previous)
        # A coroutine in python-socketio 5.x: without the await nobody joins the
        # room and bot replies reach nobody (the bug in Rasa's own channel).
        await self.sio.enter_room(sid, room)
        await self.sio.save_session(sid, {"session_id": session_id, "room": room, "plain": plain})

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
        page = page_metadata(data)
        store = self.store

        async with self._emit_lock(session_id):
            if page:
                await store.run(store.remember_metadata, session_id, page)
            if resumed and last_seq is not None:
                await store.run(store.continue_after, session_id, last_seq)
            session = await store.run(store.session, session_id)
            await self._join(sid, session_id, plain=not asks_for_extras(data))
            await self._emit_to(
                sid,
                "session_confirm",
                {"session_id": token, "resumed": resumed, "handoff": dict(session.handoff)},
            )
            if resumed and last_seq is not None:
                for event, payload in await store.run(store.since, session_id, last_seq):
                    await self._emit_to(sid, event, payload)
        logger.debug("widget socket %s: session %s (resumed: %s)", sid, session_id, resumed)

        if not resumed and self.greet_new_sessions:
            if asks_for_extras(data):
                # Start the conversation now, so the greeting comes in the page's language.
                await self._greet(session_id, page)
            else:
                # Rasa's widgets send the page's data (customData) with their first
                # user_uttered, not here: greet then, in that language.
                self._greet_on_first_message.add(session_id)

    async def _greet(self, session_id: str, page: dict[str, Any]) -> None:
        """Start a new session with Rasa (`/greet`, once per session: its id is fixed)."""
        store = self.store
        outcome = await store.run(
            store.accept,
            session_id,
            SESSION_START_ID,
            SESSION_START_MESSAGE,
            page,
            self.max_open_per_session,
        )
        if outcome.outcome == NEW:
            self.inbox.wake(session_id)

    async def _user_uttered(self, sid: str, data: Any) -> None:
        if not isinstance(data, dict):
            await self._bad_request(sid, "user_uttered payload is not an object")
            return
        waiting = (await self._socket_session(sid)).get("session_id")
        if waiting in self._greet_on_first_message:
            self._greet_on_first_message.discard(waiting)
            await self._greet(waiting, page_metadata(data))
        if "message" not in data:
            # rasa-webchat sends one without a message when it has no init payload:
            # nothing to say (the greeting above was its point).
            logger.debug("widget socket %s: user_uttered without a message", sid)
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

        session_id = self.signer.verify(data.get("session_id")) or (
            await self._socket_session(sid)
        ).get("session_id")
        if session_id is None:
            await self._error(sid, "bad_session", message_id)
            return
        await self._join(sid, session_id)

        # Kept before the receipt: a message that got one is processed even if this
        # process dies the next moment (by this process after its restart, or another).
        store = self.store
        accepted = await store.run(
            store.accept,
            session_id,
            message_id,
            text,
            page_metadata(data),
            self.max_open_per_session,
        )
        if accepted.outcome == DUPLICATE:
            await self._emit_to(sid, "receipt", {"message_id": message_id, "status": "duplicate"})
            return
        if accepted.outcome == QUEUE_FULL:
            await self._error(sid, "too_many_messages", message_id)
            return
        # While a person has the conversation the message also goes to the ticket
        # (in the background, kept and retried while the helpdesk is down).
        session = accepted.session
        to_ticket = self.helpdesk is not None and session.handoff_state in TICKET_STATES
        receipt: dict[str, Any] = {"message_id": message_id, "status": "received"}
        if to_ticket:
            assert self.helpdesk is not None
            # Kept for the ticket before the receipt says so.
            await self.store.run(
                self.helpdesk.queue_ticket_message,
                session_id,
                session.ticket_number,
                text,
                message_id,
                datetime.now(timezone.utc),
            )
            receipt["status"] = "added_to_ticket"
            if session.ticket_number:
                receipt["ticket_number"] = session.ticket_number
        # The receipt goes out before NLU runs; the bot works in the background.
        await self._emit_to(sid, "receipt", receipt)
        if to_ticket:
            self._send_to_ticket(session_id)
        self.inbox.wake(session_id)

    def _send_to_ticket(self, session_id: str) -> None:
        """Deliver the session's waiting ticket messages now (the relay retries)."""
        assert self.helpdesk is not None
        task = asyncio.get_running_loop().create_task(
            self.helpdesk.deliver_ticket_messages(session_id)
        )
        self._background.add(task)
        task.add_done_callback(self._delivered_to_ticket)

    def _delivered_to_ticket(self, task: asyncio.Task) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.warning("ticket messages kept for the relay: %s", task.exception())

    # --- processing (bot.channels.processing calls these) ------------------------------

    async def _process(self, message: InboxMessage) -> None:
        """Give one acknowledged message to Rasa; typing is shown while the bot answers.

        Rasa gets every message; while a person has the conversation it is paused
        and only logs it, and nobody is typing.
        """
        assert self.sio is not None and self._on_new_message is not None
        session_id = message.session_id
        session = await self.store.run(self.store.session, session_id)
        show_typing = session.handoff_state not in TICKET_STATES
        self._working[session_id] = self._working.get(session_id, 0) + 1
        try:
            if show_typing and self._working[session_id] == 1:
                await self._typing(session_id, True)
            await self._on_new_message(
                UserMessage(
                    message.text,
                    WidgetOutput(self),
                    session_id,
                    input_channel=self.name(),
                    message_id=message.message_id,
                    metadata=dict(message.metadata),
                )
            )
        finally:
            self._working[session_id] -= 1
            if not self._working[session_id]:
                del self._working[session_id]
                if show_typing:
                    await self._typing(session_id, False)

    async def _in_tracker(self, message: InboxMessage) -> bool:
        """Did Rasa save this message's turn (before the process died)?"""
        if self.tracker_store is None:
            return False
        tracker = await self.tracker_store.retrieve_full_tracker(message.session_id)
        return tracker is not None and any(
            isinstance(event, UserUttered) and event.message_id == message.message_id
            for event in tracker.events
        )

    async def _not_processed(self, message: InboxMessage) -> None:
        """Processing kept failing: tell the customer, so they can send it again."""
        assert self.sio is not None
        await self.sio.emit(
            "error",
            {"code": "not_processed", "message_id": message.message_id},
            room=message.session_id,
        )

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
            # only validate, keep and emit; Rasa's work runs in the inbox's workers.
            async_handlers=False,
        )
        self.sio = sio
        self._on_new_message = on_new_message
        widget = SocketBlueprint(sio, self.socketio_path, "widget_webhook", __name__)

        @widget.route("/health", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            waiting = 0
            if self.helpdesk is not None:
                outbox = self.helpdesk.outbox
                waiting = await self.store.run(outbox.count_pending, "ticket_message")
            return response.json(
                {
                    "status": "ok",
                    "socketio_path": self.socketio_path,
                    # Acknowledged customer messages the bot has not processed yet.
                    "messages_waiting": await self.store.run(self.store.open_count),
                    # Customer messages not yet in their tickets (helpdesk down?).
                    "ticket_messages_waiting": waiting,
                }
            )

        @widget.listener("after_server_start")
        async def start_inbox(app: Sanic, _: Any) -> None:
            # Rasa has loaded its agent by now: its tracker store tells whether a
            # message left half done by a dead process was in fact processed.
            agent = getattr(app.ctx, "agent", None)
            self.tracker_store = getattr(agent, "tracker_store", None)
            self.inbox.start()

        @widget.listener("before_server_stop")
        async def close_sockets(*_: Any) -> None:
            # What is not processed yet stays in the inbox for the next start.
            await self.inbox.stop()
            # Widgets see a disconnect (and reconnect, resuming, to the next server).
            if sio.eio.sockets:  # engineio fails on an empty set of sockets
                await sio.eio.disconnect()
            await sio.shutdown()
            # Ticket messages on their way stay in the outbox; the relay sends them.
            for task in list(self._background):
                task.cancel()

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
