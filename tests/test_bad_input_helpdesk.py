"""Bad input to the bot service is answered with a clear 4xx, never a 500 (issue 10, item 5).

Against the real service (`python -m bot serve`) on SQLite: the helpdesk API (Bearer
token), the console's JSON API and forms, the admin pages and the sign-in form. Every bad
request gets its 4xx and a reason; afterwards a normal request still works and the
service's log has no traceback. Text with a lone UTF-16 surrogate (half an emoji) is
accepted with U+FFFD in its place, everywhere it can be read back: the ticket, the console
page, the e-mail to the customer and, when Rasa logged it, the admin inbox.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import REPO, HelpdeskProcesses, HelpdeskServer
from console_helpers import FakeRasa, SignedIn, add_user, ticket_body
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from test_mail import MailServer

from bot.inbound import MAX_JSON_DEPTH, MAX_MESSAGE_LENGTH

HALF_EMOJI = "\ud83d"  # what a client that cuts an emoji in half sends
REPLACED = "\ufffd"


@dataclass
class Site:
    """The running service, its log, an admin (also an agent) and the mail it sends."""

    server: HelpdeskServer
    log: Path
    admin: SignedIn
    tracker_path: Path
    mail: MailServer

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.server.token}", **kwargs.pop("headers", {})}
        return requests.request(method, self.base_url + path, headers=headers, timeout=30, **kwargs)

    def create(self, **overrides: Any) -> dict[str, Any]:
        response = self.api("POST", "/api/tickets", json=ticket_body(**overrides))
        assert response.status_code == 201, response.text
        return response.json()

    def console(self, action: str, number: str, body: bytes | str) -> requests.Response:
        """POST /console/api/tickets/<number>/<action> with a raw body and the CSRF header."""
        return self.admin.session.post(
            f"{self.base_url}/console/api/tickets/{number}/{action}",
            data=body,
            headers={"X-CSRF-Token": self.admin.csrf, "Content-Type": "application/json"},
            timeout=30,
        )

    def form(self, path: str, body: bytes, content_type: str) -> requests.Response:
        return self.admin.session.post(
            self.base_url + path,
            data=body,
            headers={"Content-Type": content_type},
            allow_redirects=False,
            timeout=30,
        )

    def assert_still_serving(self) -> None:
        """The next client is unaffected, and nothing bad reached the log."""
        ticket = self.create()
        added = self.api(
            "POST",
            f"/api/tickets/{ticket['number']}/messages",
            json={"sender": "customer", "text": "Kiitos!"},
        )
        assert added.status_code == 201, added.text
        assert added.json()["transcript"][-1]["text"] == "Kiitos!"
        assert self.admin.get("/console/api/queue").status_code == 200
        log = self.log.read_text(encoding="utf-8", errors="replace")
        assert "Traceback" not in log and "Unexpected error" not in log, log


@pytest.fixture(scope="module")
def rasa() -> Iterator[FakeRasa]:
    fake = FakeRasa(delivered=False)  # the customer has left the chat: replies go by e-mail
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, rasa: FakeRasa) -> Iterator[Site]:
    directory = tmp_path_factory.mktemp("bad-input")
    mail = MailServer(directory / "mail")
    db_url = f"sqlite:///{directory / 'helpdesk.db'}"
    tracker_path = directory / "tracker.db"
    processes = HelpdeskProcesses(directory)
    assert rasa.server is not None
    server = processes.start(
        db_url=db_url,
        env={
            "TRACKER_STORE_URL": f"sqlite:///{tracker_path}",
            "RASA_URL": f"http://127.0.0.1:{rasa.server.server_address[1]}",
            "RASA_TOKEN": "test",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(mail.port),
        },
    )
    port = server.base_url.rsplit(":", 1)[1]
    admin = SignedIn(
        server.base_url, "aino", add_user(db_url, server.token, "aino", "Aino", "admin")
    )
    yield Site(server, directory / f"helpdesk-{port}.log", admin, tracker_path, mail)
    processes.stop_all()
    mail.stop()


@pytest.fixture(scope="module")
def ticket(site: Site) -> dict[str, Any]:
    return site.create()


def error_of(response: requests.Response) -> str:
    """The JSON error's reason; fails if the answer is not `{"error": "<text>"}`."""
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"].strip(), body
    return body["error"]


