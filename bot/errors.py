"""Bad requests answered as 4xx with a reason, never a 500: one place for every blueprint.

- API paths answer errors as `{"error": "..."}`, so clients can show the reason; pages
  keep Sanic's own format.
- `bot.inbound.InvalidInput` (what the shared input rules raise: malformed or too deep
  JSON, a number out of range) is a 400 wherever it is raised.
- Before any handler runs, a request whose headers or form are not UTF-8, or whose form
  can't be parsed, is refused with a 400. Sanic would otherwise log a traceback and hand
  the handler an empty form, or pass undecodable header bytes on as lone surrogates that
  fail later (comparing a token, querying a session). Form values are cleaned like every
  other text (`clean_text`), so no surface stores a control character.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qs

from sanic import Sanic
from sanic.exceptions import InvalidUsage, SanicException
from sanic.headers import parse_content_header
from sanic.request import Request, RequestParameters, parse_multipart_form
from sanic.response import HTTPResponse, json

from bot.inbound import InvalidInput, clean_text

logger = logging.getLogger(__name__)

API_PREFIXES = ("/api/", "/health", "/console/api/", "/admin/api/")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def register_error_handlers(app: Sanic) -> None:
    """API paths answer JSON errors; other paths (pages) keep Sanic's own format."""

    @app.on_request
    async def refuse_unreadable(request: Request) -> None:
        check_headers(request)
        parse_form(request)

    @app.exception(Exception)
    async def handle(request: Request, exception: Exception) -> HTTPResponse:
        if isinstance(exception, InvalidInput):
            exception = InvalidUsage(str(exception))
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


def check_headers(request: Request) -> None:
    """Sanic keeps header bytes that are not UTF-8 as lone surrogates: refuse them here."""
    for name, value in request.headers.items():
        if value.isascii():
            continue
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInput(f"the {clean_text(name)} header is not valid UTF-8") from None


def parse_form(request: Request) -> None:
    """Parse a form body once, strictly, into Sanic's own cache (`request.form` reads it).

    Sanic's parser logs a traceback and yields an empty form for bytes it can't decode;
    here they are a 400 that says why, and every value is cleaned.
    """
    if not request.body:
        return
    content_type, parameters = parse_content_header(request.headers.get("content-type", ""))
    if content_type not in FORM_TYPES:
        return
    boundary = parameters.get("boundary") or ""
    if content_type != FORM_TYPES[0] and not boundary:
        raise InvalidInput("the multipart form has no boundary")
    files = RequestParameters()
    try:
        if content_type == FORM_TYPES[0]:
            fields = RequestParameters(parse_qs(request.body.decode("utf-8")))
        else:
            fields, files = parse_multipart_form(request.body, boundary.encode("utf-8"))
    except UnicodeError:
        raise InvalidInput("the form is not valid UTF-8") from None
    except (ValueError, LookupError):  # Sanic's multipart parser on a malformed part
        raise InvalidInput("the form could not be read (malformed multipart body)") from None
    request.parsed_form = RequestParameters(
        {clean_text(key): [clean_text(value) for value in values] for key, values in fields.items()}
    )
    request.parsed_files = files
