"""The demo billing backend: SQLAlchemy Core, any URL (SQLite by default)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.pool import StaticPool

from actions.billing.model import (
    Instalment,
    Invoice,
    InvoiceNotFound,
    PaymentPlan,
    PaymentPlanExists,
    from_cents,
    to_cents,
)

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
        fee_cents = to_cents(fee)
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
                        "amount_cents": to_cents(instalment.amount),
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
            return [(row.old_due_date, row.new_due_date, from_cents(row.fee_cents)) for row in rows]

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
                Instalment(row.due_date, from_cents(row.amount_cents)) for row in rows
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
        "amount_cents": to_cents(invoice.amount),
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
        amount=from_cents(row.amount_cents),
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