# --- JSON bodies -------------------------------------------------------------------------

BAD_BODIES = [
    pytest.param(b"[" * 100_000 + b"]" * 100_000, "deeper than", id="nested-100000"),
    pytest.param(
        b'{"a": ' + b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH + b"}",
        "deeper than",
        id="nested-one-too-deep",
    ),
    pytest.param(b"", "JSON object", id="empty"),
    pytest.param(b"   ", "empty", id="blank"),
    pytest.param(b"[]", "not an array", id="array"),
    pytest.param(b"null", "not null", id="null"),
    pytest.param(b'"text"', "not a string", id="string"),
    pytest.param(b"42", "not a number", id="number"),
    pytest.param(b'{"text": "hei\xff\xfe"}', "UTF-8", id="invalid-utf8"),
    pytest.param(b'{"text": NaN}', "NaN", id="nan"),
    pytest.param(b'{"text": -Infinity}', "Infinity", id="infinity"),
    pytest.param(b'{"text": "truncated', "malformed JSON", id="truncated"),
]
JSON_ENDPOINTS = [
    ("POST", "/api/tickets"),
    ("POST", "/api/tickets/{number}/messages"),
    ("POST", "/api/tickets/{number}/notes"),
    ("PATCH", "/api/tickets/{number}"),
    ("POST", "/api/feedback"),
]


