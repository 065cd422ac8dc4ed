"""A reply to a customer who left the chat goes by e-mail: the real bot service sends it
over SMTP (aiosmtplib) to the real demo server (`python -m bot.mail_server`, aiosmtpd),
which keeps it as a file. Rasa is the recording stand-in of tests/console_helpers.py,
answering `delivered: false` (nobody in the chat).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import REPO, HelpdeskProcesses, HelpdeskServer, free_port
from console_helpers import FakeRasa, SignedIn, add_user, ticket_body

from bot.mail import is_demo_smtp
from bot.stack import StackConfig


class MailServer:
    """`python -m bot.mail_server` on a free port, writing into `folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bot.mail_server",
                "--port",
                str(self.port),
                "--dir",
                str(folder),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("READY"):
                break
        else:
            raise RuntimeError(f"mail server exited with {self.process.wait()}")

    def messages(self, count: int, timeout: float = 15) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            files = sorted(self.folder.glob("*.eml"))
            if len(files) >= count:
                return [
                    message_from_bytes(f.read_bytes(), policy=policy.default)  # type: ignore[misc]
                    for f in files
                ]
            time.sleep(0.1)
        raise AssertionError(f"expected {count} messages in {self.folder}, found {len(files)}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Setup:
    def __init__(self, server: HelpdeskServer, agent: SignedIn, mail: MailServer | None) -> None:
        self.server = server
        self.agent = agent
        self.mail = mail

    def create(self, **overrides: Any) -> dict[str, Any]:
        response = requests.post(
            self.server.base_url + "/api/tickets",
            json=ticket_body(**overrides),
            headers={"Authorization": f"Bearer {self.server.token}"},
            timeout=10,
        )
        assert response.status_code == 201, response.text
        return response.json()


@pytest.fixture(scope="module")
def rasa() -> Iterator[FakeRasa]:
    fake = FakeRasa(delivered=False)
    fake.start()
    yield fake
    fake.stop()


def start(
    directory: Path, rasa: FakeRasa, smtp_port: int, mail: MailServer | None
) -> tuple[HelpdeskProcesses, Setup]:
    assert rasa.server is not None
    db_url = f"sqlite:///{directory / 'helpdesk.db'}"
    processes = HelpdeskProcesses(directory)
    server = processes.start(
        db_url=db_url,
        env={
            "RASA_URL": f"http://127.0.0.1:{rasa.server.server_address[1]}",
            "RASA_TOKEN": "test",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp_port),
            "SMTP_FROM": "Laskutus Oy <asiakaspalvelu@example.com>",
        },
    )
    password = add_user(db_url, server.token, "aino", "Aino")
    return processes, Setup(server, SignedIn(server.base_url, "aino", password), mail)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, rasa: FakeRasa) -> Iterator[Setup]:
    directory = tmp_path_factory.mktemp("mail")
    mail = MailServer(directory / "mail")
    processes, ready = start(directory, rasa, mail.port, mail)
    yield ready
    processes.stop_all()
    mail.stop()


@pytest.fixture
def offline(rasa: FakeRasa) -> FakeRasa:
    rasa.reset(delivered=False)
    return rasa


def test_an_offline_customers_reply_arrives_by_email_in_their_language(
    setup: Setup, offline: FakeRasa
) -> None:
    assert setup.mail is not None
    finnish = setup.create(
        language="fi", contact_method="email", contact_address="maija.meikalainen@example.com"
    )
    english = setup.create(
        language="en", contact_method="email", contact_address="john.smith@example.com"
    )

    fi_reply = setup.agent.api("reply", finnish["number"], text="Siirsin eräpäivän 15.12.")
    en_reply = setup.agent.api("reply", english["number"], text="I've moved the due date.")

    assert fi_reply.status_code == en_reply.status_code == 201
    assert fi_reply.json()["delivery"] == en_reply.json()["delivery"] == "email"
    assert "by e-mail to maija.meikalainen@example.com" in fi_reply.json()["notices"][-1]
    fi_mail, en_mail = setup.mail.messages(2)

    assert fi_mail["X-Envelope-To"] == "maija.meikalainen@example.com"
    assert fi_mail["To"] == "maija.meikalainen@example.com"
    assert fi_mail["From"] == "Laskutus Oy <asiakaspalvelu@example.com>"
    assert fi_mail["Subject"] == f"Vastaus tukipyyntöösi {finnish['number']}"
    assert fi_mail["X-Ticket-Number"] == finnish["number"]
    fi_text = fi_mail.get_content().replace("\r\n", "\n")
    assert fi_text.startswith("Hei,\n\nkiitos, että odotit!")
    assert max(len(line) for line in fi_text.splitlines()) <= 76  # readable as plain text
    fi_text = " ".join(fi_text.split())
    assert "Siirsin eräpäivän 15.12." in fi_text
    assert "Aino asiakaspalvelustamme" in fi_text and finnish["number"] in fi_text
    assert "pahoittel" not in fi_text.lower()  # thanks, not sorry

    assert en_mail["To"] == "john.smith@example.com"
    assert en_mail["Subject"] == f"Reply to your request {english['number']}"
    en_text = " ".join(en_mail.get_content().split())
    assert "I've moved the due date." in en_text
    assert "thanks for waiting" in en_text and "Aino from our customer service" in en_text
    assert "sorry" not in en_text.lower()

    ticket = setup.agent.get(f"/console/api/tickets/{finnish['number']}").json()
    assert ticket["transcript"][-2]["delivery"] == "email"
    assert ticket["transcript"][-1]["sender"] == "system"
    assert "sent by e-mail to maija.meikalainen@example.com" in ticket["transcript"][-1]["text"]


def test_a_customer_in_the_chat_gets_no_email(setup: Setup, rasa: FakeRasa) -> None:
    assert setup.mail is not None
    before = len(list(setup.mail.folder.glob("*.eml")))
    rasa.reset(delivered=True)
    number = setup.create(contact_method="email", contact_address="online@example.com")["number"]

    body = setup.agent.api("reply", number, text="Hei!").json()

    assert body["delivery"] == "chat"
    time.sleep(0.5)
    assert len(list(setup.mail.folder.glob("*.eml"))) == before


def test_with_the_chat_unreachable_the_email_still_goes(setup: Setup, rasa: FakeRasa) -> None:
    assert setup.mail is not None
    before = len(list(setup.mail.folder.glob("*.eml")))
    rasa.reset(fail_with=503)
    number = setup.create(
        language="en", contact_method="email", contact_address="down@example.com"
    )["number"]

    body = setup.agent.api("reply", number, text="Thanks, all sorted.").json()

    assert body["delivery"] == "email"
    newest = setup.mail.messages(before + 1)[-1]
    assert newest["To"] == "down@example.com" and number in newest["Subject"]


def test_a_mail_server_that_is_down_is_reported_on_the_ticket(
    tmp_path: Path, rasa: FakeRasa
) -> None:
    rasa.reset(delivered=False)
    processes, ready = start(tmp_path, rasa, free_port(), None)  # nobody listens there
    try:
        number = ready.create(contact_method="email", contact_address="a@example.com")["number"]

        body = ready.agent.api("reply", number, text="Hei!").json()

        assert body["delivery"] == "email_failed"
        assert "the e-mail to a@example.com failed" in body["warnings"][-1]
        assert "could not be sent" in body["ticket"]["transcript"][-1]["text"]
    finally:
        processes.stop_all()


def test_make_run_starts_the_demo_mail_server_only_for_a_local_smtp_host() -> None:
    base = {"RASA_TOKEN": "x", "PATH": "/usr/bin"}

    default = StackConfig.from_env(base)
    real = StackConfig.from_env({**base, "SMTP_HOST": "smtp.example.com", "SMTP_PORT": "587"})
    local_mta = StackConfig.from_env({**base, "SMTP_HOST": "localhost", "SMTP_PORT": "25"})

    assert default.commands()["mail"][-2:] == ["-m", "bot.mail_server"]
    assert default.env["RASA_URL"] == "http://127.0.0.1:5005"
    assert "mail" not in real.commands() and "mail" not in local_mta.commands()
    assert is_demo_smtp("127.0.0.1", 8025) and not is_demo_smtp("mail.example.com", 8025)
