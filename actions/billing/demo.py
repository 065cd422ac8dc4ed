"""The five demo invoices of the spec, due dates relative to the seeding day."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from actions.billing.model import Invoice
from actions.billing.sql import SqlBillingBackend
from actions.reference import reference_for

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