@pytest.mark.parametrize(("method", "path"), JSON_ENDPOINTS)
@pytest.mark.parametrize(("body", "reason"), BAD_BODIES)
def test_bad_json_bodies_get_400_with_the_reason(
    site: Site, ticket: dict[str, Any], method: str, path: str, body: bytes, reason: str
) -> None:
    response = site.api(
        method,
        path.format(number=ticket["number"]),
        data=body,
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400, response.text
    assert reason in error_of(response)


@pytest.mark.parametrize(("body", "reason"), BAD_BODIES)
def test_the_console_api_refuses_the_same_bodies(
    site: Site, ticket: dict[str, Any], body: bytes, reason: str
) -> None:
    response = site.console("notes", ticket["number"], body)

    if body == b"":
        # No body is how the console's buttons call claim/resolve: the note is just missing.
        assert response.status_code == 400 and "write the note" in error_of(response)
    else:
        assert response.status_code == 400, response.text
        assert error_of(response)


def test_after_the_bad_bodies_the_service_still_answers(site: Site) -> None:
    site.assert_still_serving()


def test_a_body_over_the_size_limit_is_413(site: Site, ticket: dict[str, Any]) -> None:
    huge = json.dumps({"sender": "customer", "text": "x" * 1_100_000})
    response = site.api("POST", f"/api/tickets/{ticket['number']}/messages", data=huge)

    assert response.status_code == 413 and "size limit" in error_of(response)
    site.assert_still_serving()


# --- wrong types and sizes of fields --------------------------------------------------------

WRONG_FIELDS = [
    pytest.param("/messages", {"sender": "customer", "text": 5}, "text must be a string"),
    pytest.param("/messages", {"sender": "customer", "text": ["a"]}, "text must be a string"),
    pytest.param("/messages", {"sender": "customer", "text": {"a": 1}}, "text must be a string"),
    pytest.param("/messages", {"sender": "customer", "text": None}, "text is required"),
    pytest.param("/messages", {"sender": "customer"}, "text is required"),
    pytest.param("/messages", {"sender": ["customer"], "text": "a"}, "sender must be one of"),
    pytest.param("/messages", {"sender": {"x": 1}, "text": "a"}, "sender must be one of"),
    pytest.param("/messages", {"sender": 7, "text": "a"}, "sender must be one of"),
    pytest.param(
        "/messages",
        {"sender": "customer", "text": "x" * (MAX_MESSAGE_LENGTH + 1)},
        f"longer than {MAX_MESSAGE_LENGTH}",
    ),
    pytest.param(
        "/messages", {"sender": "customer", "text": "a", "sent_at": 1e300}, "not a valid Unix"
    ),
    pytest.param(
        "/messages", {"sender": "customer", "text": "a", "sent_at": [1]}, "sent_at must be"
    ),
    pytest.param("/messages", {"sender": "customer", "text": "a", "x": 1}, "unknown field"),
    pytest.param(
        "/messages", {"sender": "customer", "text": "a", "message_id": {}}, "message_id must be"
    ),
    pytest.param("/notes", {"author": 1, "text": "a"}, "author must be a string"),
    pytest.param("/notes", {"author": "Aino", "text": [1]}, "text must be a string"),
    pytest.param("", {"status": ["open"]}, "status must be one of"),
    pytest.param("", {"rating": 10**30}, "rating must be a whole number"),
    pytest.param("", {"rating": "5"}, "rating must be a whole number"),
    pytest.param("", {"assignee": 5}, "assignee must be a string"),
    pytest.param("", {}, "nothing to change"),
]


@pytest.mark.parametrize(("suffix", "body", "reason"), WRONG_FIELDS)
def test_wrong_types_and_sizes_name_the_field(
    site: Site, ticket: dict[str, Any], suffix: str, body: dict[str, Any], reason: str
) -> None:
    method = "PATCH" if suffix == "" else "POST"
    response = site.api(method, f"/api/tickets/{ticket['number']}{suffix}", json=body)

    assert response.status_code == 400, response.text
    assert reason in error_of(response)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"transcript": "hei"}, "transcript must be a list"),
        ({"transcript": [["customer", "hei"]]}, "transcript[0] must be an object"),
        ({"transcript": [{"sender": "customer", "text": 1}]}, "transcript[0].text must be"),
        ({"conversation_id": {"id": 1}}, "conversation_id must be a string"),
        ({"language": ["fi"]}, "language must be one of"),
        ({"contact_method": None}, "contact_method must be one of"),
        ({"invoice_number": 1.5}, "invoice_number must be a string"),
        ({"request_id": "r" * 65}, "request_id is longer than 64"),
    ],
)
def test_a_new_ticket_with_a_wrong_field_is_refused(
    site: Site, overrides: dict[str, Any], reason: str
) -> None:
    response = site.api("POST", "/api/tickets", json=ticket_body(**overrides))

    assert response.status_code == 400, response.text
    assert reason in error_of(response)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"conversation_id": 5, "language": "fi", "text": "a"}, "conversation_id must be"),
        ({"conversation_id": "c", "language": "sv", "text": "a"}, "language must be one of"),
        ({"conversation_id": "c", "language": "fi", "text": None}, "text is required"),
    ],
)
def test_feedback_with_a_wrong_field_is_refused(
    site: Site, body: dict[str, Any], reason: str
) -> None:
    response = site.api("POST", "/api/feedback", json=body)

    assert response.status_code == 400 and reason in error_of(response)


# --- query strings and paths ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("offset=99999999999999999999", "offset"),
        ("offset=-1", "offset"),
        ("offset=1e3", "offset"),
        ("limit=abc", "limit"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=99999999999999999999999999999999", "limit"),
        ("limit=%00", "limit"),
        ("limit=%ED%A0%BD", "limit"),
        ("status=%ED%A0%BD", "status"),
        pytest.param("status=" + "x" * 3000, "status", id="status=3000-characters"),
    ],
)
def test_bad_list_parameters_get_400_naming_the_parameter(
    site: Site, query: str, name: str
) -> None:
    response = site.api("GET", "/api/tickets?" + query)

    assert response.status_code == 400, response.text
    assert error_of(response).startswith(name + " must be")
    assert len(error_of(response)) < 200  # a long value is not echoed in full


def test_odd_list_filters_are_just_filters(site: Site) -> None:
    for conversation in ("%00", "%ED%A0%BD", "a" * 3000):
        response = site.api("GET", f"/api/tickets?conversation_id={conversation}")
        assert response.status_code == 200 and response.json()["tickets"] == []
    assert len(site.api("GET", "/api/tickets?limit=1&offset=0").json()["tickets"]) == 1


