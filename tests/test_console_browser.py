"""Agent and customer in two browsers against the whole stack (Rasa, actions, bot service).

The customer asks for a person in the chat widget and chooses this chat; the agent
(made with `python -m bot users add` against the stack's helpdesk database) signs
in, sees the ticket arrive without reloading, claims it and replies; the customer
sees the agent's name and the reply, answers, and the agent sees the answer live;
the agent resolves, the bot takes over again and asks the customer for a rating,
and the rating shows on the agent's page. Nothing is mocked. The console
screenshots in docs/ are taken here (UPDATE_SCREENSHOTS=1 refreshes them).
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import RunningStack
from console_helpers import add_user, ticket_body
from playwright.sync_api import Page, expect
from test_widget_browser import (  # noqa: F401 - fixtures used by name
    ANSWER_TIMEOUT_MS,
    Widget,
    browser,
    new_page,
)

from bot.db import create_engine, tickets

DOCS = Path(__file__).resolve().parent.parent / "docs"
SCRATCH = Widget.scratch
CONSOLE_VIEWPORT = {"width": 1280, "height": 860}


def screenshot(page: Page, name: str, full_page: bool = False) -> None:
    """Into docs/ when missing or with UPDATE_SCREENSHOTS=1, else beside the test's files."""
    page.wait_for_timeout(300)
    target = DOCS / name
    if target.exists() and os.environ.get("UPDATE_SCREENSHOTS") != "1":
        target = SCRATCH / name
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), full_page=full_page)


def sign_in(page: Page, base_url: str, username: str, password: str) -> None:
    page.goto(base_url + "/console")
    expect(page).to_have_url(re.compile(r"/console/login"))  # not signed in yet
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/console$"))
    expect(page.get_by_role("heading", name="Queue")).to_be_visible()


@pytest.fixture
def busy_queue(running_stack: RunningStack) -> Iterator[dict[str, str]]:
    """Other customers in the queue: one overdue, one about to breach, one held by Pekka.

    Filed through the API like the action server does; the due times are then set
    in the database (nothing else can make a ticket late). Resolved afterwards, so
    the stack's queue is as before for other tests.
    """
    stack = running_stack
    made = {}
    for name, overrides in {
        "overdue": {
            "reason": "dispute",
            "topic": "dispute_invoice",
            "invoice_number": "1002",
            "contact_method": "email",
            "contact_address": "maija.virtanen@example.com",
        },
        "soon": {
            "reason": "financial_difficulty",
            "topic": "financial_difficulty",
            "invoice_number": "1004",
            "contact_method": "phone",
            "contact_address": "+358 40 765 4321",
        },
        "held": {
            "reason": "policy",
            "topic": "request_due_date_extension",
            "language": "en",
            "invoice_number": "1005",
        },
    }.items():
        response = requests.post(
            stack.config.bot_url + "/api/tickets",
            json=ticket_body(**overrides),
            headers={"Authorization": f"Bearer {stack.helpdesk_token}"},
            timeout=10,
        )
        assert response.status_code == 201, response.text
        made[name] = response.json()["number"]
    engine = create_engine(stack.config.env["HELPDESK_DB_URL"])
    now = datetime.now(timezone.utc)
    changes = {
        "overdue": {"due_at": now - timedelta(minutes=25)},
        "soon": {"due_at": now + timedelta(minutes=18)},
        "held": {
            "due_at": now + timedelta(hours=2),
            "status": "assigned",
            "assignee": "pekka",
            "assignee_name": "Pekka",
            "claimed_at": now,
        },
    }
    try:
        with engine.begin() as conn:
            for name, values in changes.items():
                conn.execute(
                    tickets.update().where(tickets.c.number == made[name]).values(**values)
                )
        yield made
    finally:
        with engine.begin() as conn:
            conn.execute(
                tickets.update()
                .where(tickets.c.number.in_(list(made.values())))
                .values(status="resolved", resolved_at=datetime.now(timezone.utc))
            )
        engine.dispose()


def test_an_agent_takes_over_a_chat_live_and_hands_it_back_to_the_bot(
    running_stack: RunningStack,
    new_page: Any,  # noqa: F811 - the fixture imported above
    busy_queue: dict[str, str],
) -> None:
    stack = running_stack
    username = f"aino-{uuid.uuid4().hex[:6]}"
    password = add_user(stack.config.env["HELPDESK_DB_URL"], stack.helpdesk_token, username, "Aino")

    # The agent is at work, the queue open.
    agent = new_page(viewport=CONSOLE_VIEWPORT)
    try:
        story(stack, agent, new_page, busy_queue, username, password)
    except Exception:
        print("--- the agent's page:\n" + agent.locator("main").inner_text(timeout=2000))
        raise


