"""Fault tests: processes really killed with `kill -9`, really restarted by the supervisor.

The stack runs as `make run` runs it (bot.stack under supervisord, embedded SQLite
default). Each test kills one process mid-use and checks that supervisord brings
it back, that the log says what died and when it came back, and that the
customer's conversation (or the helpdesk's tickets) simply carries on.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from actions.billing import SqlBillingBackend, seed_demo_data
from bench.processes import all_stats, process_tree
from bot.stack import DEFAULT_MODEL, PROJECT_ROOT, Stack, StackConfig, isolated_env, responds
from tests.conftest import RunningStack, whole_stack
from tests.test_widget_channel import Widget, greeted, push, session_id_of, tracker_events

# Rasa loads its model again after a restart: allow for a slow, busy machine.
BACK_WITHIN_SECONDS = 180


@pytest.fixture(scope="module")
def supervised(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """A stack of its own: these tests kill its processes."""
    # The relay tries the outbox every second: an outage ends quickly in tests.
    with whole_stack(tmp_path_factory.mktemp("faults"), OUTBOX_FLUSH_SECONDS="1") as stack:
        yield stack


def supervisor_of(running: RunningStack) -> Stack:
    assert running.stack is not None
    return running.stack


def say(running: RunningStack, sender: str, text: str) -> str:
    """The bot's answer over REST, as one text."""
    reply = requests.post(
        f"{running.config.rasa_url}/webhooks/rest/webhook",
        json={"sender": sender, "message": text},
        timeout=60,
    )
    reply.raise_for_status()
    return "\n".join(message.get("text", "") for message in reply.json())


def kill_and_wait_for_restart(running: RunningStack, name: str) -> float:
    """`kill -9` the process `name`; seconds until supervisord's new one is healthy."""
    stack = supervisor_of(running)
    old_pid = stack.pids()[name]
    assert old_pid > 0, f"{name} is not running: {stack.problems()}"
    os.kill(old_pid, signal.SIGKILL)
    killed_at = time.monotonic()
    health = running.config.health_urls().get(name)
    while True:
        new_pid = stack.pids()[name]
        state = stack.supervisor.states()[name]
        if new_pid not in (0, old_pid) and state in ("STARTING", "RUNNING"):
            if health is None or responds(health):
                return time.monotonic() - killed_at
        assert state != "FATAL", f"supervisord gave {name} up"
        assert time.monotonic() - killed_at < BACK_WITHIN_SECONDS, f"{name} did not come back"
        time.sleep(0.2)


def supervisor_log(running: RunningStack) -> str:
    return (running.logs / "supervisord.log").read_text(errors="replace")


def test_rasa_killed_mid_form_comes_back_and_the_form_continues(supervised: RunningStack) -> None:
    billing = SqlBillingBackend(supervised.billing_url)
    seed_demo_data(billing, date.today())
    before = billing.find_invoice("1001")
    new_date = before.due_date + timedelta(days=7)
    customer = f"fault-rasa-{secrets.token_hex(4)}"

    assert "viitenumero" in say(supervised, customer, "Voinko siirtää laskun 1001 eräpäivää?")
    assert before.due_date.strftime("%-d.%-m.%Y") in say(supervised, customer, "10016")

    kill_and_wait_for_restart(supervised, "rasa")

    # The form is in the tracker store: the restarted server asks for nothing again.
    confirm = say(supervised, customer, new_date.strftime("%-d.%-m."))
    assert new_date.strftime("%-d.%-m.%Y") in confirm
    say(supervised, customer, "kyllä kiitos")
    assert billing.find_invoice("1001").due_date == new_date

    log = supervisor_log(supervised)
    assert "exited: rasa (terminated by SIGKILL; not expected)" in log
    assert "spawned: 'rasa'" in log.split("exited: rasa (terminated by SIGKILL")[-1]


def test_action_server_killed_comes_back(supervised: RunningStack) -> None:
    customer = f"fault-actions-{secrets.token_hex(4)}"
    kill_and_wait_for_restart(supervised, "actions")
    # A custom action (the invoice lookup) answers again.
    assert "viitenumero" in say(supervised, customer, "Voinko siirtää laskun 1001 eräpäivää?")
    assert "exited: actions (terminated by SIGKILL; not expected)" in supervisor_log(supervised)


