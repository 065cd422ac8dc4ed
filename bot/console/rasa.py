"""The console's calls to the Rasa server: widget push, pause/resume, the rating question.

- `push`: `POST {RASA_URL}/webhooks/widget/push` with `Bearer HELPDESK_API_TOKEN`
  (the widget channel's push token, credentials.yml) sends an agent's reply or the
  handoff state to the customer's widget; the answer says whether a widget of
  that conversation is connected now (`delivered`).
- `append_event`: `POST {RASA_URL}/conversations/<id>/tracker/events?token=RASA_TOKEN`
  with `[{"event": "resume"}]` (or pause) gives the conversation back to the bot.
- `execute`: `POST {RASA_URL}/conversations/<id>/execute?token=RASA_TOKEN&output_channel=widget`
  with `{"name": "rating_form"}` asks the customer for a rating in their widget.

No call raises: each returns a `RasaResult` that says what happened, and the
console writes that on the ticket, so an agent always knows whether the
customer got the message.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.config import Settings

logger = logging.getLogger(__name__)

PUSH_TIMEOUT = aiohttp.ClientTimeout(total=10, connect=3)
# The rating question runs an action on the action server: allow it time.
API_TIMEOUT = aiohttp.ClientTimeout(total=30, connect=3)


@dataclass(frozen=True)
class RasaResult:
    ok: bool
    delivered: bool = False  # push only: a widget of the conversation is connected
    error: str = ""
    body: Any = None


class RasaClient:
    """One aiohttp session for the service's lifetime (`start`, `close`)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def push(self, conversation_id: str, event: str, data: dict[str, Any]) -> RasaResult:
        """Send `bot_uttered` or `handoff` to the customer's widget."""
        result = await self._post(
            "/webhooks/widget/push",
            {"conversation_id": conversation_id, "event": event, "data": data},
            headers={"Authorization": f"Bearer {self.settings.helpdesk_api_token}"},
            timeout=PUSH_TIMEOUT,
        )
        if result.ok:
            delivered = bool(isinstance(result.body, dict) and result.body.get("delivered"))
            return RasaResult(True, delivered=delivered, body=result.body)
        return result

    async def append_event(self, conversation_id: str, event: str) -> RasaResult:
        """`resume` gives the conversation back to the bot; `pause` stops it answering."""
        return await self._post(
            f"/conversations/{quote(conversation_id, safe='')}/tracker/events",
            [{"event": event}],
            params={"token": self.settings.rasa_token},
            timeout=API_TIMEOUT,
        )

    async def execute(self, conversation_id: str, action: str) -> RasaResult:
        """Run `action` now, its messages to the customer's widget."""
        return await self._post(
            f"/conversations/{quote(conversation_id, safe='')}/execute",
            {"name": action},
            params={"token": self.settings.rasa_token, "output_channel": "widget"},
            timeout=API_TIMEOUT,
        )

    async def _post(
        self,
        path: str,
        body: Any,
        timeout: aiohttp.ClientTimeout,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> RasaResult:
        await self.start()
        assert self._session is not None
        url = self.settings.rasa_url + path
        try:
            async with self._session.post(
                url, json=body, headers=headers, params=params, timeout=timeout
            ) as response:
                try:
                    answer = await response.json(content_type=None)
                except ValueError:
                    answer = None
                if response.status >= 400:
                    detail = None
                    if isinstance(answer, dict):
                        detail = answer.get("message") or answer.get("error")
                    error = f"Rasa answered {response.status}" + (f": {detail}" if detail else "")
                    logger.warning("POST %s: %s", path.split("?")[0], error)
                    return RasaResult(False, error=error, body=answer)
                return RasaResult(True, body=answer)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
            reason = _reason(error)
            logger.warning("POST %s%s failed: %s", self.settings.rasa_url, path, reason)
            return RasaResult(False, error=f"Rasa did not answer: {reason}")


def _reason(error: BaseException) -> str:
    """A short cause: "Connection refused", "no answer within 10 s", ..."""
    if isinstance(error, asyncio.TimeoutError):
        return "no answer in time"
    cause = getattr(error, "os_error", None)
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    return str(error) or type(error).__name__
