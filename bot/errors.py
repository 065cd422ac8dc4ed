"""Errors of the JSON API as `{"error": "..."}`, so clients can show the reason."""

from __future__ import annotations

import logging

from sanic import Sanic
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse, json

logger = logging.getLogger(__name__)

API_PREFIXES = ("/api/", "/health", "/console/api/")


def register_error_handlers(app: Sanic) -> None:
    """API paths answer JSON errors; other paths (pages) keep Sanic's own format."""

    @app.exception(Exception)
    async def handle(request: Request, exception: Exception) -> HTTPResponse:
        if request is None or not request.path.startswith(API_PREFIXES):
            return app.error_handler.default(request, exception)
        if isinstance(exception, SanicException):
            status = getattr(exception, "status_code", 500) or 500
            message = str(exception) or "request failed"
            if status >= 500:
                logger.exception("API error on %s", request.path, exc_info=exception)
            headers = getattr(exception, "headers", None) or None
            return json({"error": message}, status=status, headers=headers)
        logger.exception("Unexpected error on %s", request.path, exc_info=exception)
        return json({"error": "internal error; the request was not completed"}, status=500)
