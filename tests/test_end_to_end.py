"""The real stack (Rasa server, action server, helpdesk, outbox relay) over REST.

Starts everything the way `make run` does, on free ports with fresh SQLite
files, then talks to it like a customer would.
"""

from __future__ import annotations

import json
import secrets
import urllib.request
from datetime import datetime, timedelta
from typing import Any

from conftest import RunningStack

from actions.billing import SqlBillingBackend


def say(running_stack: RunningStack, sender: str, text: str) -> list[dict[str, Any]]:
    config = running_stack.config
    return post_json(
        f"{config.rasa_url}/webhooks/rest/webhook", {"sender": sender, "message": text}
    )


def texts(messages: list[dict[str, Any]]) -> str:
    return "\n".join(message.get("text", "") for message in messages)


def post_json(url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def get_json(url: str, headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def test_finnish_due_date_extension_for_invoice_1001(
    running_stack: RunningStack, fresh_demo_invoices: SqlBillingBackend
) -> None:
    sender = f"e2e-fi-{secrets.token_hex(4)}"
    billing = fresh_demo_invoices
    before = billing.find_invoice("1001")
    new_date = before.due_date + timedelta(days=10)

    first = say(running_stack, sender, "Voinko siirtää laskun 1001 eräpäivää?")
    assert "virtuaaliavustaja" in texts(first)  # greeted at once, in Finnish
    assert "viitenumero" in texts(first).lower()  # asks the reference, saying why

    asked_date = say(running_stack, sender, "viitenumero on 10016")
    assert before.due_date.strftime("%-d.%-m.%Y") in texts(asked_date)

    confirmation = say(running_stack, sender, new_date.strftime("%-d.%-m."))
    assert new_date.strftime("%-d.%-m.%Y") in texts(confirmation)
    assert any(message.get("buttons") for message in confirmation)

    done = say(running_stack, sender, "kyllä kiitos")
    assert new_date.strftime("%-d.%-m.%Y") in texts(done)

    after = billing.find_invoice("1001")
    assert after.due_date == new_date
    assert after.amount > before.amount  # the extension fee was added
    assert after.extension_count == before.extension_count + 1


def test_wrong_amount_ends_with_a_ticket_with_a_real_due_time(running_stack: RunningStack) -> None:
    config = running_stack.config
    sender = f"e2e-handoff-{secrets.token_hex(4)}"

    intro = say(running_stack, sender, "Laskussa on väärä summa")
    assert any(message.get("buttons") for message in intro)  # how to hear back

    asked_address = say(running_stack, sender, "sähköpostilla")
    assert "sähköpost" in texts(asked_address).lower()
    told = say(running_stack, sender, "matti.meikalainen@example.com")

    helpdesk = f"{config.bot_url}/api/tickets?conversation_id={sender}"
    token = config.env["HELPDESK_API_TOKEN"]
    tickets = get_json(helpdesk, {"Authorization": f"Bearer {token}"})["tickets"]
    assert len(tickets) == 1
    ticket = tickets[0]
    assert ticket["reason"] == "dispute"
    assert ticket["language"] == "fi"
    assert ticket["contact_method"] == "email"
    assert ticket["contact_address"] == "matti.meikalainen@example.com"
    assert any("väärä summa" in line["text"] for line in ticket["transcript"])
    due_at = datetime.fromisoformat(ticket["due_at"])
    assert due_at > datetime.fromisoformat(ticket["created_at"])
    assert ticket["number"] in texts(told)  # the customer is told the ticket number

    # The bot stepped aside: the conversation is paused for the person to take over.
    tracker = get_json(
        f"{config.rasa_url}/conversations/{sender}/tracker?token={config.rasa_token}"
    )
    assert tracker["paused"] is True


def test_an_out_of_scope_question_is_clarified_then_handed_to_a_person(
    running_stack: RunningStack,
) -> None:
    sender = f"e2e-oos-{secrets.token_hex(4)}"
    first = say(running_stack, sender, "what's the best pizza topping in naples?")
    assert any(message.get("buttons") for message in first)  # clarify with topics
    second = say(running_stack, sender, "who won the football world cup in 1998")
    assert "person" in texts(second).lower()
    assert any(message.get("buttons") for message in second)  # contact choice follows


def test_logs_have_no_action_server_errors(running_stack: RunningStack) -> None:
    actions_log = running_stack.logs / "actions.log"
    assert "Traceback" not in actions_log.read_text(errors="replace")
