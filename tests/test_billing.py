"""Billing adapter on a real SQLite file, demo data and the policy helpers."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from actions.billing import (
    Instalment,
    Invoice,
    InvoiceNotFound,
    PaymentPlanExists,
    SqlBillingBackend,
    demo_invoices,
    extension_block,
    latest_extension_date,
    payment_plan_block,
    plan_schedule,
    seed_demo_data,
)
from actions.billing.demo import DEMO_IBAN
from actions.reference import is_valid_reference

TODAY = date(2026, 11, 23)
REPO = Path(__file__).resolve().parents[1]


def days(count: int) -> date:
    return TODAY + timedelta(days=count)


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[SqlBillingBackend]:
    backend = SqlBillingBackend(f"sqlite:///{tmp_path}/nested/billing.db")
    seed_demo_data(backend, TODAY)
    yield backend
    backend.close()


def invoice_of(backend: SqlBillingBackend, number: str) -> Invoice:
    invoice = backend.find_invoice(number)
    assert invoice is not None
    return invoice


# --- demo data, as in the spec's table ---------------------------------------------


@pytest.mark.parametrize(
    ("number", "reference", "amount", "due", "state"),
    [
        ("1001", "10016", "89.90", days(5), "open"),
        ("1002", "10029", "142.50", days(10), "open"),
        ("1003", "10032", "59.00", days(-20), "paid"),
        ("1004", "10045", "1250.00", days(12), "open"),
        ("1005", "10058", "310.00", days(-40), "collection"),
    ],
)
def test_demo_invoices_match_the_spec(
    backend: SqlBillingBackend, number: str, reference: str, amount: str, due: date, state: str
) -> None:
    invoice = invoice_of(backend, number)
    assert invoice.reference == reference
    assert invoice.amount == Decimal(amount)
    assert invoice.due_date == due
    assert invoice.state == state
    assert invoice.issue_date < invoice.original_due_date <= invoice.due_date
    assert invoice.customer_email.endswith("@example.com")
    assert invoice.customer_name
    assert invoice.recipient == "Laskutus Oy"
    assert invoice.bic == "NDEAFIHH"
    assert is_valid_reference(invoice.reference)
    assert not invoice.has_payment_plan


def test_demo_details(backend: SqlBillingBackend) -> None:
    assert invoice_of(backend, "1002").extension_count == 1
    assert {invoice_of(backend, n).extension_count for n in ("1001", "1003", "1004", "1005")} == {0}
    paid = invoice_of(backend, "1003")
    assert paid.paid_on == paid.issue_date + timedelta(days=3)
    assert all(invoice_of(backend, n).paid_on is None for n in ("1001", "1002", "1004", "1005"))


def test_demo_iban_is_valid() -> None:
    compact = DEMO_IBAN.replace(" ", "")
    rearranged = compact[4:] + compact[:4]
    digits = "".join(str(int(char, 36)) for char in rearranged)
    assert compact.startswith("FI") and len(compact) == 18
    assert int(digits) % 97 == 1


def test_seed_is_idempotent_and_resets(backend: SqlBillingBackend) -> None:
    backend.extend_due_date("1001", days(20), Decimal("5.00"))
    backend.create_payment_plan("1004", plan_schedule(Decimal("1250.00"), 2, days(12)))
    backend.request_invoice_copy("1001")
    seed_demo_data(backend, TODAY)
    seed_demo_data(backend, TODAY)
    assert backend.count_invoices() == 5
    assert [invoice_of(backend, i.number) for i in demo_invoices(TODAY)] == demo_invoices(TODAY)
    assert backend.payment_plan_for("1004") is None
    assert backend.extension_history("1001") == []
    assert backend.pending_copy_requests() == []


def test_seed_keeps_other_invoices(backend: SqlBillingBackend) -> None:
    other = replace(demo_invoices(TODAY)[0], number="2001", reference="20012")
    backend.replace_invoices([other])
    seed_demo_data(backend, TODAY)
    assert backend.find_invoice("2001") == other
    assert backend.count_invoices() == 6


def test_demo_dates_follow_today(tmp_path: Path) -> None:
    later = TODAY + timedelta(days=100)
    backend = SqlBillingBackend(f"sqlite:///{tmp_path}/billing.db")
    try:
        seed_demo_data(backend, later)
        assert invoice_of(backend, "1001").due_date == later + timedelta(days=5)
    finally:
        backend.close()


# --- lookups -----------------------------------------------------------------------


def test_find_unknown_invoice(backend: SqlBillingBackend) -> None:
    assert backend.find_invoice("9999") is None
    assert backend.find_invoice(" 1001 ") is not None


def test_find_by_reference(backend: SqlBillingBackend) -> None:
    assert invoice_of(backend, "1004") == backend.find_by_reference("1004 5")
    assert backend.find_by_reference("10017") is None


# --- extension ---------------------------------------------------------------------


def test_extend_due_date(backend: SqlBillingBackend) -> None:
    before = invoice_of(backend, "1001")
    after = backend.extend_due_date("1001", days(25), Decimal("5.00"))
    assert after.due_date == days(25)
    assert after.extension_count == 1
    assert after.amount == Decimal("94.90")
    assert after.original_due_date == before.original_due_date
    assert invoice_of(backend, "1001") == after
    assert backend.extension_history("1001") == [(days(5), days(25), Decimal("5.00"))]
    assert extension_block(after) == "already_extended"


def test_extend_unknown_invoice(backend: SqlBillingBackend) -> None:
    with pytest.raises(InvoiceNotFound):
        backend.extend_due_date("9999", days(25), Decimal("5.00"))


def test_extension_fee_must_be_cents(backend: SqlBillingBackend) -> None:
    with pytest.raises(ValueError):
        backend.extend_due_date("1001", days(25), Decimal("5.001"))
    assert invoice_of(backend, "1001").extension_count == 0


# --- payment plan ------------------------------------------------------------------


def test_create_payment_plan(backend: SqlBillingBackend) -> None:
    invoice = invoice_of(backend, "1004")
    schedule = plan_schedule(invoice.amount, 3, invoice.due_date)
    plan = backend.create_payment_plan("1004", schedule)
    assert plan.invoice_number == "1004"
    assert list(plan.instalments) == schedule
    assert plan.total == invoice.amount
    assert plan.created_at.tzinfo is not None
    assert backend.payment_plan_for("1004") == plan
    assert invoice_of(backend, "1004").has_payment_plan
    assert payment_plan_block(invoice_of(backend, "1004")) == "has_plan"


def test_only_one_payment_plan(backend: SqlBillingBackend) -> None:
    schedule = plan_schedule(Decimal("1250.00"), 2, days(12))
    backend.create_payment_plan("1004", schedule)
    with pytest.raises(PaymentPlanExists):
        backend.create_payment_plan("1004", schedule)


def test_payment_plan_errors(backend: SqlBillingBackend) -> None:
    with pytest.raises(InvoiceNotFound):
        backend.create_payment_plan("9999", [Instalment(days(1), Decimal("1.00"))])
    with pytest.raises(ValueError):
        backend.create_payment_plan("1004", [])
    assert backend.payment_plan_for("1001") is None


# --- invoice copy ------------------------------------------------------------------


def test_request_invoice_copy(backend: SqlBillingBackend) -> None:
    assert backend.request_invoice_copy("1001") == "aino.virtanen@example.com"
    assert backend.request_invoice_copy("1003") == invoice_of(backend, "1003").customer_email
    assert backend.pending_copy_requests() == [
        ("1001", "aino.virtanen@example.com"),
        ("1003", invoice_of(backend, "1003").customer_email),
    ]
    with pytest.raises(InvoiceNotFound):
        backend.request_invoice_copy("9999")


# --- threads -----------------------------------------------------------------------


def test_safe_from_several_threads(backend: SqlBillingBackend) -> None:
    def work(index: int) -> str:
        backend.find_invoice("1001")
        return backend.request_invoice_copy("1004")

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(40)))
    assert set(results) == {"juha.nieminen@example.com"}
    assert len(backend.pending_copy_requests()) == 40


def test_concurrent_extensions_are_all_counted(backend: SqlBillingBackend) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(
            pool.map(lambda _: backend.extend_due_date("1004", days(20), Decimal("1.00")), range(8))
        )
    invoice = invoice_of(backend, "1004")
    assert invoice.extension_count == 8
    assert invoice.amount == Decimal("1258.00")


def test_in_memory_database_is_shared_between_threads() -> None:
    backend = SqlBillingBackend("sqlite://")
    try:
        seed_demo_data(backend, TODAY)
        with ThreadPoolExecutor(max_workers=2) as pool:
            found = list(pool.map(backend.find_invoice, ["1001", "1005"]))
        assert all(invoice is not None for invoice in found)
    finally:
        backend.close()


# --- policy helpers ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("1001", None),
        ("1002", "already_extended"),
        ("1003", "paid"),
        ("1004", None),
        ("1005", "in_collection"),
    ],
)
def test_extension_block(backend: SqlBillingBackend, number: str, reason: str | None) -> None:
    assert extension_block(invoice_of(backend, number)) == reason


@pytest.mark.parametrize(
    ("number", "reason"),
    [("1001", None), ("1002", None), ("1003", "paid"), ("1004", None), ("1005", "in_collection")],
)
def test_payment_plan_block(backend: SqlBillingBackend, number: str, reason: str | None) -> None:
    assert payment_plan_block(invoice_of(backend, number)) == reason


def test_latest_extension_date_counts_from_the_original_due_date(
    backend: SqlBillingBackend,
) -> None:
    assert latest_extension_date(invoice_of(backend, "1001"), 30) == days(35)
    extended = backend.extend_due_date("1001", days(20), Decimal("5.00"))
    assert latest_extension_date(extended, 30) == days(35)
    already = invoice_of(backend, "1002")
    assert latest_extension_date(already, 30) == already.original_due_date + timedelta(days=30)


@pytest.mark.parametrize("count", [2, 3, 4, 5, 6])
@pytest.mark.parametrize("amount", ["1250.00", "89.90", "142.50", "0.05", "100.01", "310.00"])
def test_plan_schedule_sums_exactly(amount: str, count: int) -> None:
    schedule = plan_schedule(Decimal(amount), count, days(12))
    assert len(schedule) == count
    assert sum(instalment.amount for instalment in schedule) == Decimal(amount)
    amounts = [instalment.amount for instalment in schedule]
    assert max(amounts) - min(amounts) <= Decimal("0.01")
    assert amounts == sorted(amounts, reverse=True)  # odd cents first
    assert all(instalment.amount.as_tuple().exponent == -2 for instalment in schedule)


def test_plan_schedule_is_monthly_from_the_due_date() -> None:
    schedule = plan_schedule(Decimal("1250.00"), 3, date(2026, 12, 5))
    assert [i.due_date for i in schedule] == [date(2026, 12, 5), date(2027, 1, 5), date(2027, 2, 5)]
    assert [i.amount for i in schedule] == [Decimal("416.67"), Decimal("416.67"), Decimal("416.66")]


def test_plan_schedule_keeps_month_ends() -> None:
    schedule = plan_schedule(Decimal("100.00"), 4, date(2027, 1, 31))
    assert [i.due_date for i in schedule] == [
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
        date(2027, 4, 30),
    ]


@pytest.mark.parametrize(
    ("amount", "count"),
    [("100.00", 1), ("100.00", 7), ("0.00", 2), ("-5.00", 2), ("10.001", 2)],
)
def test_plan_schedule_rejects(amount: str, count: int) -> None:
    with pytest.raises(ValueError):
        plan_schedule(Decimal(amount), count, days(12))


# --- CLI ---------------------------------------------------------------------------


def run_cli(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "actions.billing", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout


def test_cli_seed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/var/billing.db"
    first = run_cli("seed", "--url", url, "--today", TODAY.isoformat())
    assert "1001" in first and "1005" in first
    second = run_cli("seed", "--url", url, "--if-empty")
    assert "nothing seeded" in second
    backend = SqlBillingBackend(url)
    try:
        assert invoice_of(backend, "1001").due_date == days(5)
    finally:
        backend.close()
