"""What the console's actions do: claim, reply, wait for the customer, resolve, reopen, note.

Each action changes the ticket store first (durable), then tells the customer's
widget through Rasa (`bot.console.rasa`), then writes down what happened as a
system message on the ticket, and publishes every change to the live views
(`bot.tickets.live`). The JSON API and the plain HTML forms of the console both
call these functions, so they behave the same.

An agent's reply reaches the customer like this:
- a widget of the conversation is connected: live in the chat;
- nobody is in the chat: the reply waits in the chat (shown when they come back)
  and, by the customer's contact preference, goes by e-mail (SMTP, in the
  ticket's language, the ticket number in the subject) or the ticket asks the
  agent to call;
- Rasa cannot be reached: e-mail or call as above; for a chat customer the
  agent is told plainly that the reply has not been seen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sanic import Sanic
from sanic.exceptions import InvalidUsage

from bot.console.rasa import RasaClient, RasaResult
from bot.inbound import clean_text
from bot.mail import MailError, send_mail
from bot.tickets import store
from bot.tickets.api import iso, message_json, publish
from bot.tickets.store import Conflict, NewMessage, Ticket
from bot.tickets.validation import MAX_TEXT, no_ticket

MAIL_TEMPLATES = Path(__file__).resolve().parent / "templates" / "mail"
MAIL_SUBJECTS = {
    "fi": "Vastaus tukipyyntöösi {number}",
    "en": "Reply to your request {number}",
}
# The Rasa-side form that asks for a 1-5 rating and stores it on the ticket.
RATING_ACTION = "rating_form"


@dataclass(frozen=True)
class Agent:
    """Who acts: the signed-in user's username and first name."""

    username: str
    first_name: str


@dataclass
class Outcome:
    """The ticket after the action, and what the agent should know about it."""

    ticket: Ticket
    notices: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    delivery: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"notices": self.notices, "warnings": self.warnings, "delivery": self.delivery}


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _engine(app: Sanic):
    return app.ctx.engine


def _rasa(app: Sanic) -> RasaClient:
    return app.ctx.rasa


def _get(app: Sanic, number: str) -> Ticket:
    return _found(store.get_ticket(_engine(app), number), number)


def _found(ticket: Ticket | None, number: str) -> Ticket:
    if ticket is None:
        raise no_ticket(number)
    return ticket


def _text(value: Any, what: str) -> str:
    """An agent's text as stored and sent: cleaned like every text (`bot.inbound`)."""
    if value is not None and not isinstance(value, str):
        raise InvalidUsage(f"the {what} must be text")
    text = clean_text(value or "").strip()
    if not text:
        raise InvalidUsage(f"write the {what} first")
    if len(text) > MAX_TEXT:
        raise InvalidUsage(f"the {what} is longer than {MAX_TEXT} characters")
    return text


def record(app: Sanic, number: str, text: str) -> Ticket:
    """A system line on the transcript: what happened, for the next agent to read."""
    message = NewMessage(sender="system", text=text, sent_at=_now())
    ticket = _found(store.add_message(_engine(app), number, message), number)
    publish(app, "message", ticket, message=message_json(message))
    return ticket


def _handoff_data(ticket: Ticket, state: str, **extra: Any) -> dict[str, Any]:
    return {"state": state, "ticket_number": ticket.number, **extra}


# --- claim ---------------------------------------------------------------------------


async def claim(app: Sanic, agent: Agent, number: str, take_over: bool = False) -> Outcome:
    """Take the ticket; the customer's widget shows "<first name> from customer service joined"."""
    before = _get(app, number)
    ticket = _found(
        store.claim_ticket(
            _engine(app), number, agent.username, agent.first_name, _now(), take_over=take_over
        ),
        number,
    )
    publish(app, "updated", ticket)
    outcome = Outcome(ticket)
    if before.assignee == agent.username and before.status == "assigned":
        outcome.notices.append("You already hold this ticket.")
        return outcome
    pushed = await _rasa(app).push(
        ticket.conversation_id,
        "handoff",
        _handoff_data(ticket, "agent", agent_name=agent.first_name),
    )
    taken = f" from {before.assignee_name or before.assignee}" if before.assignee else ""
    if pushed.ok:
        seen = "sees" if pushed.delivered else "will see when they return to the chat"
        outcome.notices.append(f"You took {number}{taken}. The customer {seen} that you joined.")
        outcome.ticket = record(app, number, f"{agent.first_name} took the ticket{taken}.")
    else:
        outcome.warnings.append(
            f"You took {number}, but the customer's chat could not be told: {pushed.error}."
        )
        outcome.ticket = record(
            app,
            number,
            f"{agent.first_name} took the ticket{taken}. The chat could not be told "
            f"({pushed.error}).",
        )
    return outcome


