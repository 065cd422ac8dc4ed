"""Written feedback from customers: stored as given, for the team to read."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, json
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.auth import require_token
from bot.db import feedback
from bot.tickets import validation
from bot.tickets.api import iso


def add_feedback(
    engine: Engine, fields: dict[str, Any], now: datetime
) -> tuple[dict[str, Any], bool]:
    """Store feedback once per request_id (the client may resend); (row, created)."""
    request_id = fields.get("request_id")
    if request_id:
        existing = _by_request_id(engine, request_id)
        if existing is not None:
            return existing, False
    try:
        with engine.begin() as conn:
            new_id = conn.execute(
                feedback.insert().values(**fields, created_at=now)
            ).inserted_primary_key[0]
    except IntegrityError:
        existing = _by_request_id(engine, request_id) if request_id else None
        if existing is None:
            raise
        return existing, False
    with engine.connect() as conn:
        row = conn.execute(sa.select(feedback).where(feedback.c.id == new_id)).mappings().one()
    return dict(row), True


def _by_request_id(engine: Engine, request_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = (
            conn.execute(sa.select(feedback).where(feedback.c.request_id == request_id))
            .mappings()
            .first()
        )
    return dict(row) if row else None


def feedback_blueprint() -> Blueprint:
    """A new blueprint per app, so several apps can live in one process (tests)."""
    blueprint = Blueprint("feedback", url_prefix="/api/feedback")

    @blueprint.post("")
    @require_token
    async def create(request: Request) -> HTTPResponse:
        fields = validation.feedback(validation.json_object(request))
        row, created = add_feedback(request.app.ctx.engine, fields, datetime.now(timezone.utc))
        body = {
            "id": row["id"],
            "conversation_id": row["conversation_id"],
            "language": row["language"],
            "text": row["text"],
            "created_at": iso(row["created_at"]),
        }
        return json(body, status=201 if created else 200)

    return blueprint
