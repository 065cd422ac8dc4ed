"""Bearer-token protection for machine-to-machine API routes."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from functools import wraps

from sanic.exceptions import Unauthorized
from sanic.request import Request
from sanic.response import HTTPResponse

Handler = Callable[..., Awaitable[HTTPResponse]]


def require_token(handler: Handler) -> Handler:
    """Only callers holding HELPDESK_API_TOKEN (the action server) may pass.

    compare_digest keeps the comparison time constant, so the token cannot be
    guessed byte by byte from response times.
    """

    @wraps(handler)
    async def guarded(request: Request, *args, **kwargs) -> HTTPResponse:
        expected = request.app.ctx.settings.helpdesk_api_token
        scheme, _, given = (request.headers.get("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), expected.encode()
        ):
            raise Unauthorized(
                "missing or wrong API token (Authorization: Bearer <token>)", scheme="Bearer"
            )
        return await handler(request, *args, **kwargs)

    return guarded