# --- reply ---------------------------------------------------------------------------


async def reply(app: Sanic, agent: Agent, number: str, text: Any) -> Outcome:
    """Send an agent's reply: live in the chat, else by the customer's contact preference."""
    text = _text(text, "reply")
    ticket = _get(app, number)
    if ticket.status == "resolved":
        raise Conflict(f"{number} is resolved; reopen it to write to the customer")
    if ticket.assignee and ticket.assignee != agent.username:
        raise Conflict(
            f"{ticket.assignee_name or ticket.assignee} holds {number}; take it over first"
        )
    notices: list[str] = []
    claim_warnings: list[str] = []
    if ticket.assignee is None:
        claimed = await claim(app, agent, number)
        notices.extend(claimed.notices)
        claim_warnings.extend(claimed.warnings)
    message = NewMessage(sender="agent", text=text, sent_at=_now(), author=agent.first_name)
    added = store.append_message(_engine(app), number, message)
    if added is None:
        raise no_ticket(number)
    ticket, message_id = added.ticket, added.message_id
    pushed = await _rasa(app).push(
        ticket.conversation_id,
        "bot_uttered",
        {"text": text, "sender": "agent", "agent_name": agent.first_name},
    )
    delivery, notes, warnings, system = await _deliver_offline(app, ticket, agent, text, pushed)
    store.set_delivery(_engine(app), message_id, delivery)
    publish(app, "message", ticket, message=message_json(_with(message, delivery)))
    if system:
        ticket = record(app, number, system)
    else:
        ticket = _get(app, number)
    return Outcome(ticket, notices + notes, claim_warnings + warnings, delivery)


def _with(message: NewMessage, delivery: str) -> NewMessage:
    return NewMessage(message.sender, message.text, message.sent_at, message.author, delivery)


async def _deliver_offline(
    app: Sanic, ticket: Ticket, agent: Agent, text: str, pushed: RasaResult
) -> tuple[str, list[str], list[str], str]:
    """(delivery, notices, warnings, system line) for a reply the chat has or hasn't shown."""
    if pushed.ok and pushed.delivered:
        return "chat", ["Sent: the customer is in the chat."], [], ""
    if pushed.ok:
        where = "The customer is not in the chat now; the reply waits there for them"
    else:
        where = f"The chat could not be reached ({pushed.error})"
    method, address = ticket.contact_method, ticket.contact_address or ""
    if method == "email" and address:
        try:
            await send_reply_mail(app, ticket, agent, text)
        except MailError as error:
            return (
                "email_failed",
                [],
                [f"{where}, and the e-mail to {address} failed: {error}."],
                f"{where}. The e-mail to {address} could not be sent: {error}.",
            )
        return (
            "email",
            [f"{where}, so the reply also went by e-mail to {address}."],
            [],
            f"{where}. The reply was sent by e-mail to {address}.",
        )
    if method == "phone" and address:
        return (
            "call",
            [],
            [f"{where}. The customer asked for a phone call: call {address}."],
            f"{where}. The customer asked for a phone call: call {address}.",
        )
    if pushed.ok:
        return (
            "chat_later",
            [f"{where}: they'll see it when they come back."],
            [],
            f"{where}: it shows when they come back.",
        )
    return (
        "not_sent",
        [],
        [f"{where}: the customer has not seen this reply. Try again in a moment."],
        f"{where}: the customer has not seen the reply above.",
    )


@lru_cache(maxsize=1)
def _mail_templates() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(MAIL_TEMPLATES)),
        autoescape=False,  # plain text
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def reply_mail(ticket: Ticket, agent: Agent, text: str) -> tuple[str, str]:
    """(subject, body) of the e-mail, in the ticket's language."""
    language = ticket.language if ticket.language in MAIL_SUBJECTS else "fi"
    subject = MAIL_SUBJECTS[language].format(number=ticket.number)
    body = (
        _mail_templates()
        .get_template(f"reply_{language}.txt")
        .render(agent_name=agent.first_name, number=ticket.number, text=text)
    )
    return subject, body


async def send_reply_mail(app: Sanic, ticket: Ticket, agent: Agent, text: str) -> str:
    subject, body = reply_mail(ticket, agent, text)
    return await send_mail(
        app.ctx.settings,
        ticket.contact_address or "",
        subject,
        body,
        headers={"X-Ticket-Number": ticket.number, "Content-Language": ticket.language},
    )