def test_a_message_sent_while_the_action_server_restarts_waits_for_it(
    supervised: RunningStack,
) -> None:
    """`kill -9` of the action server mid-form, and the customer's reference number
    sent at once: Rasa waits for the restarted server (bot/action_retry.py), so the
    form checks the number as a reference number and goes on, no silence."""
    billing = SqlBillingBackend(supervised.billing_url)
    seed_demo_data(billing, date.today())
    before = billing.find_invoice("1001")
    customer = f"fault-actions-form-{secrets.token_hex(4)}"
    assert "viitenumero" in say(supervised, customer, "Voinko siirtää laskun 1001 eräpäivää?")

    stack = supervisor_of(supervised)
    os.kill(stack.pids()["actions"], signal.SIGKILL)
    answer = say(supervised, customer, "10016")  # while the server is down
    assert before.due_date.strftime("%-d.%-m.%Y") in answer
    assert "waiting up to" in (supervised.logs / "rasa.log").read_text(errors="replace")


def test_bot_service_killed_comes_back_with_its_tickets(supervised: RunningStack) -> None:
    api = supervised.config.bot_url + "/api/tickets"
    headers = {"Authorization": f"Bearer {supervised.helpdesk_token}"}
    ticket = {
        "request_id": secrets.token_hex(8),
        "conversation_id": f"fault-bot-{secrets.token_hex(4)}",
        "reason": "customer_request",
        "topic": "other",
        "language": "fi",
        "contact_method": "chat",
        "transcript": [{"sender": "customer", "text": "Haluan puhua ihmisen kanssa"}],
    }
    created = requests.post(api, json=ticket, headers=headers, timeout=10)
    assert created.status_code == 201, created.text
    number = created.json()["number"]

    kill_and_wait_for_restart(supervised, "bot")

    again = requests.get(f"{api}/{number}", headers=headers, timeout=10)
    assert again.status_code == 200 and again.json()["number"] == number
    second = requests.post(
        api, json={**ticket, "request_id": secrets.token_hex(8)}, headers=headers, timeout=10
    )
    assert second.status_code == 201 and second.json()["number"] != number


@pytest.mark.parametrize("name", ["outbox", "mail"])
def test_helpers_without_a_port_come_back(supervised: RunningStack, name: str) -> None:
    kill_and_wait_for_restart(supervised, name)
    assert supervisor_of(supervised).supervisor.states()[name] in ("STARTING", "RUNNING")


def test_a_process_that_keeps_failing_is_retried_with_backoff(tmp_path: Path) -> None:
    """The action server on a port someone holds exits at once, again and again:
    supervisord keeps retrying with growing waits instead of stopping the others."""
    env = isolated_env(tmp_path, DEFAULT_MODEL)
    config = StackConfig.from_env(env)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", config.action_port))
        holder.listen()
        stack = Stack(config, log_dir=tmp_path / "logs", programs=("actions", "outbox"))
        stack.start()
        try:
            deadline = time.monotonic() + 60
            log = ""
            while log.count("exited: actions") < 3:
                assert time.monotonic() < deadline, log
                time.sleep(0.5)
                path = tmp_path / "logs" / "supervisord.log"
                log = path.read_text() if path.exists() else ""
            assert "exited: actions" in log and "not expected" in log
            # The relay next to it was never touched.
            assert stack.supervisor.states()["outbox"] == "RUNNING"
            assert "exited: outbox" not in log
        finally:
            stack.stop()


