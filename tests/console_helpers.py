"""Helpers of the agent console tests: a signed-in agent, users made with the CLI,
and a stand-in for Rasa's HTTP API that records what the console sends.

The stand-in answers exactly like the real endpoints do (docs/widget-protocol.md:
`POST /webhooks/widget/push` -> `{seq, delivered}`; Rasa's
`/conversations/<id>/tracker/events` and `/execute`), so the console's side of
those calls is checked precisely here; the real Rasa is used by the browser test.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

REPO = Path(__file__).resolve().parent.parent


def add_user(db_url: str, token: str, username: str, first_name: str, role: str = "agent") -> str:
    """`python -m bot users add`, as an admin would run it; returns the printed password."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "users",
            "add",
            "--username",
            username,
            "--first-name",
            first_name,
            "--role",
            role,
        ],
        cwd=REPO,
        env={**os.environ, "HELPDESK_DB_URL": db_url, "HELPDESK_API_TOKEN": token},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    found = re.search(r"Password[^:]*:\s*(\S+)", result.stdout)
    assert found, result.stdout
    return found.group(1)


class SignedIn:
    """A browser-like session of one agent: signs in with the form, sends the CSRF token."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        page = self.session.get(base_url + "/console/login", timeout=10)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token, page.text
        response = self.session.post(
            base_url + "/console/login",
            data={
                "csrf_token": token.group(1),
                "next": "/console",
                "username": username,
                "password": password,
            },
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 303, response.text
        me = self.session.get(base_url + "/console/me", timeout=10).json()
        self.csrf = me["csrf_token"]
        self.first_name = me["first_name"]
        self.username = me["username"]

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.base_url + path, timeout=10, **kwargs)

    def api(self, action: str, number: str, **body: Any) -> requests.Response:
        """POST /console/api/tickets/<number>/<action> with the CSRF header."""
        return self.session.post(
            f"{self.base_url}/console/api/tickets/{number}/{action}",
            json=body,
            headers={"X-CSRF-Token": self.csrf},
            timeout=60,
        )

    def form(self, action: str, number: str, **fields: str) -> requests.Response:
        """The same action as a plain HTML form (no script)."""
        return self.session.post(
            f"{self.base_url}/console/tickets/{number}/{action}",
            data={"csrf_token": self.csrf, **fields},
            allow_redirects=False,
            timeout=60,
        )


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class FakeRasa:
    """Rasa's push endpoint and HTTP API on a free port, recording every call."""

    delivered: bool = True
    fail_with: int | None = None  # answer every call with this status instead
    calls: list[Recorded] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                fake.calls.append(
                    Recorded(
                        "POST",
                        parts.path,
                        parse_qs(parts.query),
                        {k.lower(): v for k, v in self.headers.items()},
                        json.loads(raw) if raw else None,
                    )
                )
                if fake.fail_with:
                    self._answer(fake.fail_with, {"error": "down for the test"})
                elif parts.path == "/webhooks/widget/push":
                    self._answer(200, {"seq": len(fake.calls), "delivered": fake.delivered})
                else:
                    self._answer(200, {"events": []})

            def _answer(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def reset(self, delivered: bool = True, fail_with: int | None = None) -> None:
        self.calls.clear()
        self.delivered = delivered
        self.fail_with = fail_with

    def pushes(self, conversation_id: str) -> list[tuple[str, dict]]:
        return [
            (call.body["event"], call.body["data"])
            for call in self.calls
            if call.path == "/webhooks/widget/push"
            and call.body["conversation_id"] == conversation_id
        ]


def ticket_body(**overrides: Any) -> dict[str, Any]:
    """What the action server sends when it files a ticket."""
    body = {
        "request_id": uuid.uuid4().hex,
        "conversation_id": "conv-" + uuid.uuid4().hex[:10],
        "reason": "dispute",
        "topic": "dispute_invoice",
        "language": "fi",
        "invoice_number": "1001",
        "contact_method": "chat",
        "transcript": [
            {"sender": "customer", "text": "Laskussa on väärä summa"},
            {"sender": "bot", "text": "Tuon asian eteenpäin ihmiselle."},
        ],
    }
    body.update(overrides)
    return body
