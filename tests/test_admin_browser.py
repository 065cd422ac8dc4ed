"""The admin pages in a real browser: find, bulk-label, train, see a failed run live.

Customers write to the real stack (Rasa's tracker store); a second bot service reads
those logs with a project copy whose config is broken, so the training run fails
fast and the page must show the reason without a reload. The inbox and dashboard
screenshots in docs/ are taken here (UPDATE_SCREENSHOTS=1 refreshes them).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import DEFAULT_MODEL, HelpdeskProcesses, RunningStack
from console_helpers import add_user
from playwright.sync_api import Page, expect
from test_console_browser import screenshot
from test_widget_browser import browser, new_page  # noqa: F401 - fixtures used by name

from tests.admin_helpers import copy_project

ADMIN_VIEWPORT = {"width": 1280, "height": 900}
# Used by no other test: the stack's logs are shared by the whole session.
SIMILAR = ["Tarvitsisin kopsun siitä räknusta", "tarvitsisin kopsun tosta räknusta kiitos"]


@pytest.fixture
def admin_site(running_stack: RunningStack, tmp_path: Path):
    """A bot service over the stack's logs, with a project copy that cannot train."""
    for number, text in enumerate(SIMILAR):
        response = requests.post(
            f"{running_stack.config.rasa_url}/webhooks/rest/webhook",
            json={"sender": f"browser-admin-{number}", "message": text},
            timeout=60,
        )
        assert response.status_code == 200
    project = copy_project(tmp_path / "project")
    config = project / "config.yml"
    config.write_text(
        config.read_text().replace("LogisticRegressionClassifier", "NoSuchClassifier")
    )
    db_url = f"sqlite:///{tmp_path / 'helpdesk.db'}"
    processes = HelpdeskProcesses(tmp_path)
    server = processes.start(
        db_url=db_url,
        env={
            "ADMIN_PROJECT_DIR": str(project),
            "TRACKER_STORE_URL": running_stack.config.env["TRACKER_STORE_URL"],
            "RASA_MODEL": str(DEFAULT_MODEL),
        },
    )
    password = add_user(db_url, server.token, "helmi", "Helmi", "admin")
    yield server.base_url, password
    processes.stop_all()


def sign_in(page: Page, base_url: str, password: str, target: str) -> None:
    page.goto(base_url + target)
    expect(page).to_have_url(re.compile(r"/console/login"))
    page.get_by_label("Username").fill("helmi")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(re.escape(target.split("?")[0])))


def test_an_admin_labels_similar_messages_and_sees_a_failed_run_live(
    admin_site: tuple[str, str],
    new_page: Callable[..., Any],  # noqa: F811 - the fixture imported above
) -> None:
    base_url, password = admin_site
    page = new_page(viewport=ADMIN_VIEWPORT)
    sign_in(page, base_url, password, "/admin/inbox")
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    for text in SIMILAR:
        expect(page.get_by_text(text, exact=True)).to_be_visible()
    screenshot(page, "admin-inbox.png")

    # Filter to the slang, open "Similar" and label both at once.
    page.get_by_label("Text").fill("kopsun")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.inbox tbody tr")).to_have_count(2)
    page.get_by_role("link", name="Similar").first.click()
    expect(page.get_by_role("heading", name="Messages like this one")).to_be_visible()
    checked = page.locator('input[name="key"]:checked')
    expect(checked).to_have_count(2)
    page.get_by_label("Label selected as").select_option("request_invoice_copy")
    page.get_by_role("button", name="Save label").click()
    expect(page.get_by_role("status")).to_contain_text("2 messages labelled")
    expect(page.get_by_text("kopsun")).to_have_count(0)

    nav = page.get_by_role("navigation", name="Admin")
    nav.get_by_role("link", name="Labels").click()
    rows = page.get_by_role("table", name="Current labels").locator("tbody tr")
    expect(rows).to_have_count(2)
    history = page.get_by_role("table", name="History").locator("tbody tr")
    expect(history).to_have_count(2)
    expect(history.first).to_contain_text("labelled request_invoice_copy")
    for row in rows.all():
        model_said = row.locator("td").nth(2).inner_text()
        expect(row.locator("td").nth(3)).to_contain_text("request_invoice_copy")
        changed = model_said != "request_invoice_copy"
        expect(row).to_have_class("row-changed" if changed else "")

    # "Select all" ticks every message in the inbox.
    page.goto(base_url + "/admin/inbox?labelled_too=1")
    page.get_by_label("Select all").check()
    boxes = page.locator('input[name="key"]')
    expect(page.locator('input[name="key"]:checked')).to_have_count(boxes.count())

    # Training: the run fails on the broken config, and the page says why, live.
    nav.get_by_role("link", name="Training").click()
    page.get_by_role("button", name="Start a training run").click()
    expect(page).to_have_url(re.compile(r"/admin/training/\d+$"))
    expect(page.get_by_role("progressbar")).to_be_visible()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("NoSuchClassifier", timeout=180_000)
    expect(alert).to_contain_text("The active model was not changed")
    expect(page.locator("[data-run-status]")).to_have_text("failed")

    nav.get_by_role("link", name="Dashboard").click()
    expect(page.locator("figure.chart svg")).to_have_count(4)
    screenshot(page, "admin-dashboard.png", full_page=True)