@pytest.mark.parametrize("stop", ["ctrl_c", "kill_9_of_make_run"])
def test_stopping_make_run_leaves_nothing_running(tmp_path: Path, stop: str) -> None:
    """Ctrl-C in the terminal (SIGINT to the foreground process group), or `kill -9` of
    `python -m bot run` alone: either way every process of the stack ends."""
    env = isolated_env(tmp_path, DEFAULT_MODEL)
    seed_demo_data(SqlBillingBackend(env["BILLING_DB_URL"]), date.today())
    config = StackConfig.from_env(env)
    output = (tmp_path / "run.log").open("ab")  # children append to it too
    run = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, like a terminal's job
    )
    try:
        deadline = time.monotonic() + 240
        log = tmp_path / "run.log"
        while "The assistant is running." not in log.read_text(errors="replace"):
            assert run.poll() is None, (tmp_path / "run.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "run.log").read_text()
            time.sleep(0.5)
        tree = process_tree(run.pid, all_stats())
        assert len(tree) >= 6, tree  # bot run, supervisord and its children

        if stop == "ctrl_c":
            os.killpg(run.pid, signal.SIGINT)
            assert run.wait(timeout=60) == 0
        else:
            os.kill(run.pid, signal.SIGKILL)
            run.wait(timeout=10)
        deadline = time.monotonic() + 60
        while any(_alive(pid) for pid in tree) and time.monotonic() < deadline:
            time.sleep(0.2)
        alive = [pid for pid in tree if _alive(pid)]
        assert not alive, f"still running after {stop}: {alive}"
        assert all(not responds(url) for url in config.health_urls().values())
        # supervisord stopped them in order (TERM), not left them or crashed.
        assert "stopped: rasa" in log.read_text(errors="replace")
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
        output.close()


def _alive(pid: int) -> bool:
    """True if `pid` runs and is not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


# --- the widget: acknowledged means kept ---------------------------------------------


@pytest.fixture
def widget_client(supervised: RunningStack) -> Iterator[Callable[[], Widget]]:
    """Factory of connected widgets on the supervised stack; closed at the end."""
    opened: list[Widget] = []
    origin = f"http://localhost:{supervised.config.bot_port}"

    def open_widget() -> Widget:
        widget = Widget(supervised.config.rasa_url, origin).connect()
        opened.append(widget)
        return widget

    yield open_widget
    for widget in opened:
        try:
            widget.close()
        except Exception:  # noqa: BLE001 - the server may be gone: nothing to close
            pass


def greeted_widget(widget_client: Callable[[], Widget]) -> tuple[Widget, str]:
    """A widget with a new session, after its greeting; and the session id."""
    widget = widget_client()
    mark = widget.mark()
    widget.start()
    greeted(widget, mark)
    assert widget.token is not None
    return widget, session_id_of(widget.token)


def user_message_ids(running: RunningStack, conversation_id: str) -> list[str]:
    """The message ids of the customer's messages in Rasa's tracker, in order."""
    return [
        event.get("message_id")
        for event in tracker_events(running, conversation_id)
        if event["event"] == "user"
    ]


def test_rasa_killed_right_after_receipts_processes_each_message_once_in_order(
    supervised: RunningStack, widget_client: Callable[[], Widget]
) -> None:
    """Five messages acknowledged in a burst, then `kill -9` at the first receipt: the
    restarted server processes every acknowledged one exactly once, in order, and
    the answers reach the customer when the widget comes back."""
    widget, session_id = greeted_widget(widget_client)
    token = widget.token
    texts = ["Mitkä ovat aukioloajat?", "Entä puhelinnumero?", "Kiitos", "Hei", "Moi"]
    sent = [widget.say(text) for text in texts]
    widget.wait_for("receipt", lambda data: data.get("message_id") == sent[0])
    kill_and_wait_for_restart(supervised, "rasa")
    acknowledged = [
        data["message_id"] for _, data in widget.since(0, "receipt") if data["status"] == "received"
    ]
    assert acknowledged and acknowledged == sent[: len(acknowledged)]

    deadline = time.monotonic() + BACK_WITHIN_SECONDS
    while True:
        ids = [i for i in user_message_ids(supervised, session_id) if i in sent]
        if len(ids) >= len(acknowledged) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    # Exactly once and in order (a message not acknowledged may be missing).
    assert ids[: len(acknowledged)] == acknowledged and len(ids) == len(set(ids))
    assert ids == sent[: len(ids)]

    # The widget comes back (as the real one reconnects) and gets what it missed.
    again = widget_client()
    mark = again.mark()
    again.start(token, last_seq=widget.last_seq())
    again.wait_for("bot_uttered", after=mark)
    health = requests.get(f"{supervised.config.rasa_url}/webhooks/widget/health", timeout=10)
    assert health.json()["messages_waiting"] == 0


def test_a_restart_while_a_person_has_the_conversation_keeps_the_handoff(
    supervised: RunningStack, widget_client: Callable[[], Widget]
) -> None:
    widget, session_id = greeted_widget(widget_client)
    api = supervised.config.bot_url + "/api/tickets"
    headers = {"Authorization": f"Bearer {supervised.helpdesk_token}"}
    created = requests.post(
        api,
        json={
            "request_id": secrets.token_hex(8),
            "conversation_id": session_id,
            "reason": "customer_request",
            "topic": "request_human",
            "language": "fi",
            "contact_method": "chat",
            "transcript": [{"sender": "customer", "text": "Haluan puhua ihmiselle"}],
        },
        headers=headers,
        timeout=10,
    )
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    pushed = push(
        supervised,
        {
            "conversation_id": session_id,
            "event": "handoff",
            "data": {"state": "agent", "ticket_number": number, "agent_name": "Aino"},
        },
    )
    assert pushed.status_code == 200, pushed.text

    kill_and_wait_for_restart(supervised, "rasa")

    back = widget_client()
    confirm = back.start(widget.token, last_seq=widget.last_seq())
    assert confirm["resumed"] and confirm["handoff"]["state"] == "agent"
    assert confirm["handoff"]["ticket_number"] == number
    message_id = back.say("Lasku tuli kahteen kertaan")
    receipt = back.wait_for("receipt", lambda data: data.get("message_id") == message_id)
    assert receipt == {
        "message_id": message_id,
        "status": "added_to_ticket",
        "ticket_number": number,
    }

    def in_ticket() -> bool:
        ticket = requests.get(f"{api}/{number}", headers=headers, timeout=10).json()
        return any(m["text"] == "Lasku tuli kahteen kertaan" for m in ticket["transcript"])

    deadline = time.monotonic() + 60
    while not in_ticket():
        assert time.monotonic() < deadline, "the message never reached the ticket"
        time.sleep(0.5)


def test_a_burst_of_200_messages_is_queued_or_refused_never_dropped(
    supervised: RunningStack, widget_client: Callable[[], Widget]
) -> None:
    """200 messages in about 2 s from one session: each is either acknowledged and then
    processed exactly once, in order, or refused before any receipt."""
    widget, session_id = greeted_widget(widget_client)
    sent = []
    for n in range(200):
        sent.append(widget.say(f"viesti {n}"))
        time.sleep(0.01)

    def ours(data: Any) -> bool:
        return isinstance(data, dict) and data.get("message_id") in sent

    deadline = time.monotonic() + 120
    while len(widget.since(0, "receipt")) + len(widget.since(0, "error")) < 200:
        assert time.monotonic() < deadline, "some messages got neither a receipt nor an error"
        time.sleep(0.2)
    receipts = [data["message_id"] for _, data in widget.since(0, "receipt") if ours(data)]
    refused = [data for _, data in widget.since(0, "error") if ours(data)]
    assert {data["code"] for data in refused} <= {"too_many_messages"}
    assert sorted(receipts + [data["message_id"] for data in refused]) == sorted(sent)
    assert receipts, "nothing was acknowledged"

    deadline = time.monotonic() + 300
    while True:
        processed = [i for i in user_message_ids(supervised, session_id) if i in sent]
        if len(processed) >= len(receipts) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert processed == receipts  # every acknowledged one, once, in order
    print(f"burst of 200: {len(receipts)} acknowledged and processed, {len(refused)} refused")


def test_a_ticket_filed_after_an_outage_is_announced_in_the_chat(
    supervised: RunningStack, widget_client: Callable[[], Widget]
) -> None:
    """The helpdesk is down when the customer asks for a person: they hear that the
    request is saved; when the helpdesk is back the outbox files it and the customer
    is told its number and reply time in the chat, without writing anything."""
    stack = supervisor_of(supervised)
    widget, _ = greeted_widget(widget_client)
    stack.supervisor.stop("bot")
    try:
        mark = widget.mark()
        widget.say("Haluan puhua ihmisen kanssa")
        widget.wait_for("bot_uttered", lambda data: bool(data.get("buttons")), after=mark)
        mark = widget.mark()
        widget.say("tässä chatissa")
        saved = widget.wait_for(
            "bot_uttered", lambda data: "tallessa" in (data.get("text") or ""), after=mark
        )
        assert "T-" not in saved["text"]
    finally:
        mark_after = widget.mark()  # start() returns once the service is up: maybe later
        stack.supervisor.start("bot")
    told = widget.wait_for(
        "bot_uttered", lambda data: "nyt kirjattu" in (data.get("text") or ""), after=mark_after
    )
    banner = widget.wait_for(
        "handoff", lambda data: bool(data.get("ticket_number")), after=mark_after
    )
    assert banner["ticket_number"] in told["text"] and banner["state"] == "waiting"
    # From now on the customer's messages go to that ticket.
    message_id = widget.say("Lisätietoa: lasku 1002")
    receipt = widget.wait_for("receipt", lambda data: data.get("message_id") == message_id)
    assert receipt["status"] == "added_to_ticket"
    assert receipt["ticket_number"] == banner["ticket_number"]


def test_asking_a_supervisor_that_is_shutting_down_never_raises(tmp_path: Path) -> None:
    """Ctrl-C reaches supervisord and `make run` at once: while supervisord shuts down
    it answers with a Fault (SHUTDOWN_STATE), then not at all; `problems()` says so."""
    env = isolated_env(tmp_path, DEFAULT_MODEL)
    stack = Stack(StackConfig.from_env(env), log_dir=tmp_path / "logs", programs=("mail",))
    stack.start()
    try:
        deadline = time.monotonic() + 60
        while not stack.supervisor.is_up() or stack.problems():
            assert time.monotonic() < deadline, stack.problems()
            time.sleep(0.2)
        assert stack.supervisord is not None
        stack.supervisord.send_signal(signal.SIGINT)
        seen = set()
        while stack.supervisord.poll() is None:
            seen.update(stack.problems().values())  # must never raise
        assert stack.problems() == {"supervisord": "EXITED"}
        assert seen <= {"NOT ANSWERING", "STOPPING", "STOPPED", "EXITED"}
    finally:
        stack.stop()
