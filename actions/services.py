"""The outside systems the actions talk to, created on first use (never at import)."""

from __future__ import annotations

from functools import lru_cache

from actions.billing import BillingBackend, SqlBillingBackend
from actions.config import ActionSettings
from actions.helpdesk import HelpdeskClient


@lru_cache(maxsize=1)
def settings() -> ActionSettings:
    return ActionSettings.from_env()


@lru_cache(maxsize=4)
def _billing_for(url: str) -> BillingBackend:
    return SqlBillingBackend(url)


def billing() -> BillingBackend:
    return _billing_for(settings().billing_db_url)


def helpdesk() -> HelpdeskClient:
    """A client per call: aiohttp sessions belong to the running event loop."""
    return HelpdeskClient.from_settings(settings())
