"""Service hours for the bot's answers ("we're open Mon–Fri 8:00–16:00")."""

from __future__ import annotations

from datetime import datetime, timezone

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, json

from bot.auth import require_token
from bot.service_hours import service_hours_for
from bot.tickets.store import LANGUAGES


def hours_blueprint() -> Blueprint:
    """A new blueprint per app, so several apps can live in one process (tests)."""
    blueprint = Blueprint("service_hours", url_prefix="/api/service-hours")

    @blueprint.get("")
    @require_token
    async def show(request: Request) -> HTTPResponse:
        settings = request.app.ctx.settings
        hours = service_hours_for(settings)
        now = datetime.now(timezone.utc)
        return json(
            {
                "timezone": settings.timezone,
                "open_now": hours.is_open(now),
                "next_opening": hours.next_opening(now).isoformat(),
                "display": {language: hours.display(language) for language in LANGUAGES},
            }
        )

    return blueprint
