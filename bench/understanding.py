"""Understanding: the served model on the held-out set, and cross-validation per language.

The held-out set (tests/nlu_holdout) is never trained on, so it says how the model does
on new customer wording; cross-validation says how stable that is across the training
data. Scoring is bot.admin.evaluation's (the admin compare page uses the same), and the
folds are tools/nlu_crossval's, so the three places cannot disagree on what "right" is.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

from bench.pipelines import HOLDOUT_DIR, sample
from bench.startup import ROOT
from bot.admin.evaluation import holdout_messages, metrics, predict, scored

DEFAULT_MODEL = ROOT / "models" / "current.tar.gz"


def quiet_rasa() -> None:
    """Rasa logs every parse at debug level unless its CLI set the level: not wanted here."""
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)


def holdout(model: Path = DEFAULT_MODEL, per_language: int | None = None) -> dict[str, Any]:
    """Accuracy, macro-F1, out-of-scope recall and false escalation per language."""
    messages = sample(holdout_messages(HOLDOUT_DIR), per_language)
    quiet_rasa()
    started = time.perf_counter()
    predictions = asyncio.run(predict(model, [message.text for message in messages]))
    scores = metrics(messages, predictions)
    wrong = [
        {"text": m.text, "language": m.language, "expected": m.intent, "predicted": p.intent}
        for m, p in zip(messages, predictions, strict=True)
        if scored(p.intent) != m.intent
    ]
    return {
        "model": str(model.relative_to(ROOT) if model.is_relative_to(ROOT) else model),
        "messages": len(messages),
        "seconds": round(time.perf_counter() - started, 1),
        "languages": scores["languages"],
        "per_intent_f1": {k: round(v, 4) for k, v in scores["per_intent_f1"].items()},
        "wrong": wrong,
    }


def crossval(folds: int = 5, config: Path = ROOT / "config.yml") -> dict[str, Any]:
    """k-fold cross-validation of `config`, each language scored on its own."""
    from tools.nlu_crossval import LANGUAGES, cross_validate

    quiet_rasa()
    report = cross_validate(config, folds)
    return {
        "config": str(config.relative_to(ROOT)),
        "folds": report["folds"],
        "seconds": report["seconds"],
        "languages": {language: report[language] for language in LANGUAGES},
    }
