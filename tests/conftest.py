"""Shared fixtures: the real helpdesk (`python -m bot serve`) on a free port.

Tests talk to it over HTTP exactly like the action server does, with a fresh
SQLite file and a random token per test.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import requests

from actions.billing import SqlBillingBackend, seed_demo_data
from bot.stack import DEFAULT_MODEL, Stack, StackConfig, isolated_env
from tests.admin_helpers import copy_project
from tests.services import PostgresServer, postgres_server

REPO = Path(__file__).resolve().parent.parent

# Fixed so that due times and the service-hours display do not depend on a local .env.
HELPDESK_TEST_ENV = {
    "OPENING_HOURS": "mon-fri 08:00-16:00",
    "TIMEZONE": "Europe/Helsinki",
    "TICKET_RESPONSE_HOURS": "4",
}


class HelpdeskServer(NamedTuple):
    base_url: str
    token: str


def free_port() -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_health(
    server: HelpdeskServer, process: subprocess.Popen, log: Path, seconds: float = 30
) -> None:
    """Wait until *this* process answers: healthy, and accepting our token.

    Other test runs on the machine start servers too; checking the token makes
    sure a port taken by someone else fails loudly instead of passing by luck.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"helpdesk exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(server.base_url + "/health", timeout=1):
                break
        except (urllib.error.URLError, OSError):
            time.sleep(0.05)
    else:
        raise RuntimeError(f"helpdesk did not answer /health within {seconds}s:\n{log.read_text()}")
    check = urllib.request.Request(
        server.base_url + "/api/service-hours",
        headers={"Authorization": f"Bearer {server.token}"},
    )
    try:
        with urllib.request.urlopen(check, timeout=5):
            pass
    except (urllib.error.URLError, OSError) as error:
        raise RuntimeError(
            f"{server.base_url} answers but not as our helpdesk ({error}):\n{log.read_text()}"
        ) from error


class HelpdeskProcesses:
    """Starts helpdesk processes under one folder and stops them all at the end."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.processes: list[subprocess.Popen] = []

    def start(
        self,
        port: int | None = None,
        db_url: str | None = None,
        token: str | None = None,
        env: dict[str, str] | None = None,
    ) -> HelpdeskServer:
        port = port or free_port()
        token = token or secrets.token_urlsafe(24)
        db_url = db_url or f"sqlite:///{self.directory / 'var' / f'helpdesk-{port}.db'}"
        log = self.directory / f"helpdesk-{port}.log"
        process_env = {
            **os.environ,
            **HELPDESK_TEST_ENV,
            "HELPDESK_DB_URL": db_url,
            "HELPDESK_API_TOKEN": token,
            # The admin area reads conversation logs: never the developer's var/.
            "TRACKER_STORE_URL": f"sqlite:///{self.directory / 'var' / f'tracker-{port}.db'}",
            **(env or {}),
        }
        with log.open("w") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
                cwd=REPO,
                env=process_env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        self.processes.append(process)
        server = HelpdeskServer(f"http://127.0.0.1:{port}", token)
        wait_for_health(server, process, log)
        return server

    def stop_all(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def start_helpdesk(tmp_path: Path) -> Iterator[Callable[..., HelpdeskServer]]:
    """Factory: `start_helpdesk(port=, db_url=, token=, env=)`; all stop at teardown."""
    processes = HelpdeskProcesses(tmp_path)
    yield processes.start
    processes.stop_all()


@pytest.fixture
def helpdesk_server(start_helpdesk: Callable[..., HelpdeskServer]) -> HelpdeskServer:
    """A running helpdesk with an empty database, just for this test: (base_url, token)."""
    return start_helpdesk()


@pytest.fixture(scope="module")
def shared_helpdesk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HelpdeskServer]:
    """One helpdesk for a whole test module (faster); its tickets pile up between tests."""
    processes = HelpdeskProcesses(tmp_path_factory.mktemp("helpdesk"))
    yield processes.start()
    processes.stop_all()


class HelpdeskApi:
    """Tiny synchronous caller of the helpdesk API for tests (token sent by default)."""

    def __init__(self, server: HelpdeskServer) -> None:
        self.server = server

    def call(
        self, method: str, path: str, token: str | None = "default", **kwargs: Any
    ) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token == "default":
            token = self.server.token
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(
            method, self.server.base_url + path, headers=headers, timeout=10, **kwargs
        )

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("PATCH", path, **kwargs)


@pytest.fixture
def helpdesk_api(helpdesk_server: HelpdeskServer) -> HelpdeskApi:
    """Caller of a fresh helpdesk (numbers start at T-00001, the queue is empty)."""
    return HelpdeskApi(helpdesk_server)


@pytest.fixture
def shared_helpdesk_api(shared_helpdesk_server: HelpdeskServer) -> HelpdeskApi:
    """Caller of the module's shared helpdesk, for tests that need no empty database."""
    return HelpdeskApi(shared_helpdesk_server)


# --- custom actions (tests/test_action_*.py) --------------------------------------


@pytest.fixture
def domain() -> dict[str, Any]:
    """The real domain.yml as a dict, the way the action server receives it."""
    from tests.action_helpers import load_domain

    return load_domain()


