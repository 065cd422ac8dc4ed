"""The billing backend the actions talk to, and the rules for what the bot may do.

`BillingBackend` is the seam: the demo uses `SqlBillingBackend` (SQLAlchemy Core, any
URL, SQLite by default); a real billing system gets its own adapter with the same
methods. Policy helpers are pure functions that return reason codes, so the actions
pick the response and the rules stay testable without a database.
"""

from __future__ import annotations

import argparse
import contextlib
import threading
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Literal, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.pool import StaticPool

from actions.dates import add_months
from actions.reference import reference_for

InvoiceState = Literal["open", "paid", "collection"]
CENTS = Decimal("0.01")
MIN_INSTALMENTS = 2
MAX_INSTALMENTS = 6


class BillingError(Exception):
    """Base of the errors a billing backend raises."""


class InvoiceNotFound(BillingError, LookupError):
    """No invoice with that number."""


class PaymentPlanExists(BillingError):
    """The invoice already has a payment plan; one is the most it can have."""


@dataclass(frozen=True)
class Invoice:
    """One invoice as the bot sees it. `amount` includes fees already added."""

    number: str
    reference: str
    amount: Decimal
    issue_date: date
    due_date: date
    state: InvoiceState
    extension_count: int
    paid_on: date | None
    customer_name: str
    customer_email: str
    recipient: str
    iban: str
    bic: str
    original_due_date: date  # extension limits count from this, not the current due date
    has_payment_plan: bool = False


@dataclass(frozen=True)
class Instalment:
    due_date: date
    amount: Decimal


@dataclass(frozen=True)
class PaymentPlan:
    invoice_number: str
    instalments: tuple[Instalment, ...]
    created_at: datetime

    @property
    def total(self) -> Decimal:
        return sum((instalment.amount for instalment in self.instalments), Decimal(0))


class BillingBackend(Protocol):
    """What the actions need from a billing system. Numbers are invoice numbers."""

    def find_invoice(self, number: str) -> Invoice | None: ...

    def find_by_reference(self, reference: str) -> Invoice | None: ...

    def extend_due_date(self, number: str, new_due_date: date, fee: Decimal) -> Invoice:
        """Move the due date, count the extension, add the fee, keep an audit row."""
        ...

    def create_payment_plan(
        self, number: str, instalments: Sequence[Instalment]
    ) -> PaymentPlan: ...

    def request_invoice_copy(self, number: str) -> str:
        """Queue a copy for the billing system's mailer; returns the e-mail on file."""
        ...

    def payment_plan_for(self, number: str) -> PaymentPlan | None: ...


# --- policy: pure functions returning reason codes --------------------------------


def extension_block(invoice: Invoice) -> str | None:
    """Why the bot may not extend this invoice itself, or None if it may."""
    if invoice.state == "paid":
        return "paid"
    if invoice.state == "collection":
        return "in_collection"
    if invoice.extension_count > 0:
        return "already_extended"
    return None


def latest_extension_date(invoice: Invoice, max_days: int) -> date:
    """The latest due date an extension may set: the original due date + max_days."""
    return invoice.original_due_date + timedelta(days=max_days)


def payment_plan_block(invoice: Invoice) -> str | None:
    """Why the bot may not set up a payment plan for this invoice, or None if it may."""
    if invoice.state == "paid":
        return "paid"
    if invoice.state == "collection":
        return "in_collection"
    if invoice.has_payment_plan:
        return "has_plan"
    return None


def plan_schedule(
    amount: Decimal,
    count: int,
    first_due: date,
    min_count: int = MIN_INSTALMENTS,
    max_count: int = MAX_INSTALMENTS,
) -> list[Instalment]:
    """Monthly instalments from `first_due` (the invoice's current due date).

    Cents are spread so the instalments add up to exactly `amount`; the odd cents go
    to the first instalments. Raises ValueError for a count outside min..max or an
    amount that is not positive whole cents.
    """
    if not min_count <= count <= max_count:
        raise ValueError(f"instalment count must be {min_count}..{max_count}")
    cents = _to_cents(amount)
    if cents <= 0:
        raise ValueError("amount must be positive")
    share, odd = divmod(cents, count)
    return [
        Instalment(add_months(first_due, index), _from_cents(share + (1 if index < odd else 0)))
        for index in range(count)
    ]


def _to_cents(amount: Decimal) -> int:
    if amount != amount.quantize(CENTS):
        raise ValueError("amount must be whole cents")
    return int(amount * 100)


def _from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENTS)


# --- SQL adapter ------------------------------------------------------------------

metadata = sa.MetaData()