@pytest.mark.parametrize(
    "number",
    [
        pytest.param("T-" + "9" * 5000, id="T-5000-digits"),
        "%00",
        "T-%00",
        "%ED%A0%BD",
        "%F0%9F%98",  # an emoji cut in half, as UTF-8
        "99999999999999999999999999",
        "-1",
        "%2e%2e",
    ],
)
def test_ticket_numbers_nobody_has_are_404(site: Site, number: str) -> None:
    responses = [
        site.api("GET", f"/api/tickets/{number}"),
        site.api("PATCH", f"/api/tickets/{number}", json={"status": "open"}),
        site.api(
            "POST", f"/api/tickets/{number}/messages", json={"sender": "customer", "text": "a"}
        ),
        site.api("POST", f"/api/tickets/{number}/notes", json={"author": "a", "text": "a"}),
        site.admin.get(f"/console/api/tickets/{number}"),
        site.console("notes", number, json.dumps({"text": "a"})),
    ]

    for response in responses:
        assert response.status_code == 404, response.text
        reason = error_of(response)
        assert reason.startswith("no ticket") and len(reason) < 60


def test_a_header_that_is_not_utf8_is_a_400(site: Site) -> None:
    bad_token = site.api("GET", "/api/tickets", headers={"Authorization": b"Bearer \xff\xfe"})
    bad_csrf = site.admin.session.post(
        f"{site.base_url}/console/api/tickets/T-00001/notes",
        json={"text": "a"},
        headers={"X-CSRF-Token": b"\xff" * 43},
        timeout=10,
    )
    bad_cookie = requests.get(
        site.base_url + "/console", headers={"Cookie": b"bot_session=\xff\xfe"}, timeout=10
    )

    assert bad_token.status_code == bad_csrf.status_code == 400
    assert "authorization header is not valid UTF-8" in error_of(bad_token)
    assert "x-csrf-token header" in error_of(bad_csrf)
    assert bad_cookie.status_code == 400 and "cookie header" in bad_cookie.text
    site.assert_still_serving()


# --- half an emoji: replaced, never refused, readable everywhere -------------------------------


def test_a_lone_surrogate_is_kept_as_replacement_everywhere_on_the_helpdesk(site: Site) -> None:
    def raw(body: dict[str, Any]) -> str:
        """JSON with the surrogate escaped, as a JavaScript or Python client sends it."""
        return json.dumps(body).replace("@HALF@", "\\ud83d")

    created = site.api(
        "POST",
        "/api/tickets",
        data=raw(
            ticket_body(
                contact_method="email",
                contact_address="maija@example.com",
                transcript=[{"sender": "customer", "text": "Lasku @HALF@ on väärin"}],
            )
        ),
    )
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    said = site.api(
        "POST",
        f"/api/tickets/{number}/messages",
        data=raw({"sender": "customer", "text": "Kiitos @HALF@"}),
    )
    noted = site.api(
        "POST", f"/api/tickets/{number}/notes", data=raw({"author": "A@HALF@", "text": "x@HALF@"})
    )
    feedback = site.api(
        "POST",
        "/api/feedback",
        data=raw({"conversation_id": "c-1", "language": "fi", "text": "Hyvä @HALF@"}),
    )
    replied = site.console("reply", number, raw({"text": "Korjattu @HALF@"}))

    assert said.status_code == noted.status_code == feedback.status_code == 201
    assert replied.status_code == 201, replied.text
    assert feedback.json()["text"] == f"Hyvä {REPLACED}"
    stored = site.api("GET", f"/api/tickets/{number}").json()
    texts = [message["text"] for message in stored["transcript"]]
    assert texts[:2] == [f"Lasku {REPLACED} on väärin", f"Kiitos {REPLACED}"]
    assert f"Korjattu {REPLACED}" in texts
    assert stored["notes"][-1]["author"] == f"A{REPLACED}"
    assert stored["notes"][-1]["text"] == f"x{REPLACED}"
    page = site.admin.get(f"/console/tickets/{number}")
    assert page.status_code == 200 and f"Kiitos {REPLACED}" in page.text
    assert replied.json()["delivery"] == "email"
    mails = site.mail.messages(1)
    assert f"Korjattu {REPLACED}" in mails[-1].get_content()
    site.assert_still_serving()


