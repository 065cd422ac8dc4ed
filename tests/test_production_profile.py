"""The production profile of design.md: PostgreSQL for everything, Redis as Rasa's lock store.

The whole stack runs on a throwaway PostgreSQL cluster (conversation logs, tickets,
billing) and a throwaway Redis, started from Debian's packages (tests/services.py), and
a customer goes through a routine answer, a due-date extension and a handoff over REST,
as in tests/test_end_to_end.py. Then the rows are looked for where they belong.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from actions.billing import SqlBillingBackend, seed_demo_data
from bot.admin.logs import HANDED_OFF, read_messages
from bot.stack import Stack, free_port
from tests.conftest import RunningStack, whole_stack
from tests.services import PostgresServer, redis_server
from tests.test_end_to_end import get_json, say, texts


class ProductionStack:
    def __init__(self, stack: RunningStack, redis_port: int) -> None:
        self.stack = stack
        self.redis_port = redis_port

    def url(self, variable: str) -> str:
        return self.stack.config.env[variable]


@pytest.fixture(scope="module")
def production(
    postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProductionStack]:
    with redis_server() as redis_port:
        databases = {
            "TRACKER_STORE_URL": postgres.new_database("tracker"),
            "HELPDESK_DB_URL": postgres.new_database("helpdesk"),
            "BILLING_DB_URL": postgres.new_database("billing"),
        }
        workdir: Path = tmp_path_factory.mktemp("production")
        with whole_stack(
            workdir,
            **databases,
            LOCK_STORE_TYPE="redis",
            REDIS_HOST="127.0.0.1",
            REDIS_PORT=str(redis_port),
        ) as stack:
            yield ProductionStack(stack, redis_port)


def test_every_store_is_postgresql_and_rasa_locks_in_redis(production: ProductionStack) -> None:
    for variable in ("TRACKER_STORE_URL", "HELPDESK_DB_URL", "BILLING_DB_URL"):
        assert production.url(variable).startswith("postgresql://")
    assert production.stack.config.env["LOCK_STORE_TYPE"] == "redis"

    say(production.stack, f"prod-hello-{secrets.token_hex(4)}", "Hei")
    # Rasa (and nobody else but this check) is connected to the throwaway Redis.
    clients = redis.Redis(host="127.0.0.1", port=production.redis_port).client_list()
    assert len(clients) >= 2, clients


def test_extension_and_handoff_land_in_postgresql(production: ProductionStack) -> None:
    stack = production.stack
    billing = SqlBillingBackend(stack.billing_url)
    before = billing.find_invoice("1001")
    new_date = before.due_date + timedelta(days=10)

    customer = f"prod-fi-{secrets.token_hex(4)}"
    assert "viitenumero" in texts(say(stack, customer, "Voinko siirtää laskun 1001 eräpäivää?"))
    assert before.due_date.strftime("%-d.%-m.%Y") in texts(say(stack, customer, "10016"))
    say(stack, customer, new_date.strftime("%-d.%-m."))
    assert new_date.strftime("%-d.%-m.%Y") in texts(say(stack, customer, "kyllä kiitos"))
    assert billing.find_invoice("1001").due_date == new_date

    unhappy = f"prod-handoff-{secrets.token_hex(4)}"
    say(stack, unhappy, "Laskussa on väärä summa")
    say(stack, unhappy, "sähköpostilla")
    told = say(stack, unhappy, "matti.meikalainen@example.com")
    tickets = get_json(
        f"{stack.config.bot_url}/api/tickets?conversation_id={unhappy}",
        {"Authorization": f"Bearer {stack.helpdesk_token}"},
    )["tickets"]
    assert len(tickets) == 1 and tickets[0]["number"] in texts(told)

    # The ticket is a row of the PostgreSQL helpdesk database, not of some SQLite file.
    helpdesk = sa.create_engine(production.url("HELPDESK_DB_URL"))
    with helpdesk.connect() as connection:
        numbers = connection.execute(sa.text("SELECT number FROM tickets")).scalars().all()
    helpdesk.dispose()
    assert tickets[0]["number"] in numbers

    # The admin inbox reads both conversations back from the PostgreSQL tracker store.
    messages = read_messages(production.url("TRACKER_STORE_URL"))
    mine = {message.conversation_id: message for message in messages}
    assert customer in mine and unhappy in mine
    disputed = [m for m in messages if m.conversation_id == unhappy and "summa" in m.text]
    assert disputed and disputed[0].outcome == HANDED_OFF
    # The e-mail address the customer typed is masked before the admin sees it.
    assert not any("matti.meikalainen" in message.text for message in messages)


@pytest.fixture(scope="module")
def second_rasa(production: ProductionStack) -> Iterator[RunningStack]:
    """Another Rasa replica on the same PostgreSQL tracker store and Redis lock store."""
    config = dataclasses.replace(production.stack.config, rasa_port=free_port())
    replica = Stack(config, log_dir=production.stack.logs / "replica", programs=("rasa",))
    replica.start()
    try:
        replica.wait_until_ready(timeout=240)
        yield dataclasses.replace(production.stack, config=config)
    finally:
        replica.stop()


def test_two_rasa_replicas_carry_one_conversation(
    production: ProductionStack, second_rasa: RunningStack
) -> None:
    """Each message of one form goes to the other replica; the conversation doesn't notice."""
    first_rasa = production.stack
    billing = SqlBillingBackend(first_rasa.billing_url)
    seed_demo_data(billing, date.today())
    before = billing.find_invoice("1001")
    new_date = before.due_date + timedelta(days=7)
    customer = f"prod-replicas-{secrets.token_hex(4)}"

    asked = say(first_rasa, customer, "Voinko siirtää laskun 1001 eräpäivää?")
    assert "viitenumero" in texts(asked)
    assert before.due_date.strftime("%-d.%-m.%Y") in texts(say(second_rasa, customer, "10016"))
    confirm = say(first_rasa, customer, new_date.strftime("%-d.%-m."))
    assert new_date.strftime("%-d.%-m.%Y") in texts(confirm)
    assert new_date.strftime("%-d.%-m.%Y") in texts(say(second_rasa, customer, "kyllä kiitos"))
    assert billing.find_invoice("1001").due_date == new_date