invoices_table = sa.Table(
    "billing_invoices",
    metadata,
    sa.Column("number", sa.String(20), primary_key=True),
    sa.Column("reference", sa.String(20), nullable=False, unique=True),
    sa.Column("amount_cents", sa.Integer, nullable=False),
    sa.Column("issue_date", sa.Date, nullable=False),
    sa.Column("original_due_date", sa.Date, nullable=False),
    sa.Column("due_date", sa.Date, nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("extension_count", sa.Integer, nullable=False, default=0),
    sa.Column("paid_on", sa.Date, nullable=True),
    sa.Column("customer_name", sa.String(200), nullable=False),
    sa.Column("customer_email", sa.String(320), nullable=False),
    sa.Column("recipient", sa.String(200), nullable=False),
    sa.Column("iban", sa.String(42), nullable=False),
    sa.Column("bic", sa.String(11), nullable=False),
)

extensions_table = sa.Table(
    "billing_extensions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "invoice_number", sa.String(20), sa.ForeignKey("billing_invoices.number"), nullable=False
    ),
    sa.Column("old_due_date", sa.Date, nullable=False),
    sa.Column("new_due_date", sa.Date, nullable=False),
    sa.Column("fee_cents", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

plans_table = sa.Table(
    "billing_payment_plans",
    metadata,
    sa.Column(
        "invoice_number", sa.String(20), sa.ForeignKey("billing_invoices.number"), primary_key=True
    ),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

instalments_table = sa.Table(
    "billing_instalments",
    metadata,
    sa.Column(
        "invoice_number",
        sa.String(20),
        sa.ForeignKey("billing_payment_plans.invoice_number"),
        primary_key=True,
    ),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("due_date", sa.Date, nullable=False),
    sa.Column("amount_cents", sa.Integer, nullable=False),
)

copy_requests_table = sa.Table(
    "billing_copy_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "invoice_number", sa.String(20), sa.ForeignKey("billing_invoices.number"), nullable=False
    ),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("requested_at", sa.DateTime, nullable=False),
    sa.Column("sent_at", sa.DateTime, nullable=True),  # set by the billing system's mailer
)

_CHILD_TABLES = (extensions_table, instalments_table, plans_table, copy_requests_table)


def _utcnow() -> datetime:
    """Stored naive, meaning UTC (SQLite keeps no time zone)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class SqlBillingBackend:
    """Billing backend on a SQL database; creates its tables if they are missing.

    Synchronous on purpose: each call is one short transaction on a local database.
    Safe to share between threads: the engine pools connections, updates are single
    atomic statements, and on SQLite (one writer at a time anyway) calls are serialised.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine = _create_engine(url)
        self._lock: AbstractContextManager[object] = (
            threading.RLock() if self._engine.dialect.name == "sqlite" else contextlib.nullcontext()
        )
        metadata.create_all(self._engine)

    def close(self) -> None:
        self._engine.dispose()

    def find_invoice(self, number: str) -> Invoice | None:
        with self._lock, self._engine.connect() as connection:
            return self._invoice(connection, number.strip())

    def find_by_reference(self, reference: str) -> Invoice | None:
        with self._lock, self._engine.connect() as connection:
            number = connection.execute(
                sa.select(invoices_table.c.number).where(
                    invoices_table.c.reference == "".join(reference.split())
                )
            ).scalar()
            return None if number is None else self._invoice(connection, number)

    def extend_due_date(self, number: str, new_due_date: date, fee: Decimal) -> Invoice:
        fee_cents = _to_cents(fee)
        with self._lock, self._engine.begin() as connection:
            current = self._require(connection, number)
            connection.execute(
                invoices_table.update()
                .where(invoices_table.c.number == number)
                .values(
                    due_date=new_due_date,
                    extension_count=invoices_table.c.extension_count + 1,
                    amount_cents=invoices_table.c.amount_cents + fee_cents,
                )
            )
            connection.execute(
                extensions_table.insert().values(
                    invoice_number=number,
                    old_due_date=current.due_date,
                    new_due_date=new_due_date,
                    fee_cents=fee_cents,
                    created_at=_utcnow(),
                )
            )
            return self._require(connection, number)

    def create_payment_plan(self, number: str, instalments: Sequence[Instalment]) -> PaymentPlan:
        if not instalments:
            raise ValueError("a payment plan needs instalments")
        created_at = _utcnow()
        with self._lock, self._engine.begin() as connection:
            self._require(connection, number)
            if self._plan(connection, number) is not None:
                raise PaymentPlanExists(number)
            try:
                connection.execute(
                    plans_table.insert().values(invoice_number=number, created_at=created_at)
                )
            except sa.exc.IntegrityError as error:  # another process got there first
                raise PaymentPlanExists(number) from error
            connection.execute(
                instalments_table.insert(),
                [
                    {
                        "invoice_number": number,
                        "position": position,
                        "due_date": instalment.due_date,
                        "amount_cents": _to_cents(instalment.amount),
                    }
                    for position, instalment in enumerate(instalments, start=1)
                ],
            )
            plan = self._plan(connection, number)
        assert plan is not None
        return plan

    def request_invoice_copy(self, number: str) -> str:
        with self._lock, self._engine.begin() as connection:
            invoice = self._require(connection, number)
            connection.execute(
                copy_requests_table.insert().values(
                    invoice_number=number, email=invoice.customer_email, requested_at=_utcnow()
                )
            )
            return invoice.customer_email

    def payment_plan_for(self, number: str) -> PaymentPlan | None:
        with self._lock, self._engine.connect() as connection:
            return self._plan(connection, number.strip())

    # -- for the seed, the mailer and tests --

    def count_invoices(self) -> int:
        with self._lock, self._engine.connect() as connection:
            return int(
                connection.execute(sa.select(sa.func.count()).select_from(invoices_table)).scalar()
                or 0
            )

    def pending_copy_requests(self) -> list[tuple[str, str]]:
        """(invoice number, e-mail) of copy requests the mailer has not sent yet."""
        with self._lock, self._engine.connect() as connection:
            rows = connection.execute(
                sa.select(copy_requests_table.c.invoice_number, copy_requests_table.c.email)
                .where(copy_requests_table.c.sent_at.is_(None))
                .order_by(copy_requests_table.c.id)
            )
            return [(row.invoice_number, row.email) for row in rows]

    def extension_history(self, number: str) -> list[tuple[date, date, Decimal]]:
        """(old due date, new due date, fee) of each extension, oldest first."""
        with self._lock, self._engine.connect() as connection:
            rows = connection.execute(
                sa.select(extensions_table)
                .where(extensions_table.c.invoice_number == number)
                .order_by(extensions_table.c.id)
            )
            return [
                (row.old_due_date, row.new_due_date, _from_cents(row.fee_cents)) for row in rows
            ]

    def replace_invoices(self, invoices: Iterable[Invoice]) -> None:
        """Put these invoices in their given state, dropping their plans, extensions and copies."""
        rows = [_invoice_row(invoice) for invoice in invoices]
        numbers = [row["number"] for row in rows]
        with self._lock, self._engine.begin() as connection:
            for table in _CHILD_TABLES:
                connection.execute(table.delete().where(table.c.invoice_number.in_(numbers)))
            connection.execute(invoices_table.delete().where(invoices_table.c.number.in_(numbers)))
            connection.execute(invoices_table.insert(), rows)

    # -- helpers --

    def _require(self, connection: Connection, number: str) -> Invoice:
        invoice = self._invoice(connection, number)
        if invoice is None:
            raise InvoiceNotFound(number)
        return invoice

    def _invoice(self, connection: Connection, number: str) -> Invoice | None:
        row = connection.execute(
            sa.select(invoices_table).where(invoices_table.c.number == number)
        ).first()
        if row is None:
            return None
        has_plan = connection.execute(
            sa.select(plans_table.c.invoice_number).where(plans_table.c.invoice_number == number)
        ).first()
        return _invoice_from_row(row, has_plan is not None)

    def _plan(self, connection: Connection, number: str) -> PaymentPlan | None:
        plan = connection.execute(
            sa.select(plans_table).where(plans_table.c.invoice_number == number)
        ).first()
        if plan is None:
            return None
        rows = connection.execute(
            sa.select(instalments_table)
            .where(instalments_table.c.invoice_number == number)
            .order_by(instalments_table.c.position)
        )
        return PaymentPlan(
            invoice_number=number,
            instalments=tuple(
                Instalment(row.due_date, _from_cents(row.amount_cents)) for row in rows
            ),
            created_at=plan.created_at.replace(tzinfo=timezone.utc),
        )


def _create_engine(url: str) -> Engine:
    """An engine that several threads can share; makes the folder of a SQLite file."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(url, future=True, pool_pre_ping=True)
    database = parsed.database or ""
    connect_args = {"check_same_thread": False, "timeout": 30}
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        # One shared connection, or every thread would see its own empty database.
        return sa.create_engine(url, future=True, connect_args=connect_args, poolclass=StaticPool)
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    return sa.create_engine(url, future=True, connect_args=connect_args)


def _invoice_row(invoice: Invoice) -> dict[str, object]:
    return {
        "number": invoice.number,
        "reference": invoice.reference,
        "amount_cents": _to_cents(invoice.amount),
        "issue_date": invoice.issue_date,
        "original_due_date": invoice.original_due_date,
        "due_date": invoice.due_date,
        "state": invoice.state,
        "extension_count": invoice.extension_count,
        "paid_on": invoice.paid_on,
        "customer_name": invoice.customer_name,
        "customer_email": invoice.customer_email,
        "recipient": invoice.recipient,
        "iban": invoice.iban,
        "bic": invoice.bic,
    }


def _invoice_from_row(row: Row, has_payment_plan: bool) -> Invoice:
    return Invoice(
        number=row.number,
        reference=row.reference,
        amount=_from_cents(row.amount_cents),
        issue_date=row.issue_date,
        due_date=row.due_date,
        state=row.state,
        extension_count=row.extension_count,
        paid_on=row.paid_on,
        customer_name=row.customer_name,
        customer_email=row.customer_email,
        recipient=row.recipient,
        iban=row.iban,
        bic=row.bic,
        original_due_date=row.original_due_date,
        has_payment_plan=has_payment_plan,
    )


# --- demo data --------------------------------------------------------------------

DEMO_RECIPIENT = "Laskutus Oy"
DEMO_IBAN = "FI21 1234 5600 0007 85"
DEMO_BIC = "NDEAFIHH"
_DAYS_TO_PAY = 14  # issue date = original due date - this


def demo_invoices(today: date) -> list[Invoice]:
    """The five demo invoices of the spec, with due dates relative to `today`."""
    day = timedelta(days=1)

    def invoice(
        number: str, amount: str, due_in: int, name: str, email: str, **changes: object
    ) -> Invoice:
        due = today + due_in * day
        base = Invoice(
            number=number,
            reference=reference_for(number),
            amount=Decimal(amount),
            issue_date=due - _DAYS_TO_PAY * day,
            due_date=due,
            state="open",
            extension_count=0,
            paid_on=None,
            customer_name=name,
            customer_email=email,
            recipient=DEMO_RECIPIENT,
            iban=DEMO_IBAN,
            bic=DEMO_BIC,
            original_due_date=due,
        )
        return replace(base, **changes)  # type: ignore[arg-type]

    extended_from = today + 10 * day - _DAYS_TO_PAY * day  # 1002 was moved by 14 days once
    paid_issue = today - 20 * day - _DAYS_TO_PAY * day
    return [
        invoice("1001", "89.90", 5, "Aino Virtanen", "aino.virtanen@example.com"),
        invoice(
            "1002",
            "142.50",
            10,
            "Mikko Korhonen",
            "mikko.korhonen@example.com",
            extension_count=1,
            original_due_date=extended_from,
            issue_date=extended_from - _DAYS_TO_PAY * day,
        ),
        invoice(
            "1003",
            "59.00",
            -20,
            "Laura Mäkinen",
            "laura.makinen@example.com",
            state="paid",
            paid_on=paid_issue + 3 * day,
        ),
        invoice("1004", "1250.00", 12, "Juha Nieminen", "juha.nieminen@example.com"),
        invoice(
            "1005",
            "310.00",
            -40,
            "Sanna Heikkinen",
            "sanna.heikkinen@example.com",
            state="collection",
        ),
    ]


def seed_demo_data(backend: SqlBillingBackend, today: date) -> list[Invoice]:
    """Reset the demo invoices to the spec's table. Idempotent: other invoices stay."""
    invoices = demo_invoices(today)
    backend.replace_invoices(invoices)
    return invoices


# --- CLI --------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m actions.billing seed [--url URL] [--if-empty] [--today YYYY-MM-DD]`."""
    from zoneinfo import ZoneInfo

    from actions.config import ActionSettings

    settings = ActionSettings.from_env()
    parser = argparse.ArgumentParser(
        prog="python -m actions.billing", description="Demo billing database."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    seed = commands.add_parser("seed", help="load the demo invoices")
    seed.add_argument("--url", default=settings.billing_db_url, help="SQLAlchemy database URL")
    seed.add_argument("--if-empty", action="store_true", help="only when there are no invoices")
    seed.add_argument("--today", type=date.fromisoformat, help="due dates relative to this day")
    args = parser.parse_args(argv)

    today = args.today or datetime.now(ZoneInfo(settings.timezone)).date()
    backend = SqlBillingBackend(args.url)
    shown_url = repr(sa.engine.make_url(args.url))  # password masked
    try:
        existing = backend.count_invoices()
        if args.if_empty and existing:
            print(f"{shown_url}: {existing} invoices already there, nothing seeded")
            return 0
        invoices = seed_demo_data(backend, today)
    finally:
        backend.close()
    numbers = ", ".join(invoice.number for invoice in invoices)
    print(f"{shown_url}: seeded demo invoices {numbers} (due dates relative to {today})")
    return 0


if __name__ == "__main__":
    from dotenv import load_dotenv

    load_dotenv()
    raise SystemExit(main())