def test_the_admin_inbox_reads_logged_messages_with_a_lone_surrogate(site: Site) -> None:
    """Rasa logs the message as it came ("\\ud83d" in the event JSON); the inbox shows U+FFFD."""
    domain = Domain.load(str(REPO / "domain.yml"))
    store = SQLTrackerStore(domain, dialect="sqlite", db=str(site.tracker_path))
    now = time.time() - 3600
    for index, text in enumerate((f"Laskussa on virhe {HALF_EMOJI}", f"{HALF_EMOJI} apua")):
        events = [
            ActionExecuted("action_session_start", timestamp=now),
            SessionStarted(timestamp=now + 1),
            ActionExecuted("action_listen", timestamp=now + 2),
            UserUttered(
                text,
                {"name": "dispute_invoice", "confidence": 0.6},
                parse_data={
                    "text": text,
                    "intent": {"name": "dispute_invoice", "confidence": 0.6},
                    "entities": [],
                    "intent_ranking": [{"name": "dispute_invoice", "confidence": 0.6}],
                },
                timestamp=now + 3 + index,
                input_channel="widget",
                metadata={"language": "fi", "note": f"page {HALF_EMOJI}"},
            ),
        ]
        tracker = DialogueStateTracker.from_events(
            f"half-emoji-{index}-{uuid.uuid4().hex[:6]}", events, slots=domain.slots
        )
        asyncio.run(store.save(tracker))
    store.engine.dispose()

    page = site.admin.get("/admin/inbox")
    api = site.admin.get("/admin/api/inbox")
    csv = site.admin.get("/admin/inbox.csv")
    searched = site.admin.get("/admin/inbox?search=virhe")

    assert page.status_code == api.status_code == csv.status_code == searched.status_code == 200
    texts = {item["text"] for item in api.json()["items"]}
    assert {f"Laskussa on virhe {REPLACED}", f"{REPLACED} apua"} <= texts
    assert f"Laskussa on virhe {REPLACED}" in page.text and f"{REPLACED} apua" in page.text
    assert f"Laskussa on virhe {REPLACED}" in csv.content.decode("utf-8")
    assert f"Laskussa on virhe {REPLACED}" in searched.text
    assert site.admin.get("/admin/dashboard").status_code == 200
    site.assert_still_serving()


# --- console and admin forms --------------------------------------------------------------------

FORM = "application/x-www-form-urlencoded"


def test_console_forms_with_bad_fields_answer_kindly(site: Site, ticket: dict[str, Any]) -> None:
    path = f"/console/tickets/{ticket['number']}"
    csrf = f"csrf_token={site.admin.csrf}".encode()

    not_utf8 = site.form(path + "/notes", csrf + b"&text=hei\xff", FORM)
    multipart = site.form(
        path + "/notes",
        b"--x\r\nno colon in this part header\r\n\r\nhei\r\n--x--\r\n",
        "multipart/form-data; boundary=x",
    )
    no_boundary = site.form(path + "/notes", b"text=a", "multipart/form-data")
    too_long = site.form(path + "/notes", csrf + b"&text=" + b"x" * 6000, FORM)
    missing = site.form(path + "/reply", csrf, FORM)
    unknown = site.form(path + "/explode", csrf + b"&text=a", FORM)
    twice = site.form(path + "/notes", csrf + b"&text=eka&text=toka", FORM)
    controls = site.form(path + "/notes", csrf + b"&text=a%00b%ED%A0%BDc", FORM)

    assert not_utf8.status_code == 400 and "not valid UTF-8" in not_utf8.text
    assert multipart.status_code == 400 and "could not be read" in multipart.text
    assert no_boundary.status_code == 400 and "no boundary" in no_boundary.text
    for refused in (too_long, missing):
        assert refused.status_code == 303
        assert refused.headers["Location"] == f"{path}?error=input"
        shown = site.admin.get(refused.headers["Location"])
        assert shown.status_code == 200 and "Nothing was sent" in shown.text
    assert unknown.status_code == 404
    assert twice.status_code == controls.status_code == 303
    notes = site.api("GET", f"/api/tickets/{ticket['number']}").json()["notes"]
    assert [note["text"] for note in notes[-2:]] == ["eka", "ab\ufffd\ufffd\ufffdc"]
    site.assert_still_serving()


