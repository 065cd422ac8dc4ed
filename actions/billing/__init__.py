"""The billing backend the actions talk to, and the rules for what the bot may do.

`BillingBackend` is the seam: the demo uses `SqlBillingBackend` (SQLAlchemy Core, any
URL, SQLite by default); a real billing system gets its own adapter with the same
methods. Policy helpers are pure functions that return reason codes, so the actions
pick the response and the rules stay testable without a database.
"""

from actions.billing.demo import demo_invoices, seed_demo_data
from actions.billing.model import (
    BillingBackend,
    BillingError,
    Instalment,
    Invoice,
    InvoiceNotFound,
    PaymentPlan,
    PaymentPlanExists,
)
from actions.billing.policy import (
    extension_block,
    latest_extension_date,
    payment_plan_block,
    plan_schedule,
)
from actions.billing.sql import SqlBillingBackend

__all__ = [
    "BillingBackend",
    "BillingError",
    "Instalment",
    "Invoice",
    "InvoiceNotFound",
    "PaymentPlan",
    "PaymentPlanExists",
    "SqlBillingBackend",
    "demo_invoices",
    "extension_block",
    "latest_extension_date",
    "payment_plan_block",
    "plan_schedule",
    "seed_demo_data",
]
