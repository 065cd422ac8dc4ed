"""The agent console against the real bot service (`python -m bot serve`) on real SQLite.

Agents are made with the CLI (`python -m bot users add`) and sign in with the
form, like people do; every action goes through the console's JSON API with the
CSRF header (and once as a plain form). Rasa is a recording stand-in here
(`tests/console_helpers.FakeRasa`) so the exact calls are checked; the browser
test runs the same flow against the real Rasa.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import HelpdeskProcesses, HelpdeskServer, free_port
from console_helpers import FakeRasa, SignedIn, add_user, ticket_body

from bot.db import create_engine, tickets
from bot.tickets.queue import expected_wait_minutes

RASA_TOKEN = "rasa-token-for-the-test"


class Console:
    """The service, its database, the fake Rasa and a way to make signed-in agents."""

    def __init__(self, server: HelpdeskServer, db_url: str, rasa: FakeRasa) -> None:
        self.server = server
        self.db_url = db_url
        self.rasa = rasa
        self.engine = create_engine(db_url)
        self._agents = 0

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def agent(self, first_name: str = "Aino", role: str = "agent") -> SignedIn:
        self._agents += 1
        username = f"{first_name.lower()}{self._agents}"
        password = add_user(self.db_url, self.server.token, username, first_name, role)
        return SignedIn(self.base_url, username, password)

    def create(self, **overrides: Any) -> dict[str, Any]:
        response = requests.post(
            self.base_url + "/api/tickets",
            json=ticket_body(**overrides),
            headers={"Authorization": f"Bearer {self.server.token}"},
            timeout=10,
        )
        assert response.status_code == 201, response.text
        return response.json()

    def customer_says(self, number: str, text: str) -> dict[str, Any]:
        """What the widget channel does with a customer message during a handoff."""
        response = requests.post(
            f"{self.base_url}/api/tickets/{number}/messages",
            json={"sender": "customer", "text": text},
            headers={"Authorization": f"Bearer {self.server.token}"},
            timeout=10,
        )
        assert response.status_code == 201, response.text
        return response.json()

    def api_ticket(self, number: str) -> dict[str, Any]:
        return requests.get(
            f"{self.base_url}/api/tickets/{number}",
            headers={"Authorization": f"Bearer {self.server.token}"},
            timeout=10,
        ).json()

    def change(self, number: str, **values: Any) -> None:
        """Set columns directly (times the API never lets anyone set)."""
        with self.engine.begin() as conn:
            conn.execute(tickets.update().where(tickets.c.number == number).values(**values))

    def set_due(self, number: str, due_at: datetime) -> None:
        self.change(number, due_at=due_at)

    def resolve_all(self) -> None:
        """Empty the queue (tests that look at the whole queue start from nothing)."""
        with self.engine.begin() as conn:
            conn.execute(tickets.update().values(status="resolved"))


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    directory = tmp_path_factory.mktemp("console")
    rasa = FakeRasa()
    rasa_url = rasa.start()
    db_url = f"sqlite:///{directory / 'helpdesk.db'}"
    processes = HelpdeskProcesses(directory)
    server = processes.start(
        db_url=db_url,
        env={
            "RASA_URL": rasa_url,
            "RASA_TOKEN": RASA_TOKEN,
            # Nobody listens here: an e-mail that should go out fails visibly.
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(free_port()),
        },
    )
    console = Console(server, db_url, rasa)
    yield console
    processes.stop_all()
    rasa.stop()
    console.engine.dispose()


@pytest.fixture
def rasa(console: Console) -> FakeRasa:
    console.rasa.reset()
    return console.rasa


@pytest.fixture(scope="module")
def aino(console: Console) -> SignedIn:
    return console.agent("Aino")


@pytest.fixture(scope="module")
def pekka(console: Console) -> SignedIn:
    return console.agent("Pekka")


def system_lines(ticket: dict[str, Any]) -> list[str]:
    return [m["text"] for m in ticket["transcript"] if m["sender"] == "system"]


# --- the queue -----------------------------------------------------------------------------


def test_queue_lists_unresolved_tickets_by_due_time_and_flags_the_urgent_ones(
    console: Console, aino: SignedIn
) -> None:
    console.resolve_all()
    later = console.create(reason="customer_request", language="en", topic="request_human")
    breached = console.create(reason="dispute")
    soon = console.create(reason="financial_difficulty", topic="financial_difficulty")
    done = console.create()
    now = datetime.now(timezone.utc)
    console.set_due(later["number"], now + timedelta(hours=3))
    console.set_due(breached["number"], now - timedelta(minutes=20))
    console.set_due(soon["number"], now + timedelta(minutes=12))
    aino.api("resolve", done["number"])

    listed = aino.get("/console/api/queue").json()
    page = aino.get("/console")

    numbers = [t["number"] for t in listed["tickets"]]
    assert numbers == [breached["number"], soon["number"], later["number"]]
    first = listed["tickets"][0]
    assert first["reason"] == "dispute" and first["language"] == "fi"
    assert first["topic"] == "dispute_invoice" and first["assignee"] is None
    assert page.status_code == 200
    html = page.text
    assert html.index(breached["number"]) < html.index(soon["number"]) < html.index(later["number"])
    assert done["number"] not in html
    rows = {
        number: html[html.rindex("<tr", 0, html.index(f'data-number="{number}"')) :].split("</tr>")[
            0
        ]
        for number in numbers
    }
    assert "urgency-breached" in rows[breached["number"]] and "overdue" in rows[breached["number"]]
    assert "urgency-soon" in rows[soon["number"]] and "about to breach" in rows[soon["number"]]
    assert "urgency-ok" in rows[later["number"]]
    assert "Financial difficulty" in rows[soon["number"]]
    assert "1 overdue" in html and "1 about to breach" in html
    assert page.headers["Cache-Control"] == "no-store"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_console_pages_and_api_need_a_signed_in_agent(console: Console) -> None:
    page = requests.get(console.base_url + "/console", allow_redirects=False, timeout=10)
    api = requests.get(console.base_url + "/console/api/queue", timeout=10)
    events = requests.get(console.base_url + "/console/events", timeout=10)
    token_only = requests.get(
        console.base_url + "/console/api/queue",
        headers={"Authorization": f"Bearer {console.server.token}"},
        timeout=10,
    )

    assert page.status_code == 302 and page.headers["Location"].startswith("/console/login")
    assert api.status_code == events.status_code == token_only.status_code == 401


# --- claim -----------------------------------------------------------------------------------


def test_claim_makes_me_the_assignee_and_tells_the_widget_who_joined(
    console: Console, aino: SignedIn, rasa: FakeRasa
) -> None:
    ticket = console.create()

    response = aino.api("claim", ticket["number"])

    assert response.status_code == 200, response.text
    claimed = response.json()["ticket"]
    assert claimed["status"] == "assigned"
    assert claimed["assignee"] == aino.username and claimed["assignee_name"] == "Aino"
    assert claimed["held_by_me"] is True and claimed["claimed_at"]
    assert rasa.pushes(ticket["conversation_id"]) == [
        ("handoff", {"state": "agent", "agent_name": "Aino", "ticket_number": ticket["number"]})
    ]
    push = rasa.calls[0]
    assert push.headers["authorization"] == f"Bearer {console.server.token}"
    assert "Aino took the ticket." in system_lines(claimed)
    assert "sees that you joined" in response.json()["notices"][0]


def test_another_agent_must_take_over_explicitly(
    console: Console, aino: SignedIn, pekka: SignedIn, rasa: FakeRasa
) -> None:
    number = console.create()["number"]
    aino.api("claim", number)

    refused = pekka.api("claim", number)
    reply_refused = pekka.api("reply", number, text="Hei!")
    taken = pekka.api("claim", number, take_over=True)

    assert refused.status_code == reply_refused.status_code == 409
    assert "Aino" in refused.json()["error"]
    assert taken.status_code == 200
    assert taken.json()["ticket"]["assignee_name"] == "Pekka"
    assert "Pekka took the ticket from Aino." in system_lines(taken.json()["ticket"])
    assert (
        rasa.pushes(console.api_ticket(number)["conversation_id"])[-1][1]["agent_name"] == "Pekka"
    )


# --- reply -----------------------------------------------------------------------------------


def test_reply_reaches_a_customer_in_the_chat_live(
    console: Console, aino: SignedIn, rasa: FakeRasa
) -> None:
    ticket = console.create()

    response = aino.api("reply", ticket["number"], text="Hei! Katson laskuasi nyt.")

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["delivery"] == "chat" and body["warnings"] == []
    last = body["ticket"]["transcript"][-1]
    assert last["sender"] == "agent" and last["text"] == "Hei! Katson laskuasi nyt."
    assert last["author"] == "Aino" and last["delivery"] == "chat"
    # Not claimed before: replying claims it first, so the customer sees who writes.
    assert body["ticket"]["assignee"] == aino.username
    assert rasa.pushes(ticket["conversation_id"]) == [
        ("handoff", {"state": "agent", "agent_name": "Aino", "ticket_number": ticket["number"]}),
        (
            "bot_uttered",
            {"text": "Hei! Katson laskuasi nyt.", "sender": "agent", "agent_name": "Aino"},
        ),
    ]


def test_reply_to_a_chat_customer_who_left_waits_in_the_chat(
    console: Console, aino: SignedIn, rasa: FakeRasa
) -> None:
    number = console.create(contact_method="chat")["number"]
    aino.api("claim", number)
    rasa.reset(delivered=False)

    body = aino.api("reply", number, text="Löysin asian.").json()

    assert body["delivery"] == "chat_later"
    assert "they'll see it when they come back" in body["notices"][0]
    assert system_lines(body["ticket"])[-1].startswith("The customer is not in the chat now")


def test_reply_to_a_phone_customer_who_left_asks_the_agent_to_call(
    console: Console, aino: SignedIn, rasa: FakeRasa
) -> None:
    number = console.create(contact_method="phone", contact_address="+358 40 123 4567")["number"]
    aino.api("claim", number)
    rasa.reset(delivered=False)

    body = aino.api("reply", number, text="Soitan sinulle pian.").json()
    page = aino.get(f"/console/tickets/{number}").text

    assert body["delivery"] == "call"
    assert body["ticket"]["call_needed"] is True
    assert "call +358 40 123 4567" in body["warnings"][0]
    assert 'id="call-banner" role="alert">' in page  # shown, not hidden
    assert 'href="tel:+358401234567">Call +358 40 123 4567</a>' in page

    console.customer_says(number, "Olen taas täällä")
    assert console.api_ticket(number)["transcript"][-1]["sender"] == "customer"
    assert aino.get(f"/console/api/tickets/{number}").json()["call_needed"] is False


def test_reply_when_rasa_is_down_says_the_customer_has_not_seen_it(
    console: Console, aino: SignedIn, rasa: FakeRasa
) -> None:
    number = console.create(contact_method="chat")["number"]
    rasa.reset(fail_with=503)

    body = aino.api("reply", number, text="Hei!").json()

    assert body["delivery"] == "not_sent"
    assert "has not seen this reply" in body["warnings"][-1]
    assert "503" in body["warnings"][-1]
    assert body["ticket"]["transcript"][-2]["delivery"] == "not_sent"


def test_reply_text_is_checked(console: Console, aino: SignedIn, rasa: FakeRasa) -> None:
    number = console.create()["number"]

    empty = aino.api("reply", number, text="   ")
    too_long = aino.api("reply", number, text="x" * 5001)
    missing = aino.api("reply", "T-99999", text="Hei")

    assert empty.status_code == too_long.status_code == 400
    assert "write the reply" in empty.json()["error"]
    assert missing.status_code == 404
    assert rasa.calls == []


# --- waiting, resolve, reopen ----------------------------------------------------------------


def test_waiting_for_the_customer_until_they_answer(
    console: Console, aino: SignedIn, rasa: FakeRasa
) -> None:
    number = console.create()["number"]
    aino.api("claim", number)

    waiting = aino.api("waiting", number)
    answered = console.customer_says(number, "Tässä viitenumero: 10016")

    assert waiting.status_code == 200
    assert waiting.json()["ticket"]["status"] == "waiting_customer"
    assert answered["status"] == "assigned" and answered["assignee"] == aino.username


def test_resolve_gives_the_conversation_back_to_the_bot_and_asks_for_a_rating(
    console: Console, aino: SignedIn, rasa: FakeRasa
) -> None:
    ticket = console.create()
    number, conversation = ticket["number"], ticket["conversation_id"]
    aino.api("claim", number)
    rasa.reset()

    response = aino.api("resolve", number)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ticket"]["status"] == "resolved" and body["ticket"]["resolved_at"]
    assert body["warnings"] == []
    assert [(call.path, call.body) for call in rasa.calls] == [
        (
            "/webhooks/widget/push",
            {
                "conversation_id": conversation,
                "event": "handoff",
                "data": {"state": "resolved", "ticket_number": number},
            },
        ),
        (f"/conversations/{conversation}/tracker/events", [{"event": "resume"}]),
        (f"/conversations/{conversation}/execute", {"name": "rating_form"}),
    ]
    assert rasa.calls[1].query == {"token": [RASA_TOKEN]}
    assert rasa.calls[2].query == {"token": [RASA_TOKEN], "output_channel": ["widget"]}
    assert "asked for a rating" in system_lines(body["ticket"])[-1]

    # The rating form stores the customer's answer through the ticket API.
    rated = requests.patch(
        f"{console.base_url}/api/tickets/{number}",
        json={"rating": 5},
        headers={"Authorization": f"Bearer {console.server.token}"},
        timeout=10,
    )
    assert rated.json()["rating"] == 5
    assert aino.api("resolve", number).status_code == 409  # already resolved
    assert aino.api("reply", number, text="Hei").status_code == 409


def test_reopen_brings_it_back_to_me_and_pauses_the_bot(
    console: Console, aino: SignedIn, pekka: SignedIn, rasa: FakeRasa
) -> None:
    ticket = console.create()
    number, conversation = ticket["number"], ticket["conversation_id"]
    aino.api("resolve", number)
    rasa.reset()

    response = pekka.api("reopen", number)

    body = response.json()
    assert response.status_code == 200
    assert body["ticket"]["status"] == "assigned"
    assert body["ticket"]["assignee_name"] == "Pekka" and body["ticket"]["resolved_at"] is None
    assert [(call.path, call.body) for call in rasa.calls] == [
        (f"/conversations/{conversation}/tracker/events", [{"event": "pause"}]),
        (
            "/webhooks/widget/push",
            {
                "conversation_id": conversation,
                "event": "handoff",
                "data": {"state": "agent", "agent_name": "Pekka", "ticket_number": number},
            },
        ),
    ]
    assert pekka.api("reopen", number).status_code == 409  # not resolved any more


def test_resolve_when_rasa_is_down_still_resolves_and_says_what_failed(
    console: Console, aino: SignedIn, rasa: FakeRasa
) -> None:
    number = console.create()["number"]
    rasa.reset(fail_with=500)

    body = aino.api("resolve", number).json()

    assert body["ticket"]["status"] == "resolved"
    assert any("could not take the conversation back" in w for w in body["warnings"])
    assert "the bot could not be resumed" in system_lines(body["ticket"])[-1]


# --- notes, canned replies, forms ------------------------------------------------------------


def test_internal_notes_are_kept_apart_from_the_transcript(
    console: Console, aino: SignedIn, rasa: FakeRasa
) -> None:
    number = console.create()["number"]

    response = aino.api("notes", number, text="Asiakas soitti myös puhelimeen.")
    page = aino.get(f"/console/tickets/{number}").text

    assert response.status_code == 201
    notes = response.json()["ticket"]["notes"]
    assert [(n["author"], n["text"]) for n in notes] == [
        ("Aino", "Asiakas soitti myös puhelimeen.")
    ]
    assert all("puhelimeen" not in m["text"] for m in response.json()["ticket"]["transcript"])
    assert "Asiakas soitti myös puhelimeen." in page
    assert rasa.calls == []  # the customer never hears of notes


def test_canned_replies_come_in_the_tickets_language(console: Console, aino: SignedIn) -> None:
    finnish = console.create(language="fi", invoice_number="1004")["number"]
    english = console.create(language="en", invoice_number=None)["number"]

    everything = aino.get("/console/api/canned-replies").json()["replies"]
    fi = aino.get(f"/console/api/canned-replies?ticket={finnish}").json()
    en = aino.get(f"/console/api/canned-replies?ticket={english}").json()

    ids = [reply["id"] for reply in everything]
    for wanted in ("greeting", "due_date_moved", "payment_plan", "payment_received"):
        assert wanted in ids
    assert "anything_else" in ids
    assert all(set(reply["texts"]) == {"fi", "en"} for reply in everything)
    texts_fi = {r["id"]: r["text"] for r in fi["replies"]}
    texts_en = {r["id"]: r["text"] for r in en["replies"]}
    assert fi["language"] == "fi" and en["language"] == "en"
    assert texts_fi["greeting"].startswith("Hei, olen Aino asiakaspalvelusta")
    assert texts_en["greeting"].startswith("Hi, I'm Aino from customer service")
    assert "laskun 1004" in texts_fi["due_date_moved"]
    assert "[invoice number]" in texts_en["due_date_moved"]  # no invoice: the agent fills it in
    assert texts_en["anything_else"] == "Is there anything else I can help you with?"
    for text in [*texts_fi.values(), *texts_en.values()]:  # thank, don't apologise
        assert "sorry" not in text.lower() and "pahoittel" not in text.lower()
    page = aino.get(f"/console/tickets/{finnish}").text
    assert 'data-canned-id="greeting"' in page and "Hei, olen Aino asiakaspalvelusta" in page


def test_plain_forms_work_without_javascript(
    console: Console, aino: SignedIn, rasa: FakeRasa
) -> None:
    number = console.create()["number"]

    claimed = aino.form("claim", number)
    replied = aino.form("reply", number, text="Hei lomakkeelta!")
    page = aino.get(f"/console/tickets/{number}?done=reply")

    assert claimed.status_code == replied.status_code == 303
    assert claimed.headers["Location"] == f"/console/tickets/{number}?done=claim"
    assert "Hei lomakkeelta!" in page.text and "Reply saved." in page.text
    without_token = aino.session.post(
        f"{console.base_url}/console/tickets/{number}/resolve", allow_redirects=False, timeout=10
    )
    api_without_token = aino.session.post(
        f"{console.base_url}/console/api/tickets/{number}/resolve", json={}, timeout=10
    )
    assert without_token.status_code == api_without_token.status_code == 403
    assert console.api_ticket(number)["status"] == "assigned"


def test_customer_text_is_shown_as_text(console: Console, aino: SignedIn) -> None:
    number = console.create(
        transcript=[{"sender": "customer", "text": '<img src=x onerror="alert(1)">Hei'}]
    )["number"]

    page = aino.get(f"/console/tickets/{number}").text

    assert '<img src=x onerror="alert(1)">' not in page
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;Hei" in page


# --- live updates ----------------------------------------------------------------------------


def read_events(response: requests.Response, into: queue.Queue) -> None:
    event = None
    try:
        for line in response.iter_lines(decode_unicode=True):
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event == "ticket":
                into.put(json.loads(line.split(":", 1)[1]))
            elif line.startswith(":"):
                into.put({"comment": line[1:].strip()})
    except Exception:  # noqa: BLE001 - the test closed the stream under the reader
        pass


def test_the_event_stream_tells_of_new_tickets_messages_and_changes(
    console: Console, aino: SignedIn, rasa: FakeRasa
) -> None:
    listener = requests.Session()  # its own connection, left open: the server ends it on stop
    listener.cookies.update(aino.session.cookies)
    stream = listener.get(console.base_url + "/console/events", stream=True, timeout=30)
    assert stream.status_code == 200
    assert stream.headers["Content-Type"].startswith("text/event-stream")
    received: queue.Queue = queue.Queue()
    threading.Thread(target=read_events, args=(stream, received), daemon=True).start()
    assert received.get(timeout=10) == {"comment": "connected"}

    ticket = console.create(reason="policy", language="en")
    console.customer_says(ticket["number"], "Are you there?")
    aino.api("notes", ticket["number"], text="Checked the invoice.")

    events = [received.get(timeout=10) for _ in range(3)]
    created, message, note = events
    assert created["kind"] == "created" and created["number"] == ticket["number"]
    assert created["ticket"]["reason"] == "policy" and created["ticket"]["language"] == "en"
    assert created["ticket"]["status"] == "open"
    assert message["kind"] == "message"
    assert message["message"]["sender"] == "customer"
    assert message["message"]["text"] == "Are you there?"
    assert note["kind"] == "note" and note["note"]["text"] == "Checked the invoice."


# --- queue position and wait estimate --------------------------------------------------------


def test_expected_wait_is_the_median_handling_time_times_position_over_agents() -> None:
    assert expected_wait_minutes(3, 10.0, 2) == 15
    assert expected_wait_minutes(1, 0.2, 1) == 1  # never "0 minutes"
    assert expected_wait_minutes(2, 10.0, 0) is None  # nobody online: no promise
    assert expected_wait_minutes(2, None, 3) is None  # no history: no promise
    assert expected_wait_minutes(None, 10.0, 3) is None  # not in the queue


def test_tickets_carry_their_queue_position_and_an_honest_wait(
    start_helpdesk: Any, tmp_path: Path
) -> None:
    db_url = f"sqlite:///{tmp_path / 'queue.db'}"
    server = start_helpdesk(db_url=db_url, env={"RASA_URL": f"http://127.0.0.1:{free_port()}"})
    console = Console(server, db_url, FakeRasa())
    try:
        first = console.create()
        assert first["queue_position"] == 1
        assert first["agents_online"] == 0 and first["expected_wait_minutes"] is None

        agent = console.agent("Aino")
        agent.get("/console")  # an agent at work counts as online
        second = console.create()
        assert second["queue_position"] == 2 and second["agents_online"] == 1
        assert second["expected_wait_minutes"] is None  # nothing claimed yet: no history

        agent.api("claim", first["number"])
        now = datetime.now(timezone.utc)  # it took 12 minutes to pick up
        console.change(
            first["number"],
            created_at=now - timedelta(minutes=13),
            claimed_at=now - timedelta(minutes=1),
        )
        third = console.create()
        assert third["queue_position"] == 2  # the claimed one left the queue
        assert third["agents_online"] == 1
        assert third["expected_wait_minutes"] == 24  # 12 min x position 2 / 1 agent
        shown = console.api_ticket(second["number"])
        assert shown["queue_position"] == 1 and shown["expected_wait_minutes"] == 12

        # Served by due time: a ticket due earlier goes first whatever its age.
        console.set_due(third["number"], datetime.now(timezone.utc) - timedelta(minutes=5))
        assert console.api_ticket(third["number"])["queue_position"] == 1
        assert console.api_ticket(second["number"])["queue_position"] == 2
    finally:
        console.engine.dispose()
