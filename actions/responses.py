"""Pick a response variant from the domain by language.

Only needed where an action changes the language and speaks in the same step
(session start): Rasa renders an action's messages with the slots as they were
before the action ran, so `response=` would still pick the old language.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk.types import DomainDict


def _is_for_language(variant: dict[str, Any], language: str) -> bool:
    return any(
        condition.get("name") == "language" and condition.get("value") == language
        for condition in variant.get("condition") or []
    )


def response_variant(domain: DomainDict, name: str, language: str) -> dict[str, Any]:
    """The variant written for `language`, else the default (Finnish) one."""
    variants = domain.get("responses", {}).get(name) or []
    for variant in variants:
        if _is_for_language(variant, language):
            return variant
    for variant in variants:
        if not variant.get("condition"):
            return variant
    raise KeyError(f"response {name} has no variant for {language}")
