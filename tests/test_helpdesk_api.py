"""The helpdesk HTTP API, exercised against the real server process."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

from bot.db import create_engine
from bot.migrations import upgrade

if TYPE_CHECKING:
    from tests.conftest import HelpdeskApi, HelpdeskServer

REPO = Path(__file__).resolve().parent.parent

PROTECTED_ROUTES = [
    ("GET", "/api/tickets"),
    ("POST", "/api/tickets"),
    ("GET", "/api/tickets/T-00001"),
    ("PATCH", "/api/tickets/T-00001"),
    ("POST", "/api/tickets/T-00001/messages"),
    ("POST", "/api/tickets/T-00001/notes"),
    ("POST", "/api/feedback"),
    ("GET", "/api/service-hours"),
]


def ticket_body(**overrides: object) -> dict:
    body = {
        "request_id": uuid.uuid4().hex,
        "conversation_id": "conv-" + uuid.uuid4().hex[:8],
        "reason": "dispute",
        "topic": "dispute_invoice",
        "language": "fi",
        "invoice_number": "1001",
        "contact_method": "email",
        "contact_address": "asiakas@example.com",
        "transcript": [
            {
                "sender": "customer",
                "text": "Lasku on väärin",
                "sent_at": "2024-05-02T09:00:00+03:00",
            },
            {
                "sender": "bot",
                "text": "Tuon asian eteenpäin.",
                "sent_at": "2024-05-02T09:00:01+03:00",
            },
        ],
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not ...}


def create(api: HelpdeskApi, **overrides: object) -> dict:
    response = api.post("/api/tickets", json=ticket_body(**overrides))
    assert response.status_code == 201, response.text
    return response.json()


def aware(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    assert parsed.utcoffset() is not None, text
    return parsed


# --- health and auth ---------------------------------------------------------


def test_health_needs_no_token(shared_helpdesk_api: HelpdeskApi) -> None:
    response = shared_helpdesk_api.get("/health", token=None)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize("method,path", PROTECTED_ROUTES)
@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_every_api_route_needs_the_token(
    shared_helpdesk_api: HelpdeskApi, method: str, path: str, token: str | None
) -> None:
    response = shared_helpdesk_api.call(method, path, token=token, json=ticket_body())
    assert response.status_code == 401
    assert "token" in response.json()["error"]
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_token_must_be_a_bearer_token(
    shared_helpdesk_api: HelpdeskApi, shared_helpdesk_server: HelpdeskServer
) -> None:
    response = shared_helpdesk_api.get(
        "/api/tickets", token=None, headers={"Authorization": shared_helpdesk_server.token}
    )
    assert response.status_code == 401


def test_unknown_api_path_is_a_json_404(shared_helpdesk_api: HelpdeskApi) -> None:
    response = shared_helpdesk_api.get("/api/nothing-here")
    assert response.status_code == 404
    assert "error" in response.json()


# --- create ------------------------------------------------------------------


def test_create_ticket(helpdesk_api: HelpdeskApi) -> None:
    body = ticket_body(priority="high")
    response = helpdesk_api.post("/api/tickets", json=body)

    assert response.status_code == 201
    ticket = response.json()
    assert ticket["number"] == "T-00001"
    assert ticket["status"] == "open"
    assert ticket["queue_position"] == 1
    for field in (
        "reason",
        "topic",
        "language",
        "invoice_number",
        "contact_method",
        "contact_address",
        "priority",
        "conversation_id",
    ):
        assert ticket[field] == body[field]
    assert ticket["assignee"] is None and ticket["resolved_at"] is None and ticket["rating"] is None
    assert aware(ticket["due_at"]) > aware(ticket["created_at"])
    assert aware(ticket["updated_at"]) == aware(ticket["created_at"])
    assert ticket["transcript"] == [
        {"sender": "customer", "text": "Lasku on väärin", "sent_at": "2024-05-02T06:00:00+00:00"},
        {"sender": "bot", "text": "Tuon asian eteenpäin.", "sent_at": "2024-05-02T06:00:01+00:00"},
    ]
    assert ticket["notes"] == []
    assert helpdesk_api.get("/api/tickets/T-00001").json() == ticket


def test_create_accepts_minimal_chat_ticket_and_unix_timestamps(
    shared_helpdesk_api: HelpdeskApi,
) -> None:
    ticket = create(
        shared_helpdesk_api,
        contact_method="chat",
        contact_address=...,
        invoice_number=...,
        transcript=[{"sender": "customer", "text": "ihminen kiitos", "sent_at": 1714629600.5}],
    )
    assert ticket["priority"] == "normal"
    assert ticket["contact_address"] is None and ticket["invoice_number"] is None
    assert ticket["transcript"][0]["sent_at"] == "2024-05-02T06:00:00.500000+00:00"


def test_same_request_id_returns_the_existing_ticket(shared_helpdesk_api: HelpdeskApi) -> None:
    body = ticket_body()
    first = shared_helpdesk_api.post("/api/tickets", json=body)
    again = shared_helpdesk_api.post("/api/tickets", json=body)

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    listed = shared_helpdesk_api.get(
        "/api/tickets", params={"conversation_id": body["conversation_id"]}
    )
    assert len(listed.json()["tickets"]) == 1


@pytest.mark.parametrize(
    "field", ["request_id", "conversation_id", "reason", "topic", "language", "contact_method"]
)
def test_missing_required_field_is_named(shared_helpdesk_api: HelpdeskApi, field: str) -> None:
    response = shared_helpdesk_api.post("/api/tickets", json=ticket_body(**{field: ...}))
    assert response.status_code == 400
    assert field in response.json()["error"]


@pytest.mark.parametrize(
    "overrides,named",
    [
        ({"reason": "angry"}, "reason"),
        ({"language": "sv"}, "language"),
        ({"contact_method": "pigeon"}, "contact_method"),
        ({"priority": "urgent"}, "priority"),
        ({"contact_method": "email", "contact_address": ...}, "contact_address"),
        ({"contact_method": "email", "contact_address": "not-an-address"}, "contact_address"),
        ({"contact_method": "phone", "contact_address": ""}, "contact_address"),
        ({"topic": 42}, "topic"),
        ({"transcript": "hello"}, "transcript"),
        ({"transcript": [{"sender": "robot", "text": "x"}]}, "transcript[0].sender"),
        ({"transcript": [{"sender": "customer", "text": ""}]}, "transcript[0].text"),
        (
            {"transcript": [{"sender": "customer", "text": "x", "sent_at": "yesterday"}]},
            "transcript[0].sent_at",
        ),
        (
            {"transcript": [{"sender": "customer", "text": "x", "sent_at": "2024-05-02T09:00:00"}]},
            "transcript[0].sent_at",
        ),
        ({"transcript": [{"sender": "customer", "text": "x" * 5001}]}, "transcript[0].text"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_invalid_field_is_named(
    shared_helpdesk_api: HelpdeskApi, overrides: dict, named: str
) -> None:
    response = shared_helpdesk_api.post("/api/tickets", json=ticket_body(**overrides))
    assert response.status_code == 400, response.text
    assert named in response.json()["error"]


def test_transcript_text_of_5000_chars_is_accepted(shared_helpdesk_api: HelpdeskApi) -> None:
    ticket = create(shared_helpdesk_api, transcript=[{"sender": "customer", "text": "x" * 5000}])
    assert len(ticket["transcript"][0]["text"]) == 5000


@pytest.mark.parametrize("raw", [b"{not json", b"", b"[1, 2]", b'"text"', b"\xff\xfe"])
def test_malformed_body_is_400(shared_helpdesk_api: HelpdeskApi, raw: bytes) -> None:
    response = shared_helpdesk_api.post(
        "/api/tickets", data=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert "JSON" in response.json()["error"]


def test_body_over_one_megabyte_is_413(shared_helpdesk_api: HelpdeskApi) -> None:
    transcript = [{"sender": "customer", "text": "x" * 4000} for _ in range(300)]
    response = shared_helpdesk_api.post("/api/tickets", json=ticket_body(transcript=transcript))
    assert response.status_code == 413
    assert "size" in response.json()["error"]


# --- read --------------------------------------------------------------------


def test_unknown_ticket_is_404(shared_helpdesk_api: HelpdeskApi) -> None:
    response = shared_helpdesk_api.get("/api/tickets/T-99999")
    assert response.status_code == 404
    assert "T-99999" in response.json()["error"]


def test_list_filters_orders_and_pages(helpdesk_api: HelpdeskApi) -> None:
    conversation = "conv-list"
    made = [create(helpdesk_api, conversation_id=conversation) for _ in range(3)]
    other = create(helpdesk_api)
    helpdesk_api.patch(f"/api/tickets/{made[1]['number']}", json={"status": "resolved"})

    everything = helpdesk_api.get("/api/tickets").json()["tickets"]
    assert [t["number"] for t in everything] == [
        t["number"] for t in sorted(everything, key=lambda t: (aware(t["due_at"]), t["number"]))
    ]
    assert len(everything) == 4

    mine = helpdesk_api.get("/api/tickets", params={"conversation_id": conversation}).json()
    assert {t["number"] for t in mine["tickets"]} == {t["number"] for t in made}

    open_ones = helpdesk_api.get("/api/tickets", params={"status": "open"}).json()["tickets"]
    assert {t["number"] for t in open_ones} == {
        made[0]["number"],
        made[2]["number"],
        other["number"],
    }

    several = helpdesk_api.get("/api/tickets", params={"status": "resolved,assigned"}).json()
    assert [t["number"] for t in several["tickets"]] == [made[1]["number"]]

    first_page = helpdesk_api.get("/api/tickets", params={"limit": 2}).json()["tickets"]
    second_page = helpdesk_api.get("/api/tickets", params={"limit": 2, "offset": 2}).json()[
        "tickets"
    ]
    assert [t["number"] for t in first_page + second_page] == [t["number"] for t in everything]


@pytest.mark.parametrize(
    "params,named",
    [
        ({"status": "closed"}, "status"),
        ({"limit": "many"}, "limit"),
        ({"limit": 0}, "limit"),
        ({"limit": 1000}, "limit"),
        ({"offset": -1}, "offset"),
    ],
)
def test_list_rejects_bad_query(shared_helpdesk_api: HelpdeskApi, params: dict, named: str) -> None:
    response = shared_helpdesk_api.get("/api/tickets", params=params)
    assert response.status_code == 400
    assert named in response.json()["error"]


# --- update --------------------------------------------------------------------


def test_patch_assign_resolve_and_reopen(shared_helpdesk_api: HelpdeskApi) -> None:
    number = create(shared_helpdesk_api)["number"]
    path = f"/api/tickets/{number}"

    assigned = shared_helpdesk_api.patch(
        path, json={"status": "assigned", "assignee": "Aino"}
    ).json()
    assert assigned["status"] == "assigned" and assigned["assignee"] == "Aino"
    assert assigned["queue_position"] is None
    assert aware(assigned["updated_at"]) > aware(assigned["created_at"])

    resolved = shared_helpdesk_api.patch(path, json={"status": "resolved", "rating": 5}).json()
    assert resolved["status"] == "resolved" and resolved["rating"] == 5
    assert aware(resolved["resolved_at"]) >= aware(assigned["updated_at"])

    resolved_again = shared_helpdesk_api.patch(path, json={"status": "resolved"}).json()
    assert resolved_again["resolved_at"] == resolved["resolved_at"]

    reopened = shared_helpdesk_api.patch(
        path, json={"status": "waiting_customer", "priority": "high"}
    ).json()
    assert reopened["status"] == "waiting_customer" and reopened["resolved_at"] is None
    assert reopened["priority"] == "high"

    unassigned = shared_helpdesk_api.patch(path, json={"assignee": None, "rating": None}).json()
    assert unassigned["assignee"] is None and unassigned["rating"] is None


@pytest.mark.parametrize(
    "body,named",
    [
        ({"rating": 6}, "rating"),
        ({"rating": 0}, "rating"),
        ({"rating": "5"}, "rating"),
        ({"rating": True}, "rating"),
        ({"status": "closed"}, "status"),
        ({"priority": "low"}, "priority"),
        ({"number": "T-1"}, "number"),
        ({}, "nothing"),
    ],
)
def test_patch_rejects_bad_changes(
    shared_helpdesk_api: HelpdeskApi, body: dict, named: str
) -> None:
    number = create(shared_helpdesk_api)["number"]
    response = shared_helpdesk_api.patch(f"/api/tickets/{number}", json=body)
    assert response.status_code == 400
    assert named in response.json()["error"]


def test_patch_unknown_ticket_is_404(shared_helpdesk_api: HelpdeskApi) -> None:
    assert (
        shared_helpdesk_api.patch("/api/tickets/T-99999", json={"status": "open"}).status_code
        == 404
    )


# --- messages and notes --------------------------------------------------------


def test_messages_append_to_the_transcript(shared_helpdesk_api: HelpdeskApi) -> None:
    number = create(shared_helpdesk_api)["number"]
    response = shared_helpdesk_api.post(
        f"/api/tickets/{number}/messages", json={"sender": "agent", "text": "Hei, olen Aino."}
    )
    assert response.status_code == 201
    transcript = response.json()["transcript"]
    assert len(transcript) == 3
    assert transcript[-1]["sender"] == "agent" and transcript[-1]["text"] == "Hei, olen Aino."
    aware(transcript[-1]["sent_at"])


def test_customer_message_reopens_a_resolved_ticket(helpdesk_api: HelpdeskApi) -> None:
    number = create(helpdesk_api)["number"]
    helpdesk_api.patch(f"/api/tickets/{number}", json={"status": "resolved", "assignee": "Aino"})

    agent_reply = helpdesk_api.post(
        f"/api/tickets/{number}/messages", json={"sender": "agent", "text": "Hyvää päivänjatkoa!"}
    ).json()
    assert agent_reply["status"] == "resolved"

    reopened = helpdesk_api.post(
        f"/api/tickets/{number}/messages", json={"sender": "customer", "text": "Vielä yksi asia"}
    ).json()
    assert reopened["status"] == "open"
    assert reopened["resolved_at"] is None
    assert reopened["queue_position"] == 1


def test_customer_reply_to_waiting_ticket_goes_back_to_the_agent(
    shared_helpdesk_api: HelpdeskApi,
) -> None:
    number = create(shared_helpdesk_api)["number"]
    shared_helpdesk_api.patch(
        f"/api/tickets/{number}", json={"status": "waiting_customer", "assignee": "Aino"}
    )
    ticket = shared_helpdesk_api.post(
        f"/api/tickets/{number}/messages", json={"sender": "customer", "text": "Tässä tiedot"}
    ).json()
    assert ticket["status"] == "assigned" and ticket["assignee"] == "Aino"


@pytest.mark.parametrize(
    "body,named",
    [
        ({"sender": "robot", "text": "x"}, "sender"),
        ({"sender": "agent"}, "text"),
        ({"sender": "agent", "text": "x" * 5001}, "text"),
    ],
)
def test_bad_message_is_400(shared_helpdesk_api: HelpdeskApi, body: dict, named: str) -> None:
    number = create(shared_helpdesk_api)["number"]
    response = shared_helpdesk_api.post(f"/api/tickets/{number}/messages", json=body)
    assert response.status_code == 400
    assert named in response.json()["error"]


def test_a_retried_message_is_added_once(shared_helpdesk_api: HelpdeskApi) -> None:
    """The widget's message id makes a POST whose answer was lost safe to send again."""
    number = create(shared_helpdesk_api)["number"]
    url = f"/api/tickets/{number}/messages"
    body = {"sender": "customer", "text": "Maksoin jo eilen", "message_id": "m-41"}

    first = shared_helpdesk_api.post(url, json=body)
    again = shared_helpdesk_api.post(url, json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["transcript"] == first.json()["transcript"]
    texts = [line["text"] for line in again.json()["transcript"]]
    assert texts.count("Maksoin jo eilen") == 1

    # Another id is another message, even with the same words; a number is an id too.
    other = shared_helpdesk_api.post(url, json={**body, "message_id": 42})
    assert other.status_code == 201
    assert [line["text"] for line in other.json()["transcript"]].count("Maksoin jo eilen") == 2
    # Without an id nothing can tell a repeat: each POST adds (agents' console replies).
    for _ in range(2):
        shared_helpdesk_api.post(url, json={"sender": "customer", "text": "Ilman tunnusta"})
    ticket = shared_helpdesk_api.get(f"/api/tickets/{number}").json()
    assert [line["text"] for line in ticket["transcript"]].count("Ilman tunnusta") == 2


def test_message_ids_belong_to_their_ticket(shared_helpdesk_api: HelpdeskApi) -> None:
    first, second = (create(shared_helpdesk_api)["number"] for _ in range(2))
    body = {"sender": "customer", "text": "Hei", "message_id": "m1"}
    assert shared_helpdesk_api.post(f"/api/tickets/{first}/messages", json=body).status_code == 201
    assert shared_helpdesk_api.post(f"/api/tickets/{second}/messages", json=body).status_code == 201


@pytest.mark.parametrize("message_id", ["x" * 101, ["m1"], True])
def test_bad_message_id_is_400(shared_helpdesk_api: HelpdeskApi, message_id: Any) -> None:
    number = create(shared_helpdesk_api)["number"]
    body = {"sender": "customer", "text": "Hei", "message_id": message_id}
    response = shared_helpdesk_api.post(f"/api/tickets/{number}/messages", json=body)
    assert response.status_code == 400
    assert "message_id" in response.json()["error"]


def test_message_to_unknown_ticket_is_404(shared_helpdesk_api: HelpdeskApi) -> None:
    response = shared_helpdesk_api.post(
        "/api/tickets/T-99999/messages", json={"sender": "customer", "text": "hei"}
    )
    assert response.status_code == 404


def test_notes_are_kept_apart_from_the_transcript(shared_helpdesk_api: HelpdeskApi) -> None:
    number = create(shared_helpdesk_api)["number"]
    response = shared_helpdesk_api.post(
        f"/api/tickets/{number}/notes", json={"author": "Aino", "text": "Soitettu, ei vastannut"}
    )
    assert response.status_code == 201
    ticket = response.json()
    assert [(n["author"], n["text"]) for n in ticket["notes"]] == [
        ("Aino", "Soitettu, ei vastannut")
    ]
    aware(ticket["notes"][0]["created_at"])
    assert len(ticket["transcript"]) == 2

    missing_author = shared_helpdesk_api.post(f"/api/tickets/{number}/notes", json={"text": "x"})
    assert missing_author.status_code == 400 and "author" in missing_author.json()["error"]
    unknown = shared_helpdesk_api.post(
        "/api/tickets/T-99999/notes", json={"author": "A", "text": "x"}
    )
    assert unknown.status_code == 404


# --- queue position ------------------------------------------------------------


def test_queue_position_counts_open_tickets_created_earlier(helpdesk_api: HelpdeskApi) -> None:
    first, second, third = (create(helpdesk_api) for _ in range(3))
    assert [t["queue_position"] for t in (first, second, third)] == [1, 2, 3]

    def position(ticket: dict) -> int | None:
        return helpdesk_api.get(f"/api/tickets/{ticket['number']}").json()["queue_position"]

    helpdesk_api.patch(f"/api/tickets/{first['number']}", json={"status": "assigned"})
    assert [position(t) for t in (first, second, third)] == [None, 1, 2]

    helpdesk_api.patch(f"/api/tickets/{second['number']}", json={"status": "resolved"})
    assert [position(t) for t in (first, second, third)] == [None, None, 1]

    helpdesk_api.post(
        f"/api/tickets/{second['number']}/messages", json={"sender": "customer", "text": "hei"}
    )
    assert [position(t) for t in (first, second, third)] == [None, 1, 2]


# --- feedback and service hours ------------------------------------------------


def test_feedback_is_stored_once_per_request_id(shared_helpdesk_api: HelpdeskApi) -> None:
    body = {"request_id": "fb-1", "conversation_id": "c1", "language": "en", "text": "Quick help!"}
    first = shared_helpdesk_api.post("/api/feedback", json=body)
    again = shared_helpdesk_api.post("/api/feedback", json=body)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == first.json()
    assert first.json()["text"] == "Quick help!"
    aware(first.json()["created_at"])

    without_id = shared_helpdesk_api.post("/api/feedback", json={**body, "request_id": None})
    assert without_id.status_code == 201 and without_id.json()["id"] != first.json()["id"]


@pytest.mark.parametrize(
    "body,named",
    [
        ({"conversation_id": "c", "language": "en"}, "text"),
        ({"conversation_id": "c", "language": "de", "text": "x"}, "language"),
        ({"language": "en", "text": "x"}, "conversation_id"),
    ],
)
def test_bad_feedback_is_400(shared_helpdesk_api: HelpdeskApi, body: dict, named: str) -> None:
    response = shared_helpdesk_api.post("/api/feedback", json=body)
    assert response.status_code == 400
    assert named in response.json()["error"]


def test_service_hours(shared_helpdesk_api: HelpdeskApi) -> None:
    hours = shared_helpdesk_api.get("/api/service-hours").json()
    assert hours["timezone"] == "Europe/Helsinki"
    assert isinstance(hours["open_now"], bool)
    assert aware(hours["next_opening"])
    assert hours["display"] == {"fi": "ma–pe klo 8.00–16.00", "en": "Mon–Fri 8:00–16:00"}


# --- startup -------------------------------------------------------------------


def test_serve_refuses_to_start_without_token(tmp_path) -> None:
    env = {**os.environ, "HELPDESK_API_TOKEN": "", "HELPDESK_DB_URL": f"sqlite:///{tmp_path}/h.db"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "HELPDESK_API_TOKEN is empty" in result.stderr
    assert not (tmp_path / "h.db").exists()


def test_migrations_create_the_schema_and_can_run_twice(tmp_path) -> None:
    url = f"sqlite:///{tmp_path}/nested/dir/helpdesk.db"
    upgrade(url)
    upgrade(url)
    engine = create_engine(url)
    try:
        names = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"tickets", "ticket_messages", "ticket_notes", "feedback", "alembic_version"} <= names
