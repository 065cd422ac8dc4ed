"""Per-language intent scores from k-fold cross-validation of the NLU pipeline.

`rasa test nlu --cross-validation` reports both languages mixed; this keeps
them apart (the language is the folder: data/nlu/fi, data/nlu/en) and can
compare pipelines on the same folds.

    python -m tools.nlu_crossval --folds 5 --config config.yml [--config other.yml]

A prediction of `nlu_fallback` for an `out_of_scope` example counts as right:
both end in "I'm not sure what you meant".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("fi", "en")


def load_examples() -> tuple[list[Any], list[str], Any]:
    from rasa.shared.nlu.training_data.loading import load_data

    everything = load_data(str(ROOT / "data" / "nlu"))
    examples, languages = [], []
    for language in LANGUAGES:
        part = load_data(str(ROOT / "data" / "nlu" / language))
        examples.extend(part.intent_examples)
        languages.extend([language] * len(part.intent_examples))
    return examples, languages, everything


def train_fold(config: Path, train_examples: list[Any], everything: Any, workdir: Path) -> str:
    from rasa.model_training import train_nlu
    from rasa.shared.nlu.training_data.training_data import TrainingData

    data = TrainingData(
        training_examples=train_examples,
        entity_synonyms=everything.entity_synonyms,
        regex_features=everything.regex_features,
        lookup_tables=everything.lookup_tables,
    )
    data_file = workdir / "nlu.yml"
    data_file.write_text(data.nlu_as_yaml())
    return train_nlu(str(config), str(data_file), str(workdir), fixed_model_name="fold")


async def predict(model_path: str, texts: list[str]) -> list[tuple[str, str]]:
    """(final intent, best intent before the fallback threshold) per text."""
    from rasa.core.agent import Agent

    agent = Agent.load(model_path)
    predicted = []
    for text in texts:
        parsed = await agent.parse_message(text)
        ranking = [item["name"] for item in parsed.get("intent_ranking") or []]
        raw = next((name for name in ranking if name != "nlu_fallback"), parsed["intent"]["name"])
        predicted.append((parsed["intent"]["name"], raw))
    return predicted


def normalise(intent: str) -> str:
    return "out_of_scope" if intent == "nlu_fallback" else intent


def cross_validate(config: Path, folds: int) -> dict[str, Any]:
    examples, languages, everything = load_examples()
    labels = [example.get("intent") for example in examples]
    strata = [f"{language}:{label}" for language, label in zip(languages, labels, strict=True)]
    gold, predicted, raw, tags = [], [], [], []
    started = time.monotonic()
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=42)
    for train_index, test_index in splitter.split(examples, strata):
        with tempfile.TemporaryDirectory() as workdir:
            model = train_fold(
                config, [examples[i] for i in train_index], everything, Path(workdir)
            )
            texts = [examples[i].get("text") for i in test_index]
            for final, best in asyncio.run(predict(model, texts)):
                predicted.append(normalise(final))
                raw.append(best)
        gold.extend(labels[i] for i in test_index)
        tags.extend(languages[i] for i in test_index)
    report: dict[str, Any] = {
        "config": str(config),
        "folds": folds,
        "seconds": round(time.monotonic() - started),
    }
    for language in LANGUAGES:
        picked = [i for i, tag in enumerate(tags) if tag == language]
        truth = [gold[i] for i in picked]
        guess = [predicted[i] for i in picked]
        report[language] = {
            "examples": len(picked),
            "accuracy": round(accuracy_score(truth, guess), 4),
            "macro_f1": round(f1_score(truth, guess, average="macro", zero_division=0), 4),
            "weighted_f1": round(f1_score(truth, guess, average="weighted", zero_division=0), 4),
            "accuracy_without_fallback": round(accuracy_score(truth, [raw[i] for i in picked]), 4),
        }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--config", action="append", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "nlu_crossval.json")
    args = parser.parse_args()
    reports = [
        cross_validate(config, args.folds) for config in args.config or [ROOT / "config.yml"]
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(reports, indent=2))
    print(json.dumps(reports, indent=2))


if __name__ == "__main__":
    main()
