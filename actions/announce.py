"""Tell a customer whose ticket waited in the outbox that it is filed now.

When the helpdesk is down, the customer hears that their request is saved and
will reach customer service as soon as the system is back. When the outbox
delivers it, they are owed the ticket's number and the time of the reply: the
client that delivered it asks Rasa to run `action_announce_filed_ticket` in that
conversation (`POST /conversations/<id>/execute`, the latest output channel: the
widget shows it live, or on its next reconnect). The action reads the ticket from
the helpdesk and says it in the customer's language (actions/handoff.py).

Plain HTTP to Rasa's API with RASA_URL and RASA_TOKEN; without them nothing is
announced (the promised contact still happens through the ticket).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import aiohttp

from actions.config import ActionSettings

logger = logging.getLogger(__name__)

ANNOUNCE_ACTION = "action_announce_filed_ticket"
TIMEOUT = aiohttp.ClientTimeout(total=30, connect=5)

FiledLater = Callable[[dict[str, Any]], Awaitable[None]]


class FiledTicketAnnouncer:
    """Asks Rasa to tell a conversation about its ticket, filed later."""

    def __init__(self, rasa_url: str, rasa_token: str) -> None:
        self.rasa_url = rasa_url.rstrip("/")
        self.rasa_token = rasa_token

    @classmethod
    def from_settings(cls, settings: ActionSettings) -> FiledTicketAnnouncer | None:
        if not settings.rasa_url or not settings.rasa_token:
            return None
        return cls(settings.rasa_url, settings.rasa_token)

    async def announce(self, ticket: dict[str, Any]) -> None:
        """Run the announcing action in the ticket's conversation (logged if Rasa is down)."""
        conversation_id = str(ticket.get("conversation_id") or "")
        if not conversation_id:
            return
        url = f"{self.rasa_url}/conversations/{quote(conversation_id, safe='')}/execute"
        params = {"token": self.rasa_token, "output_channel": "latest"}
        try:
            async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
                async with session.post(
                    url, params=params, json={"name": ANNOUNCE_ACTION}
                ) as response:
                    if response.status >= 300:
                        detail = (await response.text())[:300]
                        logger.error(
                            "Rasa did not announce the ticket of %s: HTTP %s %s",
                            conversation_id,
                            response.status,
                            detail,
                        )
                        return
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            logger.error("Rasa unreachable to announce ticket of %s: %s", conversation_id, error)
            return
        logger.info("told conversation %s that its ticket is filed", conversation_id)
