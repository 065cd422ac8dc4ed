"""Routes of the agent console (signed-in agents and admins only).

Pages (server-rendered, extend staff_base.html; plain forms work without script):
    GET  /console                         the queue, most urgent first
    GET  /console/tickets/<number>        one ticket: transcript, details, actions, notes
    POST /console/tickets/<number>/<action>  the same actions as plain forms (303 back)
Live updates:
    GET  /console/events                  server-sent events: `event: ticket` per change,
                                          a `: heartbeat` comment every 15 s
JSON (what the page scripts call; every POST carries X-CSRF-Token):
    GET  /console/api/queue
    GET  /console/api/tickets/<number>
    POST /console/api/tickets/<number>/claim      {take_over?: bool}
    POST /console/api/tickets/<number>/reply      {text}
    POST /console/api/tickets/<number>/waiting
    POST /console/api/tickets/<number>/resolve
    POST /console/api/tickets/<number>/reopen
    POST /console/api/tickets/<number>/notes      {text}
    GET  /console/api/canned-replies[?ticket=<number>]
Assets (signed-in only): /console/static/console.js, /console/static/console.css
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from functools import wraps
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from sanic import Blueprint
from sanic.exceptions import NotFound, SanicException
from sanic.request import Request
from sanic.response import HTTPResponse, json, redirect

from bot.accounts.guard import require_user
from bot.accounts.web import render_staff, staff_asset, staff_templates
from bot.console import canned, workflow
from bot.console.workflow import Agent, Outcome
from bot.inbound import clean_text, loads_json
from bot.tickets import store
from bot.tickets.api import snapshot, summary_json, ticket_json
from bot.tickets.live import Closed, sse_format
from bot.tickets.store import ACTIVE_STATUSES, Conflict, Ticket
from bot.tickets.validation import no_ticket, shown_number

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

ASSETS = {
    "console.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
}
HEARTBEAT_SECONDS = 15.0
RECONNECT_MS = 3000
QUEUE_LIMIT = 200
DUE_SOON_MINUTES = 30

REASONS = {
    "customer_request": ("Asked for a person", "The customer asked to talk to a person."),
    "dispute": ("Dispute", "The customer disputes an invoice; the bot never handles disputes."),
    "fallback": ("Not understood", "The bot misunderstood the customer twice in a row."),
    "policy": ("Rule stopped the bot", "A billing rule stopped the bot from doing this itself."),
    "form_failure": (
        "Details not accepted",
        "A detail the bot asked for was rejected three times.",
    ),
    "financial_difficulty": (
        "Financial difficulty",
        "The customer said they cannot pay; a person looks at the options with them.",
    ),
}
STATUSES = {
    "open": "Waiting for an agent",
    "assigned": "Assigned",
    "waiting_customer": "Waiting for the customer",
    "resolved": "Resolved",
}
LANGUAGE_NAMES = {"fi": "Finnish", "en": "English"}
CONTACT_METHODS = {"chat": "This chat", "email": "E-mail", "phone": "Phone"}
DELIVERIES = {
    "chat": "seen in the chat",
    "chat_later": "waits in the chat",
    "email": "sent by e-mail",
    "email_failed": "e-mail failed",
    "call": "call the customer",
    "not_sent": "not delivered",
}
SENDERS = {"customer": "Customer", "bot": "Bot", "agent": "Agent", "system": "System"}
ACTIONS = ("claim", "take-over", "reply", "waiting", "resolve", "reopen", "notes")
DONE = {
    "claim": "You took the ticket.",
    "take-over": "You took the ticket.",
    "reply": "Reply saved. How it reached the customer is in the conversation.",
    "waiting": "Waiting for the customer.",
    "resolve": "Resolved. What happened with the chat is in the conversation.",
    "reopen": "Reopened; you hold it.",
    "notes": "Note added.",
}

# What a plain form's redirect may say went wrong (codes, so a link cannot put
# arbitrary text on an agent's screen).
FORM_ERRORS = {
    "state": (
        "That didn't fit the ticket as it is now (another agent may have changed it, or "
        "it is resolved). Here is its current state."
    ),
    "input": "Nothing was sent: write the text first (at most 5000 characters).",
}

Handler = Callable[..., Awaitable[HTTPResponse]]


def agent_only(handler: Handler, api: bool = False) -> Handler:
    """require_user("agent") plus: the agent counts as online (the wait estimate)."""

    @wraps(handler)
    async def seen(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
        request.app.ctx.live.seen(request.ctx.user.username)
        return await handler(request, *args, **kwargs)

    return require_user("agent", api=api)(seen)


def agent_api(handler: Handler) -> Handler:
    """`agent_only` that always answers 401 JSON (scripts, EventSource), never a redirect."""
    return agent_only(handler, api=True)


def agent_of(request: Request) -> Agent:
    user = request.ctx.user
    return Agent(username=user.username, first_name=user.first_name)


def _now() -> datetime:
    return datetime.now(timezone.utc)


# --- presentation helpers (pages and JSON share them) ----------------------------------


class Clock:
    """Times as agents read them, in the service's time zone (TIMEZONE)."""

    def __init__(self, zone: str, now: datetime) -> None:
        self.zone = ZoneInfo(zone)
        self.now = now

    def time(self, moment: datetime | None) -> str:
        if moment is None:
            return ""
        local = moment.astimezone(self.zone)
        today = self.now.astimezone(self.zone).date()
        clock = f"{local.hour:02d}.{local.minute:02d}"
        if local.date() == today:
            return clock
        return f"{local.day}.{local.month}.{local.year} {clock}"

    def time_left(self, due: datetime) -> tuple[str, str]:
        """(text, urgency): urgency is breached, soon (within 30 min) or ok."""
        minutes = int((due - self.now).total_seconds() // 60)
        if minutes < 0:
            return f"{_duration(-minutes)} past due", "breached"
        if minutes < DUE_SOON_MINUTES:
            return f"{_duration(minutes)} left", "soon"
        return f"{_duration(minutes)} left", "ok"


def _duration(minutes: int) -> str:
    if minutes < 60:
        return f"{max(minutes, 0)} min"
    hours, rest = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def labels() -> dict[str, Any]:
    """The texts the page scripts need (so JS and templates say the same)."""
    return {
        "reasons": {key: short for key, (short, _) in REASONS.items()},
        "statuses": STATUSES,
        "languages": LANGUAGE_NAMES,
        "deliveries": DELIVERIES,
        "senders": SENDERS,
        "contact_methods": CONTACT_METHODS,
        "due_soon_minutes": DUE_SOON_MINUTES,
    }


def queue_tickets(request: Request) -> list[Ticket]:
    return store.list_tickets(request.app.ctx.engine, statuses=ACTIVE_STATUSES, limit=QUEUE_LIMIT)


def queue_json(request: Request) -> dict[str, Any]:
    now = _now()
    found = queue_tickets(request)
    queue = snapshot(request.app, now)
    return {
        "now": now.isoformat(),
        "agents_online": queue.agents_online,
        "tickets": [summary_json(t) for t in found],
    }


def console_ticket_json(request: Request, ticket: Ticket) -> dict[str, Any]:
    """The API's ticket plus what the console page shows beside it."""
    body = ticket_json(ticket, snapshot(request.app, _now()))
    body["call_needed"] = workflow.call_needed(ticket)
    body["held_by_me"] = ticket.assignee == request.ctx.user.username
    return body


# --- blueprint -------------------------------------------------------------------------


def console_blueprint() -> Blueprint:
    """A new blueprint per app, so several apps can live in one process (tests)."""
    blueprint = Blueprint("console")
    environment = staff_templates(str(TEMPLATES))

    def page(request: Request, template: str, status: int = 200, **context: Any) -> HTTPResponse:
        settings = request.app.ctx.settings
        return render_staff(
            request,
            template,
            status=status,
            environment=environment,
            timezone=settings.timezone,
            labels=labels(),
            **context,
        )

    # --- pages ------------------------------------------------------------------

    @blueprint.get("/console")
    @agent_only
    async def queue_page(request: Request) -> HTTPResponse:
        now = _now()
        clock = Clock(request.app.ctx.settings.timezone, now)
        tickets = queue_tickets(request)
        rows = []
        for ticket in tickets:
            left, urgency = clock.time_left(ticket.due_at)
            rows.append({"ticket": ticket, "left": left, "urgency": urgency})
        queue = snapshot(request.app, now)
        return page(
            request,
            "queue.html",
            rows=rows,
            clock=clock,
            reasons=REASONS,
            agents_online=queue.agents_online,
            breached=sum(1 for row in rows if row["urgency"] == "breached"),
            soon=sum(1 for row in rows if row["urgency"] == "soon"),
        )

    @blueprint.get("/console/tickets/<number>")
    @agent_only
    async def ticket_page(request: Request, number: str) -> HTTPResponse:
        ticket = store.get_ticket(request.app.ctx.engine, number)
        if ticket is None:
            return page(
                request,
                "denied.html",
                status=404,
                message=(
                    f"There is no ticket {shown_number(number)}. It may have a different number."
                ),
            )
        now = _now()
        clock = Clock(request.app.ctx.settings.timezone, now)
        user = request.ctx.user
        left, urgency = clock.time_left(ticket.due_at)
        done = request.args.get("done", "")
        return page(
            request,
            "ticket.html",
            ticket=ticket,
            clock=clock,
            left=left,
            urgency=urgency,
            reason=REASONS.get(ticket.reason, (ticket.reason, "")),
            held_by_me=ticket.assignee == user.username,
            call_needed=workflow.call_needed(ticket),
            canned=canned.replies_for(ticket, user.first_name),
            done=DONE.get(done, ""),
            error=FORM_ERRORS.get(request.args.get("error", ""), ""),
        )

    @blueprint.post("/console/tickets/<number>/<action>")
    @agent_only
    async def form_action(request: Request, number: str, action: str) -> HTTPResponse:
        if action not in ACTIONS:
            raise NotFound(f"no action {clean_text(action)[:40]}")
        target = f"/console/tickets/{quote(number)}"
        try:
            await run_action(
                request, number, action, {k: request.form.get(k) for k in request.form}
            )
        except Conflict:
            return redirect(f"{target}?error=state", status=303)
        except NotFound:
            raise
        except SanicException:
            return redirect(f"{target}?error=input", status=303)
        anchor = "#reply" if action == "reply" else ""
        return redirect(f"{target}?done={action}{anchor}", status=303)

    # --- live -------------------------------------------------------------------

    @blueprint.get("/console/events")
    @agent_api
    async def events(request: Request) -> HTTPResponse | None:
        hub = request.app.ctx.live
        subscription = hub.subscribe(request.ctx.user.username)
        try:
            response = await request.respond(
                content_type="text/event-stream; charset=utf-8",
                headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
            )
            await response.send(f"retry: {RECONNECT_MS}\n: connected\n\n")
            while True:
                event = await subscription.next(HEARTBEAT_SECONDS)
                if isinstance(event, Closed):
                    break
                if event is None:
                    await response.send(": heartbeat\n\n")
                    continue
                await response.send(sse_format(event))
            await response.eof()
        finally:
            hub.unsubscribe(subscription)
        return None

    # --- JSON -------------------------------------------------------------------

    @blueprint.get("/console/api/queue")
    @agent_api
    async def api_queue(request: Request) -> HTTPResponse:
        return json(queue_json(request), headers={"Cache-Control": "no-store"})

    @blueprint.get("/console/api/tickets/<number>")
    @agent_api
    async def api_ticket(request: Request, number: str) -> HTTPResponse:
        ticket = store.get_ticket(request.app.ctx.engine, number)
        if ticket is None:
            raise no_ticket(number)
        return json(console_ticket_json(request, ticket), headers={"Cache-Control": "no-store"})

    @blueprint.post("/console/api/tickets/<number>/<action>")
    @agent_api
    async def api_action(request: Request, number: str, action: str) -> HTTPResponse:
        if action not in ACTIONS:
            raise NotFound(f"no action {clean_text(action)[:40]}")
        # No body is fine (claim, resolve...); one that isn't a JSON object is a 400.
        body = loads_json(request.body) if request.body else {}
        if not isinstance(body, dict):
            return json({"error": "the body must be a JSON object"}, status=400)
        try:
            outcome = await run_action(request, number, action, body)
        except Conflict as error:
            return json({"error": str(error)}, status=409)
        except SanicException as error:
            return json({"error": str(error)}, status=getattr(error, "status_code", 400) or 400)
        return json(
            {**outcome.as_json(), "ticket": console_ticket_json(request, outcome.ticket)},
            status=201 if action in ("reply", "notes") else 200,
        )

    @blueprint.get("/console/api/canned-replies")
    @agent_api
    async def api_canned(request: Request) -> HTTPResponse:
        number = clean_text(request.args.get("ticket") or "")
        if number:
            ticket = store.get_ticket(request.app.ctx.engine, number)
            if ticket is None:
                raise no_ticket(number)
            return json(
                {
                    "language": ticket.language,
                    "replies": canned.replies_for(ticket, request.ctx.user.first_name),
                }
            )
        return json({"replies": canned.all_replies()})

    # The console's own script and stylesheet, for signed-in staff only like every
    # console route (no route of the app is public unless it has to be).
    @blueprint.get("/console/static/<name>")
    @agent_only
    async def asset(request: Request, name: str) -> HTTPResponse:
        return await staff_asset(STATIC, ASSETS, name)

    return blueprint


async def run_action(request: Request, number: str, action: str, body: dict[str, Any]) -> Outcome:
    agent = agent_of(request)
    app = request.app
    if action in ("claim", "take-over"):
        take_over = action == "take-over" or body.get("take_over") in (True, "1", "true")
        return await workflow.claim(app, agent, number, take_over=take_over)
    if action == "reply":
        return await workflow.reply(app, agent, number, body.get("text"))
    if action == "waiting":
        return await workflow.set_waiting(app, agent, number)
    if action == "resolve":
        return await workflow.resolve(app, agent, number)
    if action == "reopen":
        return await workflow.reopen(app, agent, number)
    return await workflow.add_note(app, agent, number, body.get("text"))