def test_sign_in_with_a_form_that_is_not_utf8_is_a_400(site: Site) -> None:
    response = requests.post(
        site.base_url + "/console/login",
        data=b"username=\xff&password=x",
        headers={"Content-Type": FORM},
        timeout=10,
    )
    odd_name = requests.post(
        site.base_url + "/console/login",
        data={"username": "a\x00" * 2000, "password": "x" * 10_000, "csrf_token": "x"},
        timeout=10,
    )

    assert response.status_code == 400 and "not valid UTF-8" in response.text
    assert odd_name.status_code == 403  # the form's token is wrong: a fresh form, kindly
    site.assert_still_serving()


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/admin/inbox?days=99999999999999999999", 200),
        ("/admin/inbox?since=99999-01-01", 400),
        ("/admin/inbox?low_confidence=nan", 400),
        ("/admin/inbox?low_confidence=1e400", 400),
        ("/admin/inbox?search=%00%ED%A0%BD&intent=%00", 200),
        ("/admin/inbox.csv?until=%ED%A0%BD", 400),
        ("/admin/dashboard?days=99999999999999999999", 200),
        ("/admin/dashboard?days=-5", 200),
        ("/admin/training/99999999999999999999", 404),
        ("/admin/inbox/similar/%ED%A0%BD", 404),
        ("/admin?unlocked=%00", 200),
        pytest.param("/console/tickets/T-" + "9" * 5000, 404, id="console-ticket-5000-digits"),
        ("/console/tickets/T-00001?done=%ED%A0%BD&error=%00", 200),
        ("/console/api/canned-replies?ticket=%ED%A0%BD", 404),
    ],
)
def test_admin_and_console_pages_with_odd_queries_answer_kindly(
    site: Site, ticket: dict[str, Any], path: str, status: int
) -> None:
    response = site.admin.get(path, allow_redirects=False)

    assert response.status_code == status, response.text[:300]


def test_admin_json_api_errors_are_json(site: Site) -> None:
    huge_run = site.admin.get("/admin/api/runs/99999999999999999999")
    bad_filter = site.admin.get("/admin/api/inbox?since=tomorrow")

    assert huge_run.status_code == 404 and "no training run" in error_of(huge_run)
    assert bad_filter.status_code == 400 and "YYYY-MM-DD" in error_of(bad_filter)


@pytest.mark.parametrize(
    ("path", "fields", "status"),
    [
        ("/admin/models/99999999999999999999/activate", {}, 409),
        ("/admin/labels/%ED%A0%BD/undo", {}, 303),
        pytest.param(
            "/admin/inbox/label", {"key": "x" * 100_000, "intent": "greet"}, 400, id="huge-key"
        ),
        ("/admin/inbox/label", {"key": "x", "intent": ""}, 400),
        ("/admin/users/%ED%A0%BD/unlock", {}, 404),
        pytest.param("/admin/users/" + "x" * 5000 + "/unlock", {}, 404, id="5000-char-user"),
    ],
)
def test_admin_forms_with_odd_fields_answer_kindly(
    site: Site, path: str, fields: dict[str, str], status: int
) -> None:
    response = site.admin.session.post(
        site.base_url + path,
        data={"csrf_token": site.admin.csrf, **fields},
        allow_redirects=False,
        timeout=30,
    )

    assert response.status_code == status, response.text[:300]
    assert len(response.text) < 20_000  # nothing long is echoed back


def test_after_everything_the_log_has_no_traceback(site: Site) -> None:
    site.assert_still_serving()
