"""The REST channel, validated: `POST /webhooks/rest/webhook` answers bad input with a 4xx.

Registered in credentials.yml as `bot.channels.rest.ValidatedRestInput`, in place
of Rasa's built-in `rest:` (rasa/core/channels/rest.py). That one reads
`request.json` and passes on whatever it finds: an empty body, a JSON array,
`null` or a `message` that is a number end in a 500 with a traceback, a missing
`sender` puts the message in a conversation called "default" that every such
client shares, and a 1,000,000-character message went to NLU (34 s of work while
other customers waited).

This channel keeps what REST clients rely on: the URL (`name()` is "rest"), the
request `{"sender", "message", "metadata"?, "input_channel"?}`, the answer (a JSON
list of the bot's messages), `?stream=true` (one JSON message per line as they
come) and `GET /webhooks/rest/` as health. Before anything reaches Rasa it
applies the rules every surface shares (`bot.inbound`): a body over
`MAX_BODY_BYTES` is refused (413) before it is read or parsed, the JSON must be
UTF-8, shallow and finite, texts are cleaned (lone surrogates -> U+FFFD), and the
message is at most `MAX_MESSAGE_LENGTH` characters (413). Anything else wrong is
a 400 `{"error": "..."}` that says what to fix.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import rasa.utils.endpoints
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.channels.rest import QueueOutputChannel
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse, ResponseStream

from bot import action_retry
from bot.inbound import MAX_MESSAGE_LENGTH, InvalidInput, loads_json

logger = logging.getLogger(__name__)

# The longest message in its longest JSON spelling (a surrogate pair as two \uXXXX
# escapes, 12 bytes for one character) plus room for sender and page metadata.
MAX_BODY_BYTES = 12 * MAX_MESSAGE_LENGTH + 16 * 1024
# Rasa's tracker stores keep the conversation id in a column of this size.
MAX_SENDER_LENGTH = 255
MAX_INPUT_CHANNEL_LENGTH = 64
# Marks the end of the bot's messages in the queue of a streamed answer.
_END_OF_ANSWER = object()


class TooLarge(InvalidInput):
    """Over a size limit (the body, or the message): answered 413 rather than 400."""


@dataclass(frozen=True)
class RestMessage:
    """One customer message from a REST client, checked and cleaned."""

    sender: str
    text: str
    metadata: dict[str, Any] | None = None
    input_channel: str | None = None


def _sender(value: Any) -> str:
    """A string or a number (as Rasa's channel took it), as the conversation id."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InvalidInput("sender is required: a string that names the conversation")
    sender = str(value)
    if not sender.strip():
        raise InvalidInput("sender must not be empty")
    if len(sender) > MAX_SENDER_LENGTH:
        raise InvalidInput(f"sender must be at most {MAX_SENDER_LENGTH} characters")
    return sender


def _message(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidInput("message is required: a string")
    if not value.strip():
        raise InvalidInput("message must not be empty")
    if len(value) > MAX_MESSAGE_LENGTH:
        raise TooLarge(f"message must be at most {MAX_MESSAGE_LENGTH} characters")
    return value


def _input_channel(value: Any) -> str | None:
    """Rasa's channel lets a client name the channel its messages are stored under."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_INPUT_CHANNEL_LENGTH:
        raise InvalidInput(
            f"input_channel must be a string of at most {MAX_INPUT_CHANNEL_LENGTH} characters"
        )
    return value or None


def parse_rest_message(body: bytes) -> RestMessage:
    """The request body as a RestMessage, or InvalidInput (TooLarge) saying what is wrong."""
    if len(body) > MAX_BODY_BYTES:
        raise TooLarge(f"the body must be at most {MAX_BODY_BYTES} bytes")
    data = loads_json(body)
    if not isinstance(data, dict):
        raise InvalidInput('the body must be a JSON object: {"sender": ..., "message": ...}')
    metadata = data.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise InvalidInput("metadata must be a JSON object")
    return RestMessage(
        sender=_sender(data.get("sender")),
        text=_message(data.get("message")),
        metadata=metadata,
        input_channel=_input_channel(data.get("input_channel")),
    )


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body of a streamed request, or TooLarge once it is past `limit` bytes.

    A declared Content-Length over the limit is refused before a byte is read; a
    chunked body is read only up to the limit (Sanic discards the rest).
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"the body must be at most {limit} bytes")
    body = bytearray(request.body or b"")
    if request.stream is not None:
        async for chunk in request.stream:
            body.extend(chunk)
            if len(body) > limit:
                raise TooLarge(f"the body must be at most {limit} bytes")
    return bytes(body)


def refusal(error: InvalidInput) -> HTTPResponse:
    """The answer to a request we can't take: 413 for sizes, else 400; the reason as JSON."""
    status = 413 if isinstance(error, TooLarge) else 400
    return response.json({"error": str(error)}, status=status)


class ValidatedRestInput(InputChannel):
    """Rasa's REST channel with its input checked (see the module docstring)."""

    @classmethod
    def name(cls) -> str:
        # The URL (/webhooks/rest/webhook) and the tracker's input_channel stay Rasa's.
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        # Nothing to configure: the limits are the ones every channel shares. Rasa
        # builds its channels once at start: the moment to make custom actions wait
        # for a restarting action server (bot/action_retry.py says why).
        action_retry.install()
        return cls()

    def _user_message(self, message: RestMessage, output: CollectingOutputChannel) -> UserMessage:
        return UserMessage(
            message.text,
            output,
            message.sender,
            input_channel=message.input_channel or self.name(),
            metadata=message.metadata,
        )

    async def _answer(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]], message: RestMessage
    ) -> HTTPResponse:
        """All of the bot's messages at once, as Rasa's channel answers."""
        collector = CollectingOutputChannel()
        try:
            await on_new_message(self._user_message(message, collector))
        except asyncio.CancelledError:
            logger.error("rest: the message of %s timed out", message.sender)
        except Exception:
            logger.exception("rest: handling a message of %s failed", message.sender)
        return response.json(collector.messages)

    def _stream(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]], message: RestMessage
    ) -> Callable[[ResponseStream], Awaitable[None]]:
        """`?stream=true`: each bot message as a JSON line as soon as it is sent."""

        async def handle(queue: asyncio.Queue) -> None:
            try:
                await on_new_message(self._user_message(message, QueueOutputChannel(queue)))
            except Exception:
                logger.exception("rest: handling a message of %s failed", message.sender)
            finally:
                # Rasa's channel only ends the stream on success: a failure hung it.
                await queue.put(_END_OF_ANSWER)

        async def stream(output: ResponseStream) -> None:
            queue: asyncio.Queue = asyncio.Queue()
            task = asyncio.ensure_future(handle(queue))
            while (item := await queue.get()) is not _END_OF_ANSWER:
                await output.write(json.dumps(item) + "\n")
            await task

        return stream

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        rest_webhook = Blueprint("validated_rest_webhook", __name__)

        @rest_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        # stream=True: the handler sees the request before its body is read, so an
        # oversized body is refused without reading it.
        @rest_webhook.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse | ResponseStream:
            try:
                message = parse_rest_message(await read_body(request))
            except InvalidInput as error:
                logger.warning("rest: refused a request: %s", error)
                return refusal(error)
            if rasa.utils.endpoints.bool_arg(request, "stream", default=False):
                return response.stream(
                    self._stream(on_new_message, message), content_type="text/event-stream"
                )
            return await self._answer(on_new_message, message)

        return rest_webhook
