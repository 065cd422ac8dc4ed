"""Compare two models on the held-out test set and on newly labelled messages.

Scoring follows the handoff design: an out-of-scope message is handled right when
it ends as `out_of_scope` or `nlu_fallback` (both lead to clarify-then-handoff), so
`nlu_fallback` predictions are scored as `out_of_scope`. An in-scope message that
ends as either is a false escalation.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bot.admin.nlu_files import training_examples

OUT_OF_SCOPE = "out_of_scope"
FALLBACK = "nlu_fallback"
LANGUAGES = ("fi", "en")


@dataclass(frozen=True)
class EvalMessage:
    text: str
    intent: str
    language: str
    source: str  # "holdout" | "labelled"


@dataclass(frozen=True)
class Prediction:
    intent: str
    confidence: float


def holdout_messages(holdout_dir: Path) -> list[EvalMessage]:
    """tests/nlu_holdout/<language>.yml: the language is the file's name."""
    return [
        EvalMessage(example.text, example.intent, example.file.stem, "holdout")
        for example in training_examples(holdout_dir)
        if example.file.stem in LANGUAGES
    ]


def scored(intent: str) -> str:
    return OUT_OF_SCOPE if intent == FALLBACK else intent


def f1_scores(expected: Sequence[str], predicted: Sequence[str]) -> dict[str, float]:
    """Per-label F1 over every label that was expected or predicted."""
    labels = sorted(set(expected) | set(predicted))
    true_positive = Counter(e for e, p in zip(expected, predicted, strict=True) if e == p)
    expected_count = Counter(expected)
    predicted_count = Counter(predicted)
    scores = {}
    for label in labels:
        tp = true_positive[label]
        denominator = expected_count[label] + predicted_count[label]
        scores[label] = 2 * tp / denominator if denominator else 0.0
    return scores


def metrics(messages: Sequence[EvalMessage], predictions: Sequence[Prediction]) -> dict[str, Any]:
    """Accuracy, macro-F1, out-of-scope recall and false escalation per language."""
    result: dict[str, Any] = {"languages": {}, "per_intent_f1": {}}
    pairs = list(zip(messages, predictions, strict=True))
    for language in sorted({message.language for message in messages}):
        chosen = [(m, p) for m, p in pairs if m.language == language]
        result["languages"][language] = _language_metrics(chosen)
    if pairs:
        expected = [m.intent for m, _ in pairs]
        predicted = [scored(p.intent) for _, p in pairs]
        per_intent = f1_scores(expected, predicted)
        result["per_intent_f1"] = {intent: per_intent[intent] for intent in sorted(set(expected))}
    return result


def _language_metrics(pairs: Sequence[tuple[EvalMessage, Prediction]]) -> dict[str, Any]:
    expected = [m.intent for m, _ in pairs]
    predicted = [scored(p.intent) for _, p in pairs]
    correct = sum(e == p for e, p in zip(expected, predicted, strict=True))
    f1 = f1_scores(expected, predicted)
    out_of_scope = [p for e, p in zip(expected, predicted, strict=True) if e == OUT_OF_SCOPE]
    in_scope = [p for e, p in zip(expected, predicted, strict=True) if e != OUT_OF_SCOPE]
    return {
        "messages": len(pairs),
        "accuracy": correct / len(pairs) if pairs else None,
        "macro_f1": sum(f1.values()) / len(f1) if f1 else None,
        "out_of_scope_recall": (
            sum(p == OUT_OF_SCOPE for p in out_of_scope) / len(out_of_scope)
            if out_of_scope
            else None
        ),
        "false_escalation": (
            sum(p == OUT_OF_SCOPE for p in in_scope) / len(in_scope) if in_scope else None
        ),
    }


def changed_predictions(
    messages: Sequence[EvalMessage],
    before: Sequence[Prediction],
    after: Sequence[Prediction],
) -> list[dict[str, Any]]:
    """Messages whose prediction differs between the models, fixed ones first."""
    changed = []
    for message, old, new in zip(messages, before, after, strict=True):
        if old.intent == new.intent:
            continue
        was_right = scored(old.intent) == message.intent
        is_right = scored(new.intent) == message.intent
        verdict = "fixed" if is_right and not was_right else "broken" if was_right else "changed"
        changed.append(
            {
                **asdict(message),
                "active": asdict(old),
                "candidate": asdict(new),
                "verdict": verdict,
            }
        )
    order = {"fixed": 0, "broken": 1, "changed": 2}
    return sorted(changed, key=lambda item: (order[item["verdict"]], item["language"]))


def compare(
    messages: Sequence[EvalMessage],
    active: Sequence[Prediction],
    candidate: Sequence[Prediction],
) -> dict[str, Any]:
    """The whole comparison, JSON-ready: per source (holdout, labelled) and model."""
    report: dict[str, Any] = {"sources": {}}
    for source in ("holdout", "labelled"):
        chosen = [i for i, message in enumerate(messages) if message.source == source]
        subset = [messages[i] for i in chosen]
        report["sources"][source] = {
            "active": metrics(subset, [active[i] for i in chosen]),
            "candidate": metrics(subset, [candidate[i] for i in chosen]),
        }
    report["changed"] = changed_predictions(messages, active, candidate)
    return report


async def predict(model: Path, texts: Iterable[str]) -> list[Prediction]:
    """Parse each text with a model loaded in this process (as Rasa would)."""
    from rasa.core.agent import Agent  # heavy: only the evaluating process pays
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # not a debug line per parsed message
    agent = Agent.load(str(model))
    predictions = []
    for text in texts:
        parsed = await agent.parse_message(text)
        intent = parsed.get("intent") or {}
        predictions.append(
            Prediction(str(intent.get("name") or FALLBACK), float(intent.get("confidence") or 0))
        )
    return predictions


def evaluate(active: Path, candidate: Path, messages: Sequence[EvalMessage]) -> dict[str, Any]:
    """Load both models, parse every message with each and compare."""
    texts = [message.text for message in messages]
    before = asyncio.run(predict(active, texts))
    after = asyncio.run(predict(candidate, texts))
    report = compare(messages, before, after)
    report["models"] = {"active": str(active), "candidate": str(candidate)}
    return report
