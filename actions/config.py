"""Settings of the action server, read from the environment in one place.

The action server is started by `python -m bot run` (which loads `.env`) or by
`rasa run actions` with the variables already exported.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class ActionSettings:
    billing_db_url: str = "sqlite:///var/billing.db"
    helpdesk_url: str = "http://localhost:8000"
    helpdesk_api_token: str = ""
    outbox_path: str = "var/outbox.db"
    outbox_flush_seconds: float = 15.0
    extension_fee: Decimal = Decimal("5.00")
    extension_max_days: int = 30
    reminder_fee: Decimal = Decimal("5.00")
    late_interest_percent: Decimal = Decimal("11.5")
    contact_phone: str = "09 4242 4242"
    contact_email: str = "asiakaspalvelu@example.com"
    timezone: str = "Europe/Helsinki"
    # Rasa's HTTP API: a ticket the outbox filed later is announced to the customer.
    rasa_url: str = ""
    rasa_token: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ActionSettings:
        env = os.environ if environ is None else environ
        defaults = cls()
        return cls(
            billing_db_url=env.get("BILLING_DB_URL", defaults.billing_db_url),
            helpdesk_url=env.get("HELPDESK_URL", defaults.helpdesk_url).rstrip("/"),
            helpdesk_api_token=env.get("HELPDESK_API_TOKEN", defaults.helpdesk_api_token),
            outbox_path=env.get("HELPDESK_OUTBOX_PATH", defaults.outbox_path),
            rasa_url=env.get("RASA_URL", defaults.rasa_url).rstrip("/"),
            rasa_token=env.get("RASA_TOKEN", defaults.rasa_token),
            outbox_flush_seconds=float(
                env.get("OUTBOX_FLUSH_SECONDS", defaults.outbox_flush_seconds)
            ),
            extension_fee=Decimal(env.get("EXTENSION_FEE_EUR", str(defaults.extension_fee))),
            extension_max_days=int(env.get("EXTENSION_MAX_DAYS", defaults.extension_max_days)),
            reminder_fee=Decimal(env.get("REMINDER_FEE_EUR", str(defaults.reminder_fee))),
            late_interest_percent=Decimal(
                env.get("LATE_INTEREST_PERCENT", str(defaults.late_interest_percent))
            ),
            contact_phone=env.get("CONTACT_PHONE", defaults.contact_phone),
            contact_email=env.get("CONTACT_EMAIL", defaults.contact_email),
            timezone=env.get("TIMEZONE", defaults.timezone),
        )
