"""Every response exists in both languages, and the actions only use responses that exist.

The `language` slot picks the variant: the default variant is Finnish and the one
with the condition `language == en` is English. Both must fill the same
{placeholders} (the actions pass the same values whatever the language) and offer
the same buttons (the payloads drive the dialogue).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

from actions.language import detect_language
from tests.action_helpers import REPO, load_domain, placeholders

EN_CONDITION = [{"type": "slot", "name": "language", "value": "en"}]
RESPONSES: dict[str, list[dict[str, Any]]] = load_domain()["responses"]


def variant_placeholders(variant: dict[str, Any]) -> set[str]:
    found = placeholders(variant.get("text", ""))
    for button in variant.get("buttons") or []:
        found |= placeholders(button["title"]) | placeholders(button["payload"])
    return found


def payloads(variant: dict[str, Any]) -> list[str]:
    return [button["payload"] for button in variant.get("buttons") or []]


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_every_response_exists_in_both_languages(name: str) -> None:
    variants = RESPONSES[name]
    finnish = [variant for variant in variants if not variant.get("condition")]
    english = [variant for variant in variants if variant.get("condition") == EN_CONDITION]

    assert len(variants) == 2, f"{name}: expected a Finnish and an English variant"
    assert len(finnish) == 1, f"{name}: no single default (Finnish) variant"
    assert len(english) == 1, f"{name}: no single variant for language == en"
    [fi], [en] = finnish, english
    assert fi.get("text") and en.get("text")
    assert variant_placeholders(fi) == variant_placeholders(en)
    assert payloads(fi) == payloads(en)


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_each_variant_is_written_in_its_own_language(name: str) -> None:
    """A rough check with the bot's own detector: no English text in the Finnish slot."""
    fi, en = sorted(RESPONSES[name], key=lambda variant: bool(variant.get("condition")))
    fi_words, en_words = (re.sub(r"\{[^{}]*\}", " ", v["text"]) for v in (fi, en))
    assert detect_language(fi_words) != "en", fi["text"]
    assert detect_language(en_words) != "fi", en["text"]


def response_names_used_by_actions() -> set[str]:
    """Every "utter_..." string in actions/, and "utter_...*" for f-string prefixes."""
    names: set[str] = set()
    for path in sorted((REPO / "actions").rglob("*.py")):
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                first = node.values[0]
                if isinstance(first, ast.Constant) and str(first.value).startswith("utter_"):
                    names.add(f"{first.value}*")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                if re.fullmatch(r"utter_\w*[a-z0-9]", node.value):  # not f-string parts
                    names.add(node.value)
    return names


def test_actions_only_use_responses_of_the_domain() -> None:
    used = response_names_used_by_actions()
    assert used, "no responses found in actions/ (did the code move?)"
    for name in sorted(used):
        if name.endswith("*"):
            prefix = name[:-1]
            assert any(known.startswith(prefix) for known in RESPONSES), name
        else:
            assert name in RESPONSES, name


@pytest.mark.parametrize(
    ("prefix", "suffixes"),
    [
        (
            "utter_handoff_intro_",
            (
                "customer_request",
                "dispute",
                "fallback",
                "policy",
                "form_failure",
                "financial_difficulty",
            ),
        ),
        ("utter_ticket_created_", ("chat", "email", "phone")),
    ],
)
def test_responses_picked_by_reason_or_method_exist_for_every_value(
    prefix: str, suffixes: tuple[str, ...]
) -> None:
    from actions.handoff_request import HANDOFF_REASONS

    if prefix == "utter_handoff_intro_":
        assert set(suffixes) == HANDOFF_REASONS
    for suffix in suffixes:
        assert prefix + suffix in RESPONSES