# --- status --------------------------------------------------------------------------


async def set_waiting(app: Sanic, agent: Agent, number: str) -> Outcome:
    """Waiting for the customer: their next message brings it back to the assignee."""
    ticket = _found(
        store.set_status(
            _engine(app), number, "waiting_customer", _now(), allowed_from=("open", "assigned")
        ),
        number,
    )
    publish(app, "updated", ticket)
    ticket = record(app, number, f"{agent.first_name} is waiting for the customer's answer.")
    return Outcome(ticket, ["Waiting for the customer. Their next message brings it back."])


async def resolve(app: Sanic, agent: Agent, number: str) -> Outcome:
    """Resolved: the widget says so, the bot takes the conversation back and asks for a rating."""
    ticket = _found(
        store.set_status(
            _engine(app),
            number,
            "resolved",
            _now(),
            allowed_from=("open", "assigned", "waiting_customer"),
        ),
        number,
    )
    publish(app, "updated", ticket)
    outcome = Outcome(ticket)
    rasa = _rasa(app)
    steps: list[str] = []
    pushed = await rasa.push(ticket.conversation_id, "handoff", _handoff_data(ticket, "resolved"))
    if not pushed.ok:
        outcome.warnings.append(f"The customer's chat could not be told: {pushed.error}.")
        steps.append(f"the chat could not be told ({pushed.error})")
    resumed = await rasa.append_event(ticket.conversation_id, "resume")
    if resumed.ok:
        asked = await rasa.execute(ticket.conversation_id, RATING_ACTION)
        if asked.ok:
            steps.append("the bot has the conversation again and asked for a rating")
            outcome.notices.append(
                "Resolved. The bot has the conversation again and asked for a 1-5 rating."
            )
        else:
            steps.append(f"the bot is back, but the rating question failed ({asked.error})")
            outcome.warnings.append(
                f"Resolved and the bot is back, but the rating question failed: {asked.error}."
            )
    else:
        steps.append(f"the bot could not be resumed ({resumed.error})")
        outcome.warnings.append(
            f"Resolved, but the bot could not take the conversation back: {resumed.error}."
        )
    outcome.ticket = record(
        app, number, f"{agent.first_name} resolved the ticket; " + "; ".join(steps) + "."
    )
    return outcome


async def reopen(app: Sanic, agent: Agent, number: str) -> Outcome:
    """Back from resolved, held by the agent who reopened it; the bot pauses again."""
    engine = _engine(app)
    _found(store.set_status(engine, number, "open", _now(), allowed_from=("resolved",)), number)
    ticket = _found(
        store.claim_ticket(engine, number, agent.username, agent.first_name, _now(), True), number
    )
    publish(app, "updated", ticket)
    outcome = Outcome(ticket)
    rasa = _rasa(app)
    paused = await rasa.append_event(ticket.conversation_id, "pause")
    pushed = await rasa.push(
        ticket.conversation_id,
        "handoff",
        _handoff_data(ticket, "agent", agent_name=agent.first_name),
    )
    problems = list(dict.fromkeys(r.error for r in (paused, pushed) if not r.ok))
    if problems:
        outcome.warnings.append(
            "Reopened, but the chat could not be switched back to you: " + "; ".join(problems)
        )
    else:
        outcome.notices.append("Reopened. You hold it, and the bot is paused again.")
    outcome.ticket = record(
        app,
        number,
        f"{agent.first_name} reopened the ticket"
        + (f" ({'; '.join(problems)})." if problems else "; the bot is paused again."),
    )
    return outcome


# --- notes ---------------------------------------------------------------------------


async def add_note(app: Sanic, agent: Agent, number: str, text: Any) -> Outcome:
    """An internal note: only agents see it."""
    text = _text(text, "note")
    now = _now()
    ticket = _found(store.add_note(_engine(app), number, agent.first_name, text, now), number)
    publish(
        app, "note", ticket, note={"author": agent.first_name, "text": text, "created_at": iso(now)}
    )
    return Outcome(ticket, ["Note added."])


def call_needed(ticket: Ticket) -> bool:
    """The customer asked to be called and the latest reply could not reach them otherwise."""
    if ticket.status == "resolved" or ticket.contact_method != "phone":
        return False
    for message in reversed(ticket.transcript):
        if message.sender == "customer":
            return False
        if message.sender == "agent":
            return message.delivery == "call"
    return False
