"""Custom actions wait for a restarting action server instead of failing in silence.

When the action server is down (killed, and being restarted by the supervisor),
Rasa 3.6 logs "Couldn't connect" and ends the turn: the customer saw typing dots
and then nothing, and a form went on as if the message had never been checked
(a reference number sent during the outage was later read as an invoice number).

Here a custom action whose connection is *refused* is tried again every
`RETRY_SECONDS` for up to `WAIT_SECONDS`, long enough for a restart; only a
refused connection is retried, because then the request never reached the server
and running it again can't do anything twice. If the server is still down after
that, the customer is told so, in their language (`utter_action_server_down`),
before Rasa gives the turn up as before.

Installed by the customer channels when Rasa builds them (credentials.yml),
because Rasa has no hook of its own for this.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
from rasa.core.actions.action import RemoteAction
from rasa.shared.exceptions import RasaException

logger = logging.getLogger(__name__)

WAIT_SECONDS = 30.0
RETRY_SECONDS = 0.5
DOWN_RESPONSE = "utter_action_server_down"

_ORIGINAL_RUN = RemoteAction.run


def _refused(error: BaseException) -> bool:
    """Rasa's error for a connection that never got through (its cause is chained)."""
    cause = error.__cause__ or error.__context__
    return isinstance(cause, aiohttp.ClientConnectorError)


async def _run(
    self: RemoteAction, output_channel: Any, nlg: Any, tracker: Any, domain: Any
) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    waited = False
    while True:
        try:
            events = await _ORIGINAL_RUN(self, output_channel, nlg, tracker, domain)
        except RasaException as error:
            if not _refused(error):
                raise
            if loop.time() >= deadline:
                await _tell_the_customer(output_channel, nlg, tracker)
                raise
            if not waited:
                logger.warning(
                    "action server not reachable for %s: waiting up to %.0f s for it",
                    self.name(),
                    WAIT_SECONDS,
                )
                waited = True
            await asyncio.sleep(RETRY_SECONDS)
            continue
        if waited:
            logger.info("action server back: %s ran", self.name())
        return events


async def _tell_the_customer(output_channel: Any, nlg: Any, tracker: Any) -> None:
    """The turn is lost: say so kindly rather than leave the customer waiting."""
    try:
        message = await nlg.generate(DOWN_RESPONSE, tracker, output_channel.name())
        if message:
            await output_channel.send_response(tracker.sender_id, message)
    except Exception:  # saying sorry must never hide the real error
        logger.exception("could not tell the customer that the action server is down")


def install() -> None:
    """Retry refused custom actions in this Rasa process (idempotent)."""
    RemoteAction.run = _run


def uninstall() -> None:
    RemoteAction.run = _ORIGINAL_RUN
