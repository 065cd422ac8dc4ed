"""`python -m actions.billing seed [--url URL] [--if-empty] [--today YYYY-MM-DD]`."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import date, datetime

import sqlalchemy as sa

from actions.billing.demo import seed_demo_data
from actions.billing.sql import SqlBillingBackend


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
