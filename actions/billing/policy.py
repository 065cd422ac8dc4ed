"""What the bot may do for an invoice: pure functions returning reason codes."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from actions.billing.model import (
    MAX_INSTALMENTS,
    MIN_INSTALMENTS,
    Instalment,
    Invoice,
    from_cents,
    to_cents,
)
from actions.dates import add_months


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
    cents = to_cents(amount)
    if cents <= 0:
        raise ValueError("amount must be positive")
    share, odd = divmod(cents, count)
    return [
        Instalment(add_months(first_due, index), from_cents(share + (1 if index < odd else 0)))
        for index in range(count)
    ]