@pytest.fixture
def action_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The actions' settings for one test: own billing file and outbox, helpdesk down.

    Every variable the actions read is set, so a local `.env` cannot change results;
    the helpdesk URL points at a port nobody listens on until a test starts one.
    """
    from actions import services
    from tests.action_helpers import TIMEZONE, free_port

    env = {
        "BILLING_DB_URL": f"sqlite:///{tmp_path / 'billing.db'}",
        "HELPDESK_URL": f"http://127.0.0.1:{free_port()}",
        "HELPDESK_API_TOKEN": "no-helpdesk-yet",
        "HELPDESK_OUTBOX_PATH": str(tmp_path / "outbox.db"),
        "EXTENSION_FEE_EUR": "5.00",
        "EXTENSION_MAX_DAYS": "30",
        "REMINDER_FEE_EUR": "5.00",
        "LATE_INTEREST_PERCENT": "11.5",
        "CONTACT_PHONE": "09 4242 4242",
        "CONTACT_EMAIL": "asiakaspalvelu@example.com",
        "TIMEZONE": TIMEZONE,
        # No Rasa to announce tickets filed later to, unless a test starts one.
        "RASA_URL": "",
        "RASA_TOKEN": "",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    services.settings.cache_clear()
    services._billing_for.cache_clear()
    yield tmp_path
    services.settings.cache_clear()
    services._billing_for.cache_clear()


@pytest.fixture
def demo_billing(action_env: Path) -> Iterator[Any]:
    """The billing SQLite file the actions use, seeded with the spec's demo invoices."""
    from actions.billing import SqlBillingBackend, seed_demo_data
    from tests.action_helpers import customer_today

    backend = SqlBillingBackend(os.environ["BILLING_DB_URL"])
    seed_demo_data(backend, customer_today())
    yield backend
    backend.close()


@pytest.fixture
def action_helpdesk(
    action_env: Path, helpdesk_server: HelpdeskServer, monkeypatch: pytest.MonkeyPatch
) -> HelpdeskServer:
    """The real helpdesk (fresh database), with the actions pointed at it."""
    from actions import services

    monkeypatch.setenv("HELPDESK_URL", helpdesk_server.base_url)
    monkeypatch.setenv("HELPDESK_API_TOKEN", helpdesk_server.token)
    services.settings.cache_clear()
    return helpdesk_server


# --- the whole stack, as `make run` starts it ------------------------------------


@dataclass(frozen=True)
class RunningStack:
    """Rasa, the action server, the helpdesk and the outbox relay on free ports."""

    config: StackConfig
    billing_url: str
    logs: Path
    # The supervised processes (pids, states): for tests that kill one.
    stack: Stack | None = None
    # Another web site allowed to embed the chat (a test serves pages there).
    site_port: int = 0

    @property
    def site_origin(self) -> str:
        return f"http://localhost:{self.site_port}"

    @property
    def helpdesk_token(self) -> str:
        return self.config.env["HELPDESK_API_TOKEN"]


@contextlib.contextmanager
def whole_stack(workdir: Path, **extra_env: str) -> Iterator[RunningStack]:
    """Start the stack in `workdir` (fresh SQLite files unless `extra_env` says otherwise)."""
    if not DEFAULT_MODEL.exists():
        pytest.fail(f"no trained model at {DEFAULT_MODEL}: `make test` trains it first")
    # Never the model a developer activated in their admin area; the admin loop
    # labels and trains in a copy, never in this checkout's data/, and its training
    # reuses the components `make test` already trained.
    env = isolated_env(
        workdir,
        DEFAULT_MODEL,
        ADMIN_PROJECT_DIR=str(copy_project(workdir / "project")),
        RASA_CACHE_DIRECTORY=str(REPO / ".rasa" / "cache"),
        **extra_env,
    )
    billing_url = env["BILLING_DB_URL"]
    seed_demo_data(SqlBillingBackend(billing_url), date.today())
    site_port = free_port()
    if "WIDGET_ALLOWED_ORIGINS" not in extra_env:
        demo = f"http://localhost:{env['BOT_PORT']},http://127.0.0.1:{env['BOT_PORT']}"
        env["WIDGET_ALLOWED_ORIGINS"] = f"{demo},http://localhost:{site_port}"
    config = StackConfig.from_env(env)
    stack = Stack(config, log_dir=workdir / "logs")
    stack.start()
    try:
        stack.wait_until_ready(timeout=240)
        yield RunningStack(
            config=config,
            billing_url=billing_url,
            logs=workdir / "logs",
            stack=stack,
            site_port=site_port,
        )
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def running_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """One stack for the whole test session: starting Rasa costs seconds."""
    with whole_stack(tmp_path_factory.mktemp("stack")) as stack:
        yield stack


@pytest.fixture
def fresh_demo_invoices(running_stack: RunningStack) -> SqlBillingBackend:
    """The demo invoices as seeded today: tests that change 1001 don't see each other."""
    billing = SqlBillingBackend(running_stack.billing_url)
    seed_demo_data(billing, date.today())
    return billing


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL cluster for the session; tests take fresh databases."""
    with postgres_server() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database: the embedded default, then the production one."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return request.getfixturevalue("postgres").new_database()
