"""Invoices, payment plans and the `BillingBackend` seam a real billing system plugs into."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal, Protocol

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


def to_cents(amount: Decimal) -> int:
    if amount != amount.quantize(CENTS):
        raise ValueError("amount must be whole cents")
    return int(amount * 100)


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENTS)
