"""Checks on the held-out NLU test set in tests/nlu_holdout/ (both languages).

The set is used only to evaluate models (the admin "compare" page and `make bench`), never to
train them. These tests keep it that way: it parses with Rasa's own loader, covers every domain
intent in both languages, shares no example with the training data in data/, and nothing in
data/ points at it.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from rasa.shared.data import get_data_files, is_nlu_file
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.shared.utils.io import read_yaml_file

ROOT = Path(__file__).resolve().parents[1]
HOLDOUT_DIR = ROOT / "tests" / "nlu_holdout"
DATA_DIR = ROOT / "data"
DOMAIN_FILE = ROOT / "domain.yml"
LANGUAGES = ("fi", "en")

MIN_EXAMPLES_PER_LANGUAGE = 100
MIN_OUT_OF_SCOPE = 22
MIN_PER_INTENT = 3
MIN_ROUTINE = 5
# Intents the bot handles on its own all day: the set must test each of them properly.
ROUTINE_INTENTS = (
    "request_due_date_extension",
    "request_payment_plan",
    "request_invoice_copy",
    "report_already_paid",
    "ask_payment_details",
    "ask_reminder_fee",
    "ask_contact_info",
    "dispute_invoice",
    "request_human",
    "financial_difficulty",
    "give_feedback",
    "bot_challenge",
)
# Set by the FallbackClassifier on low confidence; never a labelled intent.
NOT_LABELLED = {"nlu_fallback"}

_WHITESPACE = re.compile(r"\s+")


def _is_punctuation(char: str) -> bool:
    return unicodedata.category(char).startswith("P")


def normalise_keys(text: str) -> set[str]:
    """Comparison keys for `text`: casefolded, punctuation stripped, whitespace collapsed.

    Punctuation is both deleted ("e-mail" -> "email") and replaced by a space
    ("3.5." -> "3 5"), so a text matches a training example under either reading.
    """
    folded = text.casefold()
    deleted = "".join(c for c in folded if not _is_punctuation(c))
    spaced = "".join(" " if _is_punctuation(c) else c for c in folded)
    return {_WHITESPACE.sub(" ", key).strip() for key in (deleted, spaced)}


@cache
def holdout(language: str) -> TrainingData:
    return load_data(str(HOLDOUT_DIR / f"{language}.yml"), language=language)


@cache
def training_keys() -> frozenset[str]:
    """Normalised keys of every intent example in every NLU file under data/."""
    keys: set[str] = set()
    for path in sorted(get_data_files([str(DATA_DIR)], is_nlu_file)):
        for message in load_data(path).intent_examples:
            keys |= normalise_keys(message.get("text"))
    return frozenset(keys)


@cache
def domain_intents() -> frozenset[str]:
    domain = read_yaml_file(str(DOMAIN_FILE))
    names: set[str] = set()
    for entry in domain["intents"]:
        names.update([entry] if isinstance(entry, str) else entry.keys())
    return frozenset(names)


@cache
def domain_entities() -> frozenset[str]:
    domain = read_yaml_file(str(DOMAIN_FILE))
    names: set[str] = set()
    for entry in domain.get("entities", []):
        names.update([entry] if isinstance(entry, str) else entry.keys())
    return frozenset(names)


def intent_counts(language: str) -> Counter[str]:
    return Counter(message.get("intent") for message in holdout(language).intent_examples)


def test_holdout_is_outside_the_training_data() -> None:
    assert DATA_DIR not in HOLDOUT_DIR.parents


@pytest.mark.parametrize("language", LANGUAGES)
def test_holdout_loads_with_rasa(language: str) -> None:
    data = holdout(language)
    assert data.intent_examples, f"{language}: no intent examples loaded"
    # Every example is a labelled intent example, not a bare text.
    assert len(data.intent_examples) == len(data.training_examples)


@pytest.mark.parametrize("language", LANGUAGES)
def test_holdout_size(language: str) -> None:
    counts = intent_counts(language)
    assert sum(counts.values()) >= MIN_EXAMPLES_PER_LANGUAGE
    assert counts["out_of_scope"] >= MIN_OUT_OF_SCOPE


@pytest.mark.parametrize("language", LANGUAGES)
def test_holdout_intents_exist_in_domain(language: str) -> None:
    unknown = set(intent_counts(language)) - domain_intents()
    assert not unknown, f"{language}: intents not in domain.yml: {sorted(unknown)}"
    assert not set(intent_counts(language)) & NOT_LABELLED


@pytest.mark.parametrize("language", LANGUAGES)
def test_holdout_entities_exist_in_domain(language: str) -> None:
    used = {entity["entity"] for entity in holdout(language).sorted_entities()}
    unknown = used - domain_entities()
    assert not unknown, f"{language}: entities not in domain.yml: {sorted(unknown)}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_holdout_covers_every_domain_intent(language: str) -> None:
    counts = intent_counts(language)
    too_few = {
        intent: counts[intent]
        for intent in sorted(domain_intents() - NOT_LABELLED)
        if counts[intent] < MIN_PER_INTENT
    }
    assert not too_few, f"{language}: fewer than {MIN_PER_INTENT} examples: {too_few}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_holdout_covers_routine_intents_well(language: str) -> None:
    counts = intent_counts(language)
    too_few = {intent: counts[intent] for intent in ROUTINE_INTENTS if counts[intent] < MIN_ROUTINE}
    assert not too_few, f"{language}: fewer than {MIN_ROUTINE} examples: {too_few}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_holdout_shares_no_example_with_training_data(language: str) -> None:
    keys = training_keys()
    assert keys, "no training examples found under data/"
    leaked = [
        message.get("text")
        for message in holdout(language).intent_examples
        if normalise_keys(message.get("text")) & keys
    ]
    assert not leaked, f"{language}: also in the training data: {leaked}"


def test_holdout_has_no_duplicates() -> None:
    seen: dict[str, str] = {}
    duplicates: list[str] = []
    for language in LANGUAGES:
        for message in holdout(language).intent_examples:
            text = message.get("text")
            for key in normalise_keys(text):
                if key in seen and seen[key] != f"{language}:{text}":
                    duplicates.append(f"{language}: {text!r} ~ {seen[key]!r}")
                seen.setdefault(key, f"{language}:{text}")
    assert not duplicates, f"duplicated examples: {duplicates}"


def test_training_data_does_not_reference_holdout() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in sorted(DATA_DIR.rglob("*"))
        if path.is_file() and "nlu_holdout" in path.read_text(encoding="utf-8", errors="ignore")
    ]
    assert not offenders, f"files under data/ refer to tests/nlu_holdout: {offenders}"
