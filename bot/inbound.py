"""What the assistant accepts from outside, defined once for every surface.

The widget's socket.io events, the REST channel, the helpdesk API and the staff
forms all take text and JSON from clients they don't control. The rules here are
the same everywhere, so one odd message is treated alike wherever it arrives:

- one length limit for a customer message (`MAX_MESSAGE_LENGTH`, the widget's);
- lone UTF-16 surrogates (what a client that cuts an emoji in half sends) and
  control characters are *replaced*, never refused: the customer's message still
  arrives, with U+FFFD where the broken character was, and nothing downstream
  (UTF-8 encoders, PostgreSQL, the admin's CSV export) ever sees them;
- JSON must be UTF-8, a bounded depth and finite numbers, or it is refused with a
  reason (`InvalidInput`) that the surface turns into a 400 or a kind message.
"""

from __future__ import annotations

import json
import re
from typing import Any

# The longest customer message on every channel (the widget says so before sending).
MAX_MESSAGE_LENGTH = 5000
# Deeper JSON than any client of ours sends; Python's parser would recurse further.
MAX_JSON_DEPTH = 32
# Largest whole number a query parameter may carry (SQLite's and PostgreSQL's bigint).
MAX_INTEGER = 2**63 - 1

REPLACEMENT = "\ufffd"
# C0 controls except tab, newline and carriage return, plus DEL: never meant as text.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# JSON text that may decode to what `clean_text` replaces or removes, escaped (as
# json.dumps writes it by default) or raw: only such documents need `clean_json`.
_JSON_MAY_NEED_CLEANING = re.compile(
    r"\\u(?:[dD][89a-fA-F]|00[01]|007[fF])|\\[bf]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]"
)


class InvalidInput(ValueError):
    """A client sent something we can't take; `str(error)` says what, for the client."""


def clean_text(text: str) -> str:
    """`text` safe to store and show: lone surrogates -> U+FFFD, control characters gone.

    A pair of surrogates that a lax decoder left as two code points becomes the
    character it stands for.
    """
    if _SURROGATE.search(text):
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return _CONTROL.sub("", text)


def clean_json(value: Any) -> Any:
    """A copy of decoded JSON with `clean_text` applied to every string and key."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [clean_json(item) for item in value]
    if isinstance(value, dict):
        return {clean_text(str(key)): clean_json(item) for key, item in value.items()}
    return value


def json_may_need_cleaning(text: str) -> bool:
    """False when decoding `text` can't give a string `clean_text` would change (fast)."""
    return _JSON_MAY_NEED_CLEANING.search(text) is not None


def json_depth_exceeds(value: Any, max_depth: int) -> bool:
    """True if lists/objects nest deeper than `max_depth` (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _refuse_constant(name: str) -> Any:
    raise InvalidInput(f"{name} is not a number JSON allows")


def loads_json(body: bytes | str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Decode a client's JSON, or raise InvalidInput saying why (never anything else).

    Bytes must be UTF-8; NaN and Infinity are refused; strings come back cleaned.
    """
    if isinstance(body, (bytes, bytearray)):
        try:
            body = bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("the body is not valid UTF-8; send JSON") from None
    if not body.strip():
        raise InvalidInput("the body is empty; send JSON")
    try:
        value = json.loads(body, parse_constant=_refuse_constant)
    except RecursionError:
        raise InvalidInput(f"JSON nested deeper than {max_depth} levels") from None
    except InvalidInput:
        raise
    except ValueError as error:
        raise InvalidInput(f"malformed JSON: {error}") from None
    if json_depth_exceeds(value, max_depth):
        raise InvalidInput(f"JSON nested deeper than {max_depth} levels")
    return clean_json(value)


def whole_number(
    raw: object, name: str, default: int, minimum: int = 0, maximum: int = MAX_INTEGER
) -> int:
    """A query parameter as an int within [minimum, maximum], or InvalidInput naming it."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return default
    text = str(raw).strip()
    if len(text) > 20 or not re.fullmatch(r"[+-]?[0-9]+", text):
        raise InvalidInput(f"{name} must be a whole number from {minimum} to {maximum}")
    value = int(text)
    if not minimum <= value <= maximum:
        raise InvalidInput(f"{name} must be a whole number from {minimum} to {maximum}")
    return value
