"""Checks on the NLU training data in data/nlu/ (both languages).

The data is loaded with Rasa's own loader, so anything that passes here also
parses for `rasa train`.

Layout: data/nlu/<lang>/<intent>.yml (one intent per file per language) and
data/nlu/regex.yml (regex features and synonyms).
"""

import re
from collections import defaultdict
from pathlib import Path

import pytest
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.utils.io import read_yaml_file

ROOT = Path(__file__).resolve().parents[1]
NLU_DIR = ROOT / "data" / "nlu"
REGEX_FILE = NLU_DIR / "regex.yml"
LANGUAGES = ("fi", "en")

SMALL_TALK = {"greet", "goodbye", "thank", "affirm", "deny"}
BUSINESS = {
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
    "out_of_scope",
    "inform",
}
ALL_INTENTS = SMALL_TALK | BUSINESS

MIN_EXAMPLES = {intent: 15 for intent in SMALL_TALK}
MIN_EXAMPLES.update({intent: 30 for intent in BUSINESS})
MIN_EXAMPLES["out_of_scope"] = 60
MIN_EXAMPLES["inform"] = 40

ENTITIES = {
    "invoice_number",
    "reference_number",
    "date",
    "installments",
    "email",
    "phone",
    "contact_method",
}
CONTACT_METHODS = {"email", "phone", "chat"}


def _normalise(text: str) -> str:
    """Lower-case, drop punctuation, collapse whitespace.

    Two examples that differ only in case or punctuation look the same to the
    featurizers, so they count as the same text.
    """
    text = re.sub(r"[^\w\s]", " ", text.lower())
    return " ".join(text.split())


@pytest.fixture(scope="module")
def data_by_language():
    return {lang: load_data(str(NLU_DIR / lang)) for lang in LANGUAGES}


@pytest.fixture(scope="module")
def all_data():
    return load_data(str(NLU_DIR))


def _raw_examples(path: Path):
    """(intent, example line) pairs straight from the YAML, before Rasa dedupes."""
    content = read_yaml_file(path)
    for item in content.get("nlu", []):
        if "intent" not in item:
            continue
        for line in item["examples"].splitlines():
            line = line.strip()
            if line.startswith("- "):
                yield item["intent"], line[2:].strip()


def test_everything_parses(all_data):
    assert all_data.training_examples
    assert set(all_data.intents) == ALL_INTENTS


@pytest.mark.parametrize("lang", LANGUAGES)
def test_one_file_per_intent(lang):
    files = sorted((NLU_DIR / lang).glob("*.yml"))
    assert {f.stem for f in files} == ALL_INTENTS
    for path in files:
        intents = {intent for intent, _ in _raw_examples(path)}
        assert intents == {path.stem}, f"{path} holds {intents}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_intent_present(data_by_language, lang):
    assert set(data_by_language[lang].intents) == ALL_INTENTS


@pytest.mark.parametrize("lang", LANGUAGES)
def test_minimum_examples_per_intent(data_by_language, lang):
    distinct = defaultdict(set)
    for ex in data_by_language[lang].intent_examples:
        distinct[ex.get("intent")].add(_normalise(ex.get("text")))
    too_few = {
        intent: len(distinct[intent])
        for intent, minimum in MIN_EXAMPLES.items()
        if len(distinct[intent]) < minimum
    }
    assert not too_few, f"{lang}: too few distinct examples {too_few}"


def test_no_duplicate_example_lines():
    """Rasa silently drops exact duplicates; keep the files free of them."""
    seen = {}
    dupes = []
    for path in sorted(NLU_DIR.glob("*/*.yml")):
        for _, line in _raw_examples(path):
            if line in seen:
                dupes.append((line, seen[line], path.name))
            seen[line] = path.name
    assert not dupes, dupes


def test_no_text_under_two_intents(all_data):
    intents_by_text = defaultdict(set)
    for ex in all_data.intent_examples:
        intents_by_text[_normalise(ex.get("text"))].add(ex.get("intent"))
    clashes = {t: i for t, i in intents_by_text.items() if len(i) > 1}
    assert not clashes, clashes


def test_entities_are_known(all_data):
    unknown = [
        (ex.get("text"), ent["entity"])
        for ex in all_data.training_examples
        for ent in ex.get("entities") or []
        if ent["entity"] not in ENTITIES
    ]
    assert not unknown, unknown


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_entity_has_examples_in_each_language(data_by_language, lang):
    assert data_by_language[lang].entities == ENTITIES


def test_entity_values(all_data):
    bad = []
    for ex in all_data.training_examples:
        for ent in ex.get("entities") or []:
            value = str(ent["value"])
            if ent["entity"] == "contact_method" and value not in CONTACT_METHODS:
                bad.append((ex.get("text"), ent))
            if ent["entity"] == "installments" and not value.isdigit():
                bad.append((ex.get("text"), ent))
            if ent["entity"] == "invoice_number" and not re.fullmatch(r"\d{4,8}", value):
                bad.append((ex.get("text"), ent))
            if ent["entity"] == "reference_number" and not re.fullmatch(r"\d{4,20}", value):
                bad.append((ex.get("text"), ent))
    assert not bad, bad


def test_entity_spans_align_with_tokens(all_data):
    """An annotation that does not start and end on token boundaries is dropped
    by DIET during training (Rasa only warns). With the WhitespaceTokenizer a
    trailing dot is not part of the token, so "15.12." is written
    "[15.12](date)." in the data."""
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    misaligned = []
    for ex in all_data.training_examples:
        entities = ex.get("entities") or []
        if not entities:
            continue
        tokens = tokenizer.tokenize(Message({"text": ex.get("text")}), "text")
        starts = {t.start for t in tokens}
        ends = {t.end for t in tokens}
        for ent in entities:
            if ent["start"] not in starts or ent["end"] not in ends:
                misaligned.append((ex.get("text"), ent))
    assert not misaligned, misaligned


def test_regexes(all_data):
    patterns = {r["name"]: re.compile(r["pattern"]) for r in all_data.regex_features}
    assert {"email", "phone"} <= set(patterns)

    values = defaultdict(set)
    for ex in all_data.training_examples:
        for ent in ex.get("entities") or []:
            values[ent["entity"]].add(ex.get("text")[ent["start"] : ent["end"]])

    for name in ("email", "phone"):
        for value in values[name]:
            assert patterns[name].fullmatch(value), (name, value)
    # invoice and reference numbers must never look like phone numbers
    for name in ("invoice_number", "reference_number"):
        for value in values[name]:
            assert not patterns["phone"].search(value), (name, value)
            assert not patterns["email"].search(value), (name, value)


def test_regex_file_is_valid_rasa_yaml():
    content = read_yaml_file(REGEX_FILE)
    assert str(content["version"]) == "3.1"
    td = load_data(str(REGEX_FILE))
    assert td.regex_features
