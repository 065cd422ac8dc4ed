"""The admin pages: admins only, forms need the CSRF token, bad input gets a kind answer."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from actions.outbox import Outbox
from tests.admin_helpers import copy_project
from tests.console_helpers import SignedIn, add_user

PAGES = [
    "/admin/dashboard",
    "/admin/inbox.csv",
    "/admin/inbox",
    "/admin/labels",
    "/admin/training",
    "/admin/models",
    "/admin/deliveries",
    "/admin/inbox/similar/0123456789abcdef",
    "/admin/training/1",
]
API = ["/admin/api/inbox", "/admin/api/runs/1"]
FORMS = [
    "/admin/inbox/label",
    "/admin/labels/0123456789abcdef/undo",
    "/admin/training",
    "/admin/models/1/activate",
    "/admin/models/rollback",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    """A bot service with an admin and an agent, and a project copy of its own."""
    from tests.conftest import HelpdeskProcesses

    folder = tmp_path_factory.mktemp("admin-pages")
    project = copy_project(folder / "project")
    processes = HelpdeskProcesses(folder)
    db_url = f"sqlite:///{folder / 'helpdesk.db'}"
    server = processes.start(db_url=db_url, env={"ADMIN_PROJECT_DIR": str(project)})
    admin = SignedIn(
        server.base_url, "aino", add_user(db_url, server.token, "aino", "Aino", "admin")
    )
    agent = SignedIn(
        server.base_url, "eero", add_user(db_url, server.token, "eero", "Eero", "agent")
    )
    yield server.base_url, admin, agent
    processes.stop_all()


def test_anonymous_users_are_sent_to_sign_in(site) -> None:
    base_url, _, _ = site
    for path in PAGES:
        response = requests.get(base_url + path, allow_redirects=False, timeout=10)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/console/login?next="), path
    for path in API:
        assert requests.get(base_url + path, timeout=10).status_code == 401, path
    for path in FORMS:
        response = requests.post(base_url + path, allow_redirects=False, timeout=10)
        assert response.status_code in (302, 401), path


def test_agents_are_refused(site) -> None:
    _, _, agent = site
    for path in PAGES + API:
        assert agent.get(path, allow_redirects=False).status_code == 403, path
    for path in FORMS:
        response = agent.session.post(
            agent.base_url + path,
            data={"csrf_token": agent.csrf},
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 403, path


def test_admins_see_every_page(site) -> None:
    _, admin, _ = site
    for path in (
        "/admin/dashboard",
        "/admin/inbox",
        "/admin/labels",
        "/admin/training",
        "/admin/models",
        "/admin/deliveries",
    ):
        response = admin.get(path)
        assert response.status_code == 200, path
        assert 'aria-label="Admin"' in response.text
        assert "Content-Security-Policy" in response.headers
    dashboard = admin.get("/admin/dashboard").text
    assert dashboard.count("<svg") >= 4 and "Containment" in dashboard
    assert "current.tar.gz" in admin.get("/admin/models").text
    exported = admin.get("/admin/inbox.csv")
    assert exported.status_code == 200
    assert exported.text.splitlines()[0].startswith("text,count,language,predicted_intent")
    assert admin.get("/admin/training/999").status_code == 404
    assert admin.get("/admin/api/runs/999").status_code == 404


def test_forms_without_the_csrf_token_change_nothing(site) -> None:
    _, admin, _ = site
    for path in FORMS:
        response = admin.session.post(
            admin.base_url + path, data={}, allow_redirects=False, timeout=10
        )
        assert response.status_code == 403, path
    assert "No runs yet" in admin.get("/admin/training").text


def test_bad_filters_and_forged_labels_get_a_kind_answer(site) -> None:
    _, admin, _ = site
    page = admin.get("/admin/inbox?since=yesterday")
    assert page.status_code == 400 and "YYYY-MM-DD" in page.text
    api = admin.get("/admin/api/inbox?low_confidence=abc")
    assert api.status_code == 400 and "between 0 and 1" in api.json()["error"]

    forged = admin.session.post(
        admin.base_url + "/admin/inbox/label",
        data={"csrf_token": admin.csrf, "key": "not-in-the-logs", "intent": "greet"},
        allow_redirects=False,
        timeout=10,
    )
    assert forged.status_code == 400 and "no longer in the logs" in forged.text
    unknown = admin.session.post(
        admin.base_url + "/admin/inbox/label",
        data={"csrf_token": admin.csrf, "key": "x", "intent": "<script>alert(1)</script>"},
        allow_redirects=False,
        timeout=10,
    )
    assert unknown.status_code == 400 and "<script>alert(1)</script>" not in unknown.text
    assert "no labels yet" in admin.get("/admin/labels").text.lower()


def test_rollback_without_history_explains_itself(site) -> None:
    _, admin, _ = site
    response = admin.session.post(
        admin.base_url + "/admin/models/rollback",
        data={"csrf_token": admin.csrf},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 409
    assert "no earlier model" in response.text


def test_the_project_copy_is_used(site, tmp_path: Path) -> None:
    _, admin, _ = site
    page = admin.get("/admin/training").text
    assert "Start a training run" in page


def test_admins_see_what_the_helpdesk_refused_and_what_waits(
    start_helpdesk, tmp_path: Path
) -> None:
    """The outbox parks a delivery the helpdesk refused (4xx): an admin sees it with its
    reason, and how much still waits for the helpdesk; nothing of the message's text."""
    outbox = Outbox(tmp_path / "outbox.db")
    outbox.put("ticket", "refused-1", {"conversation_id": "conv-refused", "text": "salainen"})
    outbox.mark_rejected("refused-1", "HTTP 400: contact_address must be an e-mail address")
    outbox.put("rating", "rating-1", {"ticket_number": "T-00042", "rating": 5})
    outbox.mark_rejected("rating-1", "HTTP 400: no ticket T-00042")
    outbox.put("ticket_message", "waiting-1", {"conversation_id": "conv-waiting", "text": "x"})

    db_url = f"sqlite:///{tmp_path / 'helpdesk.db'}"
    server = start_helpdesk(db_url=db_url, env={"HELPDESK_OUTBOX_PATH": str(outbox.path)})
    admin = SignedIn(
        server.base_url, "aino", add_user(db_url, server.token, "aino", "Aino", "admin")
    )
    page = admin.get("/admin/deliveries")
    assert page.status_code == 200
    text = page.text
    assert "conv-refused" in text and "contact_address must be an e-mail address" in text
    assert "T-00042" in text and "no ticket T-00042" in text
    assert text.index("T-00042") < text.index("conv-refused")  # newest first
    assert "<strong>1</strong> waiting" in text
    assert "salainen" not in text and "conv-waiting" not in text
