"""Canned replies (`canned_replies.yml`): ready texts in Finnish and English.

The file is read once per process; `replies_for(ticket, agent_name)` gives the
ones for a ticket, in its language, with the placeholders filled in.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.tickets.store import LANGUAGES, Ticket

CANNED_FILE = Path(__file__).resolve().parent / "canned_replies.yml"
PLACEHOLDERS = ("agent_name", "ticket_number", "invoice_number")
# What stands in for a missing invoice number: a part the agent fills in.
MISSING_INVOICE = {"fi": "[laskun numero]", "en": "[invoice number]"}


class CannedRepliesError(ValueError):
    """canned_replies.yml is not what the console expects; the message says where."""


@dataclass(frozen=True)
class CannedReply:
    id: str
    title: str
    texts: dict[str, str]

    def text(self, language: str, values: dict[str, str]) -> str:
        return self.texts[language].format(**values)


@lru_cache(maxsize=4)
def load(path: Path = CANNED_FILE) -> tuple[CannedReply, ...]:
    """Read and check the file: every reply in every language, known placeholders only."""
    data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    items = data.get("replies") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise CannedRepliesError(f"{path.name}: expected a non-empty list under 'replies'")
    found: list[CannedReply] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        where = f"{path.name}: replies[{index}]"
        if not isinstance(item, dict):
            raise CannedRepliesError(f"{where} must be a mapping")
        reply_id, title = item.get("id"), item.get("title")
        if not isinstance(reply_id, str) or not reply_id or reply_id in seen:
            raise CannedRepliesError(f"{where}: 'id' must be a unique, non-empty string")
        if not isinstance(title, str) or not title.strip():
            raise CannedRepliesError(f"{where}: 'title' is missing")
        texts = {}
        for language in LANGUAGES:
            text = item.get(language)
            if not isinstance(text, str) or not text.strip():
                raise CannedRepliesError(f"{where} ({reply_id}): no '{language}' text")
            for _, name, _, _ in string.Formatter().parse(text):
                if name is not None and name not in PLACEHOLDERS:
                    raise CannedRepliesError(
                        f"{where} ({reply_id}): unknown placeholder {{{name}}} in '{language}'; "
                        f"known: {', '.join(PLACEHOLDERS)}"
                    )
            texts[language] = " ".join(text.split())
        seen.add(reply_id)
        found.append(CannedReply(reply_id, title.strip(), texts))
    return tuple(found)


def placeholder_values(ticket: Ticket, agent_name: str) -> dict[str, str]:
    return {
        "agent_name": agent_name,
        "ticket_number": ticket.number,
        "invoice_number": ticket.invoice_number or MISSING_INVOICE[ticket.language],
    }


def replies_for(ticket: Ticket, agent_name: str) -> list[dict[str, str]]:
    """The canned replies for this ticket: id, title and the text in its language."""
    values = placeholder_values(ticket, agent_name)
    return [
        {"id": reply.id, "title": reply.title, "text": reply.text(ticket.language, values)}
        for reply in load()
    ]


def all_replies() -> list[dict[str, Any]]:
    """Every canned reply with its raw texts in both languages (placeholders unfilled)."""
    return [{"id": r.id, "title": r.title, "texts": dict(r.texts)} for r in load()]