def story(
    stack: RunningStack,
    agent: Page,
    new_page: Any,  # noqa: F811 - the fixture's factory
    busy_queue: dict[str, str],
    username: str,
    password: str,
) -> None:
    sign_in(agent, stack.config.bot_url, username, password)
    expect(agent.locator("#live-state")).to_contain_text("Live", timeout=10_000)

    # A customer asks for a person and chooses this chat.
    customer = new_page()
    customer.goto(stack.config.bot_url + "/en")
    widget = Widget(customer, "en")
    widget.open()
    widget.greeted("virtual assistant")
    customer.get_by_role("button", name="Talk to a person").click()
    widget.click_reply(re.compile("chat", re.IGNORECASE))
    expect(widget.banner).to_contain_text(re.compile(r"Ticket T-\d+"))
    number = re.search(r"T-\d+", widget.banner.inner_text()).group(0)

    # It appears in the agent's queue without a reload.
    row = agent.locator(f'tr[data-number="{number}"]')
    expect(row).to_be_visible(timeout=15_000)
    expect(row).to_contain_text("Asked for a person")
    expect(row).to_contain_text("EN")
    expect(row).to_contain_text("Waiting for an agent")
    expect(row).to_contain_text("left")
    # The others: the most urgent first, lateness said in words (not colour alone).
    numbers = agent.locator("#queue-rows tr").evaluate_all(
        "rows => rows.map(row => row.dataset.number)"
    )
    assert numbers.index(busy_queue["overdue"]) < numbers.index(busy_queue["soon"])
    assert numbers.index(busy_queue["soon"]) < numbers.index(number)
    expect(agent.locator(f'tr[data-number="{busy_queue["overdue"]}"]')).to_contain_text("overdue")
    expect(agent.locator(f'tr[data-number="{busy_queue["soon"]}"]')).to_contain_text(
        "about to breach"
    )
    expect(agent.locator(f'tr[data-number="{busy_queue["held"]}"]')).to_contain_text("Pekka")
    expect(agent.locator("#queue-summary")).to_contain_text("about to breach")
    screenshot(agent, "console-queue.png")

    row.get_by_role("link", name=number).click()
    expect(agent).to_have_url(re.compile(rf"/console/tickets/{number}$"))
    expect(agent.locator(".transcript")).to_contain_text("virtual assistant")  # the whole story
    expect(agent.locator(".handover-reason")).to_contain_text("asked to talk to a person")

    # Claim: the customer sees who joined.
    agent.get_by_role("button", name="Claim", exact=True).click()
    expect(agent.locator("#ticket-holder")).to_contain_text("held by you")
    expect(widget.banner).to_contain_text("Aino from customer service joined")

    # A canned reply in the customer's language, sent live.
    agent.get_by_role("button", name="Greeting", exact=True).click()
    reply_box = agent.get_by_label("Reply to the customer")
    expect(reply_box).to_have_value(re.compile(r"^Hi, I'm Aino from customer service"))
    agent.get_by_role("button", name="Send reply").click()
    expect(reply_box).to_have_value("")
    expect(widget.log).to_contain_text("Let's sort this out together", timeout=ANSWER_TIMEOUT_MS)
    expect(widget.log).to_contain_text("Aino")
    last_agent = agent.locator("#transcript .msg-agent").last
    expect(last_agent).to_contain_text("seen in the chat")

    # The customer answers; the agent sees it arrive.
    widget.say("Thanks! The amount on invoice 1001 looks wrong to me.")
    expect(agent.locator("#transcript .msg-customer").last).to_contain_text(
        "looks wrong to me", timeout=15_000
    )
    agent.get_by_label("Reply to the customer").fill("Thanks, I'm checking invoice 1001 now.")
    agent.get_by_label("Add a note").fill("Customer disputes the amount of 1001.")
    agent.get_by_role("button", name="Add note").click()
    expect(agent.locator("#notes")).to_contain_text("Customer disputes the amount of 1001.")
    screenshot(agent, "console-ticket.png", full_page=True)
    agent.get_by_role("button", name="Send reply").click()
    expect(widget.log).to_contain_text("I'm checking invoice 1001 now", timeout=ANSWER_TIMEOUT_MS)

    # Resolved: the bot is back and asks for a rating; the rating reaches the ticket.
    agent.get_by_role("button", name="Resolve", exact=True).click()
    expect(agent.locator("#ticket-status")).to_have_text("Resolved")
    expect(widget.banner).to_contain_text("Marked as resolved")
    widget.answer_contains("How would you rate our service")
    expect(agent.locator("#action-result")).to_contain_text("asked for a 1-5 rating")
    widget.click_reply("5")
    expect(agent.locator("#ticket-rating")).to_have_text("5 / 5", timeout=ANSWER_TIMEOUT_MS)

    # Back in the queue, the ticket is gone from the list.
    agent.get_by_role("link", name="Queue", exact=True).first.click()
    expect(agent.locator(f'tr[data-number="{number}"]')).to_have_count(0)
